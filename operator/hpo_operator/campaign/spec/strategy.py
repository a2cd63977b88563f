"""The strategy: which scheduler stops or pauses trials, and which searcher picks the next config.

Schedulers decide when a trial stops or pauses; searchers decide which configuration comes next.
Every setting has a default that works for a small campaign; rules.py checks them against the
budget (e.g. gracePeriod <= maxT) and against each other (bohb searcher <-> bohb scheduler).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import Field, field_validator, model_validator

from . import bounds
from .base import SpecModel
from .values import ScalarValue

_ITERATIONS = bounds.MAX_ITERATIONS
Seed = Annotated[int, Field(ge=0, le=bounds.MAX_SEED)]
Factor = Annotated[float, Field(gt=0, le=bounds.MAX_PERTURBATION_FACTOR)]


class FifoScheduler(SpecModel):
    """No early stopping: every trial runs to the iteration limit."""

    type: Literal["fifo"]


class AshaScheduler(SpecModel):
    """Asynchronous successive halving (the guide's default)."""

    type: Literal["asha"]
    max_t: int = Field(default=50, ge=1, le=_ITERATIONS,
                       description="Iterations a trial may reach at most.")
    grace_period: int = Field(default=1, ge=1, le=_ITERATIONS,
                              description="Iterations before a trial may stop.")
    reduction_factor: float = Field(default=3, gt=1, le=bounds.MAX_REDUCTION_FACTOR,
                                    description="Keep the top 1/eta per rung.")
    brackets: int = Field(default=1, ge=1, le=bounds.MAX_BRACKETS)


class AsyncHyperBandScheduler(AshaScheduler):
    """Asynchronous HyperBand: ASHA over several brackets."""

    type: Literal["async_hyperband"]  # type: ignore[assignment]
    brackets: int = Field(default=3, ge=1, le=bounds.MAX_BRACKETS)


class HyperBandScheduler(SpecModel):
    """Synchronous HyperBand."""

    type: Literal["hyperband"]
    max_t: int = Field(default=50, ge=1, le=_ITERATIONS)
    reduction_factor: float = Field(default=3, gt=1, le=bounds.MAX_REDUCTION_FACTOR)


class BohbScheduler(HyperBandScheduler):
    """HyperBand for BOHB: the synchronous HyperBand variant that the bohb searcher needs."""

    type: Literal["bohb"]  # type: ignore[assignment]


class MedianStoppingScheduler(SpecModel):
    type: Literal["median"]
    grace_period: int = Field(default=1, ge=1, le=_ITERATIONS)
    min_samples_required: int = Field(default=3, ge=1, le=bounds.MAX_TRIALS)


class PopulationScheduler(SpecModel):
    """What PBT and PB2 share: a population that exploits its best members' checkpoints."""

    perturbation_interval: int = Field(default=4, ge=1, le=_ITERATIONS,
                                       description="Iterations between exploits.")
    quantile_fraction: float = Field(default=0.25, gt=0, le=0.5)
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

    type: Literal["pbt"]
    resample_probability: float = Field(default=0.25, ge=0, le=1)
    perturbation_factors: list[Factor] = Field(
        default_factory=lambda: [1.2, 0.8], min_length=2, max_length=2,
        description="Explore multiplies a float or int by one of these: one above 1, one below. "
        "Wider factors (e.g. [3, 0.33]) let PBT follow a learning rate across decades.")

    @field_validator("perturbation_factors")
    @classmethod
    def _up_and_down(cls, factors: list[float]) -> list[float]:
        up, down = max(factors), min(factors)
        if not (up > 1 and 0 < down < 1):
            raise ValueError(f"need one factor above 1 and one in (0, 1), got {list(factors)}")
        return factors


class Pb2Scheduler(PopulationScheduler):
    """Population based bandits: PBT whose explore step is a GP-UCB bandit over numeric bounds."""

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
    n_startup_trials: int | None = Field(
        default=None, ge=1, le=bounds.MAX_TRIALS,
        description="Random trials before the model takes over; default: a third of "
        "spec.budget.trials, at most 10 (Optuna's own default).")

    def startup_trials(self, budget_trials: int) -> int:
        """The start-up phase actually used: explicit, else a third of the budget (1..10)."""
        if self.n_startup_trials is not None:
            return self.n_startup_trials
        return max(1, min(10, budget_trials // 3))


class BohbSearcher(_WarmStart):
    """BOHB's model-based sampling (TuneBOHB); runs with scheduler type bohb."""

    type: Literal["bohb"]
    seed: Seed | None = None


class DragonflySearcher(_WarmStart):
    """Dragonfly's GP bandit over int, float and discrete parameters together (the guide's BO)."""

    type: Literal["dragonfly"]
    seed: Seed | None = None


Searcher = Annotated[
    Union[RandomSearcher, GridSearcher, OptunaSearcher, BohbSearcher, DragonflySearcher],
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
