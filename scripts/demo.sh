#!/usr/bin/env bash
# The main job: sets up Bolt, trains the Fashion-MNIST CNN on 2 local DDP ranks, then tests
# the best weights and prints the test accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
logs=${BOLT_DEMO_LOGS:-logs}
build/bin/bolt-launch --nproc-per-node 2 --standalone -- fit --config configs/fashion_mnist.json --loggers.logs_dir "$logs" "$@"
build/bin/bolt-launch --device cpu -- test --config configs/fashion_mnist.json --loggers.logs_dir "$logs" --trainer.ckpt_path best "$@"
run=$(ls -d "$logs"/fashion_cnn/version_* | sort -t_ -k2 -n | tail -n 1)
/usr/bin/python3 - "$run/metrics.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
epochs = [r for r in rows if "epoch" in r]
test = [r for r in rows if r.get("stage") == "test"][-1]
print(f"demo: {len(epochs)} epochs, {sum(r['epoch_time_s'] for r in epochs) / len(epochs):.1f} s per epoch, "
      f"best val accuracy {max(r['val_score'] for r in epochs):.4f}")
print(f"demo: test accuracy {test['test_score']:.4f} on {int(test['samples'])} images ({sys.argv[1]})")
PY
