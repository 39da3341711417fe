#!/usr/bin/env bash
# Resuming a fit from last.pt continues exactly: 4 epochs straight equal 2 epochs + resume to 4,
# and equal a fit stopped mid-epoch by the requeue signal, or killed and restarted by
# bolt-launch --max-restarts, then resumed (parameters bitwise, metrics); bad checkpoints are
# refused by name.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
common=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.dist_backend "$DIST_BACKEND" --trainer.seed 3 --data.batch_size 16 --model.lr 0.02
        --trainer.log_every_n_steps 5
        --data.train_size 640)

for ranks in 1 2; do
  launch=("$LAUNCH" --nproc-per-node "$ranks" --standalone --)
  expect_exit 0 "epoch 4/4" "$ranks rank(s): 4 epochs straight" -- "${launch[@]}" fit "${common[@]}" --trainer.max_epochs 4 --loggers.logs_dir "$WORK/straight$ranks"
  expect_exit 0 "starting fresh" "$ranks rank(s): resume auto with no checkpoint starts fresh" -- \
    "${launch[@]}" fit "${common[@]}" --trainer.max_epochs 2 --trainer.resume auto --loggers.logs_dir "$WORK/split$ranks"
  expect_exit 0 "resumed from .*last.pt at epoch 3 step 0" "$ranks rank(s): resume auto to 4 epochs" -- \
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

# same_metrics A_DIR B_DIR: the fit rows are epochs 1-4 in both and hold the same values
# (validation exactly; the train means up to summation order, as their sums restart mid-epoch).
same_metrics() {
  /usr/bin/python3 - "$1/metrics.jsonl" "$2/metrics.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p) if '"epoch"' in l and '"stage"' not in l] for p in sys.argv[1:])
assert [r['epoch'] for r in b] == [1, 2, 3, 4], [r['epoch'] for r in b]
worst = 0.0
for x, y in zip(a, b):
    for k in ('val_loss', 'val_score', 'lr'):
        assert x[k] == y[k], (x['epoch'], k, x[k], y[k])
    for k in ('train_loss', 'train_score'):
        worst = max(worst, abs(x[k] - y[k]) / max(abs(x[k]), 1e-12))
print(f"# train metrics: max relative difference {worst:.2e}")
assert worst <= 1e-12, worst
PY
}

# same_loss_steps A_DIR B_DIR: train/loss_step as TensorBoard shows it (a SessionLog START at
# step S drops the earlier events from S on) is the same series in both runs.
same_loss_steps() {
  /usr/bin/python3 - "$SRC/tests/e2e/tfevents.py" "$1" "$2" <<'PY'
import glob, json, subprocess, sys
reader, straight, resumed = sys.argv[1:]
def events(path):
    out = subprocess.run([sys.executable, reader, path], check=True, capture_output=True, text=True).stdout
    return [json.loads(l) for l in out.splitlines()]
def as_tensorboard_sees(run):
    seen, restarts = [], 0
    for path in sorted(glob.glob(run + "/events.out.tfevents.*")):
        for e in events(path):
            if e.get("session_log") == 1:
                restarts += 1
                seen = [x for x in seen if x["step"] < e["step"]]
            elif "tag" in e:
                seen.append(e)
    return [(e["step"], e["value"]) for e in seen if e["tag"] == "train/loss_step"], restarts
(a, _), (b, restarts) = as_tensorboard_sees(straight), as_tensorboard_sees(resumed)
assert restarts >= 1, "no SessionLog START in the resumed run"
assert a == b and len(a) >= 10, (a, b)
PY
}

# The requeue signal mid-epoch: every rank stops after the same step, writes last.pt, exit 75.
for ranks in 1 2; do
  dir=$WORK/stop$ranks
  run_and_signal USR1 "stop$ranks.out" "epoch 1/4 \| train loss" -- "$LAUNCH" --nproc-per-node "$ranks" --standalone -- \
    fit "${common[@]}" --trainer.max_epochs 4 --model.step_sleep_ms 20 --loggers.logs_dir "$dir"
  rc=$?
  check "$ranks rank(s): SIGUSR1 during epoch 2 stops the fit with exit 75 (got $rc)" test "$rc" -eq 75
  check "$ranks rank(s): it stopped inside epoch 2 and wrote last.pt" \
    grep -Eq "SIGUSR1 received: every rank stops after global step [0-9]+ \(epoch 2, step [0-9]+\)" "stop$ranks.out"
  expect_exit 0 "resumed from .*last.pt at epoch 2 step [1-9]" "$ranks rank(s): resume auto continues mid-epoch" -- \
    "$LAUNCH" --nproc-per-node "$ranks" --standalone -- fit "${common[@]}" --trainer.max_epochs 4 --trainer.resume auto --loggers.logs_dir "$dir"
  expect_exit 0 "max relative difference 0.000e\+00" "$ranks rank(s): stopped + resumed == straight, bitwise" -- \
    "$COMPARE" "$TESTKIT" mlp "$WORK/straight$ranks/mlp/version_0/checkpoints/last.pt" "$dir/mlp/version_0/checkpoints/last.pt" 0
  check "$ranks rank(s): metrics of the stopped + resumed fit equal the straight one" \
    same_metrics "$WORK/straight$ranks/mlp/version_0" "$dir/mlp/version_0"
  check "$ranks rank(s): TensorBoard shows the straight run's train/loss_step" \
    same_loss_steps "$WORK/straight$ranks/mlp/version_0" "$dir/mlp/version_0"
