#!/usr/bin/env bash
# bolt-launch --check: what a job needs, on every rank, in seconds; misconfigurations that
# would hang or fail late each fail within 10 s with the cause named. Two "nodes" are two
# local launchers (--nnodes 2 --node-rank 0|1), as a Slurm job's would be.
source "$(dirname "$0")/lib.sh"
cat >cfg.json <<JSON
{"plugins": ["$TESTKIT"], "model": {"name": "mlp"}, "data": {"name": "synthetic", "batch_size": 8},
 "trainer": {"max_epochs": 1}, "loggers": {"progress": false, "logs_dir": "$WORK/logs"}}
JSON

# two_nodes NAME "NODE0 FLAGS" "NODE1 FLAGS" [WORKER ARGS FOR NODE 1...]: runs the check on two
# launchers (1 rank each unless the flags say otherwise); outputs in NAME.0 / NAME.1, exit
# codes in rc0/rc1, wall time in took.
two_nodes() {
  local name=$1 flags0=$2 flags1=$3 port start
  shift 3
  port=$(free_port)
  start=$(date +%s.%N)
  # shellcheck disable=SC2086
  timeout 30 "$LAUNCH" --check --no-slurm --nnodes 2 --node-rank 0 --master-addr "${ADDR:-127.0.0.1}" --master-port "$port" \
    $flags0 -- fit --config cfg.json >"$name.0" 2>&1 &
  local node0=$!
  # shellcheck disable=SC2086
  timeout 30 "$LAUNCH" --check --no-slurm --nnodes 2 --node-rank "${NODE1_RANK:-1}" --master-addr "${ADDR:-127.0.0.1}" \
    --master-port "$port" $flags1 -- fit --config cfg.json "$@" >"$name.1" 2>&1
  rc1=$?
  wait $node0
  rc0=$?
  took=$(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 1))")
}
# named WHAT PATTERN FILES...: both launchers failed within 10 s, and one output names the cause.
named() {
  local what=$1 pattern=$2
  shift 2
  if [[ $rc0 -ne 0 && $rc1 -ne 0 ]] && /usr/bin/python3 -c "assert $took <= 10" && cat "$@" | grep -Eq -- "$pattern"; then
    ok "$what: failed in $took s, named"
  else
    fail "$what: exits $rc0/$rc1 after $took s, /$pattern/ expected"; cat "$@" | grep -v '^  ' | tail -n 8 | sed 's/^/    /'
  fi
}

two_nodes good "--nproc-per-node 2" "--nproc-per-node 2"
check "2 nodes x 2 ranks, all in place: exit 0/0 ($rc0/$rc1) in $took s" test $rc0 -eq 0 -a $rc1 -eq 0
check "... rank 0 prints one table: a row per rank, the allreduce through shm+gloo" \
  bash -c "grep -Eq '^\[rank 0\] 3 +vm|^\[rank 0\] 3 ' good.0 && grep -q 'ok (shm+gloo' good.0 && grep -q 'check: ok: 4 ranks can run this job' good.0"

two_nodes world "--nproc-per-node 2" "--nproc-per-node 1"
named "world sizes that disagree between nodes" "believes the job has 2 ranks on 2 node\(s\), rank 0 \(.*\) 4 on 2|two processes claim rank 1" world.0 world.1
two_nodes plugin "" "" --plugin "$WORK/missing/libnothere.so"
named "a plugin missing on one node" "rank 1 \(.*\): config: .*libnothere.so" plugin.0 plugin.1
two_nodes datadir "" "" --data.data_dir "$WORK/no-data-here"
named "a data directory missing on one node" "rank 1 \(.*\): data: data.data_dir .*no-data-here is missing or unreadable on this node" datadir.0 datadir.1
two_nodes config "" "" --model.hidden 64
named "a different config on one node" "rank 1 \(.*\) resolved a different config than rank 0" config.0 config.1
NODE1_RANK=0 two_nodes twice ""  ""
named "two nodes both started as node 0" "two processes claim rank 0: check --node-rank" twice.0 twice.1
check "... the second rank 0 posts its claim at the first: named at once ($took s), not after the check's 8 s wait" \
  /usr/bin/python3 -c "assert $took <= 5"
check "... and says why the port is taken" grep -q "another rank 0 of this job's check holds it" twice.0 twice.1
two_nodes badkey "" "" --model.no_such_key 3
named "an unknown config key on one node" "model.no_such_key" badkey.0 badkey.1
check "... a usage error: exit 2 on the node that has it ($rc1)" test "$rc1" -eq 2
ADDR=no-such-host.invalid two_nodes nohost "" ""
named "a master host that does not resolve" "cannot resolve MASTER_ADDR 'no-such-host.invalid'" nohost.0 nohost.1

# One node alone: nobody listens on the master port.
start=$(date +%s.%N)
expect_exit 1 "the master at 127.0.0.1:[0-9]+ did not come up within 8 s" "a closed master port: named within 10 s" -- \
  "$LAUNCH" --check --no-slurm --nnodes 2 --node-rank 1 --master-addr 127.0.0.1 --master-port "$(free_port)" -- fit --config cfg.json
check "... in $(/usr/bin/python3 -c "import time; print(round(time.time() - $start, 1))") s" /usr/bin/python3 -c "import time; assert time.time() - $start <= 10.5"
# Rank 0 alone: the other node never starts.
expect_exit 1 "1 of 2 ranks did not report within 8 s \(missing: rank 1\)" "a node that never starts: named within 10 s" -- \
  "$LAUNCH" --check --no-slurm --nnodes 2 --node-rank 0 --master-addr 127.0.0.1 --master-port "$(free_port)" -- fit --config cfg.json
# The master port is taken by another program.
port=$(free_port)
/usr/bin/python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(20)" &
holder=$!
sleep 0.3
expect_exit 1 "master port $port on 127.0.0.1 is already in use" "a master port in use: named" -- \
  "$LAUNCH" --check --nproc-per-node 2 --master-port "$port" -- fit --config cfg.json
kill $holder 2>/dev/null; wait $holder 2>/dev/null
expect_exit 2 "--device cuda asked for, but no GPU is visible" "--device cuda where no GPU is visible: named" -- \
  "$LAUNCH" --check --device cuda -- fit --config cfg.json
expect_exit 0 "check: ok" "one process, all in place: exit 0" -- "$LAUNCH" --check --device cpu -- fit --config cfg.json
check "--check wrote no run directory" test ! -e "$WORK/logs"
check "no process left behind" no_leftovers
finish
