#!/usr/bin/env bash
# Benchmark (not a test): what the requeue-signal agreement costs. Bolt DDP on the Fashion-MNIST
# example, 2 ranks (gloo, 1 thread each), with trainer.requeue_signal USR1 (a one-number
# allreduce launched with every step) against none (no agreement), interleaved REPEATS times
# (default 3) over LIMIT training samples (default 30000). Prints median training samples/s
# of both and their ratio.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
REPEATS=${REPEATS:-3}
LIMIT=${LIMIT:-30000}
OUT=$(mktemp -d /tmp/bolt-bench.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
for i in $(seq "$REPEATS"); do
  for signal in USR1 none; do
    OMP_NUM_THREADS=1 "$BUILD/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit \
      --config configs/fashion_mnist.json --trainer.max_epochs 1 --data.limit_train "$LIMIT" \
      --loggers.progress false --trainer.requeue_signal "$signal" \
      --loggers.logs_dir "$OUT/$signal$i" > "$OUT/$signal$i.log" 2>&1
  done
  echo "bench: repeat $i/$REPEATS done"
done
/usr/bin/python3 - "$OUT" "$REPEATS" <<'PY'
import json, statistics, sys
out, repeats = sys.argv[1], int(sys.argv[2])
def rate(signal):
    values = []
    for i in range(1, repeats + 1):
        rows = [json.loads(l) for l in open(f"{out}/{signal}{i}/fashion_cnn/version_0/metrics.jsonl")]
        values.append(rows[0]["train_samples_per_s"])
    return statistics.median(values), values
with_agreement, a = rate("USR1")
without, b = rate("none")
print(f"training samples/s (median of {repeats}): requeue_signal USR1 {with_agreement:.0f} {[round(x) for x in a]}"
      f" | none {without:.0f} {[round(x) for x in b]} | ratio USR1/none {with_agreement / without:.3f}")
PY
