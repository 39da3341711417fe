#!/usr/bin/env bash
# Benchmark (not a test): the Fashion-MNIST CNN example for one epoch on 2 DDP ranks, in
# float32 and in bf16-mixed (CPU autocast), side by side: validation accuracy after the epoch and
# training samples/s. The issue's target: bf16-mixed reaches val accuracy >= 0.85 after 1 epoch.
# CPUs without native bfloat16 (no AVX512-BF16/AMX) run bf16 kernels emulated: expect it slower.
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BOLT_BUILD_DIR:-build}
OUT=$(mktemp -d /tmp/bolt-precision.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
[[ -x $BUILD/bin/bolt-launch ]] || { echo "precision: build Bolt first (scripts/setup.sh)"; exit 1; }
[[ -d /usr/share/datasets/fashion-mnist ]] || { echo "precision: apt-get install dataset-fashion-mnist"; exit 1; }
export OMP_NUM_THREADS=1
for precision in 32 bf16-mixed; do
  "$BUILD/bin/bolt-launch" --nproc-per-node 2 --standalone -- fit --config configs/fashion_mnist.json \
    --trainer.max_epochs 1 --trainer.precision "$precision" --loggers.progress false \
    --loggers.logs_dir "$OUT/$precision" > "$OUT/$precision.log" 2>&1 || { tail -n 20 "$OUT/$precision.log"; exit 1; }
done
/usr/bin/python3 - "$OUT" <<'PY'
import json, sys
rows = {p: [json.loads(l) for l in open(f"{sys.argv[1]}/{p}/fashion_cnn/version_0/metrics.jsonl")][-1] for p in ("32", "bf16-mixed")}
print(f"{'precision':<12} {'val accuracy':>12} {'samples/s':>10}")
for p, r in rows.items():
    print(f"{p:<12} {r['val_score']:>12.4f} {r['train_samples_per_s']:>10.0f}")
print(f"bf16-mixed / 32 speed: {rows['bf16-mixed']['train_samples_per_s'] / rows['32']['train_samples_per_s']:.2f}x; "
      f"target val accuracy >= 0.85: {'met' if rows['bf16-mixed']['val_score'] >= 0.85 else 'NOT met'}")
PY
