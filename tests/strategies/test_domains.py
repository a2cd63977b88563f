"""Every sampling domain of a manifest, as Ray Tune samples it: the values' distribution, not only
that sampling runs. Seeded draws with tolerances several standard errors wide."""

from __future__ import annotations

import math
import statistics
from collections import Counter

import numpy as np
import pytest

from hpo_operator.campaign.rules import total_trials
from hpo_operator.campaign.searchspace import param_space, tune_domain

from tests.support.campaigns import on_bowl, parsed, replace

N = 20_000


def draws(param: dict, seed: int = 0, n: int = N) -> list:
    p = parsed("t", searchSpace=replace({"p": param})).spec.search_space["p"]
    return list(tune_domain(p).sample(size=n, random_state=np.random.default_rng(seed)))


def on_grid(values: list, q: float) -> bool:
    return all(abs(v / q - round(v / q)) < 1e-9 * max(1, abs(v / q)) for v in values)


def test_quniform_is_uniform_over_the_multiples_of_q_both_bounds_included():
    values = draws({"type": "float", "min": 0.1, "max": 0.5, "q": 0.1})
    assert on_grid(values, 0.1) and 0.1 <= min(values) and max(values) <= 0.5
    counts = Counter(round(v, 6) for v in values)
    assert sorted(counts) == [0.1, 0.2, 0.3, 0.4, 0.5]
    # np.round splits the range at the half-steps: the bounds get half a step each.
    assert counts[0.3] / N == pytest.approx(0.25, abs=0.02)
    assert counts[0.1] / N == pytest.approx(0.125, abs=0.02)


def test_qloguniform_is_log_uniform_on_the_grid():
    values = draws({"type": "float", "min": 0.001, "max": 1.0, "q": 0.001, "log": True})
    assert on_grid(values, 0.001) and 0.001 <= min(values) and max(values) <= 1.0
    # Log-uniform over three decades: a third of the draws in each one.
    below = sum(v < 0.0095 for v in values) / N
    assert below == pytest.approx(1 / 3, abs=0.03)


def test_randint_includes_both_bounds_uniformly():
    values = draws({"type": "int", "min": -2, "max": 2})
    counts = Counter(values)
    assert sorted(counts) == [-2, -1, 0, 1, 2]
    assert all(c / N == pytest.approx(0.2, abs=0.02) for c in counts.values())


def test_qrandint_is_uniform_over_the_multiples_both_bounds_included():
    values = draws({"type": "int", "min": 8, "max": 64, "q": 8})
    counts = Counter(values)
    assert sorted(counts) == [8, 16, 24, 32, 40, 48, 56, 64]
    assert all(isinstance(v, int) for v in values)
    assert all(c / N == pytest.approx(1 / 8, abs=0.02) for c in counts.values())


def test_lograndint_is_log_uniform_with_its_upper_bound_included():
    """Tune's lograndint floors exp(U(ln min, ln(max + 1))): P(X <= k) = ln(k+1) / ln(max+1)."""
    values = np.array(draws({"type": "int", "min": 1, "max": 1000, "log": True}))
    assert values.min() == 1 and values.max() == 1000
    for k in (1, 9, 31, 99, 316, 999):
        assert np.mean(values <= k) == pytest.approx(math.log(k + 1) / math.log(1001), abs=0.015)
    # The largest gap between the empirical and the true CDF over every integer (KS statistic).
    ks = np.arange(1, 1001)
    empirical = np.searchsorted(np.sort(values), ks, side="right") / len(values)
    assert np.max(np.abs(empirical - np.log(ks + 1) / math.log(1001))) < 0.015


def test_qlograndint_is_log_uniform_over_the_multiples():
    values = np.array(draws({"type": "int", "min": 10, "max": 10_000, "q": 10, "log": True}))
    assert on_grid(list(values), 10) and values.min() >= 10 and values.max() <= 10_000
    assert values.max() == 10_000  # quantised ints include their upper bound
    assert np.mean(values < 100) == pytest.approx(1 / 3, abs=0.03)


def test_randn_has_the_declared_mean_and_sd():
    values = draws({"type": "normal", "mean": 3.0, "sd": 0.5})
    assert statistics.mean(values) == pytest.approx(3.0, abs=0.02)
    assert statistics.stdev(values) == pytest.approx(0.5, abs=0.02)


