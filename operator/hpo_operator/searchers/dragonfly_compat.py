"""Makes dragonfly-opt 0.1.7 (unmaintained, written for numpy 1.x) run on the project's numpy 2.

Call :func:`apply` before importing anything from ``dragonfly``. It does two things:

1. **Aliases, scoped to Dragonfly.** Dragonfly uses names numpy has removed (``np.int``,
   ``np.float``, ``np.object``, ``np.math``, ``np.asscalar``, ``np.NaN``). Rather than putting them
   back on the global ``numpy`` module, which every other library in the process shares, each
   ``dragonfly.*`` module gets its own ``np``: a copy of numpy's namespace plus those names. An
   import hook does this as each Dragonfly module loads, so the rest of the process never sees
   them.
2. **Targeted patches** for what numpy 2 turned from deprecation warnings into errors, each found
   by running Dragonfly's ask/tell GP bandit for real: ``float()`` of a one-element array, and
   storing a one-element array into an element of an array. See :data:`PATCHES`.

``Kernel.compute_std_slack`` has the same ``float()`` problem but no optimiser calls it, so it is
left alone (Dragonfly's ``test_compute_std_slack_se`` fails for that reason; the tests expect it).
"""

from __future__ import annotations

import importlib
import importlib.abc
import math
import sys
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# Names numpy removed (1.20-2.0) that Dragonfly still uses, with what they meant back then.
NUMPY_ALIASES: dict[str, Any] = {
    "int": int,
    "float": float,
    "object": object,
    "math": math,
    "asscalar": lambda a: np.asarray(a).item(),
    "NaN": np.nan,
}

# What each patch in this module fixes: "dragonfly function: why".
PATCHES: dict[str, str] = {
    "gp.gp_core.GPFitter.hps": (
        "_sample_cts_dscr_hps_for_post_sampling stores the slice sampler's one-element arrays "
        "into elements of the float array self.hps (ValueError on numpy 2)"),
    "exd.worker_manager.SyntheticWorkerManager._set_up_time_sampler": (
        "_dispatch_experiment calls float(self.time_sampler(1)) on a one-element array"),
    "exd.experiment_caller.MultiFunctionCaller._get_experiment_caller": (
        "the caller does float(f(x)) and the acquisition functions return one-element arrays"),
    "opt.gpb_acquisitions._ttei": (
        "float() of the one-element mean and std of the GP at the reference point"),
}

_applied: set[str] = set()


def _numpy_with_aliases() -> types.ModuleType:
    """A module that is numpy plus :data:`NUMPY_ALIASES`, for Dragonfly's ``np`` only."""
    shim = types.ModuleType("numpy", "numpy with the aliases dragonfly-opt 0.1.7 needs")
    shim.__dict__.update({k: v for k, v in vars(np).items() if not k.startswith("__")})
    shim.__dict__.update(NUMPY_ALIASES)
    shim.__getattr__ = lambda name: getattr(np, name)  # type: ignore[method-assign]
    return shim


_NP = _numpy_with_aliases()


def _rebind_numpy(module: types.ModuleType) -> None:
    """Points a Dragonfly module's global ``np`` (whatever its local name) at the alias shim."""
    for name, value in list(vars(module).items()):
        if value is np:
            setattr(module, name, _NP)


class _AliasingLoader(importlib.abc.Loader):
    """Runs the real loader, then rebinds the new module's numpy to the shim."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: Any) -> types.ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self._inner.exec_module(module)  # type: ignore[attr-defined]
        _rebind_numpy(module)


class _DragonflyFinder(importlib.abc.MetaPathFinder):
    """Wraps the loader of every ``dragonfly`` module; other imports pass through untouched."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: Any = None) -> Any:
        if fullname != "dragonfly" and not fullname.startswith("dragonfly."):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _AliasingLoader(spec.loader)
                return spec
        return None


