"""A callback that stops a search's hopeless trials early (`kerasmnist.pruning`'s rules).

Works in any keras-tuner search (random, grid, Bayesian; Hyperband has its own
schedule) and in a plain loop of `fit` calls. The run engine gives it the run's
event log as its record of the other trials (`LogCurves`), so that every
process of a search prunes by the same record.
"""

from __future__ import annotations

import copy
import itertools
import os
from typing import Any, Protocol

import keras

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.events import EventTail
from kerasmnist.pruning import Curve, PruningRule, make_rule
from kerasmnist.runs.state import RunState
from kerasmnist.runs.trials import TrialStatus

__all__ = ["CurveSource", "LogCurves", "Pruner", "TrialCurves"]


class CurveSource(Protocol):
    """Where a `Pruner` records its trial's objective and reads every trial's."""

    pruned: dict[str, int]
    """Trials stopped by a pruner: key -> epochs trained."""

    def add(self, key: str, epoch: int, value: float | None) -> None:
        """Records a trial's objective after an epoch (0-based)."""

    def end(self, key: str, *, completed: bool) -> None:
        """Records that a trial's training ended, at its last epoch or not."""

    def curves(self) -> dict[str, Curve]:
        """Every trial's curve by key, this one's included."""
        ...  # pragma: no cover


class TrialCurves:
    """The trials' curves kept in memory: a `Pruner`'s own record by default.

    Each `fit` a pruner sees (each of keras-tuner's trials: it deep-copies the
    callback for every one, and the copies share this record) is a trial keyed
    `"0"`, `"1"`, ... in order.
    """

    def __init__(self) -> None:
        self._values: dict[str, list[float | None]] = {}
        self._completed: set[str] = set()
        self._keys = itertools.count()
        self.pruned: dict[str, int] = {}

    def new_key(self) -> str:
        """A key for the next trial."""
        return str(next(self._keys))

    def add(self, key: str, epoch: int, value: float | None) -> None:
        values = self._values.setdefault(key, [])
        del values[epoch:]
        values.extend([None] * (epoch - len(values)))
        values.append(value)

    def end(self, key: str, *, completed: bool) -> None:
        if completed:
            self._completed.add(key)

    def curves(self) -> dict[str, Curve]:
        return {key: Curve(tuple(values), key in self._completed) for key, values in self._values.items()}


class LogCurves:
    """The trials' curves as a run's event log records them (`epoch_ended` events).

    The log is read incrementally (`EventTail`) each time the curves are asked
    for, so trials that other processes run (a search's children, distributed
    workers, an earlier start of a resumed run) count as soon as they log.
    A trial counts as completed once its `trial_ended` says `COMPLETED`.

    Args:
        path: The run's `events.jsonl`.
        objective: The logged metric the curves are of.
    """

    def __init__(self, path: str | os.PathLike[str], objective: str) -> None:
        self.objective = objective
        self.pruned: dict[str, int] = {}
        self._tail = EventTail(path)
        self._state = RunState()

    def add(self, key: str, epoch: int, value: float | None) -> None:
        pass  # the run's EventLogger writes it

    def end(self, key: str, *, completed: bool) -> None:
        pass  # the run engine's trial_ended records it

    def curves(self) -> dict[str, Curve]:
        self._state.apply(self._tail.poll())
        return {key: Curve(tuple(trial.history(self.objective)), trial.status is TrialStatus.COMPLETED)
                for key, trial in self._state.trials.items()}

    def __deepcopy__(self, memo: dict[int, Any]) -> LogCurves:
        memo[id(self)] = self
        return self  # one record per search process


