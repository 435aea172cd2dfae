#!/usr/bin/env bash
# The first GPU build, verified rather than assumed. Run from the repository root on an NVIDIA
# GPU builder after `make site GPU=1` has created .venv, .venv-torch and .venv-tf (or run the
# PyTorch half alone: scripts/gpu_check.sh torch). Each step prints what it must show; the
# script stops at the first step that does not. No GPU path of this project has run yet.
set -euo pipefail
cd "$(dirname "$0")/.."
half=${1:-both}
step() { printf '\n== %s\n   must show: %s\n' "$1" "$2"; }

step "1. nvidia-smi" "the GPU's name and a driver version (580 or newer for torch's CUDA 13 wheels)"
nvidia-smi --query-gpu=name,driver_version,compute_cap,memory.total,memory.free --format=csv

step "2. torch probe (.venv-torch)" '"device": "cuda", "cuda_build": "13.0", a cudnn and nccl version, the GPU in "devices", "other_framework_imported": false, every nvidia library under .venv-torch'
.venv-torch/bin/python scripts/engine/probes/probe_torch.py | tail -1 | tee /tmp/gpu_check_torch.json
grep -q '"device": "cuda"' /tmp/gpu_check_torch.json

if [ "$half" != torch ]; then
  step "3. tf probe (.venv-tf)" '"device": "cuda", "cuda_build": "12.x", the GPU in "devices", every nvidia library under .venv-tf'
  .venv-tf/bin/python scripts/engine/probes/probe_tf.py 2>/dev/null | tail -1 | tee /tmp/gpu_check_tf.json
  grep -q '"device": "cuda"' /tmp/gpu_check_tf.json
fi

export GUIDE_PYTHON_TORCH=$PWD/.venv-torch/bin/python
[ "$half" != torch ] && export GUIDE_PYTHON_TF=$PWD/.venv-tf/bin/python
step "4. regen.py doctor" '"doctor: this builder is sane" and exit 0; the device line names the GPU for both frameworks; no FAIL libraries line'
.venv/bin/python scripts/regen.py doctor --save /tmp/gpu_check_facts.json
echo "   facts saved to /tmp/gpu_check_facts.json: attach them to the issue, or commit them as tests/fixtures/doctor/gpu_recorded.json"

step "5. one snippet on the GPU" "the snippet's usual output; nvidia-smi during it lists only this process"
PYTHONPATH=snippets:scripts "$GUIDE_PYTHON_TORCH" snippets/ease_of_use/mnist_cnn_torch.py | tail -3

frameworks=$([ "$half" = torch ] && echo "--framework torch" || echo "")
step "6. a dry run of the benchmarks" 'the first line says "device cuda" and a machine id starting "cuda-"; cudagraphs and TF32 rows in the plan'
.venv/bin/python scripts/regen.py run --profile quick --dry-run $frameworks headline | head -20

step "7. the quick headline case on the GPU" '"ok" for every job; results/cuda-*/headline.json written; its runs say device cuda'
.venv/bin/python scripts/regen.py run --profile quick --no-render $frameworks headline
.venv/bin/python scripts/regen.py check || true  # other cases are missing on a new machine: exit 1 is expected
printf '\nAll steps showed what they must. Commit results/cuda-*/ and the saved facts.\n'
