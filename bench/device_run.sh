#!/usr/bin/env bash
# The GPU checks, as run on the device machine (one NVIDIA H100/H200, 16 CPU cores, its own
# Python 3.12 and torch with CUDA, no network), most important first, each under its own
# time limit: the GPU tests, the DDP tests, global (many-series) training throughput on the
# GPU (bench/panel_throughput.py), DDP scaling on the CPU's 16 cores and through NCCL on the
# GPU (bench/ddp_scaling.py); with GPU_BENCH=1 also bench/gpu.py; then the whole suite.
# onnxruntime-gpu travels as .whl/ort-gpu-*.tar.xz, made by bench/device_ort_package.py
# (the wheel's package, its CUDA kernels for sm_90 only, to fit the 64 MiB the device
# tool carries): run it with carry [".whl"]. Logs and JSON go to $OUT.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/site
export PYTHONUNBUFFERED=1
tar xJf .whl/ort-gpu-*.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 \
  || { echo "pip install failed, using PYTHONPATH"; export PYTHONPATH=/tmp/site:$PWD; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import onnxruntime as o, torch; print('onnxruntime', o.__version__, o.get_available_providers(), 'torch', torch.__version__, torch.cuda.is_available(), 'nccl', torch.cuda.nccl.version())"
echo "== fused CPU kernel (built once here, before tests and benchmarks need it)"
timeout 150 python3 -c "from gruforecast import _fused; print('fused kernel built:', _fused.kernel() is not None)" 2>&1 | tail -3
echo "== GPU tests and DDP tests"
timeout 200 python3 -m pytest -q -p no:cacheprovider -rfs -n 8 -m gpu tests 2>&1 | tee "$OUT/gpu_tests.log" | tail -12
timeout 120 python3 -m pytest -q -p no:cacheprovider -rs -n 4 tests/test_ddp.py 2>&1 | tee "$OUT/ddp_tests.log" | tail -8
echo "== global training throughput on the GPU (bench/panel_throughput.py)"
timeout 150 python3 bench/panel_throughput.py --device cuda --batches auto 4096 16384 2>&1 \
  | tee "$OUT/panel_throughput_cuda.log" | tail -8
echo "== DDP scaling on the CPU (16 cores)"
timeout 200 python3 bench/ddp_scaling.py --threads 16 --processes 2 4 8 --windows-per-epoch 65536 \
  --json "$OUT/ddp_scaling_cpu16.json" 2>&1 | tail -8
echo "== DDP through NCCL on the one GPU (1 process, distributed=True) against plain"
timeout 120 python3 bench/ddp_scaling.py --device cuda --threads 4 --processes 1 --batch-size 4096 \
  --windows-per-epoch 262144 --series 20000 --length 200 --json "$OUT/ddp_scaling_cuda.json" 2>&1 | tail -5
if [ "${GPU_BENCH:-0}" = 1 ]; then
  echo "== bench/gpu.py"
  (cd bench && timeout "${BENCH_TIMEOUT:-330}" python3 gpu.py --json "$OUT/gpu.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/gpu_bench.log" | tail -40)
fi
echo "== whole suite"
# -v: each test's result is printed as it ends, so failures are named even when the
# time limit cuts the run short (the summary comes only at the end)
timeout "${SUITE_TIMEOUT:-150}" python3 -m pytest -v -n 12 -p no:cacheprovider -p no:benchmark tests 2>&1 \
  | tee "$OUT/suite.log" | grep -E "FAILED|ERROR|[0-9]+ (passed|failed)" | tail -30
