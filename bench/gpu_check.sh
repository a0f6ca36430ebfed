#!/usr/bin/env bash
# One prepared GPU check, for a machine with CUDA and PyTorch: the CUDA tests
# (the library's, and the service training on the GPU), the throughput
# benchmark and the comparison with DeepSMOTE's reference script on the GPU.
# Results go to $OUT (or ./gpu_out).
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
exit $status
