"""Trial pruning: stop a search's hopeless trials early, by rules that compare learning curves.

keras-tuner prunes only inside Hyperband; a random, grid or Bayesian search
trains every trial to its last epoch, however hopeless it looks after two. The
rules here decide, after each epoch of a trial, whether it goes on, from its
objective so far and the curves of the other trials:

- `MedianRule`: stop a trial whose best value up to epoch e is worse than the
  median of the completed trials' best values up to epoch e (optuna's
  `MedianPruner`), after a warm-up of epochs and of completed trials;
- `HalvingRule`: asynchronous successive halving (ASHA, Li et al. 2020; optuna's
  `SuccessiveHalvingPruner`): rungs at `min_epochs * factor**k` epochs; at a
  rung a trial goes on only if it is in the best 1/`factor` of the trials that
  reached that rung (counting itself).

A rule compares the best value so far rather than the epoch's own, so that one
noisy epoch neither saves nor condemns a trial; it is the value keras-tuner
records as a trial's score.

The rules are plain Python (this module imports neither Keras nor TensorFlow);
`kerasmnist.callbacks.Pruner` applies one as a Keras callback, in a user's own
keras-tuner search or in the run engine (`RunSpec.prune`), which reads the
other trials' curves from the run's event log so that every process of a
search (children, distributed workers, a resume) prunes by the same record.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from kerasmnist.errors import InvalidArgumentError

__all__ = ["Curve", "HalvingRule", "MedianRule", "PruningRule", "best_so_far", "make_rule", "replay"]


@dataclass(frozen=True)
class Curve:
    """One trial's objective, epoch by epoch.

    Attributes:
        values: The objective after each epoch (`None` where it was not logged).
        completed: Whether the trial trained to its end (not pruned, not failed,
            not still running).
    """

    values: Sequence[float | None]
    completed: bool = False


def best_so_far(values: Sequence[float | None], epochs: int, direction: str) -> float | None:
    """The best finite value among the first `epochs` values, or `None`.

    Example:

    >>> best_so_far([0.5, None, 0.7, 0.6], 3, "max"), best_so_far([0.5, 0.4], 1, "min")
    (0.7, 0.5)
    """
    finite = [v for v in values[:epochs] if v is not None and math.isfinite(v)]
    if not finite:
        return None
    return max(finite) if direction == "max" else min(finite)


class PruningRule(Protocol):
    """Decides whether a trial stops after an epoch."""

    def should_prune(self, values: Sequence[float | None], others: Iterable[Curve], *,
                     direction: str, max_epochs: int | None = None) -> bool:
        """Whether the trial whose objective so far is `values` (one per epoch
        trained) stops now, given the other trials' curves."""
        ...  # pragma: no cover


@dataclass(frozen=True)
class MedianRule:
    """Stops a trial that is worse than the median of the completed trials at the same epoch.

    After epoch e (counting from 1) a trial stops when its best value up to e
    is worse than the median of the best values up to e of the completed
    trials (those shorter than e, stopped early by patience, count with their
    best), once it has trained `warmup_epochs` epochs and `warmup_trials`
    trials have completed. A trial at the median goes on.

    Args:
        warmup_epochs: Epochs a trial trains before it can be stopped.
            Defaults to `2`.
        warmup_trials: Completed trials needed before any trial is stopped.
            Defaults to `5`.

    Example:

    >>> rule = MedianRule(warmup_epochs=1, warmup_trials=2)
    >>> done = [Curve([0.8, 0.9], completed=True), Curve([0.6, 0.7], completed=True),
    ...         Curve([0.9, 0.95], completed=True)]
    >>> rule.should_prune([0.5], done, direction="max"), rule.should_prune([0.85], done, direction="max")
    (True, False)
    """

    warmup_epochs: int = 2
    warmup_trials: int = 5

    def __post_init__(self) -> None:
        _check_count("warmup_epochs", self.warmup_epochs, minimum=0)
        _check_count("warmup_trials", self.warmup_trials, minimum=0)

    def should_prune(self, values: Sequence[float | None], others: Iterable[Curve], *,
                     direction: str, max_epochs: int | None = None) -> bool:
        _check_direction(direction)
        epoch = len(values)
        if epoch < max(1, self.warmup_epochs) or (max_epochs is not None and epoch >= max_epochs):
            return False
        completed = [curve for curve in others if curve.completed]
        if len(completed) < max(1, self.warmup_trials):
            return False
        mine = best_so_far(values, epoch, direction)
        theirs = [b for b in (best_so_far(c.values, epoch, direction) for c in completed) if b is not None]
        if not theirs:
            return False
        if mine is None:
            return True  # no finite value yet, against trials that had one
        median = statistics.median(theirs)
        return mine < median if direction == "max" else mine > median


