#!/usr/bin/env bash
# The loop keys of trainer.*: gradient accumulation (equal to one K×B batch, no allreduce on
# the K-1 intermediate micro-batches), clipping of the averaged gradients (grad_norm), a
# per-step warm-up + cosine schedule restored exactly on resume, bf16-mixed, early stopping,
# max_steps; on 1 and 2 ranks. Bad values exit 2 before any file is written.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
common=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 11 --model.lr 0.02
        --data.train_size 600 --data.val_size 100 --trainer.max_epochs 2)
one=("$LAUNCH" --device cpu --)
two=("$LAUNCH" --nproc-per-node 2 --standalone --)
last() { echo "$WORK/$1/mlp/version_0/checkpoints/last.pt"; }
metrics() { echo "$WORK/$1/mlp/version_0/metrics.jsonl"; }

# Accumulation: 600 samples = 18 windows of 32 and one of 24, on 1 rank and on 2 ranks.
expect_exit 0 "epoch 2/2" "1 rank, batch 32" -- "${one[@]}" fit "${common[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/b32"
expect_exit 0 "19 steps per epoch \(75 batches of 8\)" "1 rank, 4 micro-batches of 8 per step" -- \
  "${one[@]}" fit "${common[@]}" --data.batch_size 8 --trainer.accumulate_grad_batches 4 --loggers.logs_dir "$WORK/k4"
expect_exit 0 "max relative difference" "... parameters equal one batch of 32 (1e-5)" -- "$COMPARE" "$TESTKIT" mlp "$(last b32)" "$(last k4)" 1e-5
expect_exit 0 "19 steps per epoch \(75 batches of 4\)" "2 ranks, 4 micro-batches of 4 per step on each" -- \
  "${two[@]}" fit "${common[@]}" --data.batch_size 4 --trainer.accumulate_grad_batches 4 --loggers.logs_dir "$WORK/k4x2"
expect_exit 0 "max relative difference" "... parameters equal 1 rank with batch 32 (1e-5)" -- "$COMPARE" "$TESTKIT" mlp "$(last b32)" "$(last k4x2)" 1e-5
check "... one gradient allreduce per optimizer step, none on the other 56 micro-batches (19 per epoch)" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$(metrics k4x2)')]
assert [r['grad_allreduces'] for r in rows] == [19, 19], rows"
expect_exit 0 "epoch 2/2" "2 ranks, batch 4 without accumulation" -- "${two[@]}" fit "${common[@]}" --data.batch_size 4 --loggers.logs_dir "$WORK/b4x2"
check "... 75 allreduces per epoch without accumulation" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$(metrics b4x2)')]
assert [r['grad_allreduces'] for r in rows] == [75, 75], rows"
check "train_loss of the accumulated run equals batch 32's (1e-5)" close_enough "$(metric "$(metrics k4x2)" fit train_loss)" "$(metric "$(metrics b32)" fit train_loss)" 1e-5

# Clipping by norm acts on the averaged gradients: 2 ranks × 16 equal 1 rank × 32.
clip=(--trainer.gradient_clip_val 0.3 --trainer.gradient_clip_algorithm norm)
expect_exit 0 "epoch 2/2" "clip by norm 0.3, 1 rank" -- "${one[@]}" fit "${common[@]}" "${clip[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/clip1"
expect_exit 0 "epoch 2/2" "clip by norm 0.3, 2 ranks" -- "${two[@]}" fit "${common[@]}" "${clip[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/clip2"
expect_exit 0 "max relative difference" "... parameters equal (1e-5)" -- "$COMPARE" "$TESTKIT" mlp "$(last clip1)" "$(last clip2)" 1e-5
check "... grad_norm (pre-clip) reported and equal on 1 and 2 ranks, above the clip value" /usr/bin/python3 -c "
import json
a=[json.loads(l)['grad_norm'] for l in open('$(metrics clip1)')]; b=[json.loads(l)['grad_norm'] for l in open('$(metrics clip2)')]
assert len(a) == 2 and all(abs(x-y) <= 1e-5*x for x, y in zip(a, b)) and min(a) > 0.3, (a, b)"
expect_exit 1 "max relative difference" "... clipping changed the result (vs no clipping)" -- "$COMPARE" "$TESTKIT" mlp "$(last clip1)" "$(last b32)" 1e-3
expect_exit 0 "epoch 2/2" "clip by value 0.01" -- "${one[@]}" fit "${common[@]}" --trainer.gradient_clip_val 0.01 --trainer.gradient_clip_algorithm value --data.batch_size 32 --loggers.logs_dir "$WORK/clipv"
expect_exit 1 "max relative difference" "... clipping by value changed the result" -- "$COMPARE" "$TESTKIT" mlp "$(last clipv)" "$(last b32)" 1e-3

