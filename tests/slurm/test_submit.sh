#!/usr/bin/env bash
# `bolt-launch submit` and `status` on the real local cluster: both launch shapes equal to a
# local run, hostile values reaching the worker literally, a sweep as job arrays (split by the
# cluster's MaxArraySize 3, never more than --max-parallel running), one array task requeued
# while its sibling is untouched, time-limit requeues and trainer.max_requeues.
source "$(dirname "$0")/lib.sh"
args=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 7 --trainer.max_epochs 2
      --data.train_size 640 --data.val_size 333 --data.test_size 101 --data.batch_size 8)
LOGS=$WORK/logs
# bolt_submit OUTFILE FLAGS... -- WORKER ARGS: submits; prints the (first) job id.
bolt_submit() {
  local out=$1
  shift
  "$LAUNCH" submit "$@" > "$out" 2>&1 || { cat "$out" >&2; return 1; }
  sed -n 's/^submitted job \(array \)\{0,1\}\([0-9]*\).*/\2/p' "$out" | head -n 1
}

check "local reference: 2 launchers as 2 nodes x 2 ranks" local_two_nodes "$WORK/local" "${args[@]}"
REF=$(metric "$WORK/local/mlp/version_0/metrics.jsonl" fit val_loss)
# The cluster defaults come from the config's submit section; the shapes from the command line.
echo '{"submit": {"nodes": 2, "cpus_per_task": 1}}' > "$WORK/cfg.json"
a=$(bolt_submit "$WORK/a.out" --ntasks-per-node 2 -- fit --config "$WORK/cfg.json" "${args[@]}" --loggers.logs_dir "$LOGS" --loggers.name rank_shape)
b=$(bolt_submit "$WORK/b.out" --nproc-per-node 2 --cpus-per-task 2 -- fit --config "$WORK/cfg.json" "${args[@]}" --loggers.logs_dir "$LOGS" --loggers.name node_shape)
check "submit printed the job id, the script and the output file" grep -Eq "^submitted job $a: script $LOGS/submit/bolt-rank_shape-[0-9-]+/job.sbatch, output .*/slurm-$a.out" "$WORK/a.out"
sed -i 's/"nodes": 2/"nodes": 1/' "$WORK/cfg.json"  # edited after submitting: changes nothing
state_a=$(wait_job "$a" 120)
state_b=$(wait_job "$b" 120)
check "submit --nodes 2 --ntasks-per-node 2 (one task per rank): $state_a" test "$state_a" = COMPLETED
check "... equal to the local 2-node run" close_enough "$(metric "$LOGS/rank_shape/version_0/metrics.jsonl" fit val_loss)" "$REF" 1e-6
check "... on 4 ranks of 2 nodes" grep -q '"nnodes": 2' "$LOGS/rank_shape/version_0/launch.json"
check "submit --nodes 2 --nproc-per-node 2 (one task per node): $state_b" test "$state_b" = COMPLETED
check "... equal to the local 2-node run" close_enough "$(metric "$LOGS/node_shape/version_0/metrics.jsonl" fit val_loss)" "$REF" 1e-6
check "... the script starts bolt-launch --nproc-per-node 2 once per node" \
  grep -q "^srun --kill-on-bad-exit=1 '$LAUNCH' --nproc-per-node 2 -- 'fit' --config" "$LOGS"/submit/bolt-node_shape-*/job.sbatch

# Hostile values: every one reaches the worker literally and nothing runs.
nasty=$'x $(touch PWNED1) `touch PWNED2` \'q\' "dq" ; touch PWNED3\nline2'
jobname='j $(touch PWNED4);touch PWNED5'
comment='c $(touch PWNED6) `touch PWNED7`'
c=$(bolt_submit "$WORK/c.out" --job-name "$jobname" --sbatch-arg "--comment=$comment" -- fit "${args[@]}" --trainer.max_epochs 1 --loggers.logs_dir "$LOGS" --loggers.name "$nasty")
state=$(wait_job "$c" 60)
check "a job whose run name and job name hold \$(), backticks, quotes, ; and a newline: $state" test "$state" = COMPLETED
check "... the worker got the run name literally" /usr/bin/python3 - "$LOGS" "$nasty" <<'PY'
import json, sys, os
logs, name = sys.argv[1:]
c = json.load(open(os.path.join(logs, name, 'version_0', 'config.json')))
assert c['loggers']['name'] == name, c['loggers']['name']
PY
check "... Slurm got the job name literally" test "$(scontrol show job "$c" | sed -n 's/^JobId=[0-9]* JobName=//p')" = "$jobname"
check "... and the --sbatch-arg comment" test "$(scontrol show job "$c" | sed -n 's/^ *Comment=\(.*[^ ]\) *$/\1/p')" = "$comment"
check "... and nothing ran" bash -c "! ls '$WORK'/PWNED* '$LOGS'/PWNED* 2>/dev/null"
jobs_before=$(squeue -h | wc -l)
expect_exit 2 "submit: nothing submitted: unknown option --model.nope" "a bad key is the worker's error, before anything is submitted" -- \
  "$LAUNCH" submit -- fit "${args[@]}" --model.nope 1 --loggers.logs_dir "$WORK/refused"
