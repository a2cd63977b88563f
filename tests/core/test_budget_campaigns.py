"""Budgets in resource-hours on a real local Ray: a campaign stops starting trials once its
cpuHours are spent, and its running trial ends as ``onExhausted`` says.

The trainable reports a fixed running time per iteration (MeteredCurve, 0.05 s), so what the
campaign spends is exact whatever the machine's load: one trial at a time with one CPU spends
0.05 CPU-seconds per iteration, and the budget of 12.5 iterations is spent by the 13th
(tests.support.campaigns.on_metered_budget says what ASHA does until then).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hpo_operator.campaign.early_stops import read as early_stops_of
from hpo_operator.campaign.manifest import parse_campaign
from hpo_operator.campaign.progress import JsonFileSink
from hpo_operator.campaign.status import Phase
from hpo_operator.campaign.usage import BUDGET_EXHAUSTED
from hpo_operator.driver.run import run_campaign

from tests.support.campaigns import METERED_STEP, campaign, on_metered_budget

pytestmark = pytest.mark.slow

STEP = METERED_STEP
TRIALS = 12


def run(tmp_path: Path, on_exhausted: str):
    doc = campaign("budgeted", on_metered_budget(on_exhausted, TRIALS))
    status = run_campaign(parse_campaign(doc), tmp_path / "runs",
                          [JsonFileSink(tmp_path / "status.json")], publish_interval=0.5)
    return status, json.loads((tmp_path / "status.json").read_text())


def iterations(experiment: str) -> dict[str, list[int]]:
    """Each trial's reported iterations, from its result file."""
    found = {}
    for path in Path(experiment).glob("*/result.json"):
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        if rows:
            found[rows[0]["trial_id"]] = [r["training_iteration"] for r in rows]
    return found


def assert_budget_outcome(status, written) -> dict[str, list[int]]:
    assert status.phase is Phase.SUCCEEDED and status.best_trial is not None
    exhausted = status.condition(BUDGET_EXHAUSTED)
    assert exhausted is not None and exhausted.status == "True" and "cpuHours" in exhausted.message
    assert "budget cpuHours" in (status.message or "")
    usage = status.usage
    assert usage is not None and usage.gpu_hours == 0
    ran = iterations(status.experiment_path)
    assert usage.trials_started == len(ran) == 3  # none of the other 9 started
    assert usage.cpu_hours == pytest.approx(sum(map(len, ran.values())) * STEP / 3600)
    assert written["usage"]["cpuHours"] == pytest.approx(usage.cpu_hours)
    assert {c["type"]: c["status"] for c in written["conditions"]}[BUDGET_EXHAUSTED] == "True"
    return ran


def test_stop_now_ends_the_running_trial_at_the_result_that_spends_the_budget(local_ray,
                                                                             tmp_path):
    status, written = run(tmp_path, "stopNow")
    ran = assert_budget_outcome(status, written)
    assert sorted(map(len, ran.values())) == [2, 3, 8]  # the third stopped at its 3rd iteration
    assert status.usage.cpu_hours == pytest.approx(13 * STEP / 3600)  # the budget, rounded up


def test_finish_rung_lets_the_running_trial_reach_its_next_rung(local_ray, tmp_path):
    status, written = run(tmp_path, "finishRung")
    ran = assert_budget_outcome(status, written)
    assert sorted(map(len, ran.values())) == [2, 4, 8]  # the third went on to rung 4
    assert status.usage.cpu_hours == pytest.approx(14 * STEP / 3600)  # less than a rung over
    # What ASHA saved: the second trial's 6 iterations from rung 2 to maxT, at its pace.
    (stopped,) = early_stops_of(status.experiment_path)
    assert ran[stopped] == [1, 2]
    assert status.usage.saved_cpu_hours == pytest.approx(6 * STEP / 3600)


def test_tune_queues_no_trial_of_a_budgeted_campaign_beyond_its_slots():
    """What the search wrapper relies on in Ray Tune: a random/grid campaign gets one queued trial
    at a time (not all of them up front), a capped searcher as many as its cap; and BOHB's
    HyperBand still finds the BOHB searcher it tells of pauses."""
    from ray.tune.execution.tune_controller import _get_max_pending_trials
    from ray.tune.search.bohb import TuneBOHB

    from hpo_operator.campaign.strategies import make_searcher
    from hpo_operator.driver.budget import budgeted_search

    spec = campaign("budgeted", on_metered_budget("finishRung"))
    random = parse_campaign(spec).spec
    assert _get_max_pending_trials(budgeted_search(make_searcher(random), random)) == 1
    bohb = parse_campaign(campaign("bohb", on_metered_budget("finishRung"), strategy={
        "searcher": {"type": "bohb", "seed": 1}, "scheduler": {"type": "bohb", "maxT": 8}},
        budget={"maxConcurrentTrials": None})).spec
    wrapped = budgeted_search(make_searcher(bohb), bohb)
    assert isinstance(wrapped.searcher, TuneBOHB) and _get_max_pending_trials(wrapped) == 1
    capped = parse_campaign(campaign("capped", on_metered_budget("finishRung"), strategy={
        "searcher": {"type": "optuna", "seed": 1}}, budget={"maxConcurrentTrials": 2})).spec
    assert _get_max_pending_trials(budgeted_search(make_searcher(capped), capped)) == 2
