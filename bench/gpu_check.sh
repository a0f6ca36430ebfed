#!/usr/bin/env bash
# One prepared GPU check, for a machine with CUDA and PyTorch, printing:
#   - the CUDA tests' result (the library's, and the service training on the GPU);
#   - images/s against the bare network passes (target: overhead at most 15 %), for the
#     plain step and the fused one (fused_step=True);
#   - per-epoch time against DeepSMOTE's reference script (target: 3x or better), when
#     the script's path is given, plain and fused;
#   - jobs per hour of the README's train job with 1, 4 and 8 jobs per GPU;
#   - the time to train the recommended recipe on MNIST's imbalanced pool in the papers'
#     proportions (target: under 2 minutes on one H100-class GPU).
# Results go to $OUT (or ./gpu_out); about ten minutes on an H100.
#
#   bash bench/gpu_check.sh [path/to/DeepSMOTE_MNIST.py]
#
# Environment:
#   WHEELS    a folder of wheels to install first (FastAPI, pydantic, SQLAlchemy…
#             for a machine whose Python has PyTorch but not the service's needs)
#   DATA_DIR  the folder holding mnist/ (default: ../shared/data)
set -uo pipefail
source bench/gpu_env.sh
status=0
python3 -m pytest -q -p no:cacheprovider -m cuda tests/test_cuda.py tests/app/test_cuda_service.py \
  2>&1 | tee "$out/cuda_tests.txt" || status=1
python3 bench/bench_training.py --device cuda --epochs 3 --data-dir "$data" \
  --out "$out/bench_cuda.json" || status=1
if [ -n "${1:-}" ]; then
  python3 bench/bench_reference.py --reference "$1" --device cuda --epochs 5 \
    --data-dir "$data" | tee "$out/reference_cuda.json" || status=1
fi
python3 bench/bench_jobs.py --device cuda --jobs-per-device 1 4 8 --jobs 16 --mnist \
  --data-dir "$data" | tee "$out/jobs_cuda.jsonl" || status=1
exit $status
