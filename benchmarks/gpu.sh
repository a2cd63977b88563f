#!/usr/bin/env bash
# The GPU checks, in one run of at most 9 minutes on a machine with one NVIDIA GPU:
#   1. the CGCNN trainer's training throughput (graphs/s, GPU utilisation sampled by nvidia-smi
#      every 200 ms) against a plain torch-geometric loop on the same data; target: >= 3x the
#      plain loop's graphs/s with the GPU busy >= 80 % (benchmarks/gpu_throughput.py);
#   2. a short ASHA/RS campaign of fractional-GPU trials, 8 at a time, perTrial.gpu 0.125, over
#      the guide's search space (benchmarks/gpu_study.py).
# Results go under $OUT (default ./gpu-results): gpu.log, throughput.json, study.json,
# study.status.json and nvidia-smi's samples (util-*.csv).
#
#   bash benchmarks/gpu.sh                 # on the GPU machine
#   bash benchmarks/gpu.sh --cpu-smoke     # tiny, on a CPU, no GPU assertions (< 1 min idle)
#
# Environment (all optional):
#   OUT            where the results go (default ./gpu-results)
#   PYTHON         a Python that already has the project's dependencies: used as it is, nothing
#                  installed (the test suite's smoke test runs it so)
#   VENV           the virtual environment made otherwise (default .venv-gpu); it sees the base
#                  Python's packages, so a CUDA torch already installed there is used
#   BASE_PYTHON    the Python that makes it and whose packages it sees (default python3)
#   TORCH_INSTALL  pip arguments for torch when the environment has no CUDA build of it; default
#                  "torch==2.13.0", which from PyPI on Linux x86_64 is the CUDA build (a machine
#                  whose pip is set up with a CPU wheel folder, like the development machines,
#                  gets the CPU build: give PyTorch's CUDA wheel index with --index-url, the
#                  command its "get started" page prints for the CUDA version wanted)
#   PIP_ARGS       extra pip arguments for the other packages, e.g. "--no-index --find-links
#                  .whl" on a machine that reaches no package index
#   LIMIT_S        the whole run's limit in seconds (default 540); each step gets what is left
set -euo pipefail

MODE=gpu
case "${1:-}" in
  --cpu-smoke) MODE=cpu-smoke ;;
  "") ;;
  *) echo "usage: $0 [--cpu-smoke]" >&2; exit 2 ;;
esac
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-./gpu-results}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
exec > >(tee "$OUT/gpu.log") 2>&1
export PYTHONPATH="$ROOT/operator:$ROOT/trainer:$ROOT/benchmarks${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1 RAY_AIR_NEW_OUTPUT=0
START=$SECONDS
LIMIT_S=${LIMIT_S:-540}
step() { echo "[$((SECONDS - START)) s] $*"; }
# Seconds a step may take: at most $1, and never past the run's limit.
within() { local left=$((LIMIT_S - (SECONDS - START))); echo $(( left < $1 ? left : $1 )); }

install() {
  local venv=${VENV:-$ROOT/.venv-gpu} torch_install=${TORCH_INSTALL:-torch==2.13.0}
  local base=${BASE_PYTHON:-python3}
  if [ ! -x "$venv/bin/python" ]; then
    "$base" -m venv "$venv"
    # The base Python's packages (a CUDA torch, say) stay importable, behind the venv's own: a
    # .pth file rather than --system-site-packages, which skips them when the base Python is
    # itself a virtual environment's.
    local purelib='import sysconfig; print(sysconfig.get_paths()["purelib"])'
    "$base" -c "$purelib" > "$("$venv/bin/python" -c "$purelib")/base-python.pth"
  fi
  PYTHON="$venv/bin/python"
  local pip="$PYTHON -m pip --disable-pip-version-check -q"
  # shellcheck disable=SC2086  # the variables hold several pip arguments
  if ! "$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.version.cuda else 1)' 2>/dev/null; then
    step "installing $torch_install"
    timeout "$(within 300)" $pip install $torch_install
  fi
  # The tune extra and the trainer's packages, not the trainer extra: its torch pin would
  # replace a CUDA torch the machine already has.
  step "installing the project (tune extra), torch-geometric, ASE, matplotlib"
  # shellcheck disable=SC2086
  timeout "$(within 240)" $pip install ${PIP_ARGS:-} -e "$ROOT[tune]" "torch-geometric>=2.6" "ase>=3.23" \
    "matplotlib>=3.8"
}

if [ -z "${PYTHON:-}" ]; then install; fi
step "python: $PYTHON ($("$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'))"
if [ "$MODE" = gpu ]; then
  command -v nvidia-smi >/dev/null || { echo "no nvidia-smi: not a GPU machine" >&2; exit 2; }
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  DATASET=emt-adsorption
  SMOKE=()
else
  DATASET=emt-adsorption-tiny
  SMOKE=(--cpu-smoke)
fi

step "data set $DATASET (generated once, then cached)"
timeout "$(within 150)" "$PYTHON" -c "from hpo_trainer.data import load_structures; load_structures('$DATASET')"

status=0
step "throughput: the trainer against a plain torch-geometric loop"
timeout "$(within 150)" "$PYTHON" "$ROOT/benchmarks/gpu_throughput.py" --out "$OUT" \
  "${SMOKE[@]}" || status=$?

# The campaign's own budget is what is left but a minute for Ray's start and the summary. The
# smoke campaign ends when its two trials have trained; its limit only guards a loaded machine.
LEFT=$(within 240)
CAP=2.5
[ "$MODE" = gpu ] || CAP=3
MINUTES=$("$PYTHON" -c "print(round(min($CAP, ($LEFT - 60) / 60), 2))")
step "study: fractional-GPU trials, $MINUTES min"
if [ "$LEFT" -gt 90 ]; then
  timeout "$LEFT" "$PYTHON" "$ROOT/benchmarks/gpu_study.py" --out "$OUT" --minutes "$MINUTES" \
    "${SMOKE[@]}" || status=$?
else
  echo "study skipped: only $LEFT s of the ${LIMIT_S} s left" >&2
  status=1
fi

step "done ($MODE), exit $status; results in $OUT"
exit "$status"
