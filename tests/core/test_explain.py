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


def test_the_search_space_is_shown_as_the_ray_tune_calls_it_becomes(tmp_path, capsys):
    from ray import tune

    from hpo_operator.campaign.manifest import parse_campaign
    from hpo_operator.campaign.searchspace import tune_call, tune_domain

    space = {"lr": {"type": "float", "min": 0.001, "max": 0.1, "q": 0.001, "log": True},
             "width": {"type": "int", "min": 8, "max": 64, "q": 8},
             "depth": {"type": "int", "min": 1, "max": 9},
             "noise": {"type": "normal", "mean": 0.0, "sd": 2.0},
             "act": {"type": "grid", "values": ["relu", 1]},
             "opt": {"type": "nested", "params": {"m": {"type": "float", "min": 0, "max": 1}}}}
    doc = campaign(searchSpace=space)
    path = tmp_path / "domains.yaml"
    path.write_text(yaml.safe_dump(doc))
    [resolved] = explain(capsys, str(path))
    assert resolved["searchSpace"]["lr"] == "tune.qloguniform(0.001, 0.1, 0.001)"
    assert resolved["searchSpace"]["depth"] == "tune.randint(1, 10)"  # Tune excludes the top
    assert resolved["searchSpace"]["opt"] == {"m": "tune.uniform(0.0, 1.0)"}
    # Each text is the very call the driver makes: evaluated, it samples the same values.
    for name, param in parse_campaign(doc).spec.search_space.items():
        if name in ("act", "opt"):
            continue
        shown = eval(tune_call(param), {"tune": tune})
        assert list(shown.sample(size=20, random_state=3)) == \
            list(tune_domain(param).sample(size=20, random_state=3)), name