# Warm-up + cosine per optimizer step (19 per epoch, 3 epochs, 57 in all, 10 of warm-up).
sched=(--model.lr_schedule warmup_cosine --model.warmup_steps 10 --model.min_lr_ratio 0.1 --data.batch_size 32 --trainer.max_epochs 3)
expect_exit 0 "epoch 3/3" "warmup_cosine schedule" -- "${one[@]}" fit "${common[@]}" "${sched[@]}" --loggers.logs_dir "$WORK/cos"
check "... the rate at each epoch's start follows the schedule (0 at step 0)" /usr/bin/python3 -c "
import json, math
rows=[json.loads(l) for l in open('$(metrics cos)')]
def lr(s, w=10, t=57, m=0.1):
    if s < w: return 0.02*s/w
    p=min(1.0,(s-w)/max(1,t-w)); return 0.02*(m+(1-m)*0.5*(1+math.cos(math.pi*p)))
want=[lr(0), lr(19), lr(38)]
assert all(abs(r['lr']-x) <= 1e-12 for r, x in zip(rows, want)), ([r['lr'] for r in rows], want)"

# max_steps stops mid-epoch with a checkpoint; resuming it (schedule, accumulation, tracker
# state) ends bitwise equal to the straight run.
resume=(--model.lr_schedule warmup_cosine --model.warmup_steps 5 --model.total_steps 38 --data.batch_size 8
        --trainer.accumulate_grad_batches 4 --trainer.max_epochs 2)
# 1 rank: 19 steps per epoch, step 25 is batch 24 of epoch 2; 2 ranks: 10, step 15 is batch 20.
for ranks in 1 2; do
  launch=("$LAUNCH" --nproc-per-node "$ranks" --standalone --)
  steps=$((ranks == 1 ? 25 : 15)) batch=$((ranks == 1 ? 24 : 20))
  expect_exit 0 "epoch 2/2" "$ranks rank(s): schedule + accumulation, straight" -- "${launch[@]}" fit "${common[@]}" "${resume[@]}" --loggers.logs_dir "$WORK/straight$ranks"
  expect_exit 0 "max_steps $steps reached in epoch 2" "$ranks rank(s): max_steps $steps stops inside epoch 2" -- \
    "${launch[@]}" fit "${common[@]}" "${resume[@]}" --trainer.max_steps "$steps" --loggers.logs_dir "$WORK/part$ranks"
  expect_exit 0 "resumed from .* at epoch 2 step $batch \(global step $steps\)" "$ranks rank(s): resume auto without max_steps" -- \
    "${launch[@]}" fit "${common[@]}" "${resume[@]}" --trainer.resume auto --loggers.logs_dir "$WORK/part$ranks"
  expect_exit 0 "max relative difference 0.000e\+00" "$ranks rank(s): resumed parameters bitwise equal the straight run" -- \
    "$COMPARE" "$TESTKIT" mlp "$WORK/straight$ranks/mlp/version_0/checkpoints/last.pt" "$WORK/part$ranks/mlp/version_0/checkpoints/last.pt" 0
  check "$ranks rank(s): epoch 2's metrics and rate equal the straight run's" /usr/bin/python3 -c "
import json
a=[json.loads(l) for l in open('$WORK/straight$ranks/mlp/version_0/metrics.jsonl')]; b=[json.loads(l) for l in open('$WORK/part$ranks/mlp/version_0/metrics.jsonl')]
assert [r['epoch'] for r in b] == [1, 2], b
for k in ('train_loss', 'val_loss', 'lr'): assert a[1][k] == b[1][k], (k, a[1][k], b[1][k])"
done

