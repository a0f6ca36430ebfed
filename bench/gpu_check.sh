#!/usr/bin/env bash
# One prepared GPU check, for a machine with CUDA and PyTorch (no FastAPI
# needed): the CUDA tests, then the throughput benchmark and the reference
# comparison on the GPU. Results go to $OUT (or ./gpu_out).
#   bash bench/gpu_check.sh [path/to/DeepSMOTE_MNIST.py]
set -uo pipefail
out="${OUT:-gpu_out}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -m pip install -q --no-deps imbalanced-learn sklearn-compat 2>/dev/null || true
python3 -m pytest -q -p no:cacheprovider tests/test_cuda.py 2>&1 | tee "$out/cuda_tests.txt"
python3 bench/bench_training.py --device cuda --epochs 3 --out "$out/bench_cuda.json"
if [ -n "${1:-}" ]; then
  python3 bench/bench_reference.py --reference "$1" --device cuda --epochs 5 \
    | tee "$out/reference_cuda.json"
fi
