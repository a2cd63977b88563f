"""``hpo reproduce``'s reading of a status and its verdict, without training anything."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from hpo_operator.campaign.status import CampaignStatus, Phase, Reproduction, TrialSummary
from hpo_operator.campaign.status_io import write_status
from hpo_operator.cli import main
from hpo_operator.commands.reproduce import compare
from hpo_operator.driver.reproduce import _plain, versions

RECORD = Reproduction(entrypoint="m:T", config={"x": 0.3}, dataset_fingerprint="sha256:ab",
                      versions={"ray": "2.60.0", "torch": "9.9"})


def finished(record: Reproduction | None = RECORD) -> CampaignStatus:
    best = TrialSummary(id="t1", config={"x": 0.3}, metric=0.5, iteration=4, reproduce=record)
    return CampaignStatus(phase=Phase.SUCCEEDED, metric="loss", mode="min", best_trial=best)


def test_the_verdict_compares_the_metric_the_data_and_the_versions() -> None:
    now = {"ray": "2.60.0", "torch": "2.13.0"}
    close = compare(finished(), {"loss": 0.504, "dataset_fingerprint": "sha256:ab"}, 0.01, now)
    assert close["reproduced"] and close["same_data"] is True
    assert close["relative_difference"] == pytest.approx(0.008)
    assert close["version_changes"] == {"torch": ["9.9", "2.13.0"]}
    far = compare(finished(), {"loss": 0.6, "dataset_fingerprint": "sha256:cd"}, 0.01, now)
    assert not far["reproduced"] and far["same_data"] is False
    missing = compare(finished(), {}, 0.01, now)
    assert not missing["reproduced"] and math.isnan(missing["reproduced_value"])


@pytest.mark.parametrize("status, why", [
    (finished(record=None), "no reproduction record"),
    (CampaignStatus(phase=Phase.FAILED), "no best trial"),
])
def test_a_status_without_a_record_is_refused_with_exit_code_2(tmp_path: Path, capsys,
                                                              status: CampaignStatus,
                                                              why: str) -> None:
    write_status(tmp_path / "s.json", status)
    assert main(["reproduce", str(tmp_path / "s.json")]) == 2
    assert why in capsys.readouterr().err


def test_the_record_keeps_json_values_only_and_names_the_versions() -> None:
    assert _plain({"a": [1, 2.0, "s", None, True]}) and not _plain({"a": object()})
    found = versions()
    assert found["python"] == ".".join(map(str, sys.version_info[:3]))
    assert "ray" in found and "hpo-operator" in found
