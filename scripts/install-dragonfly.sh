#!/usr/bin/env bash
# Installs dragonfly-opt 0.1.7 (the Bayesian optimiser behind `searcher.type: dragonfly`) into $VENV.
#
# Why a script and not a pip extra: dragonfly-opt is unmaintained and its setup.py imports
# numpy.distutils, so it builds only with numpy<1.27 and setuptools<60 present in the *build*
# environment (hence --no-build-isolation in a throwaway venv). The wheel it produces is pure
# Python, so it installs fine into the project venv, which runs numpy 2; hpo_operator.searchers
# .dragonfly_compat makes it work there at run time. It is installed with --no-deps so that its
# loose requirements can never downgrade the project's numpy; the runtime deps it really imports
# (numpy, scipy, future, six) are added only when missing.
#
# Idempotent: returns at once when the right version is already installed; the built wheel is
# cached under .cache/wheels/ (git-ignored) so a fresh venv does not rebuild it.
set -euo pipefail
VENV=${VENV:-.venv}
VERSION=0.1.7
cd "$(dirname "$0")/.."
PY="$VENV/bin/python"
WHEELS=.cache/wheels
PIP=(-m pip --disable-pip-version-check -q)

if [ ! -x "$PY" ]; then
    echo "install-dragonfly: no python at $PY; create the venv first (scripts/install.sh)" >&2
    exit 1
fi

# The modules dragonfly imports at run time, mapped to the distributions that provide them.
RUNTIME_DEPS="numpy:numpy scipy:scipy future:future six:six"

missing_deps() {
    local out="" mod dist
    for pair in $RUNTIME_DEPS; do
        mod=${pair%%:*}; dist=${pair##*:}
        "$PY" -c "import $mod" 2>/dev/null || out="$out $dist"
    done
    echo "$out"
}

installed_version() {
    "$PY" -c "import importlib.metadata as m; print(m.version('dragonfly-opt'))" 2>/dev/null || true
}

if [ "$(installed_version)" = "$VERSION" ] && [ -z "$(missing_deps)" ]; then
    exit 0
fi

wheel=$(ls "$WHEELS"/dragonfly_opt-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "install-dragonfly: building the dragonfly-opt $VERSION wheel (old numpy/setuptools)..."
    build=$(mktemp -d)
    trap 'rm -rf "$build"' EXIT
    "$PY" -m venv "$build/venv"
    "$build/venv/bin/python" "${PIP[@]}" install 'numpy<1.27' 'setuptools<60' wheel
    mkdir -p "$WHEELS"
    "$build/venv/bin/python" "${PIP[@]}" wheel --no-deps --no-build-isolation \
        -w "$build/out" "dragonfly-opt==$VERSION"
    cp "$build"/out/dragonfly_opt-"$VERSION"-*.whl "$WHEELS"/
    wheel=$(ls "$WHEELS"/dragonfly_opt-"$VERSION"-*.whl | head -n 1)
fi

"$PY" "${PIP[@]}" install --no-deps --force-reinstall "$wheel"
deps=$(missing_deps)
if [ -n "$deps" ]; then
    # shellcheck disable=SC2086  # word splitting is the point: one argument per distribution
    "$PY" "${PIP[@]}" install $deps
fi
"$PY" -c "import importlib.metadata as m; print('install-dragonfly: dragonfly-opt', m.version('dragonfly-opt'))"
