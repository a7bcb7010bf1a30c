"""What a parallel-coordinates chart and slice plots of a search's trials draw.

Both faces draw the same data from here: the PNGs of `kerasmnist.plots`
(`plot_parallel_coordinates`, `plot_slices`) and the terminal UI's
hyperparameters tab. The module is pure Python: it imports neither Keras nor
matplotlib.

Which trials are drawn: those that ended with a score, `COMPLETED` and
`PRUNED`. A pruned trial's score is of fewer epochs than the others', so its
line is marked (`Line.pruned`: dashed in the PNGs, dim in the terminal) and
drawn beneath every completed one; failed and running trials have no score and
are left out.

The axes: one per hyperparameter whose value differs between the drawn trials
(`kerasmnist.runs.trials.varying_hyperparameters`), then one for the objective.
Each axis maps a value to a position in [0, 1] (0 at the bottom):

- `categorical`: strings, booleans and mixed values, one evenly spaced level
  each (`False` below `True`, numbers in order, then text in order);
- `log`: numbers that are all positive, or positive and zero, whose positive
  values span at least two decades (`LOG_DECADES`); a zero gets a level of its
  own under the scale (regularisation strengths are often 0 or 1e-8 ... 1e-3);
- `linear`: other numbers.

A trial that lacks a hyperparameter (a conditional one, such as the units of a
layer a shallower model does not have) sits on the axis's `MISSING` level, the
lowest of all.

Each line's colour value is in [0, 1]: 1 for the best score in the
objective's direction (`kerasmnist.runs.spec.objective_direction`), 0 for the
worst, linear in the score between them. Lines come worst first, so that
drawing them in order puts the best on top.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kerasmnist._enum import StrEnum
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs.spec import objective_direction
from kerasmnist.runs.trials import TrialState, TrialStatus, rank_trials, varying_hyperparameters

__all__ = [
    "LOG_DECADES",
    "MISSING",
    "Axis",
    "AxisKind",
    "Coordinates",
    "Line",
    "Slice",
    "SlicePoint",
    "Tick",
    "parallel_coordinates",
    "slices",
]

MISSING = "(none)"
"""The level of a trial that lacks a hyperparameter (or has `None` for it)."""

LOG_DECADES = 2.0
"""Positive values spanning at least this many decades get a log axis."""

_DRAWN = frozenset({TrialStatus.COMPLETED, TrialStatus.PRUNED})
_GAP = 0.12  # room given to each level under a numeric scale (missing, zero)
_MAX_VALUE_TICKS = 6  # numeric axes with at most this many distinct values are ticked at each


class AxisKind(StrEnum):
    """How an axis places values: see the module's docstring."""

    LINEAR = "linear"
    LOG = "log"
    CATEGORICAL = "categorical"


@dataclass(frozen=True)
class Tick:
    """A labelled place on an axis.

    Attributes:
        label: What it says.
        position: Where, in [0, 1] from the bottom.
    """

    label: str
    position: float


@dataclass(frozen=True)
class Axis:
    """One vertical axis: a hyperparameter, or the objective.

    Attributes:
        name: The hyperparameter's (or objective's) name.
        kind: How values are placed (`AxisKind`).
        ticks: Its labelled places, bottom first.
        low: The smallest number of a numeric axis (the smallest positive one of
            a log axis), else `None`.
        high: The largest number of a numeric axis, else `None`.
        levels: A categorical axis's levels (labels), bottom first, else `()`.
        missing: Whether some trial lacks the hyperparameter (the `MISSING`
            level is at position 0).
        zero: Whether a log axis has a level for zero.
    """

    name: str
    kind: AxisKind
    ticks: tuple[Tick, ...]
    low: float | None = None
    high: float | None = None
    levels: tuple[str, ...] = ()
    missing: bool = False
    zero: bool = False

    def position(self, value: Any) -> float:
        """Where `value` sits on the axis, in [0, 1].

        Example:

        >>> axis = parallel_coordinates(
        ...     [TrialState("a", {"lr": 1e-4}, TrialStatus.COMPLETED, 0.5),
        ...      TrialState("b", {"lr": 1e-2}, TrialStatus.COMPLETED, 0.9)], "val_accuracy").axes[0]
        >>> axis.kind, axis.position(1e-4), axis.position(1e-3), axis.position(1e-2)
        (<AxisKind.LOG: 'log'>, 0.0, 0.5, 1.0)
        """
        if value is None:
            return 0.0
        if self.kind is AxisKind.CATEGORICAL:
            label = _level(value)
            return _spread(self.levels.index(label), len(self.levels)) if label in self.levels else 0.0
        number = _number(value)
        if number is None or self.low is None or self.high is None:
            return 0.0
        start = _GAP * (self.missing + self.zero)
        if self.kind is AxisKind.LOG and number <= 0:
            return _GAP * self.missing if self.zero else start
        if self.high - self.low <= 0:
            return (start + 1.0) / 2
        if self.kind is AxisKind.LOG:
            bottom = math.log10(self.low)
            share = (math.log10(number) - bottom) / (math.log10(self.high) - bottom)
        else:
            share = (number - self.low) / (self.high - self.low)
        return start + (1.0 - start) * min(1.0, max(0.0, share))