expect_exit 2 "control character" "an sbatch argument spanning lines is refused" -- \
  "$LAUNCH" submit --sbatch-arg $'--comment=x\ntouch PWNED6' -- fit "${args[@]}" --loggers.logs_dir "$WORK/refused"
expect_exit 2 "--sweep model.lr=fast: .*model.lr" "a sweep value the worker cannot take is named" -- \
  "$LAUNCH" submit --sweep model.lr=0.1,fast -- fit "${args[@]}" --loggers.logs_dir "$WORK/refused"
check "... nothing was written or submitted" test ! -e "$WORK/refused" -a "$(squeue -h | wc -l)" = "$jobs_before"

# A 4-point sweep with at most 2 running: MaxArraySize 3 splits it into arrays of 3 and 1.
s=$(bolt_submit "$WORK/s.out" --sweep model.lr=0.01,0.02 --sweep model.hidden=16,24 --max-parallel 2 -- \
  fit "${args[@]}" --model.step_sleep_ms 30 --loggers.logs_dir "$LOGS" --loggers.name sweep)
s2=$(sed -n 's/^submitted job array \([0-9]*\) (points 3-3.*starts after the previous array.*/\1/p' "$WORK/s.out")
check "the sweep went in as 2 arrays (MaxArraySize 3): $s and ${s2:-none}" test -n "$s2"
# status --watch follows the whole sweep (both arrays) and returns once every task has ended.
timeout 240 "$LAUNCH" status --watch 1 "$s" > "$WORK/watch.txt" 2>&1
check "status --watch redrew the table until the sweep ended ($(grep -c '^submission ' "$WORK/watch.txt") tables)" \
  bash -c "[[ \$(grep -c '^submission ' '$WORK/watch.txt') -ge 3 ]] && [[ \$(tail -n 6 '$WORK/watch.txt' | grep -c ' COMPLETED ') -eq 4 ]]"
wait_job "${s2:-0}" 30 >/dev/null
check "... all 4 points completed" bash -c "for i in 0 1 2; do scontrol show job -o ${s}_\$i | grep -q JobState=COMPLETED || exit 1; done; scontrol show job -o ${s2}_0 | grep -q JobState=COMPLETED"
check "... never more than 2 tasks ran at once (Slurm's start and end times)" /usr/bin/python3 - "$s" "$s2" <<'PY'
import subprocess, sys, re, datetime
spans = []
for job in sys.argv[1:]:
    for line in subprocess.run(['scontrol', 'show', 'job', '-o', job], capture_output=True, text=True).stdout.splitlines():
        t = dict(re.findall(r'(StartTime|EndTime)=(\S+)', line))
        spans.append(tuple(datetime.datetime.fromisoformat(t[k]) for k in ('StartTime', 'EndTime')))
assert len(spans) == 4, spans
most = max(sum(1 for a, b in spans if a <= t < b) for t, _ in spans)
assert most <= 2, (most, spans)
PY
check "... each point trained its own values, in a run named for them" /usr/bin/python3 - "$LOGS" <<'PY'
import json, sys, os
for lr in ('0.01', '0.02'):
    for hidden in (16, 24):
        c = json.load(open(os.path.join(sys.argv[1], f'sweep-lr={lr},hidden={hidden}', 'version_0', 'config.json')))
        assert c['model']['lr'] == float(lr) and c['model']['hidden'] == hidden, c['model']
PY
"$LAUNCH" status "$s" > "$WORK/status-sweep.txt" 2>&1
check "status <array id>: 4 rows, the winner named" \
  bash -c "[[ \$(grep -c 'COMPLETED *2/2' '$WORK/status-sweep.txt') -eq 4 ]] && grep -q '^best: job [0-9_]* (model.lr=0.0[12] model.hidden=[0-9]*) val_score' '$WORK/status-sweep.txt'"
check "status --json names each task's point, state, epoch and run dir" /usr/bin/python3 - "$("$LAUNCH" status --json "$LOGS/submit/$(basename "$(dirname "$(scontrol show job -o "$s" | head -n1 | grep -o 'Command=[^ ]*' | cut -d= -f2)")")")" <<'PY'
import json, sys
[sub] = json.loads(sys.argv[1])
assert len(sub['tasks']) == 4 and all(t['state'] == 'COMPLETED' and t['epoch'] == 2 and t['run_dir'] for t in sub['tasks']), sub
assert sub['tasks'][3]['point'] == {'model.lr': '0.02', 'model.hidden': '24'}, sub['tasks'][3]
PY

# One array task preempted (USR1 as Slurm sends it): it requeues and resumes its own run; its
# sibling runs on untouched.
r=$(bolt_submit "$WORK/r.out" --sweep model.lr=0.01,0.02 -- fit "${args[@]}" --trainer.max_epochs 3 --model.step_sleep_ms 40 \
  --loggers.logs_dir "$LOGS" --loggers.name preempt)
