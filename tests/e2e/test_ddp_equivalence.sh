#!/usr/bin/env bash
# DDP trains as one: 2 ranks × B/2 equal 1 rank × B; evaluation is exact across ranks;
# two launchers as two nodes equal one launcher with 4 ranks; plain torchrun / Open MPI
# environments join too.
source "$(dirname "$0")/lib.sh"
COMPARE=$BUILD/bin/compare_checkpoints
common=(--plugin "$TESTKIT" --model mlp --data synthetic --trainer.dist_backend "$DIST_BACKEND" --trainer.seed 7 --trainer.max_epochs 2
        --data.train_size 640 --data.val_size 333 --data.test_size 101)

expect_exit 0 "epoch 2/2" "1 rank, batch 32" -- "$LAUNCH" --device cpu -- fit "${common[@]}" --data.batch_size 32 --loggers.logs_dir "$WORK/one"
expect_exit 0 "epoch 2/2" "2 ranks, batch 16 each" -- "$LAUNCH" --nproc-per-node 2 --standalone -- fit "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/two"
ONE=$WORK/one/mlp/version_0
TWO=$WORK/two/mlp/version_0
expect_exit 0 "max relative difference" "40 SGD+momentum steps: parameters equal within 1e-5 relative" -- \
  "$COMPARE" "$TESTKIT" mlp "$ONE/checkpoints/last.pt" "$TWO/checkpoints/last.pt" 1e-5
check "train_loss equal (1e-5)" close_enough "$(metric "$ONE/metrics.jsonl" fit train_loss)" "$(metric "$TWO/metrics.jsonl" fit train_loss)" 1e-5
check "every rank logged to its own file" test -s "$TWO/rank-0.log" -a -s "$TWO/rank-1.log"
check "only rank 0 wrote metrics and checkpoints" test "$(ls "$WORK/two/mlp")" = "version_0"

# Evaluation on the same weights: 333 and 101 samples do not divide by 2 (or 3).
expect_exit 0 "test_score" "test with 1 rank" -- "$LAUNCH" --device cpu -- test "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/one" --trainer.ckpt_path "$ONE/checkpoints/last.pt"
expect_exit 0 "test_score" "test with 3 ranks" -- "$LAUNCH" --nproc-per-node 3 --standalone -- test "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/one" --trainer.ckpt_path "$ONE/checkpoints/last.pt"
check "test_score of 3 ranks equals 1 rank (101 samples)" /usr/bin/python3 -c "
import json; rows=[json.loads(l) for l in open('$ONE/metrics.jsonl') if 'test' in l]
a,b=rows[-2],rows[-1]; assert a['samples']==b['samples']==101, (a,b)
assert abs(a['test_score']-b['test_score']) <= 1e-6*abs(a['test_score']) and abs(a['test_loss']-b['test_loss']) <= 1e-6*abs(a['test_loss']), (a,b)"
expect_exit 0 "val_score" "validate with 2 ranks" -- "$LAUNCH" --nproc-per-node 2 --standalone -- validate "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/one" --trainer.ckpt_path "$ONE/checkpoints/last.pt"
check "val_score of 2 ranks equals the fit's last epoch (333 samples)" close_enough \
  "$(metric "$ONE/metrics.jsonl" validate val_score)" "$(metric "$ONE/metrics.jsonl" fit val_score)" 1e-6

# Two launchers as two nodes vs one launcher with 4 ranks.
expect_exit 0 "epoch 2/2" "one launcher, 4 ranks" -- "$LAUNCH" --nproc-per-node 4 --standalone -- fit "${common[@]}" --data.batch_size 8 --loggers.logs_dir "$WORK/four"
PORT=$(free_port)
"$LAUNCH" --nnodes 2 --node-rank 1 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$PORT" -- fit "${common[@]}" --data.batch_size 8 --loggers.logs_dir "$WORK/nodes" > node1.log 2>&1 &
node1=$!
expect_exit 0 "epoch 2/2" "launcher of node 0 (with node 1 beside it)" -- "$LAUNCH" --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$PORT" -- fit "${common[@]}" --data.batch_size 8 --loggers.logs_dir "$WORK/nodes"
wait $node1
check "launcher of node 1 succeeded" test $? -eq 0
check "2 nodes × 2 ranks give the metrics of 1 node × 4 ranks" close_enough \
  "$(metric "$WORK/nodes/mlp/version_0/metrics.jsonl" fit val_loss)" "$(metric "$WORK/four/mlp/version_0/metrics.jsonl" fit val_loss)" 1e-6

# bolt-worker started by plain environment variables, as torchrun or mpirun would.
PORT=$(free_port)
for r in 0 1; do
  RANK=$r WORLD_SIZE=2 LOCAL_RANK=$r LOCAL_WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    "$WORKER" fit "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/torchrun" > torchrun-$r.log 2>&1 &
  pids[$r]=$!
done
wait "${pids[0]}" && wait "${pids[1]}"
check "torchrun-style environment: both ranks succeed" test $? -eq 0
check "torchrun-style run equals bolt-launch's" close_enough \
  "$(metric "$WORK/torchrun/mlp/version_0/metrics.jsonl" fit val_loss)" "$(metric "$TWO/metrics.jsonl" fit val_loss)" 1e-6
PORT=$(free_port)
for r in 0 1; do
  OMPI_COMM_WORLD_RANK=$r OMPI_COMM_WORLD_SIZE=2 OMPI_COMM_WORLD_LOCAL_RANK=$r OMPI_COMM_WORLD_LOCAL_SIZE=2 \
    MASTER_ADDR=127.0.0.1 MASTER_PORT=$PORT \
    "$WORKER" fit "${common[@]}" --data.batch_size 16 --loggers.logs_dir "$WORK/mpi" > mpi-$r.log 2>&1 &
  pids[$r]=$!
done
wait "${pids[0]}" && wait "${pids[1]}"
check "Open MPI environment: both ranks succeed" test $? -eq 0
check "Open MPI run equals bolt-launch's" close_enough \
  "$(metric "$WORK/mpi/mlp/version_0/metrics.jsonl" fit val_loss)" "$(metric "$TWO/metrics.jsonl" fit val_loss)" 1e-6
check "no process left behind" no_leftovers
finish