class Pruner(keras.callbacks.Callback):
    """Stops a trial's training when a pruning rule says it is hopeless.

    After each epoch it records the trial's `monitor` value and asks the rule
    (`kerasmnist.pruning.MedianRule`, `HalvingRule`) whether the trial goes on,
    given the other trials' curves; if not, it sets `model.stop_training`. The
    trial keeps the epochs it trained, and keras-tuner scores it by its best
    epoch so far, so Bayesian optimisation learns from it too. `pruned` maps
    the stopped trials to the epochs they trained.

    keras-tuner copies callbacks for each trial; the copies share one record,
    so one `Pruner` passed to `tuner.search` prunes across the whole search.

    Args:
        rule: `"median"`, `"halving"`, or a rule object.
        monitor: The logged metric to compare. Defaults to `"val_accuracy"`.
        mode: `"max"`, `"min"`, or `"auto"` (`"min"` for a name ending in
            `loss`, else `"max"`). Defaults to `"auto"`.
        curves: The record of the trials' curves; defaults to a new
            `TrialCurves` (in memory, shared by copies).
        trial_id: The trial's key in `curves`; `None` gives each `fit` a new
            key. Defaults to `None`.

    Example, in a user's own keras-tuner search:

    ```python
    pruner = kerasmnist.callbacks.Pruner("median", monitor="val_accuracy")
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=30)
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=10, callbacks=[pruner])
    print(f"{len(pruner.pruned)} trials pruned")
    ```

    Raises:
        InvalidArgumentError: An unknown rule or mode.
    """

    def __init__(self, rule: str | PruningRule = "median", *, monitor: str = "val_accuracy",
                 mode: str = "auto", curves: CurveSource | None = None,
                 trial_id: str | None = None) -> None:
        super().__init__()
        if isinstance(rule, str):
            made = make_rule(rule)
            if made is None:
                raise InvalidArgumentError("Invalid value for argument `rule`. Expected 'median', "
                                           "'halving' or a rule object. Received: 'none'")
            rule = made
        if mode not in ("auto", "max", "min"):
            raise InvalidArgumentError(f"Invalid value for argument `mode`. Expected 'auto', 'max' or "
                                       f"'min'. Received: {mode!r}")
        self.rule = rule
        self.monitor = monitor
        self.direction = ("min" if monitor.endswith("loss") else "max") if mode == "auto" else mode
        self.curves: CurveSource = curves if curves is not None else TrialCurves()
        self.trial_id = trial_id
        self._key = trial_id or ""
        self._stopped = False
        self._epochs_here = 0

    @property
    def pruned(self) -> dict[str, int]:
        """The trials this pruner (and its copies) stopped: key -> epochs trained."""
        return self.curves.pruned

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        if self.trial_id is None:
            new_key = getattr(self.curves, "new_key", None)
            self._key = new_key() if new_key else str(len(self.curves.curves()))
        self._stopped = False
        self._epochs_here = 0

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epochs_here += 1
        value = (logs or {}).get(self.monitor)
        value = float(value) if value is not None else None
        self.curves.add(self._key, epoch, value)
        curves = self.curves.curves()
        own = list(curves[self._key].values[:epoch]) if self._key in curves else []
        own = [*own, *[None] * (epoch - len(own)), value]
        others = [curve for key, curve in curves.items() if key != self._key]
        max_epochs = (self.params or {}).get("epochs")
        if self.rule.should_prune(own, others, direction=self.direction, max_epochs=max_epochs):
            self.model.stop_training = True
            self._stopped = True
            self.curves.pruned[self._key] = epoch + 1

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if not self._epochs_here and self.trial_id is not None:
            self._judge_again()
        self.curves.end(self._key, completed=not self._stopped)

    def _judge_again(self) -> None:
        """A fit that trained nothing, going on from a checkpoint its trial wrote as it stopped
        (a kill between a pruner's verdict and the trial's end): the verdict, given again on
        the trial's logged curve, so that the trial still ends pruned."""
        curves = self.curves.curves()
        own = curves.get(self._key)
        if own is None or not own.values:
            return
        others = [curve for key, curve in curves.items() if key != self._key]
        if self.rule.should_prune(list(own.values), others, direction=self.direction,
                                  max_epochs=(self.params or {}).get("epochs")):
            self._stopped = True
            self.curves.pruned[self._key] = len(own.values)

    def __deepcopy__(self, memo: dict[int, Any]) -> Pruner:
        clone = copy.copy(self)  # shares the record of the curves
        memo[id(self)] = clone
        return clone
