#!/usr/bin/env bash
# Jobs that go wrong without dying, and crashes in plugin code: the hang watchdog ends them
# within trainer.hang_timeout_s + 15 s, and bolt-launch (and `bolt-launch why` for jobs it
# did not supervise) names the rank that is behind or crashed, not the ranks waiting for it.
source "$(dirname "$0")/lib.sh"
FAULTKIT=$BUILD/lib/bolt/plugins/libfaultkit.so
HANG_S=4
cat >cfg.json <<JSON
{"plugins": ["$FAULTKIT"], "model": {"name": "faulty_mlp"},
 "data": {"name": "faulty_data", "batch_size": 16, "num_workers": 2},
 "trainer": {"max_epochs": 2, "hang_timeout_s": $HANG_S, "dist_backend": "$DIST_BACKEND"},
 "loggers": {"progress": false, "tensorboard": false}}
JSON

# run_case NAME CODE PATTERN ARGS...: a 2-rank job under bolt-launch; exit CODE within
# HANG_S + 15 s, its output matches PATTERN; leaves the output in NAME.out, the run in logs-NAME.
run_case() {
  local name=$1 code=$2 pattern=$3
  shift 3
  local start rc elapsed
  start=$(date +%s.%N)
  timeout 60 "$LAUNCH" --nproc-per-node 2 -- fit --config cfg.json --loggers.logs_dir "$WORK/logs-$name" "$@" >"$name.out" 2>&1
  rc=$?
  elapsed=$(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 1))")
  if [[ $rc -ne $code ]]; then
    fail "$name: exit $rc, expected $code"; tail -n 20 "$name.out" | sed 's/^/    /'; return
  fi
  check "$name: exit $code after ${elapsed} s (<= hang_timeout_s + 15)" /usr/bin/python3 -c "assert $elapsed <= $HANG_S + 15"
  if grep -Eq -- "$pattern" "$name.out"; then ok "$name: the summary says /$pattern/"; else
    fail "$name: the summary lacks /$pattern/"; grep -v '^\[rank' "$name.out" | tail -n 20 | sed 's/^/    /'; fi
}
run_dir() { dirname "$(dirname "$(ls "$WORK"/logs-$1/*/version_*/config.json | head -1)")/x"; }

# 1. A rank sleeping inside its training step.
run_case sleep 4 "error: rank 1 \(.*pid [0-9]+\) has not reached allreduce #[0-9]+ \(gradient bucket 1/1, fit epoch 1 step 4\): it is in training_step for [0-9]+ s; rank 0 waits in allreduce #[0-9]+" \
  --model.fault sleep
check "sleep: the table marks rank 1 as the root cause" grep -Eq "^1 +1 +.*exit code 4 +<- root cause" sleep.out
check "sleep: rank 1's main thread stack names the plugin's function" grep -q "faultkit::FaultyMlp::misbehave()" sleep.out
check "sleep: diagnosis/rank-{0,1}.json written" test -s "$(run_dir sleep)/diagnosis/rank-0.json" -a -s "$(run_dir sleep)/diagnosis/rank-1.json"
expect_exit 0 "rank 1 .* has not reached allreduce #[0-9]+ .*in training_step" "sleep: bolt-launch why <run dir> names rank 1" -- \
  "$LAUNCH" why "$(run_dir sleep)"

# 2. A rank frozen with SIGSTOP: it writes nothing; the launcher sees it stopped.
run_case sigstop 4 "rank 1 has not reached allreduce #[0-9]+ and wrote no record: its process was stopped \(state T" \
  --model.fault sigstop
check "sigstop: only rank 0 left a record" test -s "$(run_dir sigstop)/diagnosis/rank-0.json" -a ! -e "$(run_dir sigstop)/diagnosis/rank-1.json"
expect_exit 0 "rank 1 has not reached allreduce #[0-9]+ and wrote no record: it is frozen, was killed, or its host is unreachable" \
  "sigstop: bolt-launch why names rank 1 from rank 0's record alone" -- "$LAUNCH" why "$(run_dir sigstop)"

# 2b. The whole job stopped and resumed (Ctrl-Z then fg, `scontrol suspend` then resume): the time
# it was stopped is neither a hang nor a late peer; it trains on and ends well. Rank 1 stops
# itself, the test stops rank 0, and resumes both after HANG_S + 3 s: once under the hang
# watchdog, once without it and with a collective timeout shorter than the stop.
state_of() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1; }
stop_and_resume() {
  local name=$1 launcher pid rc ranks=() stopped=""
  shift
  timeout 90 "$LAUNCH" --nproc-per-node 2 -- fit --config cfg.json --loggers.logs_dir "$WORK/logs-$name" \
    --model.fault sigstop "$@" >"$name.out" 2>&1 &
  launcher=$!
  for _ in $(seq 300); do
    mapfile -t ranks < <(pgrep -P "$(pgrep -P "$launcher")")  # timeout's bolt-launch's ranks
    for pid in "${ranks[@]}"; do [[ $(state_of "$pid") == T ]] && stopped=$pid; done
    [[ -n $stopped ]] && break
    sleep 0.1
  done
  check "$name: one rank stopped itself (${#ranks[@]} ranks)" test -n "$stopped" -a "${#ranks[@]}" -eq 2
  kill -STOP "${ranks[@]}"
  sleep $((HANG_S + 3))
  kill -CONT "${ranks[@]}"
  wait "$launcher"
  rc=$?
  check "$name: the job trains on after $((HANG_S + 3)) s stopped and exits 0 (exit $rc)" test "$rc" -eq 0
  check "$name: no rank wrote a record or said it made no progress or timed out" \
    bash -c '! ls "$1"/*/version_*/{diagnosis,errors}/* >/dev/null 2>&1 && ! grep -Eq "made no progress|within [0-9.]+ s" "$2"' \
    _ "$WORK/logs-$name" "$name.out"
}
stop_and_resume resumed
stop_and_resume resumed-no-watchdog --trainer.hang_timeout_s 0 --trainer.dist_timeout_s 5