# bf16-mixed (CPU autocast): trains, and really ran in lower precision.
expect_exit 0 "precision bf16-mixed" "bf16-mixed on CPU" -- "${one[@]}" fit "${common[@]}" --data.batch_size 32 --trainer.precision bf16-mixed --loggers.logs_dir "$WORK/bf16"
check "... its losses are finite and fall" /usr/bin/python3 -c "
import json, math; rows=[json.loads(l) for l in open('$(metrics bf16)')]
assert all(math.isfinite(r['val_loss']) for r in rows) and rows[-1]['train_loss'] < rows[0]['train_loss'], rows"
expect_exit 1 "max relative difference" "... and differs from the float32 run" -- "$COMPARE" "$TESTKIT" mlp "$(last b32)" "$(last bf16)" 1e-6
expect_exit 0 "precision bf16-mixed" "bf16-mixed on 2 ranks" -- "${two[@]}" fit "${common[@]}" --data.batch_size 16 --trainer.precision bf16-mixed --loggers.logs_dir "$WORK/bf16x2"
check "... it ends close to the 1-rank bf16 run (bf16 rounding differs with the batch split)" close_enough \
  "$(metric "$(metrics bf16x2)" fit val_loss)" "$(metric "$(metrics bf16)" fit val_loss)" 0.05
expect_exit 2 "16-mixed needs a CUDA device" "16-mixed on CPU is refused" -- "${one[@]}" fit "${common[@]}" --trainer.precision 16-mixed --loggers.logs_dir "$WORK/bad"

# Early stopping: with lr 0 nothing improves after epoch 1; patience 2 stops after epoch 3.
expect_exit 0 "early stopping after epoch 3" "early_stopping_patience 2 (1 rank)" -- \
  "${one[@]}" fit "${common[@]}" --model.lr 0 --trainer.max_epochs 10 --trainer.early_stopping_patience 2 --data.batch_size 32 --loggers.logs_dir "$WORK/early1"
expect_exit 0 "early stopping after epoch 3" "early_stopping_patience 2 (2 ranks agree)" -- \
  "${two[@]}" fit "${common[@]}" --model.lr 0 --trainer.max_epochs 10 --trainer.early_stopping_patience 2 --data.batch_size 16 --loggers.logs_dir "$WORK/early2"
check "... 3 epochs in metrics.jsonl" test "$(wc -l < "$(metrics early2)")" -eq 3
expect_exit 0 "early stopping after epoch 3: val loss" "monitor loss (minimised)" -- \
  "${one[@]}" fit "${common[@]}" --model.lr 0 --trainer.max_epochs 10 --trainer.early_stopping_patience 2 --trainer.monitor loss --data.batch_size 32 --loggers.logs_dir "$WORK/early3"

# Bad values: exit 2, nothing written.
bad() {
  local pattern=$1 what=$2
  shift 2
  expect_exit 2 "$pattern" "$what" -- "${one[@]}" fit "${common[@]}" --loggers.logs_dir "$WORK/bad" "$@"
}
bad "trainer.accumulate_grad_batches: must be at least 1" "accumulate_grad_batches 0" --trainer.accumulate_grad_batches 0
bad "trainer.gradient_clip_val: must be at least 0" "gradient_clip_val -1" --trainer.gradient_clip_val -1
bad "trainer.gradient_clip_algorithm: .*norm, value" "gradient_clip_algorithm l2" --trainer.gradient_clip_algorithm l2
bad "trainer.precision: .*bf16-mixed" "precision fp8" --trainer.precision fp8
bad "trainer.early_stopping_patience: must be at least 0" "early_stopping_patience -1" --trainer.early_stopping_patience -1
bad "trainer.max_steps: must be at least 0" "max_steps -5" --trainer.max_steps -5
bad "trainer.monitor 'accuracy' is not tracked; tracked: loss, score" "monitor of an untracked name" --trainer.monitor accuracy
bad "loggers.tracker_keys: no step reports 'accuracy'; the steps report: loss, score" "tracker_keys naming no step output" --loggers.tracker_keys accuracy
bad "model.lr_schedule: .*warmup_cosine" "unknown schedule" --model.lr_schedule linear
bad "trainer.accumulate_grad_batches: expected integer" "accumulate_grad_batches 1.5" --trainer.accumulate_grad_batches 1.5
check "no run directory was left by any refused run" test ! -e "$WORK/bad"
check "no process left behind" no_leftovers
finish
