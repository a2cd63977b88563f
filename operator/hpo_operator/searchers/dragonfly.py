"""Bayesian optimisation with Dragonfly as a Ray Tune searcher (Ray dropped its own in 2.9).

As in the guide: a ``CPFunctionCaller`` over a Cartesian-product domain and a ``CPGPBandit`` in
ask/tell mode. ``suggest`` asks, ``on_trial_complete`` tells. Dragonfly maximises, so values are
negated for ``mode="min"``. On top of Dragonfly's ask/tell interface this class adds what its own
optimisation loop does but ask/tell mode leaves out:

* **Pending trials.** Points asked but not yet told are passed to Dragonfly as evaluations in
  progress, so its default parallel strategy (hallucinated observations) keeps concurrent trials
  from piling onto one spot.
* **Refits.** Ask/tell mode fits the GP hyperparameters once, on the initial random points.
  Like Dragonfly's loop, we refit them every ``build_new_model_every`` (17) results.
* **Diverged trials.** A result marked ``diverged`` (the CGCNN trainer's, which carries a
  finite sentinel of 1e6) or whose metric is not finite is told as the worst value observed so
  far, and held until there is one. Told as it is, one sentinel among errors of a few tenths
  stretches the GP's scale by six orders of magnitude: the posterior sampling of its
  hyperparameters then took 370 s for one suggestion on the guide's space instead of 8 s, and
  the search learns nothing from the others. Told as the worst, the region is avoided.
* **Seeding without side effects.** Dragonfly draws from numpy's global RNG. Each call into it
  runs on this searcher's own RNG state, swapped in and out, so a seed makes runs reproducible
  and other users of ``np.random`` are undisturbed.

State for ``save``/``restore`` (and pickling, which Tuner.restore relies on) is plain data: the
observations, the pending and the held diverged trials and the RNG state. Dragonfly's optimiser
holds lambdas and is rebuilt from that data on first use, by telling it the observations again.
"""

from __future__ import annotations

import importlib.util
import math
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ray.tune.search import UNDEFINED_METRIC_MODE, Searcher

from ..campaign.random_streams import PrivateRandomStreams
from ..campaign.spec import Param
from . import dragonfly_compat
from .dragonfly_space import DragonflySpace

INSTALL_HINT = (
    "DragonflySearcher needs dragonfly-opt 0.1.7, which is not installed in this environment. "
    "Install it with `bash scripts/install-dragonfly.sh` (VENV=<your venv> to choose the venv); "
    "it cannot be installed with a plain `pip install` on numpy 2."
)


# Dragonfly's default for fitting GP hyperparameters by maximum likelihood is DIRECT, from a
# Fortran extension the pure-Python wheel lacks; Dragonfly then warns on every fit and uses PDOO.
# Asking for PDOO directly gives the same optimiser without the warning.
DEFAULT_OPTIONS: dict[str, Any] = {"gpb_ml_hp_tune_opt": "pdoo"}


def require_dragonfly() -> None:
    """Fails with the install hint when dragonfly-opt is missing (without importing it)."""
    if importlib.util.find_spec("dragonfly") is None:
        raise ImportError(INSTALL_HINT)


