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
  BENCH_T0=$t0 OMP_NUM_THREADS=1 /usr/bin/python3 scripts/bench/torchrun_py311.py --nproc_per_node 2 \
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

/usr/bin/python3 - "$OUT" "$REPEATS" <<'PY'
import glob, json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def load(p): return json.load(open(p))
def bolt(kind, i):
    rows = [json.loads(l) for l in open(glob.glob(f"{out}/{kind}{i}/fashion_cnn/version_*/metrics.jsonl")[0])]
    epoch = [r for r in rows if "epoch" in r][0]
    test = [r for r in rows if r.get("stage") == "test"][0]
    return {"sps": epoch["train_samples_per_s"], "first": epoch["launch_to_first_step_s"],
            "wall": load(f"{out}/{kind}{i}.wall")["wall_s"], "test": test["test_score"]}
def torch_ddp(i):
    r = load(f"{out}/a{i}.json")
    return {"sps": r["epochs"][0]["train_samples_per_s"], "first": r["launch_to_first_step_s"],
            "wall": load(f"{out}/a{i}.wall")["wall_s"], "test": r["test_score"]}
def raw(i): return {"sps": load(f"{out}/c{i}.json")["epochs"][0]["train_samples_per_s"], "first": None, "wall": None, "test": None}
runs = {"(a) PyTorch DDP, 2 ranks": [torch_ddp(i) for i in range(1, repeats + 1)],
        "(b) Bolt DDP, 2 ranks": [bolt("b", i) for i in range(1, repeats + 1)],
        "(c) raw libtorch, 1 process": [raw(i) for i in range(1, repeats + 1)],
        "(d) Bolt, 1 process": [bolt("d", i) for i in range(1, repeats + 1)]}
med = {k: {m: (statistics.median(r[m] for r in v) if v[0][m] is not None else None) for m in v[0]} for k, v in runs.items()}
fmt = lambda x, f: "-" if x is None else f.format(x)
print(f"\n{'run (median of ' + str(repeats) + ')':32} {'train samples/s':>16} {'launch→1st step s':>18} {'launch→exit s':>14} {'test acc':>9}")
for k, m in med.items():
    print(f"{k:32} {fmt(m['sps'], '{:16.0f}')} {fmt(m['first'], '{:18.2f}')} {fmt(m['wall'], '{:14.1f}')} {fmt(m['test'], '{:9.4f}')}")
a, b, c, d = (med[k] for k in runs)
print(f"\nBolt DDP / PyTorch DDP throughput: {b['sps'] / a['sps']:.2f}x (target >= 1.3x)")
print(f"Bolt DDP / PyTorch DDP launch→exit: {b['wall'] / a['wall']:.2f}x (target <= 0.7x)")
print(f"Bolt launch→first step: {b['first']:.2f} s vs torchrun {a['first']:.2f} s (target <= 1.0 s)")
print(f"Bolt single / raw libtorch throughput: {d['sps'] / c['sps']:.3f}x (target >= 0.98x)")
PY
