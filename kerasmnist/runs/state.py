"""A run as its event log tells it: the one fold of `events.jsonl` that every reader uses.

`RunState.apply(events)` takes events as `kerasmnist.events.read_events` yields
them or `kerasmnist.events.EventTail.poll()` returns them, in any number of
calls. Fields it does not know are ignored and an event it cannot read is
skipped (and counted), so a log written by a newer or crashed writer still
shows what it can. `run_info`, `list_runs` and `trial_table`
(`kerasmnist.runs.rundir`), the command line's progress bars and `runs`
commands, and the terminal UI all read runs through it.

Its trials are `kerasmnist.runs.trials.TrialState`s (re-exported here). The
module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kerasmnist._enum import StrEnum
from kerasmnist.events import TERMINAL_EVENTS, EventType
from kerasmnist.runs.spec import objective_direction
from kerasmnist.runs.trials import (
    Restart,
    TeacherTrained,
    TrialState,
    TrialStatus,
    as_count,
    as_number,
    rank_trials,
    restart_of,
    trial_status,
    varying_hyperparameters,
)

__all__ = [
    "LOG_KEYS",
    "Progress",
    "Restart",
    "RunState",
    "RunStatus",
    "TeacherTrained",
    "TrialState",
    "TrialStatus",
    "rank_trials",
    "varying_hyperparameters",
]

LOG_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "train_loss", "train_accuracy")
"""The logged metrics the tables and curves show: Keras's running training
metrics, the validation metrics and the full-evaluation training metrics."""


class RunStatus(StrEnum):
    """A run's status. Each compares equal to its value (`RunStatus.FINISHED == "finished"`)
    and is written as it in JSON.

    - `NEW`: no event yet, and no process runs it;
    - `STARTING`: a process runs it but has not written its `run_started` yet
      (a new start, or a resume);
    - `RUNNING`: started and not ended, and a process runs it (or that is unknown);
    - `STOPPING`: asked to stop and not ended yet; only the one who asked knows
      it (the terminal UI), as the log says nothing until the run ends;
    - `FINISHED`, `FAILED`: it ended so;
    - `INTERRUPTED`: stopped, or its process died; it can be resumed.

    Example:

    >>> RunStatus("finished") is RunStatus.FINISHED, f"{RunStatus.RUNNING}"
    (True, 'running')
    """

    NEW = "new"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


_KNOWN = frozenset(EventType)
_ENDED = {EventType.RUN_ENDED: RunStatus.FINISHED, EventType.RUN_FAILED: RunStatus.FAILED,
          EventType.RUN_INTERRUPTED: RunStatus.INTERRUPTED}


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
    """Everything a run's events tell, folded event by event.

    Attributes:
        spec: The run's spec from the latest `run_started` (plain values).
        plan: The engine's plan: `trials`, `epochs` (values may be `None`).
        phase: What the log alone says: `NEW`, `RUNNING` (started, not ended),
            `FINISHED`, `FAILED` or `INTERRUPTED` (a `RunStatus`).
        started: Unix time of the first `run_started`, or `None`.
        trials: Each trial by id, in start order (a restarted trial at its latest start).
        current: The id of the trial running now, or `None`.
        test_confusion: The final model's test `confusion` event, or `None`.
        summary: The `results` of `run_ended`, or `None`.
        error: The error message of `run_failed`, or `None`.
        error_tail: The last lines of its traceback, or `None`.
        skipped: Events that could not be read.
        last_time: The time of the latest event, or `None`.

    Example:

    >>> state = RunState()
    >>> _ = state.apply([{"event": "run_started", "time": 0.0, "spec": {}, "plan": {"trials": 2}},
    ...                  {"event": "trial_started", "time": 1.0, "trial_id": "0", "hyperparameters": {}}])
    >>> state.phase, state.current, state.progress(now=5.0, alive=True).trial
    (<RunStatus.RUNNING: 'running'>, '0', 1)
    >>> state.status(alive=False)
    <RunStatus.INTERRUPTED: 'interrupted'>
    """

    def __init__(self) -> None:
        self.spec: dict[str, Any] = {}
        self.plan: dict[str, Any] = {}
        self.phase = RunStatus.NEW
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

    @classmethod
    def from_events(cls, events: Iterable[dict[str, Any]]) -> RunState:
        """The state of a whole log (`read_events(path)`), or of events already read."""
        state = cls()
        state.apply(events)
        return state

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

    def trial_of(self, event: Mapping[str, Any]) -> TrialState | None:
        """The trial an (applied) event is about, or `None` for a run's event."""
        if "trial_id" not in event:
            return None
        return self.trials.get(_trial_key(event["trial_id"]))

    def _apply(self, event: dict[str, Any]) -> None:
        name = event["event"]
        if name not in _KNOWN:
            return  # a type from a newer writer: nothing to fold, but the event was read
        kind = EventType(name)
        when = event.get("time")
        when = float(when) if isinstance(when, (int, float)) else self.last_time
        if when is not None:
            self.last_time = when
        if kind is EventType.RUN_STARTED:
            self._start_session(event, when)
        elif kind is EventType.TRIAL_STARTED:
            trial_id = str(event["trial_id"])
            self.trials.pop(trial_id, None)  # a restarted trial starts over, at the end
            worker = event.get("worker")
            self.trials[trial_id] = TrialState(trial_id, dict(event.get("hyperparameters") or {}),
                                               worker=None if worker is None else str(worker))
            self.current = trial_id
        elif kind is EventType.EPOCH_ENDED:
            self._epoch(event, when)
        elif kind is EventType.TEACHER_TRAINED:
            self._trial(event.get("trial_id")).teacher = TeacherTrained(
                str(event["teacher"]), as_count(event.get("params")), as_count(event.get("epochs")),
                dict(event.get("logs") or {}), as_number(event.get("seconds")))
        elif kind is EventType.RESTART_ENDED:
            self._trial(event.get("trial_id")).restarts.append(restart_of(event))
        elif kind is EventType.RESTART_CHOSEN:
            self._trial(event.get("trial_id")).chosen_restart = restart_of(event)
        elif kind is EventType.CONFUSION:
            if event.get("split") == "test":
                self.test_confusion = event
            else:
                self._trial(event.get("trial_id")).confusion = event
        elif kind is EventType.TRIAL_ENDED:
            trial = self._trial(event.get("trial_id"))
            status = event.get("status")
            trial.status = trial_status(status)
            trial.score = as_number(event.get("score"))
            trial.params = as_count(event.get("params"))
            trial.message = event.get("message")
            if trial.status != status and not trial.message:
                trial.message = f"ended with status {status!r}, unknown to this reader"
            if self.current == trial.trial_id:
                self.current = None
        elif kind in TERMINAL_EVENTS:
            self._end_session(kind, event, when)

    def _start_session(self, event: dict[str, Any], when: float | None) -> None:
        if self.phase is RunStatus.RUNNING and self._sessions:
            self._sessions[-1][1] = self.last_time  # the previous session died silently
        self.phase = RunStatus.RUNNING
        self.spec = dict(event.get("spec") or self.spec)
        self.plan = dict(event.get("plan") or {})
        self.started = self.started if self.started is not None else when
        self.error = self.error_tail = None
        self.summary = None
        self._sessions.append([when, None])
        self._epoch_times = []

    def _end_session(self, kind: EventType, event: dict[str, Any], when: float | None) -> None:
        self.phase = _ENDED[kind]
        if self._sessions and self._sessions[-1][1] is None:
            self._sessions[-1][1] = when
        for trial in self.trials.values():
            if trial.status is TrialStatus.RUNNING:
                trial.status = (TrialStatus.STOPPED if kind is EventType.RUN_FAILED
                                else TrialStatus.INTERRUPTED)
        self.current = None
        if kind is EventType.RUN_ENDED:
            self.summary = dict(event.get("results") or {})
        elif kind is EventType.RUN_FAILED:
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
        key = _trial_key(trial_id)
        if key not in self.trials:
            self.trials[key] = TrialState(key)
        return self.trials[key]

    # -- derived ----------------------------------------------------------------------

    @property
    def objective(self) -> str:
        """The metric that ranks trials."""
        return str(self.spec.get("objective") or "val_accuracy")

    @property
    def direction(self) -> str:
        """`"min"` for a loss objective, else `"max"` (`objective_direction`)."""
        return objective_direction(self.objective)

    @property
    def trials_done(self) -> int:
        """Trials (or replicates) that ended."""
        return sum(trial.ended for trial in self.trials.values())

    @property
    def trials_planned(self) -> int | None:
        """Trials the run expects, or `None` where unknown (Hyperband)."""
        return _positive(self.plan.get("trials"))

    @property
    def test_accuracy(self) -> float | None:
        """The final model's test accuracy, once the run finished."""
        return as_number((self.summary or {}).get("test_accuracy"))

    def status(self, alive: bool | None) -> RunStatus:
        """The run's status, given whether a process is running it.

        Args:
            alive: Whether a process runs it now; `None` where unknown.

        Returns:
            `STARTING` (a process, no event since it started), `RUNNING`,
            `FINISHED`, `FAILED`, `INTERRUPTED` (stopped, or its process died)
            or `NEW`.
        """
        if self.phase is RunStatus.RUNNING:
            return RunStatus.INTERRUPTED if alive is False else RunStatus.RUNNING
        if alive:
            return RunStatus.STARTING  # a new start or a resume that has not written yet
        return self.phase

    def ranked(self) -> list[TrialState]:
        """Trials best first (`rank_trials` by the run's objective)."""
        return rank_trials(self.trials.values(), self.objective)

    def best(self) -> TrialState | None:
        """The trial with the best score so far, or `None`."""
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].score is not None else None

    def varying_hyperparameters(self) -> list[str]:
        """The hyperparameters that differ between the trials (`varying_hyperparameters`)."""
        return varying_hyperparameters(self.trials.values())

    def trial_table(self) -> list[dict[str, Any]]:
        """Every trial as `TrialState.to_dict` gives it, in start order."""
        return [trial.to_dict() for trial in self.trials.values()]

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
        running = self.status(alive) is RunStatus.RUNNING
        done = self.trials_done
        trial = self.trials.get(self.current) if self.current else None
        shown = trial or (list(self.trials.values())[-1] if self.trials else None)
        number = done + 1 if trial is not None else done
        epochs = (shown.planned_epochs if shown else None) or _positive(self.plan.get("epochs"))
        epoch = shown.epochs_done if shown else 0
        elapsed = 0.0
        for start, end in self._sessions:
            if start is None:
                continue
            stop = end if end is not None else (now if running else self.last_time)
            elapsed += max(0.0, (stop or start) - start)
        trials = self.trials_planned
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



def _trial_key(trial_id: Any) -> str:
    return "-" if trial_id is None else str(trial_id)  # epochs of a plain `fit`, outside any trial


def _positive(value: Any) -> int | None:
    count = as_count(value)
    return count if count is not None and count > 0 else None
