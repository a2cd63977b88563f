"""The `hpo` command line's help and its refusals before any real work starts."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hpo_operator.cli import build_parser


def subcommand_help(name: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([name, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["validate", "run", "render", "submit"])
def test_every_manifest_argument_is_explained(command, capsys):
    lines = subcommand_help(command, capsys).splitlines()
    described = [ln for ln in lines if ln.strip().startswith("MANIFEST ")]
    assert described and "HPOCampaign YAML file" in described[0]


def test_cancel_timeout_help_is_about_cancel(capsys):
    cancel = " ".join(subcommand_help("cancel", capsys).split())
    assert "after scancel (default 60)" in cancel and "--wait" not in cancel
    status = " ".join(subcommand_help("status", capsys).split())
    assert "with --wait: give up after this many seconds" in status


def test_operator_without_kubernetes_configuration_says_so_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["KUBECONFIG"] = str(tmp_path / "missing-kubeconfig")
    result = subprocess.run([sys.executable, "-m", "hpo_operator", "operator"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "hpo operator: no Kubernetes configuration: set KUBECONFIG or run in a cluster (not in a "
        f"cluster: Service host/port is not set; no kubeconfig at {env['KUBECONFIG']})"]


def test_operator_names_a_kubeconfig_it_cannot_read(tmp_path):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")  # no contexts, no current-context
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_")}
    env["KUBECONFIG"] = str(kubeconfig)
    result = subprocess.run([sys.executable, "-m", "hpo_operator", "operator"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert f"kubeconfig {kubeconfig}: Invalid kube-config file" in result.stderr
