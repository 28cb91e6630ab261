# sfmm's two newcomer commands. Each sets up .venv/ first when needed (tools/setup_env.sh
# is idempotent and takes seconds once the environment exists).
PY := .venv/bin/python

.PHONY: setup demo test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

test: setup
	$(PY) -m pytest tests
