#!/usr/bin/env bash
# A failing rank brings the job down fast with a summary; signals reach every rank; a busy
# port is reported; nothing is left running.
source "$(dirname "$0")/lib.sh"
common=(--plugin "$TESTKIT" --model mlp --data synthetic --data.batch_size 8 --data.train_size 4000
        --trainer.max_epochs 50 --loggers.logs_dir "$WORK/logs")

start=$(date +%s.%N)
expect_exit 137 "rank 1 \(local rank 1, host .*\) failed: killed by SIGKILL" "SIGKILL of rank 1 mid-epoch: exit 137, summary names rank 1" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --model.fail_step 30 --model.fail_mode sigkill
elapsed=$(/usr/bin/python3 -c "import time; print(time.time() - $start)")
check "failure brought everything down within 10 s (took ${elapsed} s)" /usr/bin/python3 -c "assert $elapsed < 10"
check "no worker left after SIGKILL" no_leftovers

expect_exit 1 "testkit: planned failure at step 20 on rank 1" "a rank that throws: the summary shows its message" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --model.fail_step 20 --model.fail_mode throw
check "no worker left after an exception" no_leftovers

mkdir -p ranklogs
expect_exit 1 "rank-1.stderr|planned failure" "--log-dir: the summary reads the rank's stderr file" -- \
  "$LAUNCH" --nproc-per-node 2 --standalone --log-dir ranklogs -- fit "${common[@]}" --model.fail_step 5
check "--log-dir wrote per-rank files" grep -q "planned failure" ranklogs/rank-1.stderr

"$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --model.step_sleep_ms 20 > sigint.log 2>&1 &
launcher=$!
for _ in $(seq 100); do grep -q "fit: 50 epochs" sigint.log && break; sleep 0.1; done
sleep 0.5
kill -INT $launcher
wait $launcher
check "SIGINT to bolt-launch: exit 130" test $? -eq 130
check "SIGINT: summary says interrupted" grep -q "interrupted by SIGINT" sigint.log
check "no worker left after SIGINT" no_leftovers

# A stop signal that reaches a failing rank while it unwinds (Slurm ends the whole step once a
# peer's task exits) must not replace its exit status or its record.
mkdir -p slowlogs
"$LAUNCH" --nproc-per-node 2 --standalone --log-dir slowlogs -- fit "${common[@]}" --model.fail_step 20 \
  --model.fail_mode slow_unwind > slow.log 2>&1 &
launcher=$!
for _ in $(seq 1200); do grep -q "unwinding slowly" slowlogs/rank-1.stderr 2>/dev/null && break; sleep 0.05; done
kill -TERM $launcher
wait $launcher
check "SIGTERM while the failing rank unwinds: exit 1 (its own), not 143" test $? -eq 1
check "... its table row keeps its exit code as the root cause" grep -Eq "^1 +1 +.*exit code 1 +<- root cause" slow.log
check "... and the summary names its error" grep -q "failed: fit: epoch 1, step 21 .*planned failure at step 20 on rank 1" slow.log
check "no worker left after a slow failure" no_leftovers

PORT=$(free_port)
/usr/bin/python3 -c "import socket,time; s=socket.socket(); s.bind(('127.0.0.1',$PORT)); s.listen(); time.sleep(30)" &
holder=$!
sleep 0.3
expect_exit 1 "master port $PORT on 127.0.0.1 is already in use" "busy master port: clear error" -- \
  "$LAUNCH" --nproc-per-node 2 --master-port "$PORT" -- fit "${common[@]}"
expect_exit 1 "master port $PORT on 127.0.0.1 is already in use" "busy master port with a worker started by env: clear error" -- \
  env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT "$WORKER" fit "${common[@]}"
kill $holder
expect_exit 1 "did not come up within 2 s" "a master that never comes: error within trainer.dist_timeout_s" -- \
  env RANK=1 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT "$WORKER" fit "${common[@]}" --trainer.dist_timeout_s 2
check "no process left behind" no_leftovers
finish
