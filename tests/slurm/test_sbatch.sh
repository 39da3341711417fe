#!/usr/bin/env bash
# Real sbatch/srun jobs on the local cluster of scripts/slurm-local.sh (scripts/test.sh starts
# it). A cluster that cannot be reached fails this test; it never skips.
source "$(dirname "$0")/lib.sh"
args=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.seed 7 --trainer.max_epochs 2
      --data.train_size 640 --data.val_size 333 --data.test_size 101 --data.batch_size 8)

check "local reference: 2 launchers as 2 nodes x 2 ranks" local_two_nodes "$WORK/local" "${args[@]}"
REF=$(metric "$WORK/local/mlp/version_0/metrics.jsonl" fit val_loss)

id=$(submit "$EXAMPLES/cpu-2x2.sbatch" "${args[@]}" --loggers.logs_dir "$WORK/a")
state=$(wait_job "$id" 120)
check "sbatch 2 nodes x 2 tasks (one task per rank): $state" test "$state" = COMPLETED
check "shape (a) metrics equal the local 2-node run" close_enough "$(metric "$WORK/a/mlp/version_0/metrics.jsonl" fit val_loss)" "$REF" 1e-6
check "shape (a): rank 0 saw a 2-node, 4-rank plan" grep -q '"nnodes": 2' "$WORK/a/mlp/version_0/launch.json"
check "shape (a): every rank logged" test -s "$WORK/a/mlp/version_0/rank-3.log"
check "shape (a): the ranks reduced through shared memory inside a node, gloo between" \
  grep -q "joined the shm+gloo process group" "$WORK/a/mlp/version_0/rank-0.log"

id=$(submit "$EXAMPLES/cpu-per-node.sbatch" "${args[@]}" --loggers.logs_dir "$WORK/b")
state=$(wait_job "$id" 120)
check "sbatch 2 nodes x 1 task + --nproc-per-node 2: $state" test "$state" = COMPLETED
check "shape (b) metrics equal the local 2-node run" close_enough "$(metric "$WORK/b/mlp/version_0/metrics.jsonl" fit val_loss)" "$REF" 1e-6

slow=(--data.train_size 100000 --trainer.max_epochs 100)
start=$(date +%s)
id=$(submit "$EXAMPLES/cpu-per-node.sbatch" "${args[@]}" "${slow[@]}" --model.fail_step 30 --model.fail_rank 3 --loggers.logs_dir "$WORK/fail-b")
state=$(wait_job "$id" 60)
took=$(( $(date +%s) - start ))
check "a failing rank ends the --nproc-per-node job ($state) within 30 s (took $took s)" test "$state" = FAILED -a "$took" -le 30
check "the job output has bolt-launch's summary naming rank 3" grep -Eq "error: rank 3 \(n2, pid [0-9]+\) failed: fit: epoch 1, step 31" "$WORK/bolt-$id.out"
check "... and its table marks rank 3 as the root cause" grep -Eq "^3 +1 +.*exit code 1 +<- root cause" "$WORK/bolt-$id.out"
check "the summary shows the rank's error" grep -q "planned failure at step 30 on rank 3" "$WORK/bolt-$id.out"

start=$(date +%s)
id=$(submit "$EXAMPLES/cpu-2x2.sbatch" "${args[@]}" "${slow[@]}" --model.fail_step 30 --model.fail_rank 2 --loggers.logs_dir "$WORK/fail-a")
state=$(wait_job "$id" 60)
took=$(( $(date +%s) - start ))
check "a failing rank under srun --kill-on-bad-exit=1 ends the job ($state) within 30 s (took $took s)" test "$state" = FAILED -a "$took" -le 30
check "the job output names the failed rank's error" grep -q "planned failure at step 30 on rank 2" "$WORK/bolt-$id.out"

id=$(submit "$EXAMPLES/misuse-no-srun.sbatch" "${args[@]}" --loggers.logs_dir "$WORK/misuse")
state=$(wait_job "$id" 60)
check "bolt-launch in a batch shell without srun fails ($state)" test "$state" = FAILED
check "... saying to run under srun" grep -q "but in an salloc or sbatch shell, outside any srun step: run under srun" "$WORK/bolt-$id.out"

# --print-plan inside a real step, with where each value came from.
out=$(srun -N 2 --ntasks-per-node=2 --chdir "$WORK" "$LAUNCH" --print-plan 2>&1)
check "srun --print-plan: 4 plans with Slurm sources" test "$(grep -c '"source":"slurm"' <<<"$out")" -eq 4
check "srun --print-plan: master is the first node, from SLURM_STEP_NODELIST" grep -q '"master_addr":"n1".*"master_addr":"SLURM_STEP_NODELIST"' <<<"$out"
# Fake GPUs: with --gpus-per-task=1 each task sees one GPU, so every rank binds cuda:0.
out=$(srun -N 1 -n 2 --gpus-per-task=1 --chdir "$WORK" bash -c 'echo "visible=$CUDA_VISIBLE_DEVICES"; '"$LAUNCH"' --print-plan' 2>&1)
check "--gpus-per-task=1: Slurm gives each task its own GPU" test "$(grep -c '^visible=[0-9]$' <<<"$out")" -eq 2
check "--gpus-per-task=1: both ranks bind cuda:0, never an invalid ordinal" test "$(grep -c '"device":"cuda:0"' <<<"$out")" -eq 2
out=$(srun -N 1 -n 1 --gpus-per-task=2 --chdir "$WORK" "$LAUNCH" --nproc-per-node auto --print-plan 2>&1)
check "--gpus-per-task=2 with --nproc-per-node auto: 2 ranks on cuda:0 and cuda:1" \
  test "$(grep -c '"device":"cuda:[01]"' <<<"$out")" -eq 2 -a "$(grep -c '"world_size":2' <<<"$out")" -eq 2
finish
