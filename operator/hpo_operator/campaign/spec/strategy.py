"""The strategy: which scheduler stops or pauses trials, and which searcher picks the next config.

Schedulers decide when a trial stops or pauses; searchers decide which configuration comes next.
A scheduler's fields are Ray Tune's own arguments, camelCase in the manifest and snake_case here,
with Ray Tune's defaults: a manifest that copies a ``Tuner`` call gets the scheduler that call
builds. Each scheduler model names its Ray Tune class (``TUNE_CLASS``); every field but ``type``
and those in ``OURS`` is passed to it as the argument of the same name. rules.py checks the
settings against the budget (e.g. gracePeriod <= maxT) and against each other (bohb searcher <->
bohb scheduler).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, Union

from pydantic import Field, field_validator, model_validator

from . import bounds
from .base import SpecModel
from .values import ScalarValue

_ITERATIONS = bounds.MAX_ITERATIONS
Seed = Annotated[int, Field(ge=0, le=bounds.MAX_SEED)]
Factor = Annotated[float, Field(gt=0, le=bounds.MAX_PERTURBATION_FACTOR)]


def _time_attr(default: str) -> Any:
    return Field(
        default=default, min_length=1, max_length=bounds.MAX_METRIC_LENGTH,
        description="The result key that measures a trial's progress, in which the scheduler's "
        "times are counted: training_iteration, time_total_s, or any monotonic key the "
        "trainable reports.")


def _stop_last_trials() -> Any:
    return Field(default=True, description="Stop trials when they reach maxT; false lets them "
                 "run on (then they need spec.budget.maxIterationsPerTrial or a timeLimit).")


class TuneScheduler(SpecModel):
    """A Ray Tune scheduler: ``TUNE_CLASS`` built from the fields (those in ``OURS`` excepted)."""

    TUNE_CLASS: ClassVar[str] = ""
    OURS: ClassVar[tuple[str, ...]] = ()

    def tune_kwargs(self) -> dict[str, Any]:
        """Ray Tune's arguments of this scheduler, as set or defaulted in the manifest."""
        return {name: getattr(self, name) for name in type(self).model_fields
                if name != "type" and name not in self.OURS}


class FifoScheduler(TuneScheduler):
    """No early stopping: every trial runs to the iteration limit."""

    TUNE_CLASS = "ray.tune.schedulers.FIFOScheduler"
    type: Literal["fifo"]


class AshaScheduler(TuneScheduler):
    """Asynchronous successive halving (the guide's default)."""

    TUNE_CLASS = "ray.tune.schedulers.AsyncHyperBandScheduler"
    type: Literal["asha"]
    time_attr: str = _time_attr("training_iteration")
    max_t: int = Field(default=100, ge=1, le=_ITERATIONS,
                       description="Iterations a trial may reach at most.")
    grace_period: int = Field(default=1, ge=1, le=_ITERATIONS,
                              description="Iterations before a trial may stop.")
    reduction_factor: float = Field(default=4, gt=1, le=bounds.MAX_REDUCTION_FACTOR,
                                    description="Keep the top 1/eta per rung.")
    brackets: int = Field(default=1, ge=1, le=bounds.MAX_BRACKETS)
    stop_last_trials: bool = _stop_last_trials()


class AsyncHyperBandScheduler(AshaScheduler):
    """Asynchronous HyperBand: ASHA over several brackets (Ray Tune's class for both)."""

    type: Literal["async_hyperband"]  # type: ignore[assignment]


class HyperBandScheduler(TuneScheduler):
    """Synchronous HyperBand."""

    TUNE_CLASS = "ray.tune.schedulers.HyperBandScheduler"
    type: Literal["hyperband"]
    time_attr: str = _time_attr("training_iteration")
    max_t: int = Field(default=81, ge=1, le=_ITERATIONS)
    reduction_factor: float = Field(default=3, gt=1, le=bounds.MAX_REDUCTION_FACTOR)
    stop_last_trials: bool = _stop_last_trials()


class BohbScheduler(HyperBandScheduler):
    """HyperBand for BOHB: the synchronous HyperBand variant that the bohb searcher needs."""

    TUNE_CLASS = "ray.tune.schedulers.HyperBandForBOHB"
    type: Literal["bohb"]  # type: ignore[assignment]


class MedianStoppingScheduler(TuneScheduler):
    TUNE_CLASS = "ray.tune.schedulers.MedianStoppingRule"
    type: Literal["median"]
    time_attr: str = _time_attr("time_total_s")
    grace_period: float = Field(default=60.0, ge=0, le=_ITERATIONS)
    min_samples_required: int = Field(default=3, ge=1, le=bounds.MAX_TRIALS)
    min_time_slice: int = Field(
        default=0, ge=0, le=_ITERATIONS,
        description="A trial runs at least this long (in timeAttr) before "
        "it yields to waiting trials when there are too few results to compare.")
    hard_stop: bool = Field(default=True, description="false pauses a trial below the median "
                            "instead of stopping it; paused trials finish once the rest have.")


class PopulationScheduler(TuneScheduler):
    """What PBT and PB2 share: a population that exploits its best members' checkpoints."""

    OURS = ("seed",)
    time_attr: str = _time_attr("time_total_s")
    perturbation_interval: float = Field(default=60.0, gt=0, le=_ITERATIONS,
                                         description="Time (in timeAttr) between exploits.")
    quantile_fraction: float = Field(default=0.25, gt=0, le=0.5)
    log_config: bool = Field(
        default=True, description="Log every exploit; status.schedule is rebuilt from the log.")
    require_attrs: bool = Field(
        default=True, description="Fail a trial whose result lacks timeAttr or the metric.")
    synch: bool = Field(
        default=False,
        description="Exploit only when every trial has reached the same iteration: fair "
        "comparisons when trials run at uneven speeds, at the cost of pausing them all.")
    seed: Seed | None = Field(
        default=None,
        description="Seeds the exploit and explore draws (default: the searcher's seed). With "
        "synch, the same seed and the same trial results make the same exploits.")