# 3. A rank stuck in its DataLoader.
# (the loader threads fetch ahead, so the step it stalls at depends on the machine's load)
run_case dataloader 4 "rank 1 \(.*\) has not reached allreduce #[0-9]+ \(gradient bucket 1/1, fit epoch 1 step [0-9]+\): it is waiting for its DataLoader for [0-9]+ s" \
  --data.stuck_rank 1

# 4. A rank that skips a collective the others make: a mismatch, named at once.
run_case skip 1 "collective mismatch at shared-memory allreduce #[0-9]+: rank [01] called '(tracker \(epoch metrics\)|gradient bucket 1/1)' \([0-9]+ bytes\) where rank [01] \(local rank [01]\) called '(tracker \(epoch metrics\)|gradient bucket 1/1)'" \
  --trainer.name skipping --trainer.dist_backend shm

# 5. Crashes in plugin code: the signal and the function.
run_case segv 139 "error: rank 1 \(.*\) crashed with SIGSEGV in faultkit::write_through_null_pointer\(int volatile\*\) \(.*libfaultkit.so\) at fit epoch 1 step 4" \
  --model.fault segv
check "segv: the stack goes on through the plugin's forward" grep -q "faultkit::FaultyMlp::forward" segv.out
check "segv: errors/rank-1.json is complete JSON with the signal" /usr/bin/python3 -c "
import json; r = json.load(open('$(run_dir segv)/errors/rank-1.json')); assert r['signal'] == 'SIGSEGV' and r['rank'] == 1, r"
run_case terminate 134 "rank 1 \(.*\) crashed with std::terminate after an uncaught exception: faultkit: an exception escaping a thread in .*faultkit::FaultyMlp::misbehave" \
  --model.fault terminate
run_case exception 1 "rank 1 \(.*\) failed: fit: epoch 1, step 4 .*faultkit: a planned exception" --model.fault throw

# 6. Stragglers: rank 1's steps take ~3 ms longer (>= 2x on this model); the ranks' busy
# time per step goes to metrics.jsonl and rank 0 names the slow rank once per epoch.
expect_exit 0 "WARNING .* epoch 1: rank 1 is a straggler: [0-9.]+x the median rank's busy time per step .* its compute is slow" \
  "straggler: rank 1 slowed down is named" -- "$LAUNCH" --nproc-per-node 2 -- fit --config cfg.json \
  --loggers.logs_dir "$WORK/logs-slow" --model.fault slow --model.slow_ms 3 --trainer.max_epochs 2
check "straggler: metrics.jsonl has both ranks' step times and stragglers [1] for every epoch" /usr/bin/python3 -c "
import json; rows = [json.loads(l) for l in open('$(run_dir slow)/metrics.jsonl')]
assert len(rows) == 2 and all(r['stragglers'] == [1] for r in rows), rows
r = rows[0]['ranks']; assert [x['rank'] for x in r] == [0, 1] and r[1]['busy_ms_median'] >= 2 * r[0]['busy_ms_median'], r
assert r[0]['collective_wait_ms'] > r[1]['collective_wait_ms'], r"
expect_exit 0 "fit: done" "no straggler: equal ranks fit without a straggler warning" -- "$LAUNCH" --nproc-per-node 2 -- fit \
  --config cfg.json --loggers.logs_dir "$WORK/logs-even" --trainer.max_epochs 2
check "no straggler: stragglers [] in every row, no warning" /usr/bin/python3 -c "
import json; rows = [json.loads(l) for l in open('$(run_dir even)/metrics.jsonl')]
assert all(r['stragglers'] == [] for r in rows), rows"

# 7. No supervisor (one process per rank, as srun starts them): each rank's record, then why.
PORT=$(free_port)
for r in 0 1; do
  env RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    timeout 60 "$WORKER" fit --config cfg.json --loggers.logs_dir "$WORK/logs-bare" --model.fault sleep >"bare-$r.log" 2>&1 &
done
wait
expect_exit 0 "rank 1 .* has not reached allreduce #[0-9]+ .*: it is in training_step for [0-9]+ s; rank 0 waits in allreduce" \
  "without a supervisor: bolt-launch why names rank 1" -- "$LAUNCH" why "$WORK/logs-bare/faulty_mlp"
expect_exit 1 "no failure or hang records" "why on a run that went well: exit 1, says so" -- \
  bash -c "mkdir -p '$WORK/clean/version_0' && '$LAUNCH' why '$WORK/clean/version_0'"
expect_exit 2 "is not a directory" "why on a missing directory: exit 2" -- "$LAUNCH" why "$WORK/nowhere"
check "no process left behind" no_leftovers
finish
