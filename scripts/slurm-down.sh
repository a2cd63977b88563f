#!/usr/bin/env bash
# Stop the daemons scripts/slurm-up.sh started, by their PID files (never by name: other
# processes on this machine are not ours to kill).
STATE=${SLURM_CI_STATE:-/tmp/slurm-ci}
for f in "$STATE/slurmd.pid" "$STATE/slurmctld.pid" /run/munge/munged.pid; do
  [ -s "$f" ] && kill "$(cat "$f")" 2>/dev/null
  rm -f "$f"
done
echo "slurm down"
