"""``hpo validate --explain``: the strategy a manifest resolves to, every default filled in."""

from __future__ import annotations

from pathlib import Path

import yaml

from hpo_operator.cli import main
from tests.support.campaigns import campaign

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def explain(capsys, *paths: str) -> list[dict]:
    assert main(["validate", "--explain", *paths]) == 0
    return [doc for doc in yaml.safe_load_all(capsys.readouterr().out)]


def test_a_bare_scheduler_is_shown_with_ray_tunes_defaults(tmp_path, capsys):
    doc = campaign(strategy={"scheduler": {"type": "async_hyperband"}},
                   budget={"trials": 6, "maxConcurrentTrials": 2})
    path = tmp_path / "bare.yaml"
    path.write_text(yaml.safe_dump(doc))
    [resolved] = explain(capsys, str(path))
    assert resolved["strategy"]["scheduler"] == {
        "type": "async_hyperband", "timeAttr": "training_iteration", "maxT": 100,
        "gracePeriod": 1, "reductionFactor": 4, "brackets": 1, "stopLastTrials": True}
    assert resolved["strategy"]["searcher"] == {"type": "random", "pointsToEvaluate": [],
                                                "seed": None}
    assert resolved["runtime"] == {"failFast": True, "reuseActors": None, "maxTrialRetries": 0,
                                   "trialPendingSeconds": 300.0, "trialStallFactor": 10.0,
                                   "trialStallMinSeconds": 60.0}
    assert resolved["budget"]["stop"] == {"thresholds": [], "plateau": None, "atTarget": False}


def test_defaults_that_depend_on_other_sections_are_resolved(capsys):
    pbt, pb2 = explain(capsys, str(EXAMPLES / "cgcnn-pbt-schedule.yaml"),
                       str(EXAMPLES / "cgcnn-pb2.yaml"))
    scheduler = pbt["strategy"]["scheduler"]
    assert scheduler["seed"] == 0  # the searcher's seed
    assert (scheduler["burnInPeriod"], scheduler["requireAttrs"], scheduler["logConfig"],
            scheduler["clipToRange"]) == (0.0, True, True, False)
    assert pbt["checkpoint"]["keep"] == 4  # raised for PBT's exploits
    assert pb2["strategy"]["scheduler"]["type"] == "pb2"


def test_the_summary_line_stays_a_comment(capsys):
    assert main(["validate", "--explain", str(EXAMPLES / "cgcnn-asha.yaml")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# ") and "valid HPOCampaign 'cgcnn-asha'" in out.splitlines()[0]
