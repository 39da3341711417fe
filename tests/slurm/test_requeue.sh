#!/usr/bin/env bash
# Preemption on the real local cluster: sbatch a fit, send the requeue signal mid-epoch with
# `scancel --signal=USR1`; the ranks checkpoint at one step, rank 0 requeues the job, Slurm runs
# it again (SLURM_RESTART_COUNT=1) and it resumes from last.pt, ending with the parameters and
# metrics of an uninterrupted run. A cluster that cannot be reached fails this test.
source "$(dirname "$0")/lib.sh"
args=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 11 --trainer.max_epochs 3
      --model.lr 0.02 --data.train_size 640 --data.val_size 333 --data.batch_size 8)

# Both reduction paths: the one-task-per-rank shape on the default (shm inside a node, gloo
# between), the task-per-node shape on gloo alone; each against its own uninterrupted run.
check "local reference: 2 launchers as 2 nodes x 2 ranks, uninterrupted" local_two_nodes "$WORK/ref-auto" "${args[@]}"
expect_exit 0 "epoch 3/3" "local reference on gloo: 4 ranks, uninterrupted" -- \
  "$LAUNCH" --no-slurm --nproc-per-node 4 --standalone -- fit "${args[@]}" --trainer.dist_backend gloo --loggers.logs_dir "$WORK/ref-gloo"

for example in cpu-2x2 cpu-per-node; do
  logs=$WORK/$example
  backend=auto
  [[ $example == cpu-per-node ]] && backend=gloo
  REF=$WORK/ref-$backend/mlp/version_0
  id=$(submit "$EXAMPLES/$example.sbatch" "${args[@]}" --trainer.dist_backend $backend --model.step_sleep_ms 40 --loggers.logs_dir "$logs")
  # Signal once epoch 1 is logged: the stop lands inside epoch 2.
  for _ in $(seq 240); do [[ -s $logs/mlp/version_0/metrics.jsonl ]] && break; sleep 0.25; done
  sleep 0.3
  scancel --signal=USR1 "$id"
  state=$(wait_job "$id" 150)
  out=$WORK/bolt-$id.out
  check "$example (dist_backend $backend): the signalled job was requeued, ran again and completed ($state, restarts $(job_field "$id" Restarts))" \
    test "$state" = COMPLETED -a "$(job_field "$id" Restarts)" = 1
  check "$example: every rank stopped inside epoch 2 at the same step" \
    grep -Eq "SIGUSR1 received: every rank stops after global step [0-9]+ \(epoch 2, step [1-9][0-9]*\)" "$logs/mlp/version_0/rank-0.log"
  check "$example: rank 0 requeued job $id" grep -q "requeued Slurm job $id; it resumes from" "$logs/mlp/version_0/rank-0.log"
  check "$example: the second run resumed mid-epoch in the same run directory" \
    grep -Eq "restart 1 of run $id: continuing in .*version_0" "$logs/mlp/version_0/rank-0.log"
  check "$example: ... from last.pt at epoch 2" grep -Eq "resumed from .*last.pt at epoch 2 step [1-9]" "$logs/mlp/version_0/rank-0.log"
  check "$example: the first run's ranks exited 75 (stopped for requeue), none died of Slurm's SIGTERM" \
    bash -c "grep -q 'Exited with exit code 75' '$out' && ! grep -q 'killed by SIGTERM\|exit code 143' '$out'"
  check "$example: no second run directory" test ! -e "$logs/mlp/version_1"
  expect_exit 0 "max relative difference 0.000e\+00" "$example: final parameters equal the uninterrupted run's, bitwise" -- \
    "$BUILD/bin/compare_checkpoints" "$TESTKIT" mlp "$REF/checkpoints/last.pt" "$logs/mlp/version_0/checkpoints/last.pt" 0
  check "$example: metrics.jsonl has epochs 1-3 once, equal to the uninterrupted run's" /usr/bin/python3 - "$REF/metrics.jsonl" "$logs/mlp/version_0/metrics.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l) for l in open(p) if '"epoch"' in l] for p in sys.argv[1:])
assert [r['epoch'] for r in b] == [1, 2, 3], [r['epoch'] for r in b]
for x, y in zip(a, b):
    for k in ('val_loss', 'val_score', 'lr'):
        assert x[k] == y[k], (x['epoch'], k, x[k], y[k])
    for k in ('train_loss', 'train_score'):
        assert abs(x[k] - y[k]) <= 1e-12 * abs(x[k]), (x['epoch'], k, x[k], y[k])
PY
done

# A job that may not be requeued (--no-requeue): last.pt is still written, and the job fails
# saying so instead of pretending it will come back.
logs=$WORK/no-requeue
id=$(submit --no-requeue "$EXAMPLES/cpu-2x2.sbatch" "${args[@]}" --model.step_sleep_ms 40 --loggers.logs_dir "$logs")
for _ in $(seq 240); do [[ -s $logs/mlp/version_0/metrics.jsonl ]] && break; sleep 0.25; done
scancel --signal=USR1 "$id"
state=$(wait_job "$id" 60)
check "--no-requeue job: the stop ends it as FAILED ($state), not requeued" test "$state" = FAILED -a "$(job_field "$id" Restarts)" = 0
check "... with last.pt written and the reason in the job output" \
  grep -q "last.pt was written, but the job could not be requeued (scontrol requeue $id exited 1): resubmit it with --trainer.resume auto" "$WORK/bolt-$id.out"
check "... and the other ranks still stopped cleanly (exit 75, no collective error)" \
  bash -c "grep -q 'n2: tasks\? .*Exited with exit code 75' '$WORK/bolt-$id.out' && ! grep -q 'collective failed\|exit code 3\$' '$WORK/bolt-$id.out'"
finish
