# Sourced by the GPU scripts (gpu_check.sh, gpu_generation.sh) from the repo's root:
# sets $out (OUT, default gpu_out) and $data (DATA_DIR, default ../shared/data),
# installs the wheels in WHEELS (for an image without the project's needs), puts the
# repository on PYTHONPATH and records the GPU and PyTorch in $out/gpu.txt.
out="${OUT:-gpu_out}"
data="${DATA_DIR:-$(cd .. && pwd)/shared/data}"
mkdir -p "$out"
if [ -n "${WHEELS:-}" ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHEELS"/*.whl || exit 1
  export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' | tee -a "$out/gpu.txt"
