#!/usr/bin/env bash
# Builds the Dockerfile's `operator` and `trainer` images with what this machine has, and pushes them.
#
#   scripts/build-images.sh [build]   build both targets (what `make images` runs)
#   scripts/build-images.sh push      push them to $IMAGE_PREFIX (what `make push-images` runs)
#   scripts/build-images.sh env       print the variables that point podman at the images' storage
#
# Engine: `docker build` when a Docker daemon answers, else buildah (installed from the Debian
# archive when missing and running as root) with a private configuration and storage under
# $CONTAINERS_WORK_DIR. Base images come from the build arguments PYTHON_IMAGE and RAY_IMAGE
# (defaults: the Dockerfile's); one that cannot be pulled is replaced by a Python base
# bootstrapped from the Debian archive with mmdebstrap, and the output says so.
#
# Settings (environment): IMAGE_PREFIX (localhost/hpo-operator), IMAGE_TAG (the project's version),
# TARGETS ("operator trainer"), TORCH (cuda: the shipped image; cpu: a test build that installs
# the CPU wheel found in this machine's pip find-links, mounted into the build only), ENGINE
# (auto|docker|buildah), PYTHON_IMAGE, RAY_IMAGE, CONTAINERS_WORK_DIR (.cache/containers),
# BASE_CACHE_DIR (~/.cache/hpo-operator/base-images: bootstrapped bases, keyed by their recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

dockerfile_arg() { sed -n "s/^ARG $1=//p" Dockerfile | head -n1; }
project_version() { sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n1; }
torch_pin() { sed -n 's/.*"torch==\([^"]*\)".*/\1/p' pyproject.toml | head -n1; }
say() { printf '%s\n' "build-images: $*" >&2; }
die() { say "error: $*"; exit 1; }

IMAGE_PREFIX=${IMAGE_PREFIX:-localhost/hpo-operator}
IMAGE_TAG=${IMAGE_TAG:-$(project_version)}
TARGETS=${TARGETS:-operator trainer}
TORCH=${TORCH:-cuda}
ENGINE=${ENGINE:-auto}
PYTHON_IMAGE=${PYTHON_IMAGE:-$(dockerfile_arg PYTHON_IMAGE)}
RAY_IMAGE=${RAY_IMAGE:-$(dockerfile_arg RAY_IMAGE)}
WORK=${CONTAINERS_WORK_DIR:-$ROOT/.cache/containers}
BASE_CACHE=${BASE_CACHE_DIR:-${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/hpo-operator/base-images}
HOST_CA=/etc/ssl/certs/ca-certificates.crt
DEBIAN_TOOLS=(buildah podman mmdebstrap runc)
[[ $TORCH == cuda || $TORCH == cpu ]] || die "TORCH must be cuda or cpu, got '$TORCH'"

image_name() { echo "$IMAGE_PREFIX/$1:$IMAGE_TAG"; }

# -- the engine -------------------------------------------------------------------------------
choose_engine() {
  if [[ $ENGINE == auto ]]; then
    if command -v docker >/dev/null && timeout 30 docker info >/dev/null 2>&1; then
      ENGINE=docker
    else
      ENGINE=buildah
    fi
  fi
  case $ENGINE in
    docker) CLI=docker ;;
    buildah) CLI=podman; setup_buildah ;;
    *) die "ENGINE must be auto, docker or buildah, got '$ENGINE'" ;;
  esac
}

# Installs those of the given Debian packages (each named after its command) that are missing.
install_debian_tools() {
  local missing=() tool
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "${missing[*]} missing; install them" \
    "(apt-get install ${missing[*]}) or run this as root"
  say "installing ${missing[*]} from the Debian archive"
  local start=$SECONDS
  local try
  for try in 1 2 3; do  # another apt may hold the lists' lock for a while
    DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=300 && break
    ((try < 3)) || die "apt-get update failed three times"
    sleep $((try * 20))
  done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=300 \
    "${missing[@]}" >/dev/null
  say "installed in $((SECONDS - start)) s"
}

# A private containers.conf and storage.conf: the defaults fail on these machines (see
# shared/research/containers.md): raising rlimits needs CAP_SYS_RESOURCE, and crun refuses a
# hybrid cgroup layout, so the limits stay at the caller's and the runtime is runc.
setup_buildah() {
  install_debian_tools "${DEBIAN_TOOLS[@]}"
  mkdir -p "$WORK"
  local nofile nproc
  nofile=$(ulimit -Hn)
  nproc=$(cat /proc/sys/kernel/pid_max)
  local hard_nproc
  hard_nproc=$(ulimit -Hu)
  [[ $hard_nproc != unlimited && $hard_nproc -lt $nproc ]] && nproc=$hard_nproc
  cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
events_logger = "file"
[network]
network_config_dir = "$WORK/networks"
EOF
  cat >"$WORK/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
EOF
  mkdir -p "$WORK/networks"
  export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"
}

