#!/usr/bin/env bash
# Runs the whole test suite (the real local Ray, Slurm and Kubernetes-emulator tests included).
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
