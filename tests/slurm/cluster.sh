#!/usr/bin/env bash
# A real one-node SLURM cluster for the profile test, started by hand (no
# systemd): munged, slurmctld and slurmd on localhost. Needs root and the
# Debian packages slurm-wlm and munge.
#
#   tests/slurm/cluster.sh install   apt-get install the packages
#   tests/slurm/cluster.sh start     write slurm.conf, start the daemons, wait for an idle node
#   tests/slurm/cluster.sh stop      stop the daemons that `start` started (by PID)
set -euo pipefail

STATE=${GEAR_SLURM_STATE:-/tmp/gear-slurm}
CONF_DIR=/etc/slurm
mkdir -p "$STATE"

install_packages() {
  if command -v slurmctld >/dev/null && command -v munged >/dev/null; then return; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
}

write_config() {
  local cpus memory
  cpus=$(nproc)
  # Leave 2 GB to the system; jobs share the node through DefMemPerCPU.
  memory=$(($(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 2048))
  mkdir -p "$CONF_DIR" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
  cat >"$CONF_DIR/slurm.conf" <<CONF
ClusterName=gear-test
SlurmctldHost=localhost(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
MinJobAge=300
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
}

start() {
  install_packages
  write_config
  if [ ! -s /etc/munge/munge.key ]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge
  # Only daemons started here are recorded, so `stop` leaves others alone.
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged
    pgrep -x munged >>"$STATE/started.pids"
  fi
  if ! pgrep -x slurmctld >/dev/null; then
    /usr/sbin/slurmctld
    pgrep -x slurmctld >>"$STATE/started.pids"
  fi
  if ! pgrep -x slurmd >/dev/null; then
    /usr/sbin/slurmd -N localhost
    pgrep -x slurmd >>"$STATE/started.pids"
  fi
  for _ in $(seq 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qx idle; then
      echo "SLURM is up: $(sinfo -h -o '%P %D %t %c CPUs')"
      return 0
    fi
    sleep 1
  done
  echo "SLURM did not become idle in 60 s:" >&2
  sinfo >&2 || true
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  return 1
}

stop() {
  if [ -s "$STATE/started.pids" ]; then
    # Newest first: slurmd, slurmctld, then munged.
    tac "$STATE/started.pids" | while read -r pid; do kill "$pid" 2>/dev/null || true; done
  fi
  rm -f "$STATE/started.pids"
}

case "${1:-}" in
  install) install_packages ;;
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 install|start|stop" >&2
    exit 2
    ;;
esac
