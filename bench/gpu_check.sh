#!/usr/bin/env bash
# One GPU check for issue 12, for a bare machine with an NVIDIA GPU (under 8 minutes: the
# section limits add up to 435 s, 465 s with the kill grace; a healthy run takes about 3
# minutes).
#
#   PY=/path/to/python bash bench/gpu_check.sh
#
# PY (default python3) must import torch with CUDA and the repository's pure-Python
# dependencies (tqdm, jsonschema, ...); nothing is installed. MNIST: $MNIST_DIR, or shared/mnist,
# ../shared/mnist, data/MNIST/raw. Everything printed is also logged under $OUT when set.
# Results go to a temporary directory; GPU_CHECK_RESULTS_DIR=results replaces the committed
# ones (the lead decides).
#
# Sections, each with its own time limit so one hang cannot eat the others:
#   1. environment      nvidia-smi, torch, CUDA device
#   2. CUDA tests       tests/test_cuda.py (captured step vs eager, CUDA vs CPU, launches,
#                       the vectorised estimators on CUDA vs the CPU)
#   3. launches         kernel launches per training step, eager vs CUDA graph (torch.profiler)
#   4. whole suite      the default suite trained on CUDA, fused + CUDA graph, timed; the
#                       estimator rows' time (ESTIMATOR ROWS) apart from the other rows'
#   5. seeds            the same with 20 seeds per row (5 in the suite): do seeds cost little?
#   6. reference        the suite fused but eager (ONPOLICY_CUDA_GRAPH=0), timed
set -u
cd "$(dirname "$0")/.."
PY=${PY:-python3}
LOGDIR=${OUT:-$(mktemp -d)}
mkdir -p "$LOGDIR"
LOG="$LOGDIR/gpu_check.log"
exec > >(tee -a "$LOG") 2>&1
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 TQDM_DISABLE=1
STATUS=0

section() { printf '\n==== %s (%s) ====\n' "$1" "$(date -u +%H:%M:%S)"; }
run() {  # run LIMIT_S NAME CMD...: time-limited, logged, remembered as failed if it fails
  local limit=$1 name=$2; shift 2
  local start=$SECONDS
  timeout --kill-after=5 "$limit" "$@"
  local rc=$?
  echo "-- $name: exit $rc after $((SECONDS - start)) s"
  [ "$rc" -eq 0 ] || STATUS=1
}

section "1. environment"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 || echo "no nvidia-smi"
run 30 environment "$PY" -c "
import platform, torch
print('python', platform.python_version(), '| torch', torch.__version__, '| CUDA', torch.version.cuda)
print('cuda available:', torch.cuda.is_available())
assert torch.cuda.is_available(), 'torch sees no CUDA device'
print('device:', torch.cuda.get_device_name())
"

section "2. CUDA tests"
if "$PY" -m pytest --version >/dev/null 2>&1; then
  run 90 cuda-tests "$PY" -m pytest tests/test_cuda.py -q -rA -p no:cacheprovider -s
else
  echo "(pytest not installed: calling the test functions directly)"
  run 90 cuda-tests "$PY" -c "
import sys, traceback, tests.test_cuda as t
failed = 0
for name in sorted(n for n in dir(t) if n.startswith('test_')):
    try:
        getattr(t, name)(); print('PASSED', name)
    except Exception:
        failed += 1; print('FAILED', name); traceback.print_exc()
sys.exit(1 if failed else 0)
"
fi

section "3. kernel launches per training step"
run 60 launches "$PY" -c "
import os, json
from bench.fused import launches_per_step
from bench.gpu_suite import find_mnist
mnist = find_mnist()
data = None if mnist else {'name': 'synthetic', 'n_train': 8000, 'n_eval': 2000, 'seed': 0}
if mnist: os.environ['MNIST_DIR'] = str(mnist)
print('data:', mnist or 'synthetic (MNIST not found)')
for capture in (False, True):
    r = launches_per_step(capture, data=data)
    print('graph' if capture else 'eager', json.dumps(r))
"

section "4. whole default suite on CUDA: fused, CUDA graph"
RESULTS_ARGS=()
[ -n "${GPU_CHECK_RESULTS_DIR:-}" ] && RESULTS_ARGS=(--results-dir "$GPU_CHECK_RESULTS_DIR")
run 120 suite-graph "$PY" -m bench.gpu_suite ${RESULTS_ARGS[@]+"${RESULTS_ARGS[@]}"}

section "5. whole default suite on CUDA with 20 seeds per row: fused, CUDA graph"
run 60 suite-20-seeds "$PY" -m bench.gpu_suite --seeds 20

section "6. whole default suite on CUDA: fused, eager (reference)"
run 75 suite-eager "$PY" -m bench.gpu_suite --eager

section "done"
echo "log: $LOG; overall status $STATUS (0 = every section passed)"
exit $STATUS