def _install_aliases() -> None:
    if not any(isinstance(f, _DragonflyFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _DragonflyFinder())
    for name, module in list(sys.modules.items()):  # Dragonfly modules imported before apply()
        if module is not None and (name == "dragonfly" or name.startswith("dragonfly.")):
            _rebind_numpy(module)


def _scalar(value: Any) -> float:
    """``float()`` as numpy 1.x allowed it: also for arrays of exactly one element."""
    return float(np.asarray(value).item())


class _ElementAssignArray(np.ndarray):
    """An ndarray whose item assignment accepts one-element arrays, as numpy 1.x did."""

    def __setitem__(self, key: Any, value: Any) -> None:
        if isinstance(value, np.ndarray) and value.ndim > 0 and value.size == 1:
            value = value.reshape(())
        super().__setitem__(key, value)


def _patch_gp_fitter_hps() -> None:
    from dragonfly.gp import gp_core

    def _get(self: Any) -> Any:
        try:
            return self.__dict__["_compat_hps"]
        except KeyError:
            raise AttributeError("hps") from None

    def _set(self: Any, value: Any) -> None:
        is_float = isinstance(value, np.ndarray) and value.dtype.kind == "f"
        self.__dict__["_compat_hps"] = value.view(_ElementAssignArray) if is_float else value

    gp_core.GPFitter.hps = property(_get, _set)


def _patch_time_sampler() -> None:
    from dragonfly.exd import worker_manager

    original = worker_manager.SyntheticWorkerManager._set_up_time_sampler

    def _set_up_time_sampler(self: Any) -> None:
        original(self)
        sampler = self.time_sampler
        if sampler is not None:  # only ever called as float(self.time_sampler(1))
            self.time_sampler = lambda n: sampler(n).reshape(()) if n == 1 else sampler(n)

    worker_manager.SyntheticWorkerManager._set_up_time_sampler = _set_up_time_sampler


def _patch_experiment_caller() -> None:
    from dragonfly.exd import experiment_caller

    cls = experiment_caller.MultiFunctionCaller
    original = cls._get_experiment_caller

    def _get_experiment_caller(self: Any) -> Callable[..., Any]:
        if callable(self.funcs) and not isinstance(self.funcs, (list, tuple)):
            self._has_many_functions = False
            return lambda *args, **kwargs: _scalar(self.funcs(*args, **kwargs))
        return original(self)  # multi-objective: not used by our searcher

    cls._get_experiment_caller = _get_experiment_caller


def _patch_ttei() -> None:
    from dragonfly.opt import gpb_acquisitions as acq

    def _ttei(gp_eval: Callable[..., Any], anc_data: Any, ref_point: Any) -> Any:
        """Dragonfly's top-two EI around ``ref_point``, with scalar reference mean and std."""
        ref_mean, ref_std = (_scalar(v) for v in gp_eval([ref_point]))

        def _tt_ei_acq(x: Any) -> Any:
            mu, sigma = gp_eval(x)
            comb_std = np.sqrt(ref_std**2 + sigma**2)
            return comb_std * acq._expected_improvement_for_norm_diff((mu - ref_mean) / comb_std)

        return acq.maximise_acquisition(_tt_ei_acq, anc_data)

    acq._ttei = _ttei


_PATCH_FUNCS: dict[str, Callable[[], None]] = dict(zip(PATCHES, (
    _patch_gp_fitter_hps, _patch_time_sampler, _patch_experiment_caller, _patch_ttei)))


def apply(*, patches: bool = True) -> None:
    """Installs the scoped aliases and (unless ``patches=False``) the targeted patches.

    Idempotent. ``patches=False`` reproduces the aliases-only baseline, for the tests that
    show which of Dragonfly's own unit tests the patches are not meant to fix.
    """
    if "aliases" not in _applied:
        _install_aliases()
        _applied.add("aliases")
    with warnings.catch_warnings():
        # Dragonfly warns on import that its optional Fortran DIRECT build is missing; the
        # pure-Python fallback is what the wheel ships, so the warning is noise.
        warnings.filterwarnings("ignore", message="cannot import name 'direct'")
        importlib.import_module("dragonfly.utils.oper_utils")
        for name, patch in _PATCH_FUNCS.items():
            if patches and name not in _applied:
                patch()
                _applied.add(name)


def dragonfly_module(name: str) -> types.ModuleType:
    """Imports ``dragonfly.<name>`` with the compatibility layer applied first."""
    apply()
    return importlib.import_module(f"dragonfly.{name}")
