"""Each searcher gets every domain it can express exactly, and a refusal naming it for the rest.

The searchers are real (Optuna, TuneBOHB, HyperOpt, Nevergrad through Ray Tune), asked for
configurations one by one with a seeded loss fed back, so the model-based phase is checked too:
every value lies in its declared range, on its q grid, of its declared type, nested where the
manifest nests it.
"""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from hpo_operator.campaign import domain_support as ds
from hpo_operator.campaign.searchspace import param_space
from hpo_operator.campaign.strategies import ClipToSpace, make_searcher, pbt_mutations

from tests.support.campaigns import campaign, on_bowl, parsed, problems, replace

EXAMPLES = {
    ds.Q_FLOAT: {"type": "float", "min": 0.0, "max": 0.5, "q": 0.1},
    ds.Q_LOG_FLOAT: {"type": "float", "min": 0.001, "max": 0.1, "q": 0.001, "log": True},
    ds.Q_INT: {"type": "int", "min": 8, "max": 64, "q": 8},
    ds.Q_LOG_INT: {"type": "int", "min": 4, "max": 1024, "q": 4, "log": True},
    ds.NORMAL: {"type": "normal", "mean": 1.0, "sd": 0.5},
    ds.GRID: {"type": "grid", "values": ["a", 2]},
    ds.NESTED: {"type": "nested", "params": {"m": {"type": "float", "min": 0, "max": 1}}},
}
PLAIN = {"f": {"type": "float", "min": -1.0, "max": 1.0},
         "lf": {"type": "float", "min": 1e-4, "max": 1.0, "log": True},
         "i": {"type": "int", "min": -3, "max": 3},
         "li": {"type": "int", "min": 1, "max": 1000, "log": True},
         "c": {"type": "choice", "values": ["x", 2, True]}}
SEARCHERS = {
    "optuna": ({"type": "fifo"}, {"type": "optuna", "seed": 0, "nStartupTrials": 5}),
    "bohb": ({"type": "bohb", "maxT": 3}, {"type": "bohb", "seed": 0}),
    "hyperopt": ({"type": "fifo"}, {"type": "hyperopt", "seed": 0, "nInitialPoints": 5}),
    "nevergrad": ({"type": "fifo"}, {"type": "nevergrad", "seed": 0}),
}
PBT = {"type": "pbt", "timeAttr": "training_iteration", "perturbationInterval": 1}


def as_scheduled(param: dict) -> dict:
    return {**param, "role": "algorithm"} if param["type"] != "nested" else param


def refusals(who: str, kind: str) -> dict[str, str]:
    if who in ("pbt", "pb2"):
        scheduler, searcher = {**PBT, "type": who}, {"type": "random"}
        space = {"lr": as_scheduled(EXAMPLES[kind])}
    else:
        (scheduler, searcher), space = SEARCHERS.get(who, ({"type": "fifo"}, {"type": who})), \
            {"lr": EXAMPLES[kind]}
    return problems(campaign("t", on_bowl(scheduler, searcher), searchSpace=replace(space)))


@pytest.mark.parametrize("who, kind", sorted((who, kind) for who, table in ds._WHY.items()
                                             for kind in table))
def test_every_domain_a_searcher_cannot_express_is_refused_naming_it(who, kind):
    found = refusals(who, kind)
    text = found.get("spec.searchSpace.lr.type", "")
    assert f"{who} cannot" in text and kind in text, found


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_random_search_takes_every_domain(kind):
    spec = parsed("t", on_bowl({"type": "fifo"}, {"type": "random", "seed": 1}),
                  searchSpace=replace({"p": EXAMPLES[kind]})).spec
    assert param_space(spec)["p"] is not None


def check(value, param: dict) -> None:
    if param["type"] == "nested":
        assert isinstance(value, dict) and set(value) == set(param["params"])
        for name, inner in param["params"].items():
            check(value[name], inner)
        return
    if param["type"] == "choice":
        assert any(value == v and type(value) is type(v) for v in param["values"]), value
        return
    if param["type"] in ("float", "int"):
        assert param["min"] <= value <= param["max"], (value, param)
    if param["type"] == "int":
        assert isinstance(value, int), value
    q = param.get("q")
    if q:
        assert abs(value / q - round(value / q)) < 1e-9 * max(1, abs(value / q)), (value, q)


