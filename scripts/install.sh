#!/usr/bin/env bash
# Creates the virtual environment and installs the project with every extra the tests use.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
cd "$(dirname "$0")/.."
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install torch==2.13.0
$PIP install -e '.[all,test]'
# Dragonfly BO: its last release needs an old build environment; the script builds and caches it.
VENV="$VENV" bash scripts/install-dragonfly.sh
