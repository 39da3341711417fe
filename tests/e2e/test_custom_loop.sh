#!/usr/bin/env bash
# Models that are not the example's shape: a Trainer from a plugin (the seed's template, and
# manual optimization of two optimizers: a GAN, bitwise resume included), a three-field batch
# under DDP equal to 1 rank, any tracked names, facts linked from the data to the model, the
# plugin logger, and errors during a step named with their place.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
one=("$LAUNCH" --device cpu --)
two=("$LAUNCH" --nproc-per-node 2 --standalone --)

# The registry: trainers are listed with their keys, and trainer.name picks one.
expect_exit 0 "seedlike  \(plugin loopkit\)" "--list shows the plugin's trainers" -- "$WORKER" --plugin "$LOOPKIT" --list
expect_exit 0 "--trainer.extra_scale" "--help shows the chosen trainer's own keys" -- "$WORKER" --plugin "$LOOPKIT" --plugin "$TESTKIT" --trainer.name seedlike --help
expect_exit 1 "unknown trainer 'nope'; registered: default, gan, seedlike" "an unknown trainer.name lists the registered ones" -- \
  "${one[@]}" fit --plugin "$LOOPKIT" --plugin "$TESTKIT" --model mlp --data synthetic --trainer.name nope --loggers.logs_dir "$WORK/bad"
expect_exit 2 "unknown option --trainer.extra_scale" "a trainer's key is unknown to other trainers" -- \
  "${one[@]}" fit --plugin "$LOOPKIT" --plugin "$TESTKIT" --model mlp --data synthetic --trainer.extra_scale 3 --loggers.logs_dir "$WORK/bad"

# The seed's template: hooks call the defaults and add to them, on 2 ranks.
seed=(--plugin "$TESTKIT" --plugin "$LOOPKIT" --model mlp --data synthetic --trainer.name seedlike
      --trainer.extra_scale 3 --data.batch_size 16 --trainer.max_epochs 2)
expect_exit 0 "seedlike: epoch 2 done at global step 40" "the seed's custom trainer from a plugin, 2 ranks" -- \
  "${two[@]}" fit "${seed[@]}" --loggers.logs_dir "$WORK/seed"
check "... its extra values reach metrics.jsonl (scaled_loss = 3 × loss; 20 steps and 20 hook calls per epoch)" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$WORK/seed/mlp/version_0/metrics.jsonl')]
for r in rows:
    assert abs(r['train_scaled_loss'] - 3*r['train_loss']) <= 1e-6*r['train_scaled_loss'], r
    assert abs(r['val_scaled_loss'] - 3*r['val_loss']) <= 1e-6*r['val_scaled_loss'], r
    assert r['train_steps_seen'] == 20 and r['train_hook_calls'] == 20, r"
check "... a reported but undeclared value is named in a warning" grep -q "the step reports undeclared but only loss, score, scaled_loss are tracked" "$WORK/seed/mlp/version_0/rank-0.log"
check "... and TensorBoard (train/scaled_loss, val/scaled_loss per epoch)" bash -c \
  "/usr/bin/python3 '$SRC/tests/e2e/tfevents.py' '$WORK'/seed/mlp/version_0/events.out.tfevents.* | grep -c '\"tag\": \"[a-z]*/scaled_loss\"' | grep -qx 4"

# Three named fields (inputs, extra, mask): 2 ranks × 16 equal 1 rank × 32.
masked=(--plugin "$LOOPKIT" --model masked_mlp --data masked --trainer.max_epochs 2)
expect_exit 0 "epoch 2/2 \| train kept" "three-field batch, 1 rank" -- "${one[@]}" fit "${masked[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/m1"
expect_exit 0 "epoch 2/2 \| train kept" "three-field batch, 2 ranks" -- "${two[@]}" fit "${masked[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/m2"
expect_exit 0 "max relative difference" "... parameters equal (1e-5)" -- \
  "$COMPARE" "$LOOPKIT" masked_mlp "$WORK/m1/masked_mlp/version_0/checkpoints/last.pt" "$WORK/m2/masked_mlp/version_0/checkpoints/last.pt" 1e-5
check "... the extra tracked value 'kept' is equal on 1 and 2 ranks" close_enough \
  "$(metric "$WORK/m1/masked_mlp/version_0/metrics.jsonl" fit val_kept)" "$(metric "$WORK/m2/masked_mlp/version_0/metrics.jsonl" fit val_kept)" 1e-9
check "plugin loggers write into each rank's log (data module and model, with their rank)" \
  grep -q "bolt.data - masked data: rank 1 of 2 builds its splits" "$WORK/m2/masked_mlp/version_0/rank-1.log"