def suggestions(who: str, space: dict, n: int = 25) -> list[dict]:
    scheduler, searcher = SEARCHERS[who]
    spec = parsed("t", on_bowl(scheduler, searcher), searchSpace=replace(space)).spec
    alg = make_searcher(spec)
    alg.set_search_properties("loss", "min", param_space(spec))
    rng = np.random.default_rng(0)
    configs = []
    for i in range(n):
        config = alg.suggest(f"t{i}")
        configs.append(config)
        alg.on_trial_complete(f"t{i}", {"loss": float(rng.random()), "training_iteration": 3})
    return configs


@pytest.mark.parametrize("who", sorted(SEARCHERS))
def test_searchers_propose_values_inside_every_domain_they_accept(who):
    space = {**PLAIN, **{f"k{i}": p for i, (kind, p) in enumerate(sorted(EXAMPLES.items()))
                         if kind not in ds._WHY[who]}}
    configs = suggestions(who, space)
    for config in configs:
        assert set(config) == set(space)
        for name, param in space.items():
            check(config[name], param)


def test_hyperopt_draws_a_normal_with_its_mean_and_sd():
    configs = suggestions("hyperopt", {"n": {"type": "normal", "mean": 3.0, "sd": 0.5}}, n=5)
    scheduler, searcher = SEARCHERS["hyperopt"]
    spec = parsed("t", on_bowl(scheduler, {**searcher, "nInitialPoints": 400}),
                  searchSpace=replace({"n": EXAMPLES[ds.NORMAL]})).spec
    alg = make_searcher(spec)
    alg.set_search_properties("loss", "min", param_space(spec))
    values = [alg.suggest(f"t{i}")["n"] for i in range(400)]
    assert configs and statistics.mean(values) == pytest.approx(1.0, abs=0.1)
    assert statistics.stdev(values) == pytest.approx(0.5, abs=0.1)


def test_pbt_mutates_quantised_and_normal_domains_and_clips_to_the_grid():
    space = {"lr": as_scheduled(EXAMPLES[ds.Q_LOG_FLOAT]),
             "batch_size": as_scheduled(EXAMPLES[ds.Q_INT]),
             "noise": as_scheduled(EXAMPLES[ds.NORMAL])}
    spec = parsed("t", on_bowl({**PBT, "clipToRange": True}, {"type": "random"}),
                  searchSpace=replace(space), budget={"maxConcurrentTrials": None}).spec
    mutations = pbt_mutations(spec)
    assert set(mutations) == set(space)
    assert mutations["batch_size"].sampler.q == 8
    clip = ClipToSpace(spec)
    assert clip({"lr": 0.00123, "batch_size": 70, "noise": 1.3}) == {
        "lr": pytest.approx(0.001), "batch_size": 64, "noise": 1.3}
    assert clip({"lr": 0.0456, "batch_size": 21, "noise": -1})["batch_size"] == 24


@pytest.mark.parametrize("param, values", [
    (EXAMPLES[ds.Q_INT], {8, 16, 24, 32, 40, 48, 56, 64}),
    ({"type": "int", "min": 2, "max": 4, "q": 2}, {2, 4}),  # Ray's own conversion: only 2
])
def test_hyperopt_reaches_both_ends_of_a_quantised_int(param, values):
    scheduler, searcher = SEARCHERS["hyperopt"]
    spec = parsed("t", on_bowl(scheduler, {**searcher, "nInitialPoints": 100}),
                  searchSpace=replace({"w": param})).spec
    alg = make_searcher(spec)
    alg.set_search_properties("loss", "min", param_space(spec))
    assert {alg.suggest(f"t{i}")["w"] for i in range(100)} == values


README_ROWS = {"`{type: float, min, max, q}`": ds.Q_FLOAT,
               "`{type: float, min, max, q, log: true}`": ds.Q_LOG_FLOAT,
               "`{type: int, min, max, q}` (q > 1)": ds.Q_INT,
               "`{type: int, min, max, q, log: true}`": ds.Q_LOG_INT,
               "`{type: normal, mean, sd}` (default 0, 1)": ds.NORMAL,
               "`{type: nested, params: {name: param, ...}}`": ds.NESTED}


def test_the_readme_domain_table_says_what_validation_refuses():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    rows = {cells[0]: cells[2] for line in readme.splitlines()
            if (cells := [c.strip() for c in line.strip().strip("|").split("|")])[0] in README_ROWS}
    assert set(rows) == set(README_ROWS)
    for row, kind in README_ROWS.items():
        named = {w.strip() for w in rows[row].split(",") if w.strip()}
        assert named == {who for who, table in ds._WHY.items() if kind in table}, row
