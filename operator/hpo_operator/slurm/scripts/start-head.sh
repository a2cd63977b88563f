#!/usr/bin/env bash
# Start the Ray head of a Slurm allocation on its first node and return once the head answers.
#
# Run it from inside the allocation (the batch script does). It launches
#   srun -w FIRST_NODE ray start --head --block ...
# in the background and then CHECKS readiness with `ray health-check` until the head answers, the
# head process exits (an error, with the tail of its log) or HPO_RAY_START_TIMEOUT passes (an
# error). There is no fixed sleep to tune: the guide's "extend the sleep" failure cannot happen.
# On success it prints HEAD_IP:PORT on stdout.
#
# Environment (all optional): HPO_RAY (ray executable), HPO_RAY_PORT (6379; "auto": a free port,
# so that several campaigns can share a node),
# HPO_RAY_START_TIMEOUT (seconds, 180), HPO_RAY_NODE_IP (default: first address of `hostname -I`),
# HPO_GPUS_PER_NODE (0), HPO_RAY_RESOURCES (custom resources as JSON, {}), SLURM_CPUS_PER_TASK
# (CPUs for Ray), HPO_RAY_TEMP_DIR, HPO_RAY_LOG,
# HPO_RAY_PID_FILE (the srun PID, to stop the head later), HPO_ERROR_FILE (gets the one-line reason
# on failure), HPO_RAY_HEAD_ARGS (extra `ray start` arguments). Token authentication: export
# RAY_AUTH_MODE=token and RAY_AUTH_TOKEN_PATH before calling (the batch script does).
set -uo pipefail
RAY=${HPO_RAY:-ray}
PORT=${HPO_RAY_PORT:-6379}
TIMEOUT=${HPO_RAY_START_TIMEOUT:-180}
TIMEOUT=${TIMEOUT%.*}
JOB=${SLURM_JOB_ID:?start-head.sh must run inside a Slurm allocation (SLURM_JOB_ID is not set)}
LOG=${HPO_RAY_LOG:-$PWD/ray-head-$JOB.log}
TEMP=${HPO_RAY_TEMP_DIR:-/tmp/ray-$JOB}
head_pid=""

die() {
  echo "start-head.sh: $1" >&2
  [ -n "${HPO_ERROR_FILE:-}" ] && printf '%s\n' "$1" > "$HPO_ERROR_FILE"
  [ -n "$head_pid" ] && kill "$head_pid" 2>/dev/null
  exit 1
}

node_ip() {  # the first address of this host, loopback only when it has nothing else
  local ip
  ip=$(hostname -I 2>/dev/null | awk '{print $1}')
  printf '%s\n' "${ip:-127.0.0.1}"
}

HEAD_NODE=$(scontrol show hostnames "${SLURM_JOB_NODELIST:?}" | head -n 1)
[ -n "$HEAD_NODE" ] || die "cannot read the node list of job $JOB"
if [ -n "${HPO_RAY_NODE_IP:-}" ]; then
  IP=$HPO_RAY_NODE_IP
elif [ "$(hostname -s)" = "${HEAD_NODE%%.*}" ]; then
  IP=$(node_ip)
else
  IP=$(srun --nodes=1 --ntasks=1 -w "$HEAD_NODE" hostname -I | awk '{print $1}')
fi
[ -n "$IP" ] || die "cannot find the IP address of the head node $HEAD_NODE"
command -v "$RAY" >/dev/null || die "'$RAY' is not on PATH; the job's environment lacks Ray"
if [ "$PORT" = auto ]; then  # the batch script runs on the head node: a port free there
  PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("", 0)); print(s.getsockname()[1])') ||
    die "cannot find a free port for the Ray head (set HPO_RAY_PORT)"
fi
ADDRESS="$IP:$PORT"

echo "start-head.sh: starting the Ray head on $HEAD_NODE at $ADDRESS (log: $LOG)" >&2
# shellcheck disable=SC2086  # HPO_RAY_HEAD_ARGS is a list of words on purpose
srun --nodes=1 --ntasks=1 -w "$HEAD_NODE" \
  "$RAY" start --head --block --node-ip-address="$IP" --port="$PORT" \
  --num-cpus="${SLURM_CPUS_PER_TASK:-$(nproc)}" --num-gpus="${HPO_GPUS_PER_NODE:-0}" \
  --resources="${HPO_RAY_RESOURCES:-"{}"}" \
  --temp-dir="$TEMP" --include-dashboard=false --disable-usage-stats ${HPO_RAY_HEAD_ARGS:-} \
  >"$LOG" 2>&1 </dev/null &
head_pid=$!
[ -n "${HPO_RAY_PID_FILE:-}" ] && echo "$head_pid" > "$HPO_RAY_PID_FILE"

deadline=$((SECONDS + TIMEOUT))
while :; do
  if ! kill -0 "$head_pid" 2>/dev/null; then
    wait "$head_pid"; code=$?
    head_pid=""
    last=$(grep -v -e '^\s*$' -e '^srun: ' "$LOG" 2>/dev/null | tail -n 1 | cut -c1-300)
    die "the Ray head exited with code $code before it was ready: ${last:-no output} (log: $LOG)"
  fi
  if timeout 30 "$RAY" health-check --address "$ADDRESS" >/dev/null 2>&1; then
    echo "start-head.sh: Ray head ready at $ADDRESS after $((SECONDS + TIMEOUT - deadline)) s" >&2
    echo "$ADDRESS"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    die "the Ray head at $ADDRESS was not ready after ${TIMEOUT} s (ray health-check kept failing; log: $LOG)"
  fi
  sleep 1
done