@dataclass(frozen=True)
class Line:
    """One trial across the axes.

    Attributes:
        trial_id: The trial's id.
        score: Its objective value.
        color: 1 for the best score, 0 for the worst, linear between.
        positions: Its place on each axis, in the axes' order (the objective's last).
        values: Its value of each hyperparameter axis (`None` where it lacks it).
        pruned: Whether the trial was pruned (its score is of fewer epochs).
    """

    trial_id: str
    score: float
    color: float
    positions: tuple[float, ...]
    values: tuple[Any, ...]
    pruned: bool = False


@dataclass(frozen=True)
class Coordinates:
    """A parallel-coordinates chart's data.

    Attributes:
        objective: The metric scores are values of.
        direction: `"max"` or `"min"`.
        axes: The hyperparameters' axes, then the objective's.
        lines: One per drawn trial, worst first (the best is drawn last, on top).
        varying: Every hyperparameter that differs between the drawn trials, in
            the order they were first met (`axes` may show fewer, or others).
        left_out: Trials not drawn (no score: running, failed, ...).
    """

    objective: str
    direction: str
    axes: tuple[Axis, ...]
    lines: tuple[Line, ...]
    varying: tuple[str, ...] = ()
    left_out: int = 0

    @property
    def hyperparameters(self) -> list[str]:
        """The names of the hyperparameter axes (every axis but the objective's)."""
        return [axis.name for axis in self.axes[:-1]]

    @property
    def best(self) -> Line | None:
        """The best trial's line, or `None` when no trial is drawn."""
        return self.lines[-1] if self.lines else None

    def color_of(self, score: float) -> float:
        """A score's colour value on this chart's scale (1 best, 0 worst)."""
        scores = [line.score for line in self.lines]
        return _color(score, min(scores), max(scores), self.direction) if scores else 1.0


@dataclass(frozen=True)
class SlicePoint:
    """One trial in a slice plot.

    Attributes:
        trial_id: The trial's id.
        value: Its hyperparameter value (`None` where it lacks it).
        position: Where that value sits on the slice's axis, in [0, 1].
        score: Its objective value.
        color: As `Line.color`.
        pruned: Whether the trial was pruned.
    """

    trial_id: str
    value: Any
    position: float
    score: float
    color: float
    pruned: bool = False


@dataclass(frozen=True)
class Slice:
    """The scores of the trials against one hyperparameter.

    Attributes:
        axis: The hyperparameter's axis (x: positions and ticks).
        points: One per drawn trial, worst first.
    """

    axis: Axis
    points: tuple[SlicePoint, ...]