check "... the model's too" grep -q "bolt.model - masked_mlp: optimizer for rank 1" "$WORK/m2/masked_mlp/version_0/rank-1.log"
check "... and spdlog::get(\"bolt\") in plugin code finds Bolt's logger" grep -q "| bolt - loopkit: spdlog::get" "$WORK/m2/masked_mlp/version_0/rank-1.log"
expect_exit 0 "test_kept" "test on the three-field batch (2 ranks)" -- "${two[@]}" test "${masked[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/m2" \
  --trainer.ckpt_path "$WORK/m2/masked_mlp/version_0/checkpoints/best.pt"

# Manual optimization: a GAN with two optimizers, stepped by the plugin's trainer under DDP.
gan=(--plugin "$LOOPKIT" --model tiny_gan --data ring --trainer.name gan --data.batch_size 8 --trainer.seed 5 --trainer.log_every_n_steps 4)
expect_exit 0 "epoch 3/3 \| train d_loss" "GAN, 2 ranks, 3 epochs straight" -- "${two[@]}" fit "${gan[@]}" --trainer.max_epochs 3 --loggers.logs_dir "$WORK/gan"
run_and_signal USR1 ganstop.out "progress: epoch 2/3" -- "${two[@]}" fit "${gan[@]}" --trainer.max_epochs 3 --trainer.step_sleep_ms 20 --loggers.logs_dir "$WORK/ganstop"
rc=$?
check "GAN: SIGUSR1 in epoch 2 stops every rank at one step (exit 75, got $rc)" test "$rc" -eq 75
expect_exit 0 "resumed from .*last.pt at epoch 2 step [1-9]" "GAN: resume auto" -- \
  "${two[@]}" fit "${gan[@]}" --trainer.max_epochs 3 --trainer.resume auto --loggers.logs_dir "$WORK/ganstop"
expect_exit 0 "max relative difference 0.000e\+00" "GAN: both optimizers' states restored: parameters bitwise equal the straight run" -- \
  "$COMPARE" "$LOOPKIT" tiny_gan "$WORK/gan/tiny_gan/version_0/checkpoints/last.pt" "$WORK/ganstop/tiny_gan/version_0/checkpoints/last.pt" 0
check "GAN: d_loss and g_loss tracked" /usr/bin/python3 -c "
import json, math; rows=[json.loads(l) for l in open('$WORK/gan/tiny_gan/version_0/metrics.jsonl')]
assert len(rows) == 3 and all(math.isfinite(r['train_d_loss']) and r['train_g_loss'] > 0 for r in rows), rows"
expect_exit 2 "trainer.accumulate_grad_batches: this trainer steps its optimizers itself" "manual optimization refuses accumulation" -- \
  "${one[@]}" fit "${gan[@]}" --trainer.accumulate_grad_batches 2 --loggers.logs_dir "$WORK/bad"
expect_exit 1 "the model configures 2 optimizers, but automatic optimization steps exactly one" \
  "two optimizers with the default trainer are refused" -- "${one[@]}" fit --plugin "$LOOPKIT" --model tiny_gan --data ring --loggers.logs_dir "$WORK/twoopt"
check "... and the fit that failed in set-up left no run directory" test -z "$(ls -A "$WORK/twoopt/tiny_gan" 2>/dev/null)"

# Facts from the data to the model: data.features sets model.features (shown by --print-config).
base=(--plugin "$TESTKIT" --model mlp --data synthetic)
expect_exit 0 '"features": 8' "--print-config shows the linked model key" -- bash -c \
  "'$WORKER' fit ${base[*]} --data.features 8 --print-config | python3 -c 'import json,sys; c=json.load(sys.stdin); print(\"\\\"features\\\": %d\" % c[\"model\"][\"features\"])'"
expect_exit 0 "epoch 1/1" "a fit with data.features 8 builds the model for 8 inputs" -- \
  "${one[@]}" fit "${base[@]}" --data.features 8 --trainer.max_epochs 1 --data.batch_size 32 --loggers.logs_dir "$WORK/link"
expect_exit 2 "model.features is 5, but data module 'synthetic' says 8" "a contradicting model key is refused" -- \
  "${one[@]}" fit "${base[@]}" --data.features 8 --model.features 5 --loggers.logs_dir "$WORK/bad"

# An error inside libtorch during a step: one Bolt line with stage, epoch, step, rank, plugin.
expect_exit 1 "bolt-worker: error: fit: epoch 1, step 4 \(global step 4\), rank 1, model 'mlp' \(plugin testkit\): index out of range in self" \
  "a libtorch error in a step names where it happened" -- \
  "${two[@]}" fit "${base[@]}" --model.fail_mode torch --model.fail_step 3 --data.batch_size 16 --loggers.logs_dir "$WORK/err"
check "no run directory from the refused runs" test ! -e "$WORK/bad"
check "no process left behind" no_leftovers
finish
