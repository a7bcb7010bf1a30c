"""A run as its event log tells it: the state the run view draws, folded event by event.

`RunState.apply(events)` takes events as `kerasmnist.events.EventTail.poll()`
returns them, in any number of calls; fields it does not know are ignored and
an event it cannot read is skipped (and counted), so a log written by a newer or
crashed writer still shows what it can.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LOG_KEYS", "Progress", "RunState", "TrialState"]

LOG_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "train_loss", "train_accuracy")
"""The logged metrics the tables and curves show: Keras's running training
metrics, the validation metrics and the full-evaluation training metrics."""

_ENDED = {"run_ended": "finished", "run_failed": "failed", "run_interrupted": "interrupted"}
_SETUP = ("teacher_trained", "restart_ended", "restart_chosen")
_OPEN = ("RUNNING", "INTERRUPTED", "STOPPED")


@dataclass
class TrialState:
    """One trial (or replicate) of a run.

    Attributes:
        trial_id: The trial's id.
        hyperparameters: Its hyperparameter values.
        status: `"RUNNING"` until it ends, then the engine's status
            (`"COMPLETED"`, `"FAILED"`, ...); `"INTERRUPTED"` when the run
            stopped during the trial (`"STOPPED"` when it failed).
        score: The objective's value, once ended.
        params: The model's weight count, once ended.
        message: Why the trial failed, or `None`.
        epochs: Its `epoch_ended` events, in order.
        planned_epochs: Epochs it was to run, or `None`.
        confusion: Its latest validation `confusion` event, or `None`.
        setup: What ran before its epochs, in order: its `teacher_trained`,
            `restart_ended` and `restart_chosen` events.
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    status: str = "RUNNING"
    score: float | None = None
    params: int | None = None
    message: str | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    planned_epochs: int | None = None
    confusion: dict[str, Any] | None = None
    setup: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ended(self) -> bool:
        """Whether the trial has a `trial_ended` event."""
        return self.status not in _OPEN

    def history(self, key: str) -> list[float | None]:
        """The values of one logged metric, epoch by epoch (`None` where missing)."""
        return [_number((event.get("logs") or {}).get(key)) for event in self.epochs]


@dataclass(frozen=True)
class Progress:
    """Where a run stands.

    Attributes:
        trial: The current (or last) trial's number, from 1; 0 before the first.
        trials: Trials planned, or `None` where unknown (Hyperband).
        epoch: Epochs done in that trial.
        epochs: Epochs it will run, or `None` where unknown.
        elapsed: Seconds the run has been running, over all its sessions.
        remaining: Estimated seconds left, or `None` when not running or unknown.
        done: Trials that ended.
    """

    trial: int
    trials: int | None
    epoch: int
    epochs: int | None
    elapsed: float
    remaining: float | None
    done: int = 0


