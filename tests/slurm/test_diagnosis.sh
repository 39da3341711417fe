#!/usr/bin/env bash
# Hangs and crashes on the real local cluster, in both launch shapes: the hang watchdog ends
# the job within trainer.hang_timeout_s + 15 s of the stall, and the job output ends with the
# diagnosis naming the rank (one task per rank: `bolt-launch why` after srun, as the example
# scripts run it; one bolt-launch per node: its summary, then the same).
source "$(dirname "$0")/lib.sh"
FAULTKIT=$BUILD/lib/bolt/plugins/libfaultkit.so
args=(--plugin "$FAULTKIT" --model faulty_mlp --data faulty_data --data.batch_size 16 --trainer.max_epochs 3
      --trainer.hang_timeout_s 5 --loggers.progress false)

# run_job NAME SCRIPT ARGS...: submits, waits, prints "STATE SECONDS"; the output is bolt-<id>.out.
run_job() {
  local name=$1 script=$2 start id state
  shift 2
  start=$(date +%s)
  id=$(submit "$EXAMPLES/$script" "${args[@]}" --loggers.logs_dir "$WORK/$name" "$@")
  state=$(wait_job "$id" 90)
  cp "$WORK/bolt-$id.out" "$WORK/$name.out" 2>/dev/null
  echo "$state $(( $(date +%s) - start ))"
}

read -r state took < <(run_job sleep-a cpu-2x2.sbatch --model.fault sleep --model.fault_rank 3)
check "one task per rank, rank 3 sleeps in its step: the job fails ($state) within 5 + 15 s + start-up (took $took s)" \
  test "$state" = FAILED -a "$took" -le 35
check "... the job output ends with the diagnosis naming rank 3 on n2" \
  grep -Eq "diagnosis: rank 3 \(n2, pid [0-9]+\) has not reached allreduce #[0-9]+ \(gradient bucket 1/1, fit epoch 1 step 4\): it is in training_step for [0-9]+ s; ranks 0-2 wait in allreduce" "$WORK/sleep-a.out"
check "... with rank 3's stack through the plugin" grep -q "faultkit::FaultyMlp::misbehave" "$WORK/sleep-a.out"

read -r state took < <(run_job stop-b cpu-per-node.sbatch --model.fault sigstop --model.fault_rank 1)
check "one bolt-launch per node, rank 1 frozen by SIGSTOP: the job fails ($state) within 35 s (took $took s)" \
  test "$state" = FAILED -a "$took" -le 35
check "... node 0's bolt-launch names rank 1 as stopped" \
  grep -Eq "error: rank 1 has not reached allreduce #[0-9]+ and wrote no record: its process was stopped" "$WORK/stop-b.out"
check "... and so does bolt-launch why at the end of the job" \
  grep -Eq "diagnosis: rank 1 has not reached allreduce #[0-9]+ and wrote no record" "$WORK/stop-b.out"

for shape in cpu-2x2 cpu-per-node; do
  read -r state took < <(run_job "data-$shape" "$shape.sbatch" --data.stuck_rank 2)
  check "$shape: rank 2's DataLoader stuck: the job fails ($state) within 35 s (took $took s)" \
    test "$state" = FAILED -a "$took" -le 35
  check "... named: rank 2 on n2 waits for its DataLoader" \
    grep -Eq "rank 2 \(n2, pid [0-9]+\) has not reached allreduce #[0-9]+ .*: it is waiting for its DataLoader" "$WORK/data-$shape.out"
done

read -r state took < <(run_job stop-a cpu-2x2.sbatch --model.fault sigstop --model.fault_rank 1)
check "one task per rank, rank 1 frozen by SIGSTOP: the job fails ($state) within 35 s (took $took s)" \
  test "$state" = FAILED -a "$took" -le 35
check "... bolt-launch why names rank 1 from the others' records" \
  grep -Eq "diagnosis: rank 1 has not reached allreduce #[0-9]+ and wrote no record" "$WORK/stop-a.out"

read -r state took < <(run_job sleep-b cpu-per-node.sbatch --model.fault sleep --model.fault_rank 0)
check "one bolt-launch per node, rank 0 sleeps in its step: the job fails ($state) within 35 s (took $took s)" \
  test "$state" = FAILED -a "$took" -le 35
check "... named by node 1's bolt-launch too (the run directory is shared)" \
  grep -Eq "error: rank 0 \(n1, pid [0-9]+\) has not reached allreduce #[0-9]+ .*: it is in training_step" "$WORK/sleep-b.out"

for shape in cpu-2x2 cpu-per-node; do
  read -r state took < <(run_job "skip-$shape" "$shape.sbatch" --trainer.name skipping --trainer.skip_rank 3)
  check "$shape: rank 3 skips a collective the others make: the job fails ($state) at once (took $took s)" \
    test "$state" = FAILED -a "$took" -le 25
  check "... named as a collective mismatch" grep -q "collective mismatch" "$WORK/skip-$shape.out"
done

read -r state took < <(run_job segv-a cpu-2x2.sbatch --model.fault segv --model.fault_rank 2)
check "one task per rank, rank 2 crashes: the job fails ($state)" test "$state" = FAILED
check "... the job output names rank 2, SIGSEGV and the plugin function" \
  grep -Eq "diagnosis: rank 2 \(n2, pid [0-9]+\) crashed with SIGSEGV in faultkit::write_through_null_pointer" "$WORK/segv-a.out"
# srun bolt-launch --check: every rank of the allocation, one table, in seconds.
out=$(srun -N 2 --ntasks-per-node=2 --chdir "$WORK" "$LAUNCH" --check -- fit "${args[@]}" --loggers.logs_dir "$WORK/check" 2>&1)
check "srun bolt-launch --check: 4 ranks on 2 nodes pass, one table with n1 and n2" \
  bash -c 'grep -q "check: ok: 4 ranks can run this job" <<<"$1" && grep -Eq "^3 +n2 " <<<"$1"' _ "$out"
out=$(srun -N 2 --ntasks-per-node=2 --chdir "$WORK" "$LAUNCH" --check -- fit "${args[@]}" --data.data_dir "$WORK/nowhere" 2>&1)
check "srun bolt-launch --check with a missing data directory: named" \
  grep -Eq "check: rank [0-3] \(n[12]\): data: data.data_dir .*nowhere is missing or unreadable" <<<"$out"
finish
