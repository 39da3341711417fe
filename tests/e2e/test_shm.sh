#!/usr/bin/env bash
# The shm backend (CPU ranks of one node reduce through shared memory): bitwise equal to gloo
# on 2 ranks and run to run, within 1e-6 on 3; a rank killed or stopped while its peers wait
# is named, without bolt-launch too; /dev/shm is clean after every exit, and a dead job's
# leftover segment is removed by the next job.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
common=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 5 --trainer.max_epochs 2
        --data.train_size 640 --data.val_size 100 --data.batch_size 8)
# This test's jobs carry their own run id, which segment names contain (other tests may run
# beside it and hold segments of their own for a moment).
RUN_ID=shmtest$$
our_segments() { ls /dev/shm 2>/dev/null | grep -c "^bolt-shm-.*-$RUN_ID" || true; }
ckpt() { echo "$WORK/$1/mlp/version_0/checkpoints/last.pt"; }

for run in shm-a shm-b gloo; do
  backend=${run%-*}
  expect_exit 0 "joined the $backend process group" "2 ranks, dist_backend $backend ($run)" -- \
    "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --trainer.dist_backend "$backend" --loggers.logs_dir "$WORK/$run"
done
expect_exit 0 "joined the shm process group" "auto picks shm for CPU ranks sharing a node" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone -- validate "${common[@]}" --loggers.logs_dir "$WORK/auto" --trainer.ckpt_path "$(ckpt shm-a)"
expect_exit 0 "max relative difference 0.000e\+00" "shm: the same run twice gives bitwise-equal parameters" -- \
  "$COMPARE" "$TESTKIT" mlp "$(ckpt shm-a)" "$(ckpt shm-b)" 0
expect_exit 0 "max relative difference 0.000e\+00" "shm equals gloo bitwise on 2 ranks" -- \
  "$COMPARE" "$TESTKIT" mlp "$(ckpt shm-a)" "$(ckpt gloo)" 0
for backend in shm gloo; do
  expect_exit 0 "epoch 2/2" "3 ranks, $backend" -- "$LAUNCH" --nproc-per-node 3 --standalone -- fit "${common[@]}" \
    --data.batch_size 6 --trainer.dist_backend "$backend" --loggers.logs_dir "$WORK/three-$backend"
done
# 3 ranks sum in another order than gloo's ring: one reduction agrees within 1e-6 (unit test
# "[shm]"); 70 SGD steps later the parameters within 1e-4 and the validation loss within 1e-5.
expect_exit 0 "max relative difference" "3 ranks: shm parameters equal gloo's within 1e-4 relative" -- \
  "$COMPARE" "$TESTKIT" mlp "$(ckpt three-shm)" "$(ckpt three-gloo)" 1e-4
check "3 ranks: shm val_loss equals gloo's within 1e-5" close_enough \
  "$(metric "$WORK/three-shm/mlp/version_0/metrics.jsonl" fit val_loss)" "$(metric "$WORK/three-gloo/mlp/version_0/metrics.jsonl" fit val_loss)" 1e-5

# A dead job's leftover (its creator's pid is gone) is removed when the next job sets up; a
# live process's segment is not touched.
true & dead=$!; wait $dead
touch "/dev/shm/bolt-shm-$dead-stale-n0-r0" "/dev/shm/bolt-shm-$$-live-n0-r0"
expect_exit 137 "rank 1 \(local rank 1, host .*\) failed: killed by SIGKILL" "SIGKILL of rank 1 under bolt-launch: named" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone --run-id "$RUN_ID" -- fit "${common[@]}" --trainer.dist_backend shm --data.train_size 4000 \
  --trainer.max_epochs 50 --model.fail_step 30 --model.fail_mode sigkill --loggers.logs_dir "$WORK/killed"
check "the dead job's segment was removed by the next job" test ! -e "/dev/shm/bolt-shm-$dead-stale-n0-r0"
check "a live process's segment was left alone" test -e "/dev/shm/bolt-shm-$$-live-n0-r0"
rm -f "/dev/shm/bolt-shm-$$-live-n0-r0"
check "/dev/shm holds no segment of these jobs after SIGKILL" test "$(our_segments)" -eq 0

# Without a supervisor (torchrun-style environment): the surviving rank names the peer that
# died, or that stopped, while it waited in shared memory.
start_ranks() {  # start_ranks NAME EXTRA...: two workers in the background, pids in ranks[]
  local name=$1 port
  shift
  port=$(free_port)
  for r in 0 1; do
    RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$port BOLT_RUN_ID=$RUN_ID \
      "$WORKER" fit "${common[@]}" --trainer.dist_backend shm --data.train_size 40000 --trainer.max_epochs 50 \
      --model.step_sleep_ms 2 --loggers.logs_dir "$WORK/$name" "$@" > "$name-$r.log" 2>&1 &
    ranks[$r]=$!
  done
  for _ in $(seq 300); do grep -q "epoch 1/50" "$name-0.log" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
}
start_ranks dies
check "while its ranks train, the job's segment is already unlinked (a SIGKILL cannot leak it)" test "$(our_segments)" -eq 0
kill -KILL "${ranks[1]}"
start=$(date +%s.%N)
wait "${ranks[0]}"
rc=$?
elapsed=$(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 2))")
check "peer SIGKILLed: rank 0 fails (exit $rc) within 5 s (${elapsed} s)" /usr/bin/python3 -c "assert $rc != 0 and $elapsed < 5"
check "... naming rank 1 and its pid" grep -Eq "rank 1 \(local rank 1, pid ${ranks[1]}\) exited while rank 0 waited for it in shared-memory (allreduce|barrier|broadcast)" dies-0.log

start_ranks stopped --trainer.dist_timeout_s 4 --trainer.hang_timeout_s 0  # the collective timeout, not the watchdog
kill -STOP "${ranks[1]}"
start=$(date +%s.%N)
wait "${ranks[0]}"
rc=$?
elapsed=$(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 2))")
kill -KILL "${ranks[1]}"; kill -CONT "${ranks[1]}"; wait "${ranks[1]}" 2>/dev/null
check "peer frozen with SIGSTOP: rank 0 fails (exit $rc) after the 4 s timeout, not later (${elapsed} s)" \
  /usr/bin/python3 -c "assert $rc != 0 and 3.5 < $elapsed < 8"
check "... naming rank 1 as stuck" grep -Eq "rank 1 \(local rank 1, pid ${ranks[1]}\) did not reach shared-memory [a-z]+ #[0-9]+ within 4 s" stopped-0.log
check "/dev/shm holds no segment of these jobs" test "$(our_segments)" -eq 0

# Layouts shm cannot serve are refused before anything runs; CUDA is not its device.
expect_exit 2 "dist_backend shm needs the same number of ranks on every node" "shm with unequal ranks per node: exit 2" -- \
  env RANK=0 WORLD_SIZE=3 LOCAL_RANK=0 LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$(free_port) \
  "$WORKER" fit "${common[@]}" --trainer.dist_backend shm --loggers.logs_dir "$WORK/uneven"
check "no process left behind" no_leftovers
finish
