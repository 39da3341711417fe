#!/usr/bin/env bash
# GPU check, for a machine with an NVIDIA GPU and a CUDA libtorch (e.g. the one inside a pip
# `torch`): builds Bolt against that libtorch, then prints training samples/s of
#   0. a raw libtorch CUDA loop without Bolt (train set resident on the GPU): the baseline
#   1. bolt-launch --device cuda:0 (one process, no process group): batches built by 2 loader
#      threads in pinned memory, copied on a side stream one step ahead; then with
#      --data.device_cache true (datasets on the GPU, batches gathered there); both against 0.
#      Targets: >= 0.9x raw without the cache, >= 0.97x with it.
#   2. bolt-launch --nproc-per-node 1 with --trainer.dist_backend nccl (a real NCCL group)
#   4. --device cuda:0 with --trainer.precision 16-mixed (autocast + Bolt's gradient scaler)
#      and bf16-mixed
#   5. the same CNN scripted in Python (built-in torchscript model) on cuda:0, exported back
# on the Fashion-MNIST example (batch 256, 5 epochs of ~0.4 s each: the median of epochs 2-5 is
# reported, the first holds the warm-up).
# Environment: PYTHON (python3 with torch), BOLT_DEPS_DIR (header folder for machines without
# Debian's -dev packages, see CMakeLists.txt: copy /usr/include/{fmt,spdlog,CLI,nlohmann,gloo,
# zlib.h,zconf.h} of a Debian machine with them into DIR/include), DATA_DIR (Fashion-MNIST .gz
# files), OUT_DIR.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
DATA_DIR=${DATA_DIR:-/usr/share/datasets/fashion-mnist}
OUT_DIR=${OUT_DIR:-/tmp/bolt-gpu-check}
BUILD=build-gpu
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || { echo "gpu-check: no NVIDIA GPU"; exit 1; }
TORCH_PREFIX=$("$PYTHON" -c 'import torch; print(torch.utils.cmake_prefix_path)') || { echo "gpu-check: $PYTHON has no torch"; exit 1; }
"$PYTHON" -c 'import torch; print("gpu-check: torch", torch.__version__, "cuda", torch.version.cuda, "cxx11abi", torch._C._GLIBCXX_USE_CXX11_ABI)'
generator=(); command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
cmake -S . -B "$BUILD" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$TORCH_PREFIX" \
  -DBOLT_BUILD_TESTS=OFF ${BOLT_DEPS_DIR:+-DBOLT_DEPS_DIR="$BOLT_DEPS_DIR"} ${BOLT_CMAKE_ARGS:-} > "$OUT_DIR/cmake.log" 2>&1 \
  || { tail -n 40 "$OUT_DIR/cmake.log"; echo "gpu-check: cmake failed"; exit 1; }
cmake --build "$BUILD" -j "$(nproc)" > "$OUT_DIR/build.log" 2>&1 \
  || { grep -E "error|Error" "$OUT_DIR/build.log" | head -n 30; echo "gpu-check: build failed"; exit 1; }
echo "gpu-check: built in $(( $(date +%s) - start )) s"

common=(fit --config configs/fashion_mnist.json --data.data_dir "$DATA_DIR" --data.batch_size 256
        --data.pin_memory true --data.num_workers 2 --trainer.max_epochs 5)
rate() { /usr/bin/env "$PYTHON" -c "import json,sys,statistics; rows=[json.loads(l) for l in open(sys.argv[1]) if '\"epoch\"' in l]; print(f\"{statistics.median(r['train_samples_per_s'] for r in rows[1:] or rows):.0f} samples/s (val acc {rows[-1]['val_score']:.4f}, first step {rows[0].get('launch_to_first_step_s', 0):.2f} s after launch)\")" "$1"; }
status=0
raw=$("$BUILD/bin/bench_raw_libtorch" "$DATA_DIR" 5 256 cuda:0) && raw_rate=$("$PYTHON" -c "import json,sys,statistics; print(round(statistics.median(e['train_samples_per_s'] for e in json.loads(sys.argv[1])['epochs'][1:])))" "$raw") \
  && echo "gpu-check: raw libtorch CUDA loop:          $raw_rate samples/s" || { status=1; raw_rate=0; }