class PbtScheduler(PopulationScheduler):
    """Population based training: exploit better trials' checkpoints, explore their config."""

    TUNE_CLASS = "ray.tune.schedulers.PopulationBasedTraining"
    OURS = ("seed", "clip_to_range")
    type: Literal["pbt"]
    burn_in_period: float = Field(default=0.0, ge=0,
                                  description="No exploit before this time (in timeAttr).")
    resample_probability: float = Field(default=0.25, ge=0, le=1)
    perturbation_factors: list[Factor] = Field(
        default_factory=lambda: [1.2, 0.8], min_length=2, max_length=2,
        description="Explore multiplies a float or int by one of these: one above 1, one below. "
        "Wider factors (e.g. [3, 0.33]) let PBT follow a learning rate across decades.")
    clip_to_range: bool = Field(
        default=False, description="Keep explored values inside each hyperparameter's min..max "
        "(Ray Tune's explore does not: a value multiplied past a bound stays there).")

    @field_validator("perturbation_factors")
    @classmethod
    def _up_and_down(cls, factors: list[float]) -> list[float]:
        up, down = max(factors), min(factors)
        if not (up > 1 and 0 < down < 1):
            raise ValueError(f"need one factor above 1 and one in (0, 1), got {list(factors)}")
        return factors


class Pb2Scheduler(PopulationScheduler):
    """Population based bandits: PBT whose explore step is a GP-UCB bandit over numeric bounds."""

    TUNE_CLASS = "ray.tune.schedulers.pb2.PB2"
    type: Literal["pb2"]


Scheduler = Annotated[
    Union[FifoScheduler, AshaScheduler, AsyncHyperBandScheduler, HyperBandScheduler,
          BohbScheduler, MedianStoppingScheduler, PbtScheduler, Pb2Scheduler],
    Field(discriminator="type"),
]


Point = Annotated[dict[Annotated[str, Field(max_length=bounds.MAX_NAME_LENGTH)], ScalarValue],
                  Field(max_length=bounds.MAX_PARAMETERS)]


class _WarmStart(SpecModel):
    points_to_evaluate: list[Point] = Field(
        default_factory=list, max_length=bounds.MAX_WARM_START_POINTS,
        description="Known configurations tried first (warm start).")


class RandomSearcher(_WarmStart):
    type: Literal["random"]
    seed: Seed | None = None


class GridSearcher(SpecModel):
    """Every combination of the choice parameters."""

    type: Literal["grid"]


class OptunaSearcher(_WarmStart):
    """Optuna through Ray Tune: TPE by default, its Gaussian-process sampler for small budgets."""

    type: Literal["optuna"]
    sampler: Literal["tpe", "gp"] = "tpe"
    seed: Seed | None = None
    n_startup_trials: int = Field(
        default=10, ge=1, le=bounds.MAX_TRIALS,
        description="Random trials before the model takes over (Optuna's default: 10).")


class BohbSearcher(_WarmStart):
    """BOHB's model-based sampling (TuneBOHB); runs with scheduler type bohb."""

    type: Literal["bohb"]
    seed: Seed | None = None


class DragonflySearcher(_WarmStart):
    """Dragonfly's GP bandit over int, float and discrete parameters together (the guide's BO)."""

    type: Literal["dragonfly"]
    seed: Seed | None = None


class HyperOptSearcher(_WarmStart):
    """HyperOpt's TPE through Ray Tune (HyperOptSearch)."""

    type: Literal["hyperopt"]
    seed: Seed | None = None
    n_initial_points: int = Field(
        default=20, ge=1, le=bounds.MAX_TRIALS,
        description="Random trials before TPE takes over (HyperOptSearch's default: 20).")


NEVERGRAD_OPTIMIZERS = ("NGOpt", "OnePlusOne", "TwoPointsDE", "CMA", "PSO", "RandomSearch")


class NevergradSearcher(_WarmStart):
    """A Nevergrad optimiser through Ray Tune (NevergradSearch); NGOpt picks one by itself."""

    type: Literal["nevergrad"]
    optimizer: Literal[NEVERGRAD_OPTIMIZERS] = "NGOpt"  # type: ignore[valid-type]
    seed: Seed | None = None


Searcher = Annotated[
    Union[RandomSearcher, GridSearcher, OptunaSearcher, BohbSearcher, DragonflySearcher,
          HyperOptSearcher, NevergradSearcher],
    Field(discriminator="type"),
]


class Strategy(SpecModel):
    scheduler: Scheduler = Field(default_factory=lambda: AshaScheduler(type="asha"))
    searcher: Searcher = Field(default_factory=lambda: RandomSearcher(type="random"))

    @model_validator(mode="before")
    @classmethod
    def _pair_bohb(cls, data: Any) -> Any:
        """``searcher: bohb`` without a scheduler gets BOHB's own HyperBand, not the asha default."""
        if isinstance(data, dict) and "scheduler" not in data:
            searcher = data.get("searcher")
            if isinstance(searcher, dict) and searcher.get("type") == "bohb":
                return {**data, "scheduler": {"type": "bohb"}}
        return data