@dataclass(frozen=True)
class HalvingRule:
    """Asynchronous successive halving: at each rung, only the best 1/`factor` go on.

    The rungs are at `min_epochs * factor**k` epochs (1, 3, 9, ... by default).
    A trial that reaches a rung goes on if its best value so far is among the
    best `max(1, n // factor)` of the `n` trials that reached that rung so far,
    itself included (ties go on); the others stop. The first trial to reach a
    rung always goes on, so the rule needs no warm-up. The last epoch is never a
    rung: stopping there saves nothing.

    Args:
        min_epochs: The first rung's epochs. Defaults to `1`.
        factor: The reduction factor, at least 2. Defaults to `3`.

    Example:

    >>> rule = HalvingRule(min_epochs=1, factor=2)
    >>> [rule.rung(e) for e in (1, 2, 3, 4)]
    [True, True, False, True]
    >>> others = [Curve([0.9]), Curve([0.7]), Curve([0.6])]
    >>> rule.should_prune([0.8], others, direction="max"), rule.should_prune([0.65], others, direction="max")
    (False, True)
    """

    min_epochs: int = 1
    factor: int = 3

    def __post_init__(self) -> None:
        _check_count("min_epochs", self.min_epochs, minimum=1)
        _check_count("factor", self.factor, minimum=2)

    def rung(self, epoch: int) -> bool:
        """Whether a trial that has trained `epoch` epochs is at a rung."""
        rung = self.min_epochs
        while rung < epoch:
            rung *= self.factor
        return rung == epoch

    def should_prune(self, values: Sequence[float | None], others: Iterable[Curve], *,
                     direction: str, max_epochs: int | None = None) -> bool:
        _check_direction(direction)
        epoch = len(values)
        if not self.rung(epoch) or (max_epochs is not None and epoch >= max_epochs):
            return False
        mine = best_so_far(values, epoch, direction)
        if mine is None:
            return True
        sign = 1.0 if direction == "max" else -1.0
        reached = [b for b in (best_so_far(c.values, epoch, direction) for c in others
                               if len(c.values) >= epoch) if b is not None]
        keep = max(1, (len(reached) + 1) // self.factor)
        better = sum(sign * b > sign * mine for b in reached)
        return better >= keep


def make_rule(kind: str, *, warmup_epochs: int = 2, warmup_trials: int = 5, min_epochs: int = 1,
              factor: int = 3) -> PruningRule | None:
    """The rule named `kind` (`RunSpec.prune`): `"median"`, `"halving"`, or `None` for `"none"`.

    Raises:
        InvalidArgumentError: An unknown kind, or a setting out of range.

    Example:

    >>> make_rule("halving", factor=4)
    HalvingRule(min_epochs=1, factor=4)
    """
    if kind == "median":
        return MedianRule(warmup_epochs=warmup_epochs, warmup_trials=warmup_trials)
    if kind == "halving":
        return HalvingRule(min_epochs=min_epochs, factor=factor)
    if kind == "none":
        return None
    raise InvalidArgumentError(f"Invalid value for argument `kind`. Expected one of 'none', 'median', "
                               f"'halving'. Received: {kind!r}")


def replay(curves: Sequence[Sequence[float | None]], rule: PruningRule, *, direction: str,
           max_epochs: int | None = None) -> list[int]:
    """The epochs each trial would have trained had `rule` pruned a search that ran them in turn.

    A search whose trials do not depend on earlier results (random, grid) and
    whose trials are seeded by their own ids (the run engine's) trains the same
    first epochs with pruning as without; so its unpruned curves tell what a
    pruned search would have done. `benchmarks/bench_pruning.py` uses this to
    compare rules on one unpruned search (and checks it against real pruned
    runs).

    Args:
        curves: Each trial's objective, epoch by epoch, in the order they ran.
        rule: The pruning rule.
        direction: `"max"` or `"min"`.
        max_epochs: The epochs a trial was to train (the rules never stop a
            trial at its last). Defaults to `None`.

    Returns:
        Epochs trained by each trial; a trial stopped early trained fewer than
        its curve holds.

    Example:

    >>> replay([[0.5, 0.6, 0.7], [0.2, 0.3, 0.4], [0.9, 0.95, 0.97]],
    ...        MedianRule(warmup_epochs=1, warmup_trials=1), direction="max", max_epochs=3)
    [3, 1, 3]
    """
    _check_direction(direction)
    seen: list[Curve] = []
    trained = []
    for values in curves:
        stop = len(values)
        for epoch in range(1, len(values) + 1):
            if rule.should_prune(values[:epoch], seen, direction=direction, max_epochs=max_epochs):
                stop = epoch
                break
        trained.append(stop)
        seen.append(Curve(tuple(values[:stop]), completed=stop == len(values)))
    return trained


def _check_direction(direction: str) -> None:
    if direction not in ("max", "min"):
        raise InvalidArgumentError(f"Invalid value for argument `direction`. Expected 'max' or 'min'. "
                                   f"Received: {direction!r}")


def _check_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidArgumentError(f"Invalid value for argument `{name}`. Expected an integer >= "
                                   f"{minimum}. Received: {value!r}")