def parallel_coordinates(
    trials: Iterable[TrialState],
    objective: str,
    *,
    hyperparameters: Sequence[str] | None = None,
    limit: int | None = None,
) -> Coordinates:
    """The axes and lines of a parallel-coordinates chart of trials.

    Args:
        trials: The trials (`RunState.trials.values()`, `results.json`'s through
            `TrialState.from_dict`); those without a score, or neither completed
            nor pruned, are left out.
        objective: The metric their scores are values of; its name ends the axes
            and gives the direction (a loss is minimised).
        hyperparameters: The hyperparameter axes, in order (most important
            first, say); any hyperparameter a drawn trial has may be named.
            Defaults to `None`: those that vary, in the order first met.
        limit: At most this many hyperparameter axes, the first ones. Defaults
            to `None` (all).

    Returns:
        The chart's `Coordinates`.

    Raises:
        InvalidArgumentError: `objective` is not a non-empty string, `limit` is
            not a positive integer, or `hyperparameters` names one that no drawn
            trial has, or one twice.

    Example:

    >>> trials = [TrialState("0", {"units": 8, "optimizer": "adam"}, TrialStatus.COMPLETED, 0.8),
    ...           TrialState("1", {"units": 64, "optimizer": "sgd"}, TrialStatus.COMPLETED, 0.9),
    ...           TrialState("2", {"units": 32, "optimizer": "adam"}, TrialStatus.PRUNED, 0.5)]
    >>> chart = parallel_coordinates(trials, "val_accuracy")
    >>> [(axis.name, axis.kind.value) for axis in chart.axes]
    [('units', 'linear'), ('optimizer', 'categorical'), ('val_accuracy', 'linear')]
    >>> [(line.trial_id, round(line.color, 2), line.pruned) for line in chart.lines]  # the best last
    [('2', 0.0, True), ('0', 0.75, False), ('1', 1.0, False)]
    >>> chart.lines[-1].positions
    (1.0, 1.0, 1.0)
    """
    if not isinstance(objective, str) or not objective:
        raise InvalidArgumentError("Invalid value for argument `objective`. Expected a metric name "
                                   f"such as 'val_accuracy'. Received: objective={objective!r}")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise InvalidArgumentError("Invalid value for argument `limit`. Expected a positive integer "
                                   f"or None. Received: limit={limit!r}")
    trials = list(trials)
    drawn = [t for t in trials if t.score is not None and math.isfinite(t.score) and t.status in _DRAWN]
    direction = objective_direction(objective)
    varying = varying_hyperparameters(drawn)
    names = varying if hyperparameters is None else _chosen(hyperparameters, drawn)
    if limit is not None:
        names = names[:limit]
    axes = [_axis(name, [t.hyperparameters.get(name) for t in drawn]) for name in names]
    scores = [float(t.score) for t in drawn if t.score is not None]
    axes.append(_axis(objective, scores))
    low, high = (min(scores), max(scores)) if scores else (0.0, 0.0)
    lines = []
    for trial in reversed(rank_trials(drawn, objective)):  # pruned first, then worst to best
        score = float(trial.score) if trial.score is not None else 0.0
        values = tuple(trial.hyperparameters.get(name) for name in names)
        positions = tuple(axis.position(value) for axis, value in zip(axes, (*values, score), strict=True))
        lines.append(Line(trial.trial_id, score, _color(score, low, high, direction), positions, values,
                          pruned=trial.status is TrialStatus.PRUNED))
    return Coordinates(objective, direction, tuple(axes), tuple(lines), tuple(varying),
                       left_out=len(trials) - len(drawn))


def slices(
    trials: Iterable[TrialState],
    objective: str,
    *,
    hyperparameters: Sequence[str] | None = None,
    limit: int | None = None,
) -> list[Slice]:
    """Each hyperparameter's slice: the trials' scores against its values.

    The same trials, axes and colours as `parallel_coordinates` (whose
    arguments these are), one `Slice` per hyperparameter axis.

    Returns:
        The slices, in the axes' order; none when no hyperparameter varies.

    Raises:
        InvalidArgumentError: As `parallel_coordinates`.

    Example:

    >>> trials = [TrialState("0", {"dropout": 0.1}, TrialStatus.COMPLETED, 0.3),
    ...           TrialState("1", {"dropout": 0.5}, TrialStatus.COMPLETED, 0.2)]
    >>> [(p.value, p.position, p.score) for p in slices(trials, "val_loss")[0].points]
    [(0.1, 0.0, 0.3), (0.5, 1.0, 0.2)]
    """
    chart = parallel_coordinates(trials, objective, hyperparameters=hyperparameters, limit=limit)
    return [Slice(axis, tuple(SlicePoint(line.trial_id, line.values[i], line.positions[i], line.score,
                                         line.color, line.pruned) for line in chart.lines))
            for i, axis in enumerate(chart.axes[:-1])]


