#!/usr/bin/env bash
# Benchmark (not a test): what the TorchScript interpreter costs per step. The Fashion-MNIST CNN
# for one epoch (batch 16 per rank, SGD lr 0.02 momentum 0.9, 2 ranks, 1 thread each), as
#   (a) PyTorch DDP in Python (scripts/bench/torch_ddp.py under torchrun),
#   (b) Bolt with the C++ plugin (configs/fashion_mnist.json),
#   (c) Bolt with the same CNN scripted in Python (apps/examples/python/fashion_torchscript.py)
# interleaved REPEATS times (default 3); prints median training samples/s and the ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
REPEATS=${REPEATS:-3}
DATA=/usr/share/datasets/fashion-mnist
OUT=$(mktemp -d /tmp/bolt-bench-ts.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
/usr/bin/python3 -c "import torch, numpy" 2>/dev/null || { echo "torchscript bench: needs python3-torch python3-numpy (apt-get install)"; exit 1; }
[[ -x $BUILD/bin/bolt-launch ]] || { echo "torchscript bench: build Bolt first (scripts/setup.sh)"; exit 1; }
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456 OMP_NUM_THREADS=1
/usr/bin/python3 apps/examples/python/fashion_torchscript.py "$OUT/py" > /dev/null
rate() { /usr/bin/python3 -c "import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if '\"epoch\"' in l][-1]['train_samples_per_s'])" "$1"; }
for i in $(seq "$REPEATS"); do
  BENCH_T0=$(date +%s.%N) timeout 300 /usr/bin/python3 scripts/bench/torchrun_py311.py --nproc_per_node 2 --master_port 29612 \
    scripts/bench/torch_ddp.py "$DATA" 2>"$OUT/a$i.err" | tail -n 1 > "$OUT/a$i.json"
  "$BUILD/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit --config configs/fashion_mnist.json \
    --trainer.max_epochs 1 --loggers.progress false --loggers.logs_dir "$OUT/b$i" > "$OUT/b$i.log" 2>&1
  "$BUILD/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit --config "$OUT/py/config.json" \
    --trainer.max_epochs 1 --trainer.export false --trainer.test_after_fit false --model.lr_schedule none \
    --loggers.progress false --loggers.logs_dir "$OUT/c$i" > "$OUT/c$i.log" 2>&1
  echo "a $(/usr/bin/python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['epochs'][-1]['train_samples_per_s'])" "$OUT/a$i.json")" >> "$OUT/rates"
  echo "b $(rate "$OUT"/b$i/fashion_cnn/version_0/metrics.jsonl)" >> "$OUT/rates"
  echo "c $(rate "$OUT"/c$i/torchscript/version_0/metrics.jsonl)" >> "$OUT/rates"
  echo "torchscript bench: repeat $i/$REPEATS done"
done
/usr/bin/python3 - "$OUT/rates" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    k, v = line.split(); rates.setdefault(k, []).append(float(v))
m = {k: statistics.median(v) for k, v in rates.items()}
print(f"{'run (2 ranks, 1 epoch)':<34} {'samples/s':>10}")
print(f"{'PyTorch DDP (Python)':<34} {m['a']:>10.0f}")
print(f"{'Bolt, C++ plugin':<34} {m['b']:>10.0f}  {m['b']/m['a']:.2f}x PyTorch")
print(f"{'Bolt, TorchScript from Python':<34} {m['c']:>10.0f}  {m['c']/m['a']:.2f}x PyTorch, {m['c']/m['b']:.2f}x the C++ plugin")
PY