class DragonflySearcher(Searcher):
    """Dragonfly GP-bandit Bayesian optimisation over an HPOCampaign search space.

    Args:
        space: the campaign's ``searchSpace`` (``FloatParam``/``IntParam``/``ChoiceParam``).
        metric, mode: usually left out and set by Tune from ``TuneConfig``.
        seed: makes the suggestions reproducible.
        points_to_evaluate: complete configs tried first (warm start); their results are told.
        num_initial_points: random points before the GP takes over (default: Dragonfly's
            init capital, which comes to 6 in ask/tell mode).
        options: Dragonfly option overrides, e.g. ``{"acq_opt_max_evals": 500}``.
    """

    def __init__(
        self,
        space: Mapping[str, Param],
        metric: str | None = None,
        mode: str | None = None,
        *,
        seed: int | None = None,
        points_to_evaluate: Sequence[Mapping[str, Any]] | None = None,
        num_initial_points: int | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        require_dragonfly()
        if mode not in (None, "min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if num_initial_points is not None and num_initial_points < 1:
            raise ValueError(f"num_initial_points must be >= 1, got {num_initial_points}")
        super().__init__(metric=metric, mode=mode)
        self._space = DragonflySpace(space)
        self._to_evaluate = [dict(p) for p in points_to_evaluate or ()]
        for point in self._to_evaluate:
            self._space.to_raw(point)  # fail now, not mid-campaign
        self._num_initial_points = num_initial_points
        self._options = {**DEFAULT_OPTIONS, **(options or {})}
        self._streams = PrivateRandomStreams(seed)
        self._observations: list[tuple[list[Any], float]] = []
        self._pending: dict[str, list[Any]] = {}
        self._diverged_held: list[list[Any]] = []  # told once a finite result gives them a value
        self._init_served = 0
        self._fitted_at = 0
        self._opt: Any = None

    # --- Tune's Searcher interface -------------------------------------------------------

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict[str, Any], **spec: Any
    ) -> bool:
        """Takes metric and mode from TuneConfig. The space is ours already; ``config`` may hold
        the same hyperparameters as Tune domains (our suggestions replace them), but a domain
        for a name we do not search would reach the trial unresolved, so that is an error."""
        from ray.tune.search.sample import Domain

        unknown = [k for k, v in config.items() if isinstance(v, Domain) and k not in self._space.params]
        if unknown:
            raise ValueError(f"param_space searches {unknown}, which DragonflySearcher's space lacks")
        if metric:
            self._metric = metric
        if mode:
            self._mode = mode
        return True

    def suggest(self, trial_id: str) -> dict[str, Any] | None:
        if not self._metric or not self._mode:
            raise RuntimeError(UNDEFINED_METRIC_MODE.format(
                cls=type(self).__name__, metric=self._metric, mode=self._mode))
        if self._to_evaluate:
            config = self._to_evaluate.pop(0)
            self._pending[trial_id] = self._space.to_raw(config)
            return dict(config)
        opt = self._optimiser()
        from_init = bool(opt.first_qinfos)
        unfitted = getattr(opt, "gp_processor", None) is None
        with self._streams.active(), self._in_progress(opt, enabled=not from_init):
            raw = list(opt.ask())
        self._init_served += from_init
        if unfitted and getattr(opt, "gp_processor", None) is not None:
            self._fitted_at = len(self._observations)  # this ask fitted the GP
        self._pending[trial_id] = raw
        return self._space.to_config(raw)

    def on_trial_complete(
        self, trial_id: str, result: dict[str, Any] | None = None, error: bool = False
    ) -> None:
        """Tells Dragonfly the trial's final metric; a diverged one as the worst value so far.
        Errored trials, and results without the metric, leave the pending set untold: an error
        may be the node's, not the configuration's."""
        raw = self._pending.pop(trial_id, None)
        if raw is None or error or not result or result.get(self._metric) is None:
            return
        value = float(result[self._metric])
        if result.get("diverged") or not math.isfinite(value):
            self._tell_diverged(raw)
        else:
            self._tell(raw, value)

    def add_evaluated_point(
        self, parameters: dict[str, Any], value: float, error: bool = False,
        pruned: bool = False, intermediate_values: list[float] | None = None,
    ) -> None:
        """Tells a result obtained outside this search (e.g. an earlier campaign)."""
        if not error and value is not None and math.isfinite(float(value)):
            self._tell(self._space.to_raw(parameters), float(value))

    def save(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "wb") as f:
            pickle.dump(self.__getstate__(), f)

    def restore(self, checkpoint_path: str) -> None:
        with open(checkpoint_path, "rb") as f:
            self.__setstate__(pickle.load(f))

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_opt"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._diverged_held = state.get("_diverged_held", [])  # absent from older saves
        self._opt = None

    # --- Dragonfly ----------------------------------------------------------------------

    def _tell(self, raw: list[Any], value: float) -> None:
        self._tell_reward(raw, value if self._mode == "max" else -value)  # Dragonfly maximises
        held, self._diverged_held = self._diverged_held, []
        for point in held:
            self._tell_diverged(point)

    def _tell_diverged(self, raw: list[Any]) -> None:
        if not self._observations:
            self._diverged_held.append(raw)
        else:
            self._tell_reward(raw, min(reward for _, reward in self._observations))

    def _tell_reward(self, raw: list[Any], reward: float) -> None:
        self._observations.append((raw, reward))
        if self._opt is not None:  # otherwise the observation is replayed when it is built
            with self._streams.active():
                self._opt.tell([(raw, reward)])
                self._refit_if_due(self._opt)

    def _refit_if_due(self, opt: Any) -> None:
        """Refits the GP hyperparameters every ``build_new_model_every`` results, as Dragonfly's
        own loop does (ask/tell mode never refits). The loop's step counter stays at 0 as in
        ask/tell mode: it sets UCB's exploration weight, which grows with it and on HPO-sized
        budgets spends the trials on the corners of the space."""
        if getattr(opt, "gp_processor", None) is None:
            return  # the first fit happens at the next ask, on everything told so far
        if len(self._observations) - self._fitted_at >= opt.options.build_new_model_every:
            opt._build_new_gp()
            self._fitted_at = len(self._observations)

    def _optimiser(self) -> Any:
        if self._opt is None:
            self._opt = self._build_optimiser()
        return self._opt

    def _build_optimiser(self) -> Any:
        dragonfly_compat.apply()
        from dragonfly.exd.cp_domain_utils import load_config
        from dragonfly.exd.experiment_caller import CPFunctionCaller
        from dragonfly.opt.gp_bandit import CPGPBandit, get_all_cp_gp_bandit_args
        from dragonfly.utils.option_handler import load_options

        domain = load_config(self._space.domain_config())
        caller = CPFunctionCaller(None, domain.domain, domain_orderings=domain.domain_orderings)
        options = load_options(get_all_cp_gp_bandit_args())
        if self._num_initial_points is not None:
            options.init_capital = self._num_initial_points - 1  # Dragonfly queues capital + 1
        for key, value in self._options.items():
            if not hasattr(options, key):
                raise ValueError(f"unknown Dragonfly option {key!r}")
            setattr(options, key, value)
        opt = CPGPBandit(caller, options=options, reporter="silent", ask_tell_mode=True)
        with self._streams.active():
            opt.initialise()
            del opt.first_qinfos[:self._init_served]  # random points already handed out
            for raw, reward in self._observations:  # replay after restore
                opt.tell([(raw, reward)])
        return opt

    @contextmanager
    def _in_progress(self, opt: Any, enabled: bool) -> Iterator[None]:
        """Shows Dragonfly the pending points during an ask, as its loop would."""
        if not enabled or not self._pending:
            yield
            return
        saved = opt.eval_points_in_progress, opt.eval_idxs_in_progress
        process = opt.func_caller.get_processed_domain_point_from_raw
        opt.eval_points_in_progress = [process(raw) for raw in self._pending.values()]
        opt.eval_idxs_in_progress = [-1 - i for i in range(len(self._pending))]
        try:
            yield
        finally:
            opt.eval_points_in_progress, opt.eval_idxs_in_progress = saved