ratio() { "$PYTHON" -c "import json,sys,statistics; rows=[json.loads(l) for l in open(sys.argv[1]) if '\"epoch\"' in l]; r=rows[-1]; print(f\"{statistics.median(x['train_samples_per_s'] for x in rows[1:]) / max(float(sys.argv[2]), 1):.3f}x raw (target >= {sys.argv[3]}x); step ms: {r.get('step_ms')}\")" "$@"; }
for cache in false true; do
  "$BUILD/bin/bolt-launch" --device cuda:0 -- "${common[@]}" --data.device_cache $cache --loggers.logs_dir "$OUT_DIR/single-$cache" > "$OUT_DIR/single-$cache.log" 2>&1 \
    && echo "gpu-check: bolt --device cuda:0 device_cache $cache: $(rate "$OUT_DIR"/single-$cache/fashion_cnn/version_0/metrics.jsonl)" \
    && echo "gpu-check:   $(ratio "$OUT_DIR"/single-$cache/fashion_cnn/version_0/metrics.jsonl "$raw_rate" "$([[ $cache == true ]] && echo 0.97 || echo 0.9)")" \
    || { status=1; tail -n 20 "$OUT_DIR/single-$cache.log"; }
done
"$BUILD/bin/bolt-launch" --nproc-per-node 1 --standalone -- "${common[@]}" --trainer.dist_backend nccl --loggers.logs_dir "$OUT_DIR/nccl" > "$OUT_DIR/nccl.log" 2>&1 \
  && echo "gpu-check: bolt --nproc-per-node 1 (NCCL):  $(rate "$OUT_DIR"/nccl/fashion_cnn/version_0/metrics.jsonl)" \
  || { status=1; tail -n 20 "$OUT_DIR/nccl.log"; }
grep -h "joined the" "$OUT_DIR/nccl.log" | sed 's/^/gpu-check:   /'
for precision in 16-mixed bf16-mixed; do
  "$BUILD/bin/bolt-launch" --device cuda:0 -- "${common[@]}" --trainer.precision "$precision" --loggers.logs_dir "$OUT_DIR/$precision" > "$OUT_DIR/$precision.log" 2>&1 \
    && echo "gpu-check: bolt --device cuda:0 $precision: $(rate "$OUT_DIR/$precision"/fashion_cnn/version_0/metrics.jsonl)" \
    || { status=1; tail -n 20 "$OUT_DIR/$precision.log"; }
done
"$PYTHON" -c "import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if '\"epoch\"' in l]; print('gpu-check:   16-mixed: skipped steps (inf/NaN gradients)', rows[-1].get('skipped_steps'))" \
  "$OUT_DIR"/16-mixed/fashion_cnn/version_0/metrics.jsonl || status=1
FASHION_MNIST_DIR="$DATA_DIR" "$PYTHON" apps/examples/python/fashion_torchscript.py "$OUT_DIR/py" > /dev/null || status=1
"$BUILD/bin/bolt-launch" --device cuda:0 -- fit --config "$OUT_DIR/py/config.json" --trainer.max_epochs 2 --data.batch_size 256 \
  --loggers.logs_dir "$OUT_DIR/torchscript" > "$OUT_DIR/torchscript.log" 2>&1 \
  && echo "gpu-check: bolt --device cuda:0 torchscript: $(rate "$OUT_DIR"/torchscript/torchscript/version_0/metrics.jsonl)" \
  && FASHION_MNIST_DIR="$DATA_DIR" "$PYTHON" apps/examples/python/fashion_torchscript.py "$OUT_DIR/py" --evaluate "$OUT_DIR"/torchscript/torchscript/version_0/checkpoints/best.torchscript.pt \
  | sed 's/^/gpu-check:   /' || { status=1; tail -n 20 "$OUT_DIR/torchscript.log"; }
exit $status