done

# The signal during validation: the ranks stop right after that epoch's checkpoint.
run_and_signal USR1 evalstop.out "progress: epoch 1/4 \| 20/20" -- "$LAUNCH" --nproc-per-node 2 --standalone -- \
  fit "${common[@]}" --trainer.max_epochs 4 --model.eval_sleep_ms 100 --loggers.logs_dir "$WORK/evalstop"
rc=$?
check "SIGUSR1 during validation: exit 75 (got $rc), stopped at the end of epoch 1" \
  bash -c "test $rc -eq 75 && grep -q 'every rank stops at the end of epoch 1 (global step 20)' evalstop.out"
expect_exit 0 "resumed from .*last.pt at epoch 2 step 0" "... and resumes at epoch 2" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --trainer.max_epochs 4 --trainer.resume auto --loggers.logs_dir "$WORK/evalstop"
expect_exit 0 "max relative difference 0.000e\+00" "... to the straight run's parameters, bitwise" -- \
  "$COMPARE" "$TESTKIT" mlp "$WORK/straight2/mlp/version_0/checkpoints/last.pt" "$WORK/evalstop/mlp/version_0/checkpoints/last.pt" 0

# TERM as the requeue signal, sent to bolt-launch: the ranks checkpoint; the launcher says so.
run_and_signal TERM term.out "20 steps per epoch" -- "$LAUNCH" --nproc-per-node 2 --standalone -- \
  fit "${common[@]}" --trainer.max_epochs 4 --trainer.requeue_signal TERM --model.step_sleep_ms 20 --loggers.logs_dir "$WORK/term"
rc=$?
check "requeue_signal TERM: SIGTERM to bolt-launch ends with exit 75 (got $rc)" test "$rc" -eq 75
check "... and bolt-launch reports a stop for requeue, not a failure" \
  grep -q "all 2 ranks stopped at a checkpoint for requeue (exit 75)" term.out
expect_exit 1 "written in the middle of an epoch of 20 steps \(world size 2\), but this run has 40 steps per epoch \(world size 1\)" \
  "a mid-epoch checkpoint resumed with another world size is refused" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --trainer.max_epochs 4 --trainer.resume "$WORK/term/mlp/version_0/checkpoints/last.pt" --loggers.logs_dir "$WORK/junk"

# --max-restarts: rank 1 is SIGKILLed once (first attempt only) after mid-epoch checkpoints.
expect_exit 0 "restarting all 2 ranks in 0.5 s \(restart 1 of 1, BOLT_RESTART_COUNT=1\)" \
  "--max-restarts 1: a rank killed once, the group restarts and completes" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone --max-restarts 1 -- fit "${common[@]}" --trainer.max_epochs 4 \
  --trainer.checkpoint_every_n_steps 7 --model.fail_step 45 --model.fail_mode sigkill --loggers.logs_dir "$WORK/restart"
check "--max-restarts: the restart continued in the same run directory" test ! -e "$WORK/restart/mlp/version_1"
check "--max-restarts: it resumed from the step-42 checkpoint" grep -q "at epoch 3 step 2 (global step 42)" "$WORK/restart/mlp/version_0/rank-0.log"
expect_exit 0 "max relative difference 0.000e\+00" "--max-restarts: final parameters equal the straight run's, bitwise" -- \
  "$COMPARE" "$TESTKIT" mlp "$WORK/straight2/mlp/version_0/checkpoints/last.pt" "$WORK/restart/mlp/version_0/checkpoints/last.pt" 0
check "--max-restarts: metrics equal the straight run's" same_metrics "$WORK/straight2/mlp/version_0" "$WORK/restart/mlp/version_0"
check "--max-restarts: TensorBoard drops the killed attempt's steps after the checkpoint" \
  same_loss_steps "$WORK/straight2/mlp/version_0" "$WORK/restart/mlp/version_0"
expect_exit 137 "rank 1 .* failed: killed by SIGKILL" "without --max-restarts the same failure ends the run" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --trainer.max_epochs 4 \
  --model.fail_step 45 --model.fail_mode sigkill --loggers.logs_dir "$WORK/norestart"
expect_exit 2 "not restarting: exit code 2 is a usage or configuration error" \
  "--max-restarts does not repeat a configuration error" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone --max-restarts 3 -- fit "${common[@]}" --trainer.max_epochs 0
expect_exit 2 "--max-restarts restarts the ranks of one node, but this job has 2 nodes" "--max-restarts with several nodes is refused" -- \
  "$LAUNCH" --nnodes 2 --node-rank 1 --nproc-per-node 1 --max-restarts 1 -- fit "${common[@]}"

echo "not a checkpoint" > junk.pt
expect_exit 1 "checkpoint junk.pt: not a readable checkpoint" "a corrupt checkpoint is refused by name" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --trainer.resume junk.pt --loggers.logs_dir "$WORK/junk"
expect_exit 1 "trainer.resume $WORK/none.pt: no such checkpoint file" "a missing checkpoint is refused" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --trainer.resume "$WORK/none.pt" --loggers.logs_dir "$WORK/junk"
expect_exit 1 "does not match this model" "another model's checkpoint is refused" -- \
  "$LAUNCH" --device cpu -- fit "${common[@]}" --model.hidden 5 --trainer.resume "$WORK/straight1/mlp/version_0/checkpoints/last.pt" --loggers.logs_dir "$WORK/junk"
finish
