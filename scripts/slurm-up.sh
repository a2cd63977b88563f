#!/usr/bin/env bash
# A real single-node Slurm cluster on loopback (Debian slurm-wlm 22.05 + munge), for tests and demos.
# There is no systemd here, so the daemons are started by hand and their PIDs kept in $STATE for
# slurm-down.sh. Idempotent: daemons already running (live PID file) are left as they are.
# Needs root. Usage: scripts/slurm-up.sh   (env: SLURM_CI_STATE, default /tmp/slurm-ci)
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
STATE=${SLURM_CI_STATE:-/tmp/slurm-ci}
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurm-wlm munge
fi
NODE=$(hostname -s)
mkdir -p "$STATE"/{ctld,d,log} /etc/slurm

# munge: Debian's postinst creates the key; make one if it is missing.
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
  chown munge:munge /etc/munge/munge.key; chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 755 /run/munge
alive /run/munge/munged.pid || runuser -u munge -- /usr/sbin/munged

if ! alive "$STATE/slurmctld.pid"; then
  cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=${NODE}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$STATE/log/jobcomp.log
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
MinJobAge=300
KillWait=10
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=2000 State=UNKNOWN
PartitionName=debug Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
CONF
  /usr/sbin/slurmctld -c    # -c: start clean, never recover jobs of an earlier run
fi
alive "$STATE/slurmd.pid" || /usr/sbin/slurmd

for _ in $(seq 1 120); do
  state=$(sinfo -h -n "$NODE" -o '%T' 2>/dev/null || true)
  case "$state" in idle|mixed|allocated) echo "slurm up: node $NODE $state"; exit 0 ;; esac
  sleep 0.5
done
echo "slurm-up: node $NODE not ready after 60 s (state: ${state:-none}); see $STATE/log" >&2
exit 1