def test_qrandn_is_a_normal_on_the_grid():
    values = draws({"type": "normal", "mean": 0.0, "sd": 2.0, "q": 0.5})
    assert on_grid(values, 0.5)
    assert statistics.mean(values) == pytest.approx(0.0, abs=0.05)
    assert statistics.stdev(values) == pytest.approx(2.0, abs=0.05)


def test_the_same_seed_draws_the_same_values():
    param = {"type": "int", "min": 1, "max": 1000, "log": True}
    assert draws(param, seed=7, n=50) == draws(param, seed=7, n=50)
    assert draws(param, seed=7, n=50) != draws(param, seed=8, n=50)


def test_grid_over_any_values_multiplies_the_trials_of_a_random_search():
    spec = parsed("t", searchSpace=replace({
        "x": {"type": "float", "min": 0, "max": 1},
        "act": {"type": "grid", "values": ["relu", 0.5, True]}}),
        budget={"trials": 2}).spec
    assert param_space(spec)["act"] == {"grid_search": ["relu", 0.5, True]}
    assert total_trials(spec) == 6


def test_a_grid_search_enumerates_grids_and_choices_nested_ones_too():
    spec = parsed("t", on_bowl({"type": "fifo"}, {"type": "grid"}), searchSpace=replace({
        "act": {"type": "grid", "values": [1, 2, 3]},
        "opt": {"type": "nested", "params": {"kind": {"type": "choice", "values": ["a", "b"]}}}}),
        budget={"trials": 1}).spec
    assert param_space(spec)["opt"] == {"kind": {"grid_search": ["a", "b"]}}
    assert total_trials(spec) == 6


def test_nested_parameters_are_a_nested_dict_of_domains():
    spec = parsed("t", searchSpace=replace({
        "x": {"type": "float", "min": 0, "max": 1},
        "opt": {"type": "nested", "params": {"momentum": {"type": "float", "min": 0, "max": 1},
                                             "nesterov": {"type": "choice",
                                                          "values": [True, False]}}}})).spec
    space = param_space(spec)
    assert set(space["opt"]) == {"momentum", "nesterov"}
    assert space["opt"]["nesterov"].categories == [True, False]


@pytest.mark.parametrize("param, message", [
    ({"type": "float", "min": 0.05, "max": 1, "q": 0.1}, "min and max must be multiples of q=0.1"),
    ({"type": "int", "min": 1, "max": 64, "q": 8}, "min and max must be multiples of q=8"),
    ({"type": "int", "min": 8, "max": 64, "q": 0}, "greater than or equal to 1"),
    ({"type": "normal", "mean": 0, "sd": 0}, "greater than 0"),
    ({"type": "grid", "values": []}, "a grid needs at least one value"),
    ({"type": "grid", "values": [1, 1]}, "duplicate value 1"),
    ({"type": "nested", "params": {}}, "at least 1 item"),
    ({"type": "nested", "params": {"a": {"type": "nested", "params": {}}}}, "nested"),
])
def test_malformed_domains_are_refused_naming_the_field(param, message):
    from tests.support.campaigns import campaign, problems

    found = problems(campaign(searchSpace=replace({"p": param})))
    assert any(path.startswith("spec.searchSpace.p") and message in text
               for path, text in found.items()), found


@pytest.mark.slow
def test_a_random_campaign_enumerates_its_grid_and_nests_its_dicts(local_ray, tmp_path):
    import json
    from pathlib import Path

    from hpo_operator.campaign.status import Phase
    from hpo_operator.driver.run import run_campaign

    space = {"x": {"type": "float", "min": 0.0, "max": 1.0, "q": 0.25},
             "act": {"type": "grid", "values": ["relu", 2, False]},
             "opt": {"type": "nested", "params": {
                 "noise": {"type": "normal", "mean": 0.0, "sd": 1.0},
                 "width": {"type": "int", "min": 8, "max": 64, "q": 8, "log": True}}}}
    doc = parsed("grid-nested", {"strategy": {"searcher": {"type": "random", "seed": 0}},
                                 "budget": {"trials": 1}, "searchSpace": replace(space)})
    status = run_campaign(doc, tmp_path, [], publish_interval=30)
    assert status.phase is Phase.SUCCEEDED, status.message
    configs = [json.loads(p.read_text())
               for p in Path(status.experiment_path).glob("*/params.json")]
    assert Counter(repr(c["act"]) for c in configs) == {"'relu'": 1, "2": 1, "False": 1}
    for config in configs:
        assert config["x"] in (0.0, 0.25, 0.5, 0.75, 1.0)
        assert set(config["opt"]) == {"noise", "width"} and config["opt"]["width"] % 8 == 0
