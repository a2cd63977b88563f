"""The accounting of resource-hours and the budget's decisions, on constructed timings (no Ray)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from hpo_operator.campaign.budget import BudgetKeeper
from hpo_operator.campaign.milestones import Milestones, milestones
from hpo_operator.campaign.usage import UsageLedger, horizon

from tests.support.campaigns import campaign, parsed, problems, replace

HOUR = 3600.0


def spec(**overrides):
    return parsed(**overrides).spec


def result(iteration: int, seconds: float = 36.0, **more) -> dict:
    return {"training_iteration": iteration, "time_this_iter_s": seconds, **more}


# -- the ledger --------------------------------------------------------------------------------


def test_usage_is_each_trials_resources_times_its_running_time():
    ledger = UsageLedger.for_spec(spec(resources={"perTrial": {"cpu": 2, "gpu": 0.5}}))
    for trial, times in {"a": [36.0, 36.0, 72.0], "b": [360.0]}.items():
        ledger.started(trial)
        for i, seconds in enumerate(times, 1):
            ledger.result(trial, result(i, seconds))
    ledger.started("c")  # started, nothing reported yet: counted, costs nothing so far
    usage = ledger.usage()
    assert usage.cpu_hours == pytest.approx(2 * 504 / HOUR)  # 0.28
    assert usage.gpu_hours == pytest.approx(0.5 * 504 / HOUR)
    assert usage.trials_started == 3
    assert usage.saved_cpu_hours == usage.saved_gpu_hours == 0  # nothing stopped early


def test_a_restarted_trial_counts_once_and_what_it_runs_again_counts_too():
    ledger = UsageLedger(cpu=1, gpu=0)
    ledger.started("a")
    ledger.result("a", result(1, 10.0))
    ledger.started("a")  # resumed from its checkpoint: iteration 1 runs again
    ledger.result("a", result(1, 10.0))
    assert ledger.usage().trials_started == 1 and ledger.seconds == 20.0


@pytest.mark.parametrize("seconds", [None, "1", True, math.nan, math.inf, -5.0])
def test_a_result_without_a_sane_running_time_costs_nothing(seconds):
    ledger = UsageLedger(cpu=1, gpu=1)
    ledger.result("a", {"training_iteration": 1, "time_this_iter_s": seconds})
    assert ledger.usage().cpu_hours == 0 and ledger.usage().trials_started == 1


def test_early_stops_saved_what_the_stopped_trials_would_have_spent_to_reach_max_t():
    s = spec(strategy={"scheduler": {"type": "asha", "maxT": 10, "gracePeriod": 2}},
             resources={"perTrial": {"cpu": 1, "gpu": 2}})
    ledger = UsageLedger.for_spec(s)
    for i in (1, 2):  # stopped at rung 2 after 2 iterations of 30 s: 8 iterations x 30 s left
        ledger.result("stopped", result(i, 30.0))
    ledger.stopped_early("stopped")
    for i in range(1, 11):  # ran to maxT: no saving
        ledger.result("finished", result(i, 30.0))
    usage = ledger.usage()
    assert usage.saved_gpu_hours == pytest.approx(2 * 8 * 30.0 / HOUR)
    assert usage.saved_cpu_hours == pytest.approx(8 * 30.0 / HOUR)


def test_the_horizon_of_savings_is_max_t_or_the_iteration_cap():
    asha = {"type": "asha", "maxT": 20, "gracePeriod": 1}
    assert horizon(spec(strategy={"scheduler": asha},
                        budget={"maxIterationsPerTrial": 20})) == ("training_iteration", 20.0)
    timed = {**asha, "timeAttr": "time_total_s"}
    assert horizon(spec(strategy={"scheduler": timed})) == ("time_total_s", 20.0)
    median = {"type": "median", "gracePeriod": 1}
    assert horizon(spec(strategy={"scheduler": median},
                        budget={"maxIterationsPerTrial": 7})) == ("training_iteration", 7.0)
    assert horizon(spec(strategy={"scheduler": {"type": "fifo"}},
                        budget={"maxIterationsPerTrial": 7})) is None


def test_either_budget_spends_the_campaign():
    ledger = UsageLedger(cpu=4, gpu=1)
    gpus = {"perTrial": {"gpu": 1}}
    budget = spec(budget={"gpuHours": 1.0, "cpuHours": 2.0}, resources=gpus).budget
    ledger.result("a", result(1, 1700.0))
    assert ledger.spent(budget) is None
    assert ledger.spent(budget, extra_seconds=100.0).startswith("cpuHours")  # 2.0 of 2
    gpu_only = spec(budget={"gpuHours": 0.5}, resources=gpus).budget
    assert ledger.spent(gpu_only, extra_seconds=100.0).startswith("gpuHours")


def test_the_console_line_says_what_was_spent():
    import io

    from hpo_operator.campaign.progress import ConsoleSink
    from hpo_operator.campaign.status import CampaignStatus, Usage

    stream = io.StringIO()
    ConsoleSink(stream).publish(CampaignStatus())
    ConsoleSink(stream).publish(CampaignStatus(usage=Usage(gpu_hours=1.25, cpu_hours=10.0)))
    first, second = stream.getvalue().splitlines()
    assert "spent" not in first and second.endswith("| spent 1.25 GPU-h, 10 CPU-h")


# -- the spec ----------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1.0, 1e10, "3", True])
def test_budget_hours_are_bounded_positive_numbers(value):
    found = problems(campaign(budget={"gpuHours": value}))
    assert "spec.budget.gpuHours" in found


def test_a_gpu_budget_for_trials_without_gpus_is_refused():
    found = problems(campaign(budget={"gpuHours": 2}))
    assert "never spent" in found["spec.budget.gpuHours"]
    assert parsed(budget={"gpuHours": 2}, resources={"perTrial": {"gpu": 0.5}})


def test_on_exhausted_takes_finish_rung_by_default_and_nothing_unknown():
    assert spec(budget={"cpuHours": 1}).budget.on_exhausted == "finishRung"
    assert "spec.budget.onExhausted" in problems(campaign(budget={"onExhausted": "later"}))


# -- milestones --------------------------------------------------------------------------------


def test_milestones_are_the_schedulers_rungs_and_perturbations():
    asha = milestones(spec(strategy={"scheduler": {"type": "asha", "maxT": 100,
                                                   "gracePeriod": 1, "reductionFactor": 4}}))
    assert asha.points == (1, 4, 16, 64, 100)
    hyperband = milestones(spec(strategy={"scheduler": {"type": "hyperband", "maxT": 81}},
                                budget={"maxConcurrentTrials": None}))
    assert hyperband.points == (1, 3, 9, 27, 81)
    pbt = milestones(spec(
        strategy={"scheduler": {"type": "pbt", "perturbationInterval": 4, "burnInPeriod": 10,
                                "timeAttr": "training_iteration"}},
        searchSpace=replace({"lr": {"type": "float", "min": 0.1, "max": 1.0}}),
        budget={"trials": 2, "maxIterationsPerTrial": 30}))
    assert [pbt.next_after(p) for p in (0, 3, 12, 16)] == [12, 12, 16, 20]
    fifo = milestones(spec(strategy={"scheduler": {"type": "fifo"}},
                           budget={"maxIterationsPerTrial": 5}))
    assert fifo.next_after(3) == -math.inf  # no milestones: the next result


# -- the keeper --------------------------------------------------------------------------------


@dataclass
class FakeTrial:
    """What the keeper reads of a Tune trial: its id and status (a fake of ray's Trial)."""

    trial_id: str
    status: str = "RUNNING"


def keeper(on_exhausted: str = "finishRung", cpu_hours: float = 0.1):
    told: list[str] = []
    ledger = UsageLedger(cpu=1, gpu=0)
    budget = spec(budget={"cpuHours": cpu_hours, "onExhausted": on_exhausted}).budget
    return BudgetKeeper(budget, ledger, Milestones(points=(2.0, 4.0, 8.0)), told.append), told


def feed(k: BudgetKeeper, trial_id: str, iteration: int, seconds: float = 36.0) -> bool:
    """One result as Tune delivers it: the stopper asks, then the callback counts it."""
    r = result(iteration, seconds)
    stop = k.check(trial_id, r)
    k.ledger.result(trial_id, r)
    return stop


def test_finish_rung_lets_running_trials_reach_their_next_milestone_then_ends():
    k, told = keeper("finishRung", cpu_hours=0.1)  # 360 s: the 10th result of 36 s spends it
    a, b = FakeTrial("a"), FakeTrial("b")
    k.trial_started(a), k.trial_started(b)
    for i in range(1, 5):
        assert not feed(k, "a", i) and not feed(k, "b", i)  # 8 results: 288 s
    assert not feed(k, "a", 5) and not k.exhausted
    assert not feed(k, "b", 5)  # the 10th result: spent; b goes on to 8
    assert k.exhausted and told == [k.message()] and "cpuHours" in told[0]
    assert not k.stop_all()
    assert not feed(k, "a", 6) and not feed(k, "b", 6) and not feed(k, "b", 7)
    assert feed(k, "b", 8)  # b's milestone
    a_late_starter = FakeTrial("c")
    k.trial_started(a_late_starter)
    assert feed(k, "c", 1)  # queued before the budget ran out: stops at its first result
    k.trial_ended("b"), k.trial_ended("c")
    assert not k.stop_all()  # a is still on its way
    assert not feed(k, "a", 7) and feed(k, "a", 8)
    assert k.stop_all() and len(told) == 1


def test_a_trial_spending_the_budget_at_its_milestone_stops_there():
    k, _ = keeper("finishRung", cpu_hours=0.02)  # 72 s: the 2nd result
    k.trial_started(FakeTrial("a"))
    assert not feed(k, "a", 1)
    assert feed(k, "a", 2) and k.stop_all()


def test_tunes_copy_of_a_last_result_spends_nothing():
    k, told = keeper("stopNow", cpu_hours=0.01)  # 36 s
    k.trial_started(FakeTrial("a"))
    assert not k.check("a", {**result(1, 36.0), "__duplicate__": True})
    assert not k.exhausted and not told


def test_stop_now_stops_every_trial_at_once():
    k, _ = keeper("stopNow", cpu_hours=0.02)
    k.trial_started(FakeTrial("a")), k.trial_started(FakeTrial("b"))
    assert not feed(k, "a", 1) and not k.stop_all()
    assert feed(k, "b", 1) and k.stop_all()
    assert feed(k, "a", 2)


def test_paused_trials_are_not_waited_for():
    k, _ = keeper("finishRung", cpu_hours=0.02)
    paused = FakeTrial("p")
    k.trial_started(paused), k.trial_started(FakeTrial("a"))
    assert not feed(k, "p", 1)
    paused.status = "PAUSED"  # e.g. HyperBand waits for its bracket: Tune stops it at the end
    assert not feed(k, "a", 1)  # spent; a goes on to 2, p is not running
    assert not k.stop_all()
    assert feed(k, "a", 2) and k.stop_all()


def test_a_resumed_campaign_that_had_spent_its_budget_ends_at_once():
    k, told = keeper("finishRung", cpu_hours=0.01)
    k.ledger.result("a", result(1, 36.0))  # replayed from the saved experiment
    assert k.stop_all() and k.exhausted and told


def test_no_budget_never_stops_anything():
    ledger = UsageLedger(cpu=1, gpu=1)
    k = BudgetKeeper(spec().budget, ledger, Milestones())
    ledger.result("a", result(1, 1e9))
    assert not k.check("a", result(2, 1e9)) and not k.stop_all() and not k.exhausted


def test_savings_follow_results_that_come_after_the_stop_was_told():
    """Tune tells the scheduler's stop before the result that caused it: that result counts."""
    s = spec(strategy={"scheduler": {"type": "asha", "maxT": 10, "gracePeriod": 2}},
             resources={"perTrial": {"cpu": 1}})
    ledger = UsageLedger.for_spec(s)
    ledger.result("a", result(1, 30.0))
    ledger.stopped_early("a")
    ledger.stopped_early("a")  # told twice, counted once
    assert ledger.saved_seconds() == pytest.approx(30.0 * 9)
    ledger.result("a", result(2, 50.0))  # 80 s for 2 iterations: 40 s each, 8 left
    assert ledger.saved_seconds() == pytest.approx(40.0 * 8)
    ledger.result("b", result(10, 10.0))  # at maxT: saves nothing
    ledger.stopped_early("b")
    assert ledger.usage().saved_cpu_hours == pytest.approx(40.0 * 8 / HOUR)
