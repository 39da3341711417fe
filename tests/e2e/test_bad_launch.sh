#!/usr/bin/env bash
# Bad launch input, the other half of test_bad_input.sh: launcher flags (torchrun's spellings
# too), Slurm step environments, the worker's environment contract, and where the rendezvous
# store listens. Each case: the exit code and a one-line message naming flag, variable or value.
source "$(dirname "$0")/lib.sh"
CFG=$SRC/configs/fashion_mnist.json
tiny=(--plugin "$TESTKIT" --model mlp --data synthetic --data.train_size 64 --data.val_size 32 --data.batch_size 8
      --trainer.max_epochs 1 --loggers.progress false)

# Launcher flags: Bolt's words, not CLI11's range of doubles.
expect_exit 2 "--nnodes: '0' is not a whole number in 1..100000" "--nnodes 0" -- "$LAUNCH" --nnodes 0 --device cpu -- fit
expect_exit 2 "--max-restarts: '-1' is not a whole number in 0..1000" "--max-restarts -1" -- "$LAUNCH" --max-restarts -1 --device cpu -- fit
expect_exit 2 "--term-timeout: '-1' is not a number of seconds in 0..86400" "--term-timeout -1" -- "$LAUNCH" --term-timeout -1 --device cpu -- fit
expect_exit 2 "--master-port: '70000' is not a whole number in 0..65535" "--master-port 70000" -- "$LAUNCH" --master-port 70000 --device cpu -- fit
expect_exit 2 "--master-port: 'http' is not a whole number" "--master-port http" -- "$LAUNCH" --master-port http --device cpu -- fit
expect_exit 2 "--node-rank 5 must be below --nnodes 2" "--node-rank past --nnodes" -- "$LAUNCH" --nnodes 2 --node-rank 5 --nproc-per-node 1 -- fit
expect_exit 2 "--nproc-per-node '0' is not a positive number or auto" "--nproc-per-node 0" -- "$LAUNCH" --nproc-per-node 0 -- fit
expect_exit 2 "unknown arguments --nproc-per-nod 2; see bolt-launch --help" "a misspelt flag is named" -- "$LAUNCH" --nproc-per-nod 2 -- fit
expect_exit 2 "--log-ranks '7': rank 7 is not in this job" "--log-ranks beyond the world" -- "$LAUNCH" --nproc-per-node 2 --log-ranks 7 --print-plan -- fit
expect_exit 2 "--log-ranks '1-0': '1-0' runs backwards" "--log-ranks backwards" -- "$LAUNCH" --nproc-per-node 2 --log-ranks 1-0 --print-plan -- fit
expect_exit 2 "--device 'cuda:x' is not one of cpu, cuda, cuda:N" "--device cuda:x" -- "$LAUNCH" --device cuda:x -- fit
expect_exit 2 "master-port: '-3' is not a whole number in 0..65535" "MASTER_PORT from the environment is checked as the flag is" -- env MASTER_PORT=-3 "$LAUNCH" --device cpu -- fit
expect_exit 0 '"local_world_size":2' "torchrun's underscore spelling --nproc_per_node is accepted" -- "$LAUNCH" --nproc_per_node 2 --print-plan -- fit
expect_exit 2 "--time 'soon' is not a Slurm time limit: give minutes, H:MM:SS or D-HH:MM:SS" "submit --time soon, before sbatch sees it" -- \
  "$LAUNCH" submit --dry-run --time soon -- fit "${tiny[@]}"
expect_exit 2 "why: $WORK/nothing is not a directory" "why on a run directory that is not there" -- "$LAUNCH" why "$WORK/nothing"

# Slurm step environments (one task per rank): every variable checked, named in the message.
step=(env SLURM_JOB_ID=1 SLURM_STEP_ID=0 SLURM_PROCID=0 SLURM_LOCALID=0 SLURM_NODEID=0 SLURM_STEP_NUM_TASKS=1 SLURM_STEP_NUM_NODES=1
      SLURM_STEP_TASKS_PER_NODE=1 SLURM_STEP_NODELIST=n1)
