#!/usr/bin/env bash
# A real Slurm cluster on this machine for Bolt's tests: slurmctld + two slurmd "nodes"
# (n1, n2 on 127.0.10.1/.2, 2 CPUs and 2 fake GPUs each), munge authentication, no systemd.
# The fake GPUs are character devices (/dev/null's numbers) that gres/gpu hands out, so that
# --gpus-per-task sets CUDA_VISIBLE_DEVICES as on a real GPU node; nothing runs on them.
#   scripts/slurm-local.sh start|stop|status
# State lives in $BOLT_SLURM_DIR (default /tmp/bolt-slurm). Daemons are stopped by the pids
# this script wrote, never by name; /etc/hosts gets its entries back out on stop.
set -euo pipefail
ACTION=${1:-status}
DIR=${BOLT_SLURM_DIR:-/tmp/bolt-slurm}
CONF=/etc/slurm/slurm.conf
NODES=(n1 n2)
HOST=$(hostname -s)
MARK="# bolt-slurm-local"

install_packages() {
  local missing=()
  for p in slurmd slurmctld slurm-client munge; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "slurm-local: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" > "$DIR/apt.log" 2>&1 \
      || { tail -n 20 "$DIR/apt.log"; echo "slurm-local: apt-get failed" >&2; exit 1; }
  fi
}

write_config() {
  mkdir -p /etc/slurm "$DIR"/{spool,state,log}
  cat > "$CONF" <<CONF
ClusterName=bolt
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=17000
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
SchedulerParameters=batch_sched_delay=0,sched_interval=2
AuthInfo=cred_expire=10
KillWait=5
ReturnToService=2
MinJobAge=300
# Low on purpose: bolt-launch submit must split a larger sweep into several arrays (tested).
MaxArraySize=3
GresTypes=gpu
NodeName=n1 NodeHostname=$HOST NodeAddr=127.0.10.1 Port=17001 CPUs=2 RealMemory=2000 Gres=gpu:2 State=UNKNOWN
NodeName=n2 NodeHostname=$HOST NodeAddr=127.0.10.2 Port=17002 CPUs=2 RealMemory=2000 Gres=gpu:2 State=UNKNOWN
PartitionName=debug Nodes=n1,n2 Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
  for i in 0 1; do [[ -e /dev/bolt-fake-gpu$i ]] || mknod /dev/bolt-fake-gpu$i c 1 3; done
  printf 'NodeName=n[1-2] Name=gpu File=/dev/bolt-fake-gpu[0-1]\n' > /etc/slurm/gres.conf
}

add_hosts() {
  grep -q "$MARK" /etc/hosts && return
  # /etc/hosts may be a bind mount: edit it in place rather than replacing the file.
  printf '127.0.10.1 n1 %s\n127.0.10.2 n2 %s\n' "$MARK" "$MARK" >> /etc/hosts
}

remove_hosts() {
  grep -q "$MARK" /etc/hosts || return 0
  local kept
  kept=$(grep -v "$MARK" /etc/hosts)
  printf '%s\n' "$kept" > /etc/hosts
}

start_munge() {
  if [[ -f $DIR/munged.pid ]] && kill -0 "$(cat "$DIR/munged.pid")" 2>/dev/null; then return; fi
  [[ -f /etc/munge/munge.key ]] || { /usr/sbin/mungekey --create 2>/dev/null || /usr/sbin/create-munge-key -f; chown munge:munge /etc/munge/munge.key; }
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge 2>/dev/null || true
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
  cp /run/munge/munged.pid "$DIR/munged.pid"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2
  shift 2
  for _ in $(seq $((seconds * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "slurm-local: $what did not happen within $seconds s; logs in $DIR/log" >&2
  tail -n 20 "$DIR"/log/*.log >&2 || true
  return 1
}

nodes_idle() { [[ $(sinfo -h -N -o '%t' | grep -cE '^idle') -eq ${#NODES[@]} ]]; }

start() {
  mkdir -p "$DIR"
  # A cluster left running (an interrupted test run) is replaced, not doubled.
  [[ -f $DIR/slurmctld.pid ]] && stop >/dev/null
  install_packages
  write_config
  add_hosts
  start_munge
  /usr/sbin/slurmctld -i
  for n in "${NODES[@]}"; do /usr/sbin/slurmd -N "$n"; done
  wait_for 20 "slurmctld answering" scontrol ping
  for n in "${NODES[@]}"; do scontrol update nodename="$n" state=resume >/dev/null 2>&1 || true; done
  wait_for 30 "both nodes idle" nodes_idle
  echo "slurm-local: up (nodes ${NODES[*]}; config $CONF; logs $DIR/log)"
}

stop_pid() {
  local file=$1
  [[ -f $file ]] || return 0
  local pid
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  fi
  rm -f "$file"
}

stop() {
  scancel --full $(squeue -h -o %i 2>/dev/null) >/dev/null 2>&1 || true
  for n in "${NODES[@]}"; do stop_pid "$DIR/slurmd-$n.pid"; done
  stop_pid "$DIR/slurmctld.pid"
  stop_pid "$DIR/munged.pid"
  remove_hosts
  echo "slurm-local: stopped"
}

case "$ACTION" in
  start) start ;;
  stop) stop ;;
  status) scontrol ping && sinfo -N ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
