#!/usr/bin/env bash
# The GPU checks, as run on the device machine (one NVIDIA H100/H200, its own Python 3.12
# and torch with CUDA, no network): GPU tests, bench/gpu.py, then the whole suite.
# onnxruntime-gpu travels as .whl/ort-gpu-*.tar.xz, made by bench/device_ort_package.py
# (the wheel's package, its CUDA kernels for sm_90 only, to fit the 64 MiB the device
# tool carries): run it with carry [".whl"]. Logs go to $OUT.
set -u
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT" /tmp/site
export PYTHONUNBUFFERED=1
tar xJf .whl/ort-gpu-*.tar.xz -C /tmp/site && export PYTHONPATH=/tmp/site
python3 -m pip install -q --no-deps --no-build-isolation -e . >"$OUT/install.log" 2>&1 \
  || { echo "pip install failed, using PYTHONPATH"; export PYTHONPATH=/tmp/site:$PWD; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -c "import onnxruntime as o, torch; print('onnxruntime', o.__version__, o.get_available_providers(), 'torch', torch.__version__, torch.cuda.is_available())"
echo "== compiler for the fused CPU kernel: $(command -v c++ g++ ninja | tr '\n' ' ')"
echo "== GPU tests"
timeout 150 python3 -m pytest -q -m gpu -p no:cacheprovider -rs tests 2>&1 | tee "$OUT/gpu_tests.log" | tail -25
echo "== bench/gpu.py"
(cd bench && timeout "${BENCH_TIMEOUT:-330}" python3 gpu.py --json "$OUT/gpu.json" ${BENCH_ARGS:-} 2>&1 | tee "$OUT/gpu_bench.log" | tail -40)
echo "== fused CPU kernel (built once here, before the suite's workers need it)"
timeout 150 python3 -c "from gruforecast import fused; print('fused kernel built:', fused.kernel() is not None)" 2>&1 | tail -3
echo "== whole suite"
timeout "${SUITE_TIMEOUT:-150}" python3 -m pytest -q -n 12 -p no:cacheprovider tests 2>&1 | tee "$OUT/suite.log" | tail -25
