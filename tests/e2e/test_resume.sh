#!/usr/bin/env bash
# Resuming a fit from last.pt continues exactly: 4 epochs straight equal 2 epochs + resume to 4
# (parameters and metrics); bad checkpoints are refused by name.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
common=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 3 --data.batch_size 16
        --data.train_size 640)

for ranks in 1 2; do
  launch=("$LAUNCH" --nproc-per-node "$ranks" --standalone --)
  expect_exit 0 "epoch 4/4" "$ranks rank(s): 4 epochs straight" -- "${launch[@]}" fit "${common[@]}" --trainer.max_epochs 4 --loggers.logs_dir "$WORK/straight$ranks"
  expect_exit 0 "starting fresh" "$ranks rank(s): resume auto with no checkpoint starts fresh" -- \
    "${launch[@]}" fit "${common[@]}" --trainer.max_epochs 2 --trainer.resume auto --loggers.logs_dir "$WORK/split$ranks"
  expect_exit 0 "resumed from .*last.pt after epoch 2" "$ranks rank(s): resume auto to 4 epochs" -- \
    "${launch[@]}" fit "${common[@]}" --trainer.max_epochs 4 --trainer.resume auto --loggers.logs_dir "$WORK/split$ranks"
  A=$WORK/straight$ranks/mlp/version_0
  B=$WORK/split$ranks/mlp/version_0
  check "$ranks rank(s): the resumed run kept writing into its run directory" test ! -e "$WORK/split$ranks/mlp/version_1"
  expect_exit 0 "max relative difference 0.000e\+00" "$ranks rank(s): final parameters bitwise equal" -- \
    "$COMPARE" "$TESTKIT" mlp "$A/checkpoints/last.pt" "$B/checkpoints/last.pt" 0
  check "$ranks rank(s): metrics of epochs 3-4 equal, epochs 1-4 in one metrics.jsonl" /usr/bin/python3 -c "
import json
a=[json.loads(l) for l in open('$A/metrics.jsonl')]; b=[json.loads(l) for l in open('$B/metrics.jsonl')]
assert [r['epoch'] for r in b] == [1, 2, 3, 4], b
for x, y in zip(a[2:], b[2:]):
    for k in ('train_loss', 'train_score', 'val_loss', 'val_score', 'lr'):
        assert x[k] == y[k], (k, x[k], y[k])"
done

echo "not a checkpoint" > junk.pt
expect_exit 1 "checkpoint junk.pt: not a readable checkpoint" "a corrupt checkpoint is refused by name" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --trainer.resume junk.pt --loggers.logs_dir "$WORK/junk"
expect_exit 1 "trainer.resume $WORK/none.pt: no such checkpoint file" "a missing checkpoint is refused" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --trainer.resume "$WORK/none.pt" --loggers.logs_dir "$WORK/junk"
expect_exit 1 "does not match this model" "another model's checkpoint is refused" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --model.hidden 5 --trainer.resume "$WORK/straight1/mlp/version_0/checkpoints/last.pt" --loggers.logs_dir "$WORK/junk"
finish