run1=$LOGS/preempt-lr=0.02/version_0
for _ in $(seq 240); do [[ -s $run1/metrics.jsonl ]] && break; sleep 0.25; done
scancel --signal=USR1 "${r}_1"
wait_job "${r}_1" 150 >/dev/null
wait_job "${r}_0" 60 >/dev/null
check "the signalled task was requeued once and completed" bash -c "scontrol show job -o ${r}_1 | grep -q 'JobState=COMPLETED.* Restarts=1\|Restarts=1 .*JobState=COMPLETED'"
check "... it resumed in its own run directory" grep -Eq "restart 1 of run ${r}_1: continuing in .*preempt-lr=0.02/version_0" "$run1/rank-0.log"
check "... recorded as a preemption" grep -q '"reason":"preemption"' "$run1/requeues.jsonl"
check "... its sibling was neither signalled nor requeued" bash -c "scontrol show job -o ${r}_0 | grep -q 'Restarts=0' && ! grep -q SIGUSR1 '$LOGS/preempt-lr=0.01/version_0/rank-0.log' && grep -q 'epoch 3/3' '$LOGS/preempt-lr=0.01/version_0/rank-0.log'"

# Time limits (1 minute, SIGUSR1 45 s before): requeued and resumed until done; with
# trainer.max_requeues 0 the first time limit ends the job instead.
# Slurm checks time limits every 30 s: the warning comes 15-45 s into each 1-minute run. The
# fit needs ~68 s (150 steps x 3 epochs x 150 ms), more than one run can give it, so it sees at
# least one time limit whatever the machine's load (a ~40 s fit once finished before the check).
long=(--trainer.max_epochs 3 --data.train_size 1200 --model.lr 0.02)
t=$(bolt_submit "$WORK/t.out" --time 1 --signal-lead 45 -- fit "${args[@]}" "${long[@]}" --model.step_sleep_ms 150 --trainer.max_requeues 10 \
  --loggers.logs_dir "$LOGS" --loggers.name timelimit)
z=$(bolt_submit "$WORK/z.out" --time 1 --signal-lead 45 -- fit "${args[@]}" "${long[@]}" --model.step_sleep_ms 90 --trainer.max_epochs 50 --trainer.max_requeues 0 \
  --loggers.logs_dir "$LOGS" --loggers.name nomore)
expect_exit 0 "epoch 3/3" "uninterrupted reference of the time-limited fit" -- \
  "$LAUNCH" --device cpu -- fit "${args[@]}" "${long[@]}" --loggers.logs_dir "$WORK/tl-ref" --loggers.progress false
state_z=$(wait_job "$z" 150)
state_t=$(wait_job "$t" 500)
check "a job that outlives --time 1 was requeued at its time limit and completed ($state_t, restarts $(job_field "$t" Restarts))" \
  test "$state_t" = COMPLETED -a "$(job_field "$t" Restarts)" -ge 1
check "... each stop recorded as a time limit" bash -c "[[ \$(grep -c '\"reason\":\"time_limit\"' '$LOGS/timelimit/version_0/requeues.jsonl') -eq $(job_field "$t" Restarts) ]]"
expect_exit 0 "max relative difference 0.000e\+00" "... its final parameters equal the uninterrupted run's, bitwise" -- \
  "$BUILD/bin/compare_checkpoints" "$TESTKIT" mlp "$WORK/tl-ref/mlp/version_0/checkpoints/last.pt" "$LOGS/timelimit/version_0/checkpoints/last.pt" 0
check "trainer.max_requeues 0: the first time limit ends the job ($state_z), not requeued" test "$state_z" = FAILED -a "$(job_field "$z" Restarts)" = 0
check "... saying why and what to do" grep -q "reached its time limit 1 times (trainer.max_requeues 0): last.pt is written but the job is not requeued again" "$LOGS"/submit/bolt-nomore-*/slurm-"$z".out

# --signal-lead against the checkpoint write time earlier runs recorded.
expect_exit 0 "warning: --signal-lead 1 s may be too short: an earlier run of 'timelimit' took" "a short --signal-lead is warned about" -- \
  "$LAUNCH" submit --dry-run --signal-lead 1 -- fit "${args[@]}" --loggers.logs_dir "$LOGS" --loggers.name timelimit
expect_exit 0 "note: no earlier run of 'fresh' .* recorded a checkpoint's write time" "... and a run name never run is said to be unchecked" -- \
  "$LAUNCH" submit --dry-run -- fit "${args[@]}" --loggers.logs_dir "$LOGS" --loggers.name fresh
"$LAUNCH" status "$LOGS" > "$WORK/status-all.txt" 2>&1
check "status <logs dir>: every submission of this test, the time-limited one with its requeues" \
  bash -c "[[ \$(grep -c '^submission ' '$WORK/status-all.txt') -eq 7 ]] && grep -Eq '^$t +- +COMPLETED +3/3 .* [1-9] \([1-9]\) ' '$WORK/status-all.txt'"
check "no process left behind" no_leftovers
finish
