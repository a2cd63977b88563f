#!/usr/bin/env bash
# Join this node to the campaign's Ray cluster; one task per worker node, launched with
#   srun --nodes=N-1 --ntasks=N-1 --ntasks-per-node=1 --exclude=HEAD start-worker.sh HEAD_IP:PORT
# It first CHECKS that the head answers (`ray health-check`, up to HPO_RAY_START_TIMEOUT seconds),
# so a slow head delays the workers instead of failing them; then it runs `ray start --block`,
# which lives as long as the job step. Environment: as start-head.sh (HPO_RAY, HPO_GPUS_PER_NODE,
# HPO_RAY_RESOURCES, HPO_RAY_START_TIMEOUT, HPO_RAY_NODE_IP, HPO_RAY_TEMP_DIR, RAY_AUTH_MODE,
# RAY_AUTH_TOKEN_PATH).
set -uo pipefail
ADDRESS=${1:?usage: start-worker.sh HEAD_IP:PORT}
RAY=${HPO_RAY:-ray}
TIMEOUT=${HPO_RAY_START_TIMEOUT:-180}
TIMEOUT=${TIMEOUT%.*}
NODE=$(hostname -s)
IP=${HPO_RAY_NODE_IP:-$(hostname -I 2>/dev/null | awk '{print $1}')}
TEMP=${HPO_RAY_TEMP_DIR:-/tmp/ray-${SLURM_JOB_ID:-worker}}

deadline=$((SECONDS + TIMEOUT))
until timeout 30 "$RAY" health-check --address "$ADDRESS" >/dev/null 2>&1; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "start-worker.sh [$NODE]: the Ray head at $ADDRESS did not answer within ${TIMEOUT} s" >&2
    exit 1
  fi
  sleep 1
done
echo "start-worker.sh [$NODE]: joining the Ray head at $ADDRESS" >&2
exec "$RAY" start --address="$ADDRESS" --block --node-ip-address="${IP:-127.0.0.1}" \
  --num-cpus="${SLURM_CPUS_PER_TASK:-$(nproc)}" --num-gpus="${HPO_GPUS_PER_NODE:-0}" \
  --resources="${HPO_RAY_RESOURCES:-"{}"}" \
  --temp-dir="$TEMP" --disable-usage-stats
