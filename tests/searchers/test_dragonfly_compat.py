"""The compatibility layer, proven with Dragonfly's own unit tests (shipped inside the package).

Modules run: the domain tests, the GP-kernel tests and the experiment-design utility tests, the
set DESIGN.md measured (24 passed, 1 failed). Dragonfly's optimiser tests need
``dragonfly.test_data``, which the sdist lacks; the ask/tell GP-bandit path they would cover is
exercised end to end in test_dragonfly_searcher.py and test_dragonfly_tune.py instead.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import textwrap
import unittest
import warnings

import numpy as np

from hpo_operator.searchers import dragonfly_compat

SHIPPED_TEST_MODULES = {
    "dragonfly.exd.unittest_domains": 16,
    "dragonfly.gp.unittest_kernel": 7,
    "dragonfly.exd.unittest_exd_utils": 2,
}
# Kernel.compute_std_slack does float() of a (1, 1) kernel matrix, which numpy 2 refuses.
# No optimiser calls compute_std_slack (only this test does), so the layer deliberately leaves it
# unpatched: patches stay limited to code our searcher runs. If this starts passing, numpy or
# Dragonfly changed, and this list should shrink.
EXPECTED_FAILURES = {"test_compute_std_slack_se": "only 0-dimensional arrays"}


def test_installed_version() -> None:
    assert importlib.metadata.version("dragonfly-opt") == "0.1.7"


def test_dragonfly_unit_tests_pass_under_the_compat_layer() -> None:
    dragonfly_compat.apply()
    outcomes: dict[str, str] = {}
    for name, expected_count in SHIPPED_TEST_MODULES.items():
        suite = unittest.defaultTestLoader.loadTestsFromName(name)
        assert suite.countTestCases() == expected_count, name
        result = unittest.TestResult()
        suite.run(result)
        assert result.testsRun == expected_count, name
        for test, trace in result.failures + result.errors:
            outcomes[test.id().rsplit(".", 1)[-1]] = trace.strip().splitlines()[-1]
    assert set(outcomes) == set(EXPECTED_FAILURES), outcomes
    for test, message in EXPECTED_FAILURES.items():
        assert message in outcomes[test]
    total = sum(SHIPPED_TEST_MODULES.values())
    assert (total - len(outcomes), len(outcomes)) == (24, 1)


def test_aliases_are_scoped_to_dragonfly() -> None:
    dragonfly_compat.apply()
    from dragonfly.exd import domains
    from dragonfly.gp import kernel

    for removed in ("float", "int", "object", "math", "asscalar", "NaN"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # numpy's notice about np.object
            assert not hasattr(np, removed), f"numpy itself must not regain np.{removed}"
        assert hasattr(domains.np, removed) and hasattr(kernel.np, removed)
    assert kernel.np.linalg is np.linalg and kernel.np.ndarray is np.ndarray


def test_patches_are_needed_for_the_gp_bandit() -> None:
    """Aliases alone do not get Dragonfly's ask/tell GP bandit past its first GP-driven ask;
    with the patches it runs (here: a fresh interpreter, so nothing is patched yet)."""
    script = textwrap.dedent("""
        import sys
        from hpo_operator.searchers import dragonfly_compat
        dragonfly_compat.apply(patches=sys.argv[1] == "patched")
        import numpy as np
        from dragonfly.exd.cp_domain_utils import load_config
        from dragonfly.exd.experiment_caller import CPFunctionCaller
        from dragonfly.opt.gp_bandit import CPGPBandit, get_all_cp_gp_bandit_args
        from dragonfly.utils.option_handler import load_options
        np.random.seed(0)
        domain = load_config({"name": "t", "domain": [
            {"name": "x", "type": "float", "min": 0, "max": 1},
            {"name": "n", "type": "int", "min": 1, "max": 9}]})
        options = load_options(get_all_cp_gp_bandit_args())
        options.acq_opt_max_evals = 50
        options.hp_tune_max_evals = 50
        options.gpb_ml_hp_tune_opt = "rand"
        caller = CPFunctionCaller(None, domain.domain, domain_orderings=domain.domain_orderings)
        opt = CPGPBandit(caller, options=options, reporter="silent", ask_tell_mode=True)
        opt.initialise()
        for _ in range(9):
            x = opt.ask()
            opt.tell([(x, -(x[0] - 0.3) ** 2 - (x[1] - 4) ** 2)])
        print("ok")
    """)
    runs = {mode: subprocess.run([sys.executable, "-c", script, mode], capture_output=True,
                                 text=True, timeout=120) for mode in ("aliases", "patched")}
    assert runs["patched"].returncode == 0, runs["patched"].stderr[-2000:]
    assert runs["patched"].stdout.strip() == "ok"
    assert runs["aliases"].returncode != 0
    assert any(m in runs["aliases"].stderr for m in (
        "only 0-dimensional arrays", "setting an array element with a sequence",
        "not supported between instances of 'str' and 'float'")), runs["aliases"].stderr[-2000:]