expect_exit 0 '"source":"slurm"' "the base step environment resolves" -- "${step[@]}" "$LAUNCH" --print-plan
expect_exit 1 "tasks-per-node list '0': '0' gives a node no tasks" "a node with no tasks" -- "${step[@]}" SLURM_STEP_TASKS_PER_NODE=0 "$LAUNCH" --print-plan
expect_exit 1 "'2\(x0\)' repeats a count zero times" "a count repeated zero times" -- "${step[@]}" SLURM_STEP_TASKS_PER_NODE='2(x0)' "$LAUNCH" --print-plan
expect_exit 1 "'1\(x99999999999\)' has no repeat count of at most 9 digits" "a repeat count of 11 digits" -- "${step[@]}" SLURM_STEP_TASKS_PER_NODE='1(x99999999999)' "$LAUNCH" --print-plan
expect_exit 1 "SLURM_PROCID='-1' is not an integer >= 0" "a negative SLURM_PROCID" -- "${step[@]}" SLURM_PROCID=-1 "$LAUNCH" --print-plan
expect_exit 1 "SLURM_PROCID=5 is not below SLURM_STEP_NUM_TASKS=1" "SLURM_PROCID past the step's tasks" -- "${step[@]}" SLURM_PROCID=5 "$LAUNCH" --print-plan
expect_exit 1 "SLURM_STEP_NUM_TASKS='abc' is not an integer >= 1" "SLURM_STEP_NUM_TASKS not a number" -- "${step[@]}" SLURM_STEP_NUM_TASKS=abc "$LAUNCH" --print-plan
expect_exit 1 "SLURM_STEP_NUM_NODES='99999999999999999999' is not an integer >= 1" "SLURM_STEP_NUM_NODES past 64 bits" -- "${step[@]}" SLURM_STEP_NUM_NODES=99999999999999999999 "$LAUNCH" --print-plan
expect_exit 1 "SLURM_LOCALID=3 is not below this node's task count 1" "SLURM_LOCALID past the node's tasks" -- "${step[@]}" SLURM_LOCALID=3 "$LAUNCH" --print-plan
expect_exit 1 "host list 'n\[3-1\]': range 3-1 runs backwards" "a host range that runs backwards" -- "${step[@]}" SLURM_STEP_NODELIST='n[3-1]' "$LAUNCH" --print-plan
expect_exit 1 "host list 'n\[1-2': unbalanced '\['" "an unbalanced host list" -- "${step[@]}" SLURM_STEP_NODELIST='n[1-2' "$LAUNCH" --print-plan
expect_exit 1 "SLURM_NODEID=1 but SLURM_STEP_TASKS_PER_NODE='1' lists 1 nodes" "SLURM_NODEID past the node list" -- "${step[@]}" SLURM_NODEID=1 "$LAUNCH" --print-plan
expect_exit 1 "SLURM_RESTART_COUNT='x' is not an integer >= 0" "a malformed SLURM_RESTART_COUNT" -- "${step[@]}" SLURM_RESTART_COUNT=x "$LAUNCH" --print-plan

# The worker's environment (torchrun's contract): checked before anything starts.
expect_exit 1 "environment variable MASTER_PORT='abc' is not an integer >= 1" "MASTER_PORT not a number" -- \
  env RANK=0 WORLD_SIZE=2 MASTER_ADDR=127.0.0.1 MASTER_PORT=abc "$WORKER" fit --config "$CFG"
expect_exit 1 "environment variable WORLD_SIZE='0' is not an integer >= 1" "WORLD_SIZE 0" -- env RANK=0 WORLD_SIZE=0 "$WORKER" fit --config "$CFG"
expect_exit 1 "rank 5 is not below world size 2 \(RANK/WORLD_SIZE\)" "RANK past WORLD_SIZE" -- env RANK=5 WORLD_SIZE=2 "$WORKER" fit --config "$CFG"
expect_exit 1 "local rank 3 is not below local world size 2" "LOCAL_RANK past LOCAL_WORLD_SIZE" -- \
  env RANK=0 WORLD_SIZE=2 LOCAL_RANK=3 LOCAL_WORLD_SIZE=2 "$WORKER" fit --config "$CFG"
expect_exit 2 "device 'cuda:x' is not one of cpu, cuda, cuda:N" "BOLT_DEVICE malformed" -- env BOLT_DEVICE=cuda:x "$WORKER" fit --config "$CFG"
expect_exit 1 "MASTER_ADDR '192.0.2.1' \(192.0.2.1\) is not an address of this host, where rank 0 runs" \
  "rank 0 given a master address that is not its host's" -- \
  env RANK=0 WORLD_SIZE=2 LOCAL_RANK=0 LOCAL_WORLD_SIZE=1 MASTER_ADDR=192.0.2.1 MASTER_PORT=29555 "$WORKER" fit "${tiny[@]}"

# The rendezvous store listens where the plan puts the master, not on every interface.
port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$LAUNCH" --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$port" -- fit "${tiny[@]}" --model.step_sleep_ms 300 \
  --loggers.logs_dir "$WORK/bind" > bind.out 2>&1 &
job=$!
listeners() {  # local addresses listening on $port, from /proc/net/tcp and tcp6
  /usr/bin/python3 - "$port" <<'PY'
import sys
port = int(sys.argv[1])
for table in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        address, state = fields[1], fields[3]
        if state == "0A" and int(address.split(":")[1], 16) == port:
            print(address.split(":")[0])
PY
}
for _ in $(seq 100); do [[ -n "$(listeners)" ]] && break; sleep 0.1; done
seen=$(listeners | sort -u | tr '\n' ' ')
check "the store of a --master-addr 127.0.0.1 job listens on 127.0.0.1 only (seen: ${seen:-nothing})" test "$seen" = "0100007F "
wait "$job"
check "... and the job trains through it" grep -q "epoch 1/1" "$WORK"/bind/mlp/version_0/rank-0.log
finish