# -- base images ------------------------------------------------------------------------------
# podman refuses short names without a terminal to ask on; Docker's meaning of them is Docker Hub.
qualify() {
  local first=${1%%/*}
  if [[ $1 == */* && ($first == *.* || $first == *:* || $first == localhost) ]]; then
    echo "$1"
  elif [[ $1 == */* ]]; then
    echo "docker.io/$1"
  else
    echo "docker.io/library/$1"
  fi
}

have_image() {
  "$CLI" image inspect "$1" >/dev/null 2>&1 && return 0
  say "pulling $1"
  timeout 300 "$CLI" pull -q "$1" >/dev/null 2>&1
}

# The equivalent of python:3.11-slim from Debian bookworm: python-is-python3 because the
# Dockerfile calls `python`, passwd for `useradd`, EXTERNALLY-MANAGED removed so that pip
# installs as root the way it does in python:3.11-slim.
BOOTSTRAP_ARGS=(
  --variant=minbase --format=tar
  --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates,passwd
  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
  --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'
  --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*'
  bookworm
)
BOOTSTRAP_MIRRORS=(
  "deb http://deb.debian.org/debian bookworm main"
  "deb http://deb.debian.org/debian bookworm-updates main"
  "deb http://deb.debian.org/debian-security bookworm-security main"
)

# Prints the name of the bootstrapped base, building it (or importing a cached rootfs) first.
bootstrap_base() {
  local key tar image
  key=$(printf '%s\n' "${BOOTSTRAP_ARGS[@]}" "${BOOTSTRAP_MIRRORS[@]}" | sha256sum | cut -c1-16)
  image=localhost/hpo-python-base:$key
  if "$CLI" image inspect "$image" >/dev/null 2>&1; then echo "$image"; return; fi
  tar=$BASE_CACHE/python-base-$key.tar
  if [[ -s $tar ]]; then
    say "using the cached bootstrapped base $tar"
  else
    install_debian_tools mmdebstrap
    say "bootstrapping the Python base from the Debian archive with mmdebstrap (bookworm)"
    local start=$SECONDS partial
    mkdir -p "$BASE_CACHE"
    partial=$(mktemp "$BASE_CACHE/.partial-XXXXXX.tar")
    if ! mmdebstrap --quiet "${BOOTSTRAP_ARGS[@]}" "$partial" "${BOOTSTRAP_MIRRORS[@]}" </dev/null; then
      rm -f "$partial"
      die "mmdebstrap failed to bootstrap the Python base"
    fi
    mv "$partial" "$tar"  # atomic: a concurrent build never reads half a rootfs
    say "bootstrapped in $((SECONDS - start)) s"
  fi
  "$CLI" import --change 'CMD ["python3"]' --change 'ENV LANG=C.UTF-8' "$tar" "$image" >/dev/null
  echo "$image"
}

# Sets PYTHON_BASE and RAY_BASE to images this engine has, saying what replaced what.
resolve_bases() {
  if [[ $ENGINE == buildah ]]; then
    PYTHON_IMAGE=$(qualify "$PYTHON_IMAGE")
    RAY_IMAGE=$(qualify "$RAY_IMAGE")
  fi
  if have_image "$PYTHON_IMAGE"; then
    PYTHON_BASE=$PYTHON_IMAGE
  else
    say "no registry serves $PYTHON_IMAGE here"
    PYTHON_BASE=$(bootstrap_base)
    say "PYTHON_IMAGE: $PYTHON_BASE, Debian bookworm's Python 3.11 bootstrapped with mmdebstrap"
  fi
  RAY_BASE=
  [[ " $TARGETS " == *" trainer "* ]] || return 0
  if have_image "$RAY_IMAGE"; then
    RAY_BASE=$RAY_IMAGE
  else
    RAY_BASE=$PYTHON_BASE
    say "no registry serves $RAY_IMAGE here: the trainer is built on $RAY_BASE instead" \
      "(no conda, no 'ray' user, no CUDA libraries; Ray and torch come from PyPI)"
  fi
}

# -- build-only pip settings ------------------------------------------------------------------
# One directory, bind-mounted read-only over the bases' empty /mnt for the RUN steps only (a mount
# on a path the base lacks would leave an empty file or folder in the image), and named by the
# Dockerfile's PIP_CONFIG_FILE build argument: the host's CA bundle, which holds the CA of the
# intercepting proxy some networks put in front of PyPI, and for TORCH=cpu the local CPU wheel of
# torch with a constraint that picks it. Nothing of it is in a layer.
find_cpu_torch() {
  local pin=$1 dirs dir python wheel
  dirs=${TORCH_WHEEL_DIR:-$(for python in "$ROOT/.venv/bin/python" python3; do
      "$python" -m pip config list 2>/dev/null || true
    done | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p"; echo "${PIP_FIND_LINKS:-}")}
  for dir in $dirs; do
    dir=${dir#file://}
    for wheel in "$dir"/torch-"$pin"+cpu-*.whl; do
      [[ -f $wheel ]] && { echo "$wheel"; return; }
    done
  done
  return 1
}

prepare_pip_dir() {
  PIP_DIR=$WORK/pip-build
  rm -rf "$PIP_DIR"
  mkdir -p "$PIP_DIR"
  # Long timeouts and many retries: a test build downloads about 1 GB from PyPI.
  printf '[global]\ntimeout = 120\nretries = 10\n' >"$PIP_DIR/pip.conf"
  if [[ -s $HOST_CA ]]; then
    cp "$HOST_CA" "$PIP_DIR/ca-certificates.crt"
    printf 'cert = /mnt/ca-certificates.crt\n' >>"$PIP_DIR/pip.conf"
  fi
  if [[ $TORCH == cpu ]]; then
    local pin wheel
    pin=$(torch_pin)
    wheel=$(find_cpu_torch "$pin") || die "TORCH=cpu: no torch-$pin+cpu wheel in pip's" \
      "find-links directories (set TORCH_WHEEL_DIR to the directory that holds one)"
    mkdir "$PIP_DIR/wheels"
    ln "$wheel" "$PIP_DIR/wheels/" 2>/dev/null || cp "$wheel" "$PIP_DIR/wheels/"
    printf 'torch==%s+cpu\n' "$pin" >"$PIP_DIR/constraints.txt"
    printf 'find-links = /mnt/wheels\nconstraint = /mnt/constraints.txt\n' >>"$PIP_DIR/pip.conf"
    say "test build: torch $pin+cpu from $wheel (mounted for the build only)"
  fi
  chmod -R a+rX "$PIP_DIR"
}

# -- build, report, push ----------------------------------------------------------------------
build_target() {
  local target=$1 name base start=$SECONDS
  name=$(image_name "$target")
  base=$PYTHON_BASE
  [[ $target == trainer ]] && base=$RAY_BASE
  local args=(--target "$target" -t "$name"
    --build-arg "PYTHON_IMAGE=$PYTHON_BASE" --build-arg "RAY_IMAGE=${RAY_BASE:-$RAY_IMAGE}"
    --label "dev.hpo.base-image=$base" --label "dev.hpo.torch=$TORCH" -f Dockerfile .)
  say "building $name (target $target, base $base)"
  local old
  old=$("$CLI" image inspect --format '{{.Id}}' "$name" 2>/dev/null || true)
  if [[ $ENGINE == docker ]]; then
    [[ $TORCH == cuda ]] || die "TORCH=cpu mounts pip settings into the build, which" \
      "docker build cannot; use ENGINE=buildah"
    DOCKER_BUILDKIT=1 docker build "${args[@]}"
  else
    # No --layers: buildah 1.28 loses `RUN --mount=...,from=wheel` once that stage is cached.
    buildah bud --isolation chroot --layers=false -v "$PIP_DIR:/mnt:ro" \
      --build-arg PIP_CONFIG_FILE=/mnt/pip.conf "${args[@]}"
  fi
  say "built $name in $((SECONDS - start)) s"
  # The image this one replaced, now untagged (kept while a container still uses it).
  if [[ -n $old && $old != "$("$CLI" image inspect --format '{{.Id}}' "$name")" ]]; then
    "$CLI" rmi "$old" >/dev/null 2>&1 || true
  fi
}

report() {
  say "images (engine: $ENGINE):"
  local target
  for target in $TARGETS; do
    "$CLI" image inspect "$(image_name "$target")" >/dev/null 2>&1 || continue
    "$CLI" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' "$(image_name "$target")" |
      head -n1 | sed 's/^/  /'
  done
  if [[ $ENGINE == buildah ]]; then
    say "they are in $WORK/storage; to use them: eval \"\$($0 env)\"; podman images"
  fi
}

main() {
  local command=${1:-build} target
  case $command in
    build)
      choose_engine
      resolve_bases
      [[ $ENGINE == buildah ]] && prepare_pip_dir
      for target in $TARGETS; do build_target "$target"; done
      report ;;
    push)
      choose_engine
      for target in $TARGETS; do
        say "pushing $(image_name "$target")"
        "$CLI" push "$(image_name "$target")"
      done ;;
    env)
      WORK=$(cd "$(dirname "$WORK")" 2>/dev/null && pwd)/$(basename "$WORK")
      echo "export CONTAINERS_CONF='$WORK/containers.conf' CONTAINERS_STORAGE_CONF='$WORK/storage.conf'" ;;
    *) die "unknown command '$command' (build, push or env)" ;;
  esac
}

main "$@"