def _chosen(hyperparameters: Sequence[str], drawn: Sequence[TrialState]) -> list[str]:
    if isinstance(hyperparameters, str):
        raise InvalidArgumentError("Invalid value for argument `hyperparameters`. Expected a sequence "
                                   f"of names. Received: hyperparameters={hyperparameters!r}")
    known = {name for t in drawn for name in t.hyperparameters}
    names = list(hyperparameters)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise InvalidArgumentError(
            "Invalid value for argument `hyperparameters`. Expected names of hyperparameters the "
            f"trials have ({', '.join(sorted(known)) or 'none'}). Received unknown: "
            f"{', '.join(map(repr, unknown))}")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise InvalidArgumentError("Invalid value for argument `hyperparameters`. Expected each name "
                                   f"once. Received twice: {', '.join(map(repr, twice))}")
    return names


def _axis(name: str, values: Sequence[Any]) -> Axis:
    """The axis of `values` (one per drawn trial; `None` where a trial lacks it)."""
    missing = any(value is None for value in values)
    present = [value for value in values if value is not None]
    numbers = [_number(value) for value in present]
    if not present or any(number is None for number in numbers):
        return _categorical(name, present, missing)
    finite = [n for n in numbers if n is not None]
    positive = [n for n in finite if n > 0]
    log = (len(positive) >= 2 and min(finite) >= 0
           and math.log10(max(positive)) - math.log10(min(positive)) >= LOG_DECADES)
    zero = log and min(finite) == 0
    low, high = (min(positive), max(positive)) if log else (min(finite), max(finite))
    axis = Axis(name, AxisKind.LOG if log else AxisKind.LINEAR, (), low, high, missing=missing, zero=zero)
    distinct = sorted(set(positive if log else finite))
    if len(distinct) <= _MAX_VALUE_TICKS:
        places = distinct
    elif log:
        places = _log_ticks(low, high)
    else:
        near = 0.1 * (high - low)  # the ends (the best score, say) replace round numbers near them
        places = [low, *(p for p in _nice_ticks(low, high) if min(p - low, high - p) > near), high]
    ticks = [Tick(MISSING, 0.0)] if missing else []
    if zero:
        ticks.append(Tick("0", axis.position(0)))
    ticks += [Tick(_format(value), axis.position(value)) for value in places]
    return Axis(name, axis.kind, tuple(ticks), low, high, missing=missing, zero=zero)


def _categorical(name: str, values: Sequence[Any], missing: bool) -> Axis:
    def order(value: Any) -> tuple[int, float, str]:
        number = _number(value)
        if isinstance(value, bool):
            return (0, float(value), "")
        return (1, number, "") if number is not None else (2, 0.0, _level(value))

    levels = [MISSING] if missing else []
    for value in sorted(values, key=order):
        if _level(value) not in levels:
            levels.append(_level(value))
    ticks = tuple(Tick(level, _spread(i, len(levels))) for i, level in enumerate(levels))
    return Axis(name, AxisKind.CATEGORICAL, ticks, levels=tuple(levels), missing=missing)


def _level(value: Any) -> str:
    return MISSING if value is None else _format(value) if isinstance(value, float) else str(value)


def _spread(index: int, count: int) -> float:
    return index / (count - 1) if count > 1 else 0.5


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _color(score: float, low: float, high: float, direction: str) -> float:
    if high - low <= 0:
        return 1.0
    share = (score - low) / (high - low)
    return share if direction == "max" else 1.0 - share


def _format(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def _log_ticks(low: float, high: float) -> list[float]:
    """Each power of ten in [low, high], and the ends where they are not near one."""
    first, last = math.ceil(math.log10(low) - 1e-9), math.floor(math.log10(high) + 1e-9)
    decades = [10.0**k for k in range(first, last + 1)]
    near = 0.3  # in decades: closer ends would print over a power's label
    ends = [end for end in (low, high) if all(abs(math.log10(end) - math.log10(d)) > near for d in decades)]
    return sorted([*decades, *ends])


def _nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round numbers (1, 2, 2.5 or 5 times a power of ten apart) in [low, high], about `count` of them."""
    raw = (high - low) / max(1, count - 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9)
    ticks = []
    k = first
    while k * step <= high + step * 1e-9:
        ticks.append(round(k * step, 12))
        k += 1
    return ticks
