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


# -- one exit-code convention: 0 ok, 1 the campaign failed, 2 invalid input or usage -------------
INVALID_DOCS = {
    "hostile": "apiVersion: hpo.dev/v1alpha1\nkind: HPOCampaign\nmetadata: {name: toy}\n"
               "spec:\n  objective: {metric: loss, mode: min}\n"
               "  searchSpace: {x: {type: float, min: 0.0, max: .inf}}\n"
               "  budget: {trials: '24'}\n  trainable: {entrypoint: 'a.b:C'}\n",
    "not-yaml": "a: [unclosed\n",
    "alias-bomb": "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
        for i in range(6)),
}
COMMANDS = {"validate": ["validate"], "run": ["run"], "render": ["render"],
            "render-slurm": ["render", "--backend", "slurm"], "submit": ["submit"]}


@pytest.mark.parametrize("doc", sorted(INVALID_DOCS) + ["missing"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_exits_2_on_an_invalid_manifest(command, doc, tmp_path, capsys):
    from hpo_operator.cli import main

    path = tmp_path / "campaign.yaml"
    if doc != "missing":
        path.write_text(INVALID_DOCS[doc])
    assert main([*COMMANDS[command], str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: ") and "Traceback" not in err
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_exits_2_on_a_usage_error(command, tmp_path, capsys):
    from hpo_operator.cli import main

    with pytest.raises(SystemExit) as exited:
        main([*COMMANDS[command], str(tmp_path / "c.yaml"), "--no-such-option"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err
