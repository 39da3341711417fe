# Shared by the real-cluster tests: the e2e helpers, a cluster that must answer (a test fails,
# never skips, when it does not), and job polling.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
EXAMPLES=$SRC/scripts/slurm
if ! scontrol ping >/dev/null 2>&1; then
  fail "the local Slurm cluster is not reachable (start it with scripts/slurm-local.sh start)"
  finish
  exit 1
fi
export BOLT_HOME=$SRC
# The examples default to configs/fashion_mnist.json; the tests give every key on the command line.
echo '{}' > "$WORK/empty.json"
export BOLT_CONFIG=$WORK/empty.json

job_field() { scontrol show job -o "$1" 2>/dev/null | grep -o "$2=[^ ]*" | cut -d= -f2; }

# wait_job ID SECONDS: polls scontrol (sbatch --wait polls too coarsely) and prints the final
# state; a requeued job passes through PENDING and runs again before it gets one.
wait_job() {
  local state=""
  for _ in $(seq $(($2 * 4))); do
    state=$(job_field "$1" JobState)
    case "$state" in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE) echo "$state"; return 0 ;; esac
    sleep 0.25
  done
  echo "STILL_${state:-UNKNOWN}"
}
submit() { sbatch --parsable --chdir "$WORK" "$@" | cut -d';' -f1; }

# local_two_nodes DIR WORKER_ARGS...: the jobs' 2 nodes × 2 ranks as two local launchers, the
# reference a Slurm job must equal (the same reduction topology: shm inside a node, gloo
# between nodes, as the examples' default backend picks).
local_two_nodes() {
  local dir=$1 port
  shift
  port=$(free_port)
  "$LAUNCH" --no-slurm --nnodes 2 --node-rank 1 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$port" -- \
    fit "$@" --loggers.logs_dir "$dir" > "$dir.node1.log" 2>&1 &
  local node1=$!
  "$LAUNCH" --no-slurm --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr 127.0.0.1 --master-port "$port" -- \
    fit "$@" --loggers.logs_dir "$dir" > "$dir.node0.log" 2>&1
  local rc=$?
  wait $node1 && return $rc
}
