#!/usr/bin/env bash
# Create or update sfmm's project environment in .venv/ (idempotent, unattended).
#
#   bash tools/setup_env.sh          # set up if needed; a no-op in seconds when up to date
#   SFMM_FORCE_SETUP=1 bash ...      # re-run every step even if the stamp matches
#
# Steps: venv -> build tools + torch -> mmcv 2.1.0 with compiled ops (built once from the
# sdist with C++20 and cached in $SFMM_CACHE_DIR) -> OpenMMLab, open_clip, timm, tests, ONNX ->
# `pip install -e .`. Versions come from requirements/*.txt and requirements/constraints.txt.
# Any failing step stops the script with its name.
set -eEuo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${SFMM_VENV:-$ROOT/.venv}"
PYTHON_BIN="${SFMM_PYTHON:-python3.11}"
CACHE_DIR="${SFMM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/sfmm}"
MMCV_VERSION=2.1.0
TORCH_VERSION=2.14.1
REQ="$ROOT/requirements"
CONSTRAINTS="$REQ/constraints.txt"
STAMP="$VENV/.sfmm-setup-stamp"

log() { printf '[sfmm setup] %s\n' "$*" >&2; }
CURRENT_STEP="start"
trap 'log "FAILED at step: $CURRENT_STEP (see the messages above)"; exit 1' ERR
step() {  # step NAME CMD...: any failing command inside stops the script, naming NAME
  CURRENT_STEP="$1"; shift
  log "step: $CURRENT_STEP"
  "$@"
}

stamp_value() {
  # Everything that decides what gets installed.
  cat "$ROOT/tools/setup_env.sh" "$REQ"/*.txt "$ROOT/setup.py" | sha256sum | cut -d' ' -f1
}

if ! command -v "$PYTHON_BIN" >/dev/null 2>&1; then
  PYTHON_BIN=python3
fi

want="$(stamp_value)"
if [[ -z "${SFMM_FORCE_SETUP:-}" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]] \
   && "$VENV/bin/python" -c "import mmcv._ext, sfmm" >/dev/null 2>&1; then
  log "environment in $VENV is up to date"
  exit 0
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
CONS=()
[[ -f "$CONSTRAINTS" ]] && CONS=(-c "$CONSTRAINTS")

create_venv() {
  if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON_BIN" -m venv "$VENV"
  fi
  "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] >= (3, 9), sys.version'
}

install_build() {
  "${PIP[@]}" install -q -r "$REQ/build.txt" "${CONS[@]}"
}

build_mmcv_wheel() {
  # Build mmcv with compiled ops from its sdist against the installed torch.
  local wheel_dir="$1" work
  work="$(mktemp -d)"
  log "building mmcv $MMCV_VERSION from source (about 15-25 minutes on 2 cores)"
  "${PIP[@]}" download -q --no-deps --no-binary mmcv --no-build-isolation \
    "mmcv==$MMCV_VERSION" -d "$work"
  tar -xzf "$work/mmcv-$MMCV_VERSION.tar.gz" -C "$work"
  local src="$work/mmcv-$MMCV_VERSION"
  # torch 2.14 headers need C++20; mmcv 2.1.0 hard-codes c++14/c++17.
  sed -i -e 's/-std=c++14/-std=c++20/g' -e 's/-std=c++17/-std=c++20/g' "$src/setup.py"
  grep -q 'std=c++20' "$src/setup.py"
  (cd "$src" && MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
     "$VENV/bin/python" -m pip wheel -v --no-deps --no-build-isolation . -w "$wheel_dir" \
     > "$work/build.log" 2>&1) || { tail -n 60 "$work/build.log" >&2; return 1; }
  rm -rf "$work"
}

install_mmcv() {
  if "$VENV/bin/python" -c "import mmcv, mmcv._ext; assert mmcv.__version__ == '$MMCV_VERSION'" \
       >/dev/null 2>&1; then
    return 0
  fi
  local tag wheel_dir wheel
  tag="$("$VENV/bin/python" -c 'import sys, torch; v = sys.version_info; print("cp%d%d-torch%s" % (v[0], v[1], torch.__version__.split("+")[0]))')"
  wheel_dir="$CACHE_DIR/wheels/mmcv-$MMCV_VERSION-$tag"
  mkdir -p "$wheel_dir"
  wheel="$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n 1 || true)"
  if [[ -z "$wheel" ]]; then
    build_mmcv_wheel "$wheel_dir"
    wheel="$(ls "$wheel_dir"/mmcv-"$MMCV_VERSION"-*.whl | head -n 1)"
  else
    log "reusing cached mmcv wheel $wheel"
  fi
  "${PIP[@]}" install -q "$wheel" "${CONS[@]}"
  "$VENV/bin/python" -c "import mmcv._ext"
}

install_stack() {
  "${PIP[@]}" install -q -r "$REQ/mminstall.txt" -r "$REQ/runtime.txt" -r "$REQ/tests.txt" -r "$REQ/deploy.txt" "${CONS[@]}"
}

install_sfmm() {
  "${PIP[@]}" install -q --no-deps --no-build-isolation -e "$ROOT"
}

check_env() {
  "$VENV/bin/python" - <<PY
import torch, mmcv, mmcv.ops, mmengine, mmpretrain, mmseg, open_clip, timm, onnx, onnxruntime, sfmm
assert torch.__version__.split('+')[0] == '$TORCH_VERSION', torch.__version__
assert mmcv.__version__ == '$MMCV_VERSION', mmcv.__version__
PY
}

mkdir -p "$CACHE_DIR"
step "create virtual environment $VENV" create_venv
step "install build tools and torch $TORCH_VERSION" install_build
step "install mmcv $MMCV_VERSION with compiled ops" install_mmcv
step "install OpenMMLab stack, open_clip, timm and test tools" install_stack
step "install sfmm (editable)" install_sfmm
step "check imports" check_env
echo "$want" > "$STAMP"
log "done: environment ready in $VENV"