class RunState:
    """Everything the run view shows, built from a run's events.

    Attributes:
        spec: The run's spec from the latest `run_started` (plain values).
        plan: The engine's plan: `trials`, `epochs` (values may be `None`).
        phase: What the log says: `"new"`, `"running"` (started, not ended),
            `"finished"`, `"failed"` or `"interrupted"`.
        started: Unix time of the first `run_started`, or `None`.
        trials: Each trial by id, in start order.
        current: The id of the trial running now, or `None`.
        test_confusion: The final model's test `confusion` event, or `None`.
        summary: The `results` of `run_ended`, or `None`.
        error: The error message of `run_failed`, or `None`.
        error_tail: The last lines of its traceback, or `None`.
        skipped: Events that could not be read.

    Example:

    >>> state = RunState()
    >>> _ = state.apply([{"event": "run_started", "time": 0.0, "spec": {}, "plan": {"trials": 2}},
    ...                  {"event": "trial_started", "time": 1.0, "trial_id": "0", "hyperparameters": {}}])
    >>> state.phase, state.current, state.progress(now=5.0, alive=True).trial
    ('running', '0', 1)
    """

    def __init__(self) -> None:
        self.spec: dict[str, Any] = {}
        self.plan: dict[str, Any] = {}
        self.phase = "new"
        self.started: float | None = None
        self.trials: dict[str, TrialState] = {}
        self.current: str | None = None
        self.test_confusion: dict[str, Any] | None = None
        self.summary: dict[str, Any] | None = None
        self.error: str | None = None
        self.error_tail: str | None = None
        self.skipped = 0
        self.last_time: float | None = None
        self._sessions: list[list[float | None]] = []
        self._epoch_times: list[float] = []

    # -- folding events -------------------------------------------------------------

    def apply(self, events: Iterable[dict[str, Any]]) -> bool:
        """Folds events into the state; returns whether any was read."""
        changed = False
        for event in events:
            try:
                self._apply(event)
            except (KeyError, TypeError, ValueError, AttributeError):
                self.skipped += 1
                continue
            changed = True
        return changed

    def _apply(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        when = event.get("time")
        when = float(when) if isinstance(when, (int, float)) else self.last_time
        if when is not None:
            self.last_time = when
        if kind == "run_started":
            self._start_session(event, when)
        elif kind == "trial_started":
            trial_id = str(event["trial_id"])
            self.trials.pop(trial_id, None)  # a restarted trial starts over, at the end
            self.trials[trial_id] = TrialState(trial_id, dict(event.get("hyperparameters") or {}))
            self.current = trial_id
        elif kind == "epoch_ended":
            self._epoch(event, when)
        elif kind in _SETUP:
            self._trial(event.get("trial_id")).setup.append(event)
        elif kind == "confusion":
            if event.get("split") == "test":
                self.test_confusion = event
            else:
                self._trial(event.get("trial_id")).confusion = event
        elif kind == "trial_ended":
            trial = self._trial(event.get("trial_id"))
            trial.status = str(event.get("status") or "ENDED")
            trial.score = _number(event.get("score"))
            trial.params = event.get("params") if isinstance(event.get("params"), int) else None
            trial.message = event.get("message")
            if self.current == trial.trial_id:
                self.current = None
        elif kind in _ENDED:
            self._end_session(kind, event, when)

    def _start_session(self, event: dict[str, Any], when: float | None) -> None:
        if self.phase == "running" and self._sessions:
            self._sessions[-1][1] = self.last_time  # the previous session died silently
        self.phase = "running"
        self.spec = dict(event.get("spec") or self.spec)
        self.plan = dict(event.get("plan") or {})
        self.started = self.started if self.started is not None else when
        self.error = self.error_tail = None
        self.summary = None
        self._sessions.append([when, None])
        self._epoch_times = []

    def _end_session(self, kind: str, event: dict[str, Any], when: float | None) -> None:
        self.phase = _ENDED[kind]
        if self._sessions and self._sessions[-1][1] is None:
            self._sessions[-1][1] = when
        for trial in self.trials.values():
            if trial.status == "RUNNING":
                trial.status = "STOPPED" if kind == "run_failed" else "INTERRUPTED"
        self.current = None
        if kind == "run_ended":
            self.summary = dict(event.get("results") or {})
        elif kind == "run_failed":
            self.error = str(event.get("error") or event.get("error_type") or "failed")
            text = str(event.get("traceback") or self.error).strip()
            self.error_tail = "\n".join(text.splitlines()[-3:])

    def _epoch(self, event: dict[str, Any], when: float | None) -> None:
        trial = self._trial(event.get("trial_id"))
        epoch = int(event["epoch"])
        if trial.epochs and int(trial.epochs[-1]["epoch"]) >= epoch:
            trial.epochs = [e for e in trial.epochs if int(e["epoch"]) < epoch]
        trial.epochs.append(event)
        if isinstance(event.get("epochs"), int):
            trial.planned_epochs = event["epochs"]
        if when is not None:
            self._epoch_times.append(when)

    def _trial(self, trial_id: Any) -> TrialState:
        key = "-" if trial_id is None else str(trial_id)
        if key not in self.trials:
            self.trials[key] = TrialState(key, {})
        return self.trials[key]

    # -- derived ----------------------------------------------------------------------

    @property
    def objective(self) -> str:
        """The metric that ranks trials."""
        return str(self.spec.get("objective") or "val_accuracy")

    @property
    def direction(self) -> str:
        """`"min"` for a loss objective, else `"max"`."""
        return "min" if self.objective.endswith("loss") else "max"

    def status(self, alive: bool | None) -> str:
        """The run's status, given whether a process is running it.

        Args:
            alive: Whether a process runs it now; `None` where unknown.

        Returns:
            `"starting"` (a process, no event yet), `"running"`, `"finished"`,
            `"failed"`, `"interrupted"` (stopped, or its process died) or `"new"`.
        """
        if self.phase == "running":
            return "interrupted" if alive is False else "running"
        if alive:
            return "starting"  # a new start or a resume that has not written yet
        return self.phase

    def ranked(self) -> list[TrialState]:
        """Trials best first: scored ones by the objective, then running, then the rest."""
        sign = 1.0 if self.direction == "min" else -1.0

        def key(trial: TrialState) -> tuple[int, float]:
            if trial.score is not None:
                return (0, sign * trial.score)
            return (1 if trial.status == "RUNNING" else 2, 0.0)

        return sorted(self.trials.values(), key=key)

    def best(self) -> TrialState | None:
        """The trial with the best score so far, or `None`."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].score is not None else None

    def varying_hyperparameters(self) -> list[str]:
        """Hyperparameters whose value differs between trials (keras-tuner's own left out)."""
        seen: dict[str, set[str]] = {}
        for trial in self.trials.values():
            for name, value in trial.hyperparameters.items():
                if not name.startswith("tuner/"):
                    seen.setdefault(name, set()).add(repr(value))
        return [name for name, values in seen.items()
                if len(values) > 1 or any(name not in t.hyperparameters for t in self.trials.values())]

    def focus_trial(self) -> TrialState | None:
        """The trial to show by default: the one running, else the best, else the last."""
        if self.current in self.trials:
            return self.trials[self.current]
        best_id = (self.summary or {}).get("best_trial")
        if best_id in self.trials:
            return self.trials[best_id]
        return self.best() or (list(self.trials.values())[-1] if self.trials else None)

    def progress(self, now: float, alive: bool | None) -> Progress:
        """Trial and epoch counts, elapsed time and an estimate of the time left.

        Args:
            now: The current Unix time.
            alive: Whether a process runs the run now (`None`: unknown).
        """
        running = self.status(alive) == "running"
        done = sum(t.ended for t in self.trials.values())
        trial = self.trials.get(self.current) if self.current else None
        shown = trial or (list(self.trials.values())[-1] if self.trials else None)
        number = done + 1 if trial is not None else done
        epochs = (shown.planned_epochs if shown else None) or _positive(self.plan.get("epochs"))
        epoch = len(shown.epochs) if shown else 0
        elapsed = 0.0
        for start, end in self._sessions:
            if start is None:
                continue
            stop = end if end is not None else (now if running else self.last_time)
            elapsed += max(0.0, (stop or start) - start)
        trials = _positive(self.plan.get("trials"))
        remaining = None
        if running and trials is not None and epochs is not None:
            left = (epochs - epoch if trial is not None else 0) + max(0, trials - number) * epochs
            remaining = self._time_per_epoch(now)
            if remaining is not None:
                since = now - self._epoch_times[-1] if self._epoch_times else 0.0
                remaining = max(0.0, remaining * left - since)
        return Progress(number, trials, epoch, epochs, elapsed, remaining, done)

    def _time_per_epoch(self, now: float) -> float | None:
        times = self._epoch_times
        if len(times) >= 2:
            return (times[-1] - times[0]) / (len(times) - 1)
        start = self._sessions[-1][0] if self._sessions else None
        if times and start is not None:
            return max(0.0, times[0] - start)
        return None


def _number(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return float(value) if ok else None


def _positive(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None
