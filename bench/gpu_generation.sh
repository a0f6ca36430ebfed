#!/usr/bin/env bash
# Scouting generation variants on a GPU: bench/bench_generation.py with every
# (dataset, seed) as its own process, JOBS at a time, then one summary per
# dataset. The small networks leave a GPU mostly idle, so many processes share it.
#
#   bash bench/gpu_generation.sh "DATASETS" "SEEDS" "VARIANTS" [JOBS] [LIMIT_S]
#   bash bench/gpu_generation.sh "mnist fashion" "$(seq -s' ' 0 15)" "transfer transfer_u1.5" 12 420
#
# A process still running after LIMIT_S seconds is stopped; the seeds it had
# finished still count (bench_generation.py writes each row as it is measured).
# Environment: WHEELS (a folder of wheels to install first: the GPU image of
# 2026-11 needed imbalanced-learn and sklearn-compat), DATA_DIR (holding mnist/ and fashion-mnist-1000/;
# default ../shared/data), OUT (where results go; default gpu_out), DEVICE
# (default cuda), EXTRA (more arguments for bench_generation.py).
set -uo pipefail
datasets=$1 seeds=$2 variants=$3 jobs=${4:-12} limit=${5:-420}
source bench/gpu_env.sh
mkdir -p "$out/rows"
export OMP_NUM_THREADS=1
start=$(date +%s)
export DEADLINE=$((start + limit)) DATA="$data" ROWS="$out/rows" VARIANTS="$variants"
export DEVICE="${DEVICE:-cuda}" EXTRA="${EXTRA:-}"
for seed in $seeds; do
  for dataset in $datasets; do echo "$dataset $seed"; done
done | xargs -P "$jobs" -L 1 sh -c '
  left=$((DEADLINE - $(date +%s)))
  [ "$left" -gt 0 ] || exit 0
  timeout "$left" python3 bench/bench_generation.py --dataset "$0" --seeds "$1" \
    --device "$DEVICE" --data-dir "$DATA" --variants $VARIANTS $EXTRA \
    > "$ROWS/$0_$1.json" 2> "$ROWS/$0_$1.jsonl" || true'
echo "ran $(( $(date +%s) - start )) s (limit $limit s)" | tee -a "$out/gpu.txt"
status=0
for dataset in $datasets; do
  python3 bench/bench_generation.py --summarise "$out"/rows/"$dataset"_*.jsonl \
    > "$out/summary_$dataset.json" || status=1
done
tar -czf "$out/rows.tgz" -C "$out" rows && rm -rf "$out/rows"
exit $status
