"""The accuracy-versus-weights front of a search: the trials no other trial beats on both.

A trial is on the front ("Pareto front") when no other trial has as few or fewer
weights and as good or a better score, and is strictly better in one of the two.
The front answers the question a weight budget asks: the best score reachable
with so many weights (`best_under`). `kerasmnist runs pareto`, `kerasmnist.plots.plot_front`
and the terminal UI's front view all compute it here.

The module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.runs.rundir import read_run
from kerasmnist.runs.trials import TrialState, TrialStatus

__all__ = ["FrontTrial", "best_under", "front_trials", "parse_budgets", "pareto_front", "spec_budgets"]

_DIRECTIONS = ("max", "min")

_FRONT_STATUSES = frozenset({TrialStatus.COMPLETED, TrialStatus.PRUNED})
"""The statuses of trials that count: a trial that completed, and one a pruner stopped early
(its score is a real validation score of a real model with that many weights)."""


class _Scored(Protocol):
    @property
    def params(self) -> int | None: ...

    @property
    def score(self) -> float | None: ...


T = TypeVar("T", bound=_Scored)


def pareto_front(trials: Iterable[T], *, direction: str = "max") -> list[T]:
    """The trials that no other trial beats on both weights and score.

    A trial is beaten when another has fewer or equal weights and a better or
    equal score, and is strictly better in one of the two. Trials without a
    weight count (`params` is `None`) or without a finite score are ignored. Of
    trials with the same weights and score, the first is kept.

    Args:
        trials: Anything with `params` (`int | None`) and `score`
            (`float | None`): `kerasmnist.runs.state.TrialState`s, `FrontTrial`s.
        direction: `"max"` when a higher score is better (an accuracy), `"min"`
            for a loss (`kerasmnist.runs.spec.objective_direction` tells which).
            Defaults to `"max"`.

    Returns:
        The trials of the front, fewest weights first; their scores improve
        strictly from one to the next.

    Raises:
        InvalidArgumentError: `direction` is neither `"max"` nor `"min"`.

    Example:

    >>> from kerasmnist.runs.state import TrialState
    >>> trials = [TrialState("a", params=100, score=0.80), TrialState("b", params=500, score=0.90),
    ...           TrialState("c", params=800, score=0.85), TrialState("d", params=90, score=0.70),
    ...           TrialState("e")]  # still running: no score, no weights
    >>> [t.trial_id for t in pareto_front(trials)]
    ['d', 'a', 'b']
    >>> [t.trial_id for t in pareto_front(trials, direction="min")]  # a loss: lower is better
    ['d']
    """
    better = _better(direction)
    sign = -1.0 if direction == "max" else 1.0
    scored: list[tuple[int, float, T]] = []
    for trial in trials:
        params, score = trial.params, trial.score
        if params is not None and score is not None and math.isfinite(score):
            scored.append((params, score, trial))
    # Fewest weights first and, among equal weights, the best score first; the sort is
    # stable, so the first of equal trials stays first.
    scored.sort(key=lambda entry: (entry[0], sign * entry[1]))
    front: list[T] = []
    best: float | None = None
    for _, score, trial in scored:
        if best is None or better(score, best):
            front.append(trial)
            best = score
    return front


def best_under(
    trials: Iterable[T], budgets: Sequence[int], *, direction: str = "max"
) -> dict[int, T | None]:
    """For each weight budget, the best-scoring trial with at most that many weights.

    Of trials with the same best score, the one with the fewest weights is
    chosen (then the first): it is always a trial of `pareto_front`.

    Args:
        trials: As for `pareto_front`.
        budgets: Weight budgets, positive integers.
        direction: As for `pareto_front`. Defaults to `"max"`.

    Returns:
        Each budget (in the order given) with its trial, or `None` when no
        trial fits under it.

    Raises:
        InvalidArgumentError: A budget is not a positive integer, or
            `direction` is neither `"max"` nor `"min"`.

    Example:

    >>> from kerasmnist.runs.state import TrialState
    >>> trials = [TrialState("a", params=100, score=0.80), TrialState("b", params=500, score=0.90),
    ...           TrialState("c", params=800, score=0.85)]
    >>> picks = best_under(trials, [50, 150, 1000])
    >>> {budget: t and t.trial_id for budget, t in picks.items()}
    {50: None, 150: 'a', 1000: 'b'}
    """
    budgets = list(budgets)
    for budget in budgets:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget <= 0:
            raise InvalidArgumentError(
                f"Invalid value for argument `budgets`. Expected positive integers (weight counts). "
                f"Received: budgets={budgets!r}")
    front = pareto_front(trials, direction=direction)
    picks: dict[int, T | None] = {}
    for budget in budgets:
        fitting = [t for t in front if t.params is not None and t.params <= budget]
        picks[budget] = fitting[-1] if fitting else None  # the front's scores improve with weights
    return picks


@dataclass(frozen=True)
class FrontTrial:
    """A trial that counts for the front: ended with a score and a weight count.

    Attributes:
        run: The run directory it belongs to, as it was given.
        trial_id: The trial's id within its run.
        params: Its model's weight count.
        score: Its value of the run's objective (the best epoch's).
        status: `COMPLETED`, or `PRUNED` (stopped early by a pruner).
        hyperparameters: Its hyperparameter values.

    Example:

    >>> from kerasmnist.runs.state import TrialState
    >>> trial = TrialState("3", {"units": 8}, status=TrialStatus.PRUNED, score=0.8, params=6370)
    >>> FrontTrial.from_trial(trial, run="runs/a").to_dict()["status"]
    'PRUNED'
    >>> FrontTrial.from_trial(TrialState("4", status=TrialStatus.FAILED, params=99)) is None
    True
    """

    run: str
    trial_id: str
    params: int
    score: float
    status: TrialStatus
    hyperparameters: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @classmethod
    def from_trial(cls, trial: TrialState, run: str = "") -> FrontTrial | None:
        """The trial as a `FrontTrial`, or `None` when it does not count.

        A trial counts when it is `COMPLETED` or `PRUNED` and has both a score
        and a weight count. A pruned trial counts because its score is a real
        validation score of a real model with that many weights; it is only
        lower than the model might have reached with more epochs. Failed,
        running and interrupted trials have no such score.

        Args:
            trial: A trial of a run's fold (`RunState.trials`).
            run: The run directory it belongs to. Defaults to `""`.
        """
        score = trial.score
        if (trial.status not in _FRONT_STATUSES or trial.params is None or score is None
                or not math.isfinite(score)):
            return None
        return cls(run, trial.trial_id, trial.params, float(score), trial.status,
                   dict(trial.hyperparameters))

    def to_dict(self) -> dict[str, Any]:
        """The trial in plain JSON types."""
        return {"run": self.run, "trial_id": self.trial_id, "params": self.params,
                "score": self.score, "status": self.status.value,
                "hyperparameters": dict(self.hyperparameters)}


def front_trials(
    run_dirs: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
) -> tuple[list[FrontTrial], str]:
    """Every trial of one or several runs that counts for the front, and their objective.

    A trial counts when it is `COMPLETED` or `PRUNED` with a score and a weight
    count (`FrontTrial.from_trial` says why pruned trials count). Runs are read
    as `kerasmnist runs show` reads them: a log with some unreadable events is
    read for what it holds, a run whose files cannot be read is refused.

    Args:
        run_dirs: The run directories (a single one may be given alone).

    Returns:
        The trials, run by run in the order given, each run's in start order;
        and the objective their scores are values of (`"val_accuracy"`, ...),
        whose direction `kerasmnist.runs.spec.objective_direction` gives.

    Raises:
        InvalidArgumentError: No run directory was given, or one holds no run
            (no `spec.toml`); the message names it.
        RunError: A run is damaged (a file cannot be read; the message names
            the run and the file), or two runs rank trials by different
            objectives (the message names both runs and objectives).

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.events import EventWriter
    >>> from kerasmnist.runs.spec import RunSpec
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / "spec.toml").write_text(RunSpec(search="random").to_toml())
    >>> with EventWriter(run_dir / "events.jsonl") as events:
    ...     _ = events.trial_started("0", {"units": 8})
    ...     _ = events.trial_ended("0", status="COMPLETED", score=0.9, params=6370)
    ...     _ = events.trial_started("1", {"units": 16})
    >>> trials, objective = front_trials([run_dir])
    >>> [(t.trial_id, t.params, t.score) for t in trials], objective
    ([('0', 6370, 0.9)], 'val_accuracy')
    """
    if isinstance(run_dirs, (str, os.PathLike)):
        run_dirs = [run_dirs]
    if not run_dirs:
        raise InvalidArgumentError("Invalid value for argument `run_dirs`. Expected at least one "
                                   "run directory. Received: run_dirs=[]")
    trials: list[FrontTrial] = []
    first: tuple[str, str] | None = None
    for run_dir in run_dirs:
        name = os.fspath(run_dir)
        state, info = read_run(name, argument="run_dirs")
        objective = info.spec.objective if info.spec is not None else state.objective
        if first is None:
            first = (name, objective)
        elif objective != first[1]:
            raise RunError(f"Runs with different objectives cannot be compared: {first[0]!r} ranks "
                           f"trials by {first[1]}, {name!r} by {objective}")
        trials.extend(t for t in (FrontTrial.from_trial(trial, name) for trial in state.trials.values())
                      if t is not None)
    return trials, first[1] if first else "val_accuracy"


def spec_budgets(spec: Mapping[str, Any]) -> list[int]:
    """The weight budgets a run's spec names: `max_params`, and the values of an override of
    the `budget` hyperparameter (a list of weight counts, or one).

    `kerasmnist runs pareto` picks the best trial under each when no `--budgets`
    is given, and the terminal UI's front view draws them.

    Args:
        spec: The spec as a mapping (`RunSpec.to_dict()`, or `RunState.spec` as the
            run's log records it).

    Returns:
        The budgets, smallest first, each once; values that are not positive
        integers are left out.

    Example:

    >>> spec_budgets({"max_params": 500, "overrides": {"budget": [1000, 150, 500]}})
    [150, 500, 1000]
    >>> spec_budgets({"overrides": {"budget": 150}}), spec_budgets({"max_params": None})
    ([150], [])
    """
    overrides = spec.get("overrides")
    values = overrides.get("budget") if isinstance(overrides, Mapping) else None
    candidates = [spec.get("max_params"), *(values if isinstance(values, list) else [values])]
    return sorted({v for v in candidates if isinstance(v, int) and not isinstance(v, bool) and v > 0})


def parse_budgets(text: str, *, name: str = "budgets") -> list[int]:
    """Weight budgets written as a command line takes them: positive integers separated by commas.

    Args:
        text: The text (`"150,500,1000"`).
        name: The argument's name, for the error message.

    Returns:
        The budgets, smallest first, each once.

    Raises:
        InvalidArgumentError: `text` is not such a list; the message names `name`.

    Example:

    >>> parse_budgets("1000, 150,500,150")
    [150, 500, 1000]
    """
    try:
        budgets = sorted({int(part) for part in text.split(",")})
    except ValueError:
        budgets = []
    if not budgets or budgets[0] <= 0:
        raise InvalidArgumentError(f"Invalid value for argument `{name}`. Expected positive integers "
                                   f"separated by commas (150,500). Received: {text!r}")
    return budgets


def _better(direction: str) -> Callable[[float, float], bool]:
    """`a is strictly better than b` for the direction."""
    if direction not in _DIRECTIONS:
        raise InvalidArgumentError(f"Invalid value for argument `direction`. Expected \"max\" or "
                                   f"\"min\". Received: direction={direction!r}")
    return (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)

