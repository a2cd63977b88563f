"""One Ray version: the Python pin, the images and the chart name the same one."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from hpo_operator.kuberay.rayjob import RAY_VERSION, ClusterDefaults

ROOT = Path(__file__).resolve().parents[2]


def test_the_ray_version_is_the_same_everywhere() -> None:
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    pins = [d for dep in deps.values() for d in dep if d.startswith("ray[")]
    assert pins and all(pin.endswith(f"]=={RAY_VERSION}") for pin in pins), pins
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"ARG RAY_IMAGE=rayproject/ray:([\d.]+)-", dockerfile) == [RAY_VERSION]
    values = yaml.safe_load((ROOT / "charts/hpo-operator/values.yaml").read_text())
    assert values["campaigns"]["rayVersion"] == RAY_VERSION
    assert ClusterDefaults().ray_version == RAY_VERSION
