#!/usr/bin/env bash
# Benchmark (not a test): Bolt vs PyTorch's own DDP and vs a raw libtorch loop, on the
# Fashion-MNIST example (configs/fashion_mnist.json: same CNN, split, batch 16 per rank,
# SGD lr 0.02 momentum 0.9), 1 epoch + test, interleaved, REPEATS times (default 3):
#   (a) PyTorch DDP, python3-torch 1.13 under torchrun --nproc_per_node 2 (gloo, 1 thread/rank)
#   (b) Bolt, bolt-launch --nproc-per-node 2 (gloo, 1 thread/rank)
#   (c) a raw single-process libtorch loop (2 threads)
#   (d) Bolt single process, bolt-launch --device cpu (2 threads)
# Prints medians: training samples/s (start-up excluded), launch → first step, launch → exit,
# and the ratios Bolt/PyTorch-DDP and Bolt-single/raw.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
REPEATS=${REPEATS:-3}
DATA=/usr/share/datasets/fashion-mnist
OUT=$(mktemp -d /tmp/bolt-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
# Bolt's worker fixes glibc's malloc thresholds (see apps/bolt-worker/main.cpp); the references
# get the same through glibc's environment tunables, so the ratios measure Bolt, not malloc.
export MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=268435456
now() { date +%s.%N; }
echo "bench: torchrun runs through scripts/bench/torchrun_py311.py, which fixes torch 1.13's" \
     "--redirects/--tee parser on Python 3.11 (Std.from_str loses Std.NONE); nothing else changes"

for i in $(seq "$REPEATS"); do
  t0=$(now)
  # timeout: once in ~10 runs torch 1.13's gloo DDP hung here (ranks idle in a futex).
  BENCH_T0=$t0 OMP_NUM_THREADS=1 timeout 300 /usr/bin/python3 scripts/bench/torchrun_py311.py --nproc_per_node 2 \
    --master_port 29611 scripts/bench/torch_ddp.py "$DATA" 2>"$OUT/a$i.err" | tail -n 1 > "$OUT/a$i.json"
  echo "{\"wall_s\": $(echo "$(now) - $t0" | bc)}" > "$OUT/a$i.wall"

  t0=$(now)
  OMP_NUM_THREADS=1 "$BUILD/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit --config configs/fashion_mnist.json \
    --trainer.max_epochs 1 --trainer.test_after_fit true --loggers.logs_dir "$OUT/b$i" > "$OUT/b$i.log" 2>&1
  echo "{\"wall_s\": $(echo "$(now) - $t0" | bc)}" > "$OUT/b$i.wall"

  OMP_NUM_THREADS=2 "$BUILD/bin/bench_raw_libtorch" "$DATA" 1 16 > "$OUT/c$i.json"

  t0=$(now)
  OMP_NUM_THREADS=2 "$BUILD/bin/bolt-launch" --device cpu -- fit --config configs/fashion_mnist.json \
    --trainer.max_epochs 1 --trainer.test_after_fit true --loggers.logs_dir "$OUT/d$i" > "$OUT/d$i.log" 2>&1
  echo "{\"wall_s\": $(echo "$(now) - $t0" | bc)}" > "$OUT/d$i.wall"
  echo "bench: repeat $i/$REPEATS done"
done

/usr/bin/python3 scripts/bench/ddp_report.py "$OUT" "$REPEATS"
