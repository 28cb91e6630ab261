# sfmm's two newcomer commands. Each sets up .venv/ first when needed (tools/setup_env.sh
# is idempotent and takes seconds once the environment exists).
PY := .venv/bin/python

.PHONY: setup demo demo-seg test
setup:
	bash tools/setup_env.sh

demo: setup
	$(PY) tools/demo.py

# the bootstrapped demo student fine-tuned as an ADE20K-layout segmenter (about 5 minutes)
demo-seg: demo
	OMP_NUM_THREADS=1 $(PY) tools/train.py configs/segmentation/sf-demo_demo-ade.py
	$(PY) tools/test.py configs/segmentation/sf-demo_demo-ade.py \
		work_dirs/sf-demo_demo-ade/iter_1000.pth --show-dir work_dirs/sf-demo_demo-ade/vis

test: setup
	$(PY) -m pytest tests
