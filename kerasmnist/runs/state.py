"""A run as its event log tells it: the one fold of `events.jsonl` that every reader uses.

`RunState.apply(events)` takes events as `kerasmnist.events.read_events` yields
them or `kerasmnist.events.EventTail.poll()` returns them, in any number of
calls. Fields it does not know are ignored, so a log written by a newer or
crashed writer still shows what it can, and so does a damaged one: a field of
the wrong type is taken as missing (the event is "read in part"), and an event
that cannot be placed without it (a trial id, an epoch's number) or that is
not an object is skipped; `RunState.damage` says how many and why, and nothing
an event holds makes the fold raise. `run_info`, `list_runs` and `trial_table`
(`kerasmnist.runs.rundir`), the command line's progress bars and `runs`
commands, and the terminal UI all read runs through it.

Its trials are `kerasmnist.runs.trials.TrialState`s (re-exported here). The
module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
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
    as_text,
    rank_trials,
    trial_status,
    varying_hyperparameters,
)

__all__ = [
    "LOG_KEYS",
    "Progress",
    "Restart",
    "RunState",
    "RunStatus",
    "Spend",
    "TeacherTrained",
    "TrialState",
    "TrialStatus",
    "duration_text",
    "rank_trials",
    "varying_hyperparameters",
]

LOG_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "train_loss", "train_accuracy")
"""The logged metrics the tables and curves show: Keras's running training
metrics, the validation metrics and the full-evaluation training metrics."""


def duration_text(seconds: float | None) -> str:
    """A run's or a trial's time in a few characters: `42s`, `3m 05s` or `1h 02m`; empty for
    `None` (and for NaN or infinity), as the command line, the report and the terminal UI
    show it.

    Example:

    >>> duration_text(42.4), duration_text(185), duration_text(3725), duration_text(None)
    ('42s', '3m 05s', '1h 02m', '')
    """
    if seconds is None or not math.isfinite(seconds):
        return ""
    total = max(0, int(round(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


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
    - `INTERRUPTED`: stopped, or its process died; it can be resumed;
    - `DAMAGED`: its run directory cannot be read (`kerasmnist.runs.rundir.RunInfo`
      says why); the fold of a log never gives it.

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
    DAMAGED = "damaged"


_KNOWN = frozenset(EventType)
_TRIAL_EVENTS = frozenset({EventType.TRIAL_STARTED, EventType.EPOCH_ENDED, EventType.CONFUSION,
                           EventType.TEACHER_TRAINED, EventType.RESTART_ENDED,
                           EventType.RESTART_CHOSEN, EventType.TRIAL_ENDED})
_NUMBERED = {EventType.EPOCH_ENDED: "epoch", EventType.RESTART_ENDED: "restart",
             EventType.RESTART_CHOSEN: "restart"}
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


@dataclass(frozen=True)
class Spend:
    """What a run's trials spent, and what pruning saved (`RunState.spend()`).

    Attributes:
        epochs: Epochs the trials trained (each logged epoch once; a retrained
            final model's epochs included).
        cpu_seconds: CPU seconds of those epochs (the process's, every thread,
            the full evaluation included), or `None` where the log has none.
        pruned: Trials a pruner stopped.
        epochs_saved: Epochs the pruned trials did not train (their planned
            epochs less those trained).
        cpu_seconds_saved: Those epochs' CPU seconds at each pruned trial's own
            rate per epoch (an estimate), or `None` without pruning or CPU times.

    Example:

    >>> state = RunState.from_events([
    ...     {"event": "trial_started", "trial_id": "0", "hyperparameters": {}},
    ...     {"event": "epoch_ended", "trial_id": "0", "epoch": 0, "epochs": 4, "logs": {},
    ...      "cpu_seconds": 2.0},
    ...     {"event": "trial_ended", "trial_id": "0", "status": "PRUNED", "score": 0.5}])
    >>> state.spend()
    Spend(epochs=1, cpu_seconds=2.0, pruned=1, epochs_saved=3, cpu_seconds_saved=6.0)
    """

    epochs: int
    cpu_seconds: float | None
    pruned: int
    epochs_saved: int
    cpu_seconds_saved: float | None

    def describe(self) -> str:
        """The spend in a line, for the terminal.

        Example:

        >>> Spend(40, 95.5, 3, 21, 50.2).describe()
        '40 epochs, 1.6 CPU-minutes; pruning stopped 3 trials, saving 21 epochs (about 0.8 CPU-minutes)'
        """
        text = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if self.cpu_seconds is not None:
            text += f", {self.cpu_seconds / 60:.1f} CPU-minutes"
        if self.pruned:
            text += (f"; pruning stopped {self.pruned} trial{'s' if self.pruned != 1 else ''}, saving "
                     f"{self.epochs_saved} epoch{'s' if self.epochs_saved != 1 else ''}")
            if self.cpu_seconds_saved is not None:
                text += f" (about {self.cpu_seconds_saved / 60:.1f} CPU-minutes)"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON types."""
        return dataclasses.asdict(self)


class RunState:
    """Everything a run's events tell, folded event by event.

    Attributes:
        spec: The run's spec from the latest `run_started` (plain values).
        plan: The engine's plan: `trials`, `epochs` (values may be `None`).
        phase: What the log alone says: `NEW`, `RUNNING` (started, not ended),
            `FINISHED`, `FAILED` or `INTERRUPTED` (a `RunStatus`).
        started: Unix time of the first `run_started`, or `None`.
        trials: Each trial by id, in start order (a restarted trial at its latest start;
            one that went on from its checkpoint keeps the epochs logged before its
            `initial_epoch`, each epoch once).
        current: The id of the trial running now, or `None`.
        test_confusion: The final model's test `confusion` event, or `None`.
        summary: The `results` of `run_ended`, or `None`.
        error: The error message of `run_failed`, or `None`.
        error_tail: The last lines of its traceback, or `None`.
        skipped: Events that could not be folded at all (see the module's docstring).
        damaged: Events read in part: a field of the wrong type was taken as missing.
        problems: What was wrong with the first of those (`"trial_ended: `score` is
            not a number"`), at most `MAX_PROBLEMS`.
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
        self.damaged = 0
        self.problems: list[str] = []
        self.last_time: float | None = None
        self._sessions: list[list[float | None]] = []
        self._epoch_times: list[float] = []

    @classmethod
    def from_events(cls, events: Iterable[Any]) -> RunState:
        """The state of a whole log (`read_events(path)`), or of events already read."""
        state = cls()
        state.apply(events)
        return state

    # -- folding events -------------------------------------------------------------

    def apply(self, events: Iterable[Any]) -> bool:
        """Folds events into the state; returns whether any was read (in full or in part).

        Nothing in an event raises: what cannot be read is counted (`skipped`,
        `damaged`) and described (`problems`).
        """
        changed = False
        for event in events:
            fields = _Fields(event)
            skipped = self._apply(fields)
            if skipped is not None:
                self.skipped += 1
                self._note(f"{fields.name}: {skipped}" if fields.name else skipped)
                continue
            if fields.wrong:
                self.damaged += 1
                self._note(f"{fields.name}: " + ", ".join(fields.wrong))
            changed = True
        return changed

    def trial_of(self, event: Mapping[str, Any]) -> TrialState | None:
        """The trial an (applied) event is about, or `None` for a run's event."""
        if not isinstance(event, Mapping) or "trial_id" not in event:
            return None
        trial_id = event["trial_id"]
        if trial_id is not None and not isinstance(trial_id, str):
            return None
        return self.trials.get(_trial_key(trial_id))

    def _note(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def _apply(self, fields: _Fields) -> str | None:
        """Folds one event; returns why it was skipped, or `None` when it was read."""
        name = fields.name
        if name is None:
            return "not an event object"
        if name not in _KNOWN:
            return None  # a type from a newer writer: nothing to fold, but the event was read
        kind = EventType(name)
        # What the event cannot be placed without is read first: a skipped event changes nothing.
        trial_id = fields.event.get("trial_id") if kind in _TRIAL_EVENTS else None
        if trial_id is not None and not isinstance(trial_id, str):
            return "`trial_id` is not a string"
        if kind is EventType.TRIAL_STARTED and trial_id is None:
            return "no `trial_id`"
        key = _trial_key(trial_id)
        number = as_count(fields.event.get(_NUMBERED[kind])) if kind in _NUMBERED else 0
        if number is None:
            return f"`{_NUMBERED[kind]}` is not {_EXPECTED[as_count]}"
        when = fields.get("time", _as_time)
        when = self.last_time if when is None else when
        if when is not None:
            self.last_time = when
        if kind is EventType.RUN_STARTED:
            self._start_session(fields, when)
        elif kind is EventType.TRIAL_STARTED:
            earlier = self.trials.pop(key, None)  # a restarted trial starts over, at the end
            trial = self.trials[key] = TrialState(key, fields.get("hyperparameters", _as_object) or {},
                                                  worker=fields.get("worker", as_text))
            initial = fields.get("initial_epoch", as_count)
            if initial and earlier is not None:
                _go_on(trial, earlier, initial)
            self.current = key
        elif kind is EventType.EPOCH_ENDED:
            self._epoch(self._trial(key), number, fields, when)
        elif kind is EventType.TEACHER_TRAINED:
            self._trial(key).teacher = TeacherTrained(
                fields.get("teacher", as_text) or "?", fields.get("params", as_count),
                fields.get("epochs", as_count), fields.logs(), fields.get("seconds", as_number))
        elif kind in (EventType.RESTART_ENDED, EventType.RESTART_CHOSEN):
            restart = Restart(number, fields.get("epochs", as_count), fields.get("objective", as_text),
                              fields.get("score", as_number), fields.get("message", as_text))
            if kind is EventType.RESTART_ENDED:
                self._trial(key).restarts.append(restart)
            else:
                self._trial(key).chosen_restart = restart
        elif kind is EventType.CONFUSION:
            self._confusion(key, fields)
        elif kind is EventType.TRIAL_ENDED:
            trial = self._trial(key)
            status = fields.get("status", as_text)
            trial.status = trial_status(status)
            trial.score = fields.get("score", as_number)
            trial.params = fields.get("params", as_count)
            trial.message = fields.get("message", as_text)
            trial.training_cpu_seconds = fields.get("training_cpu_seconds", as_number)
            trial.training_seconds = fields.get("training_seconds", as_number)
            if trial.status != status and not trial.message:
                trial.message = f"ended with status {status!r}, unknown to this reader"
            if self.current == trial.trial_id:
                self.current = None
        elif kind in TERMINAL_EVENTS:
            self._end_session(kind, fields, when)
        return None

    def _start_session(self, fields: _Fields, when: float | None) -> None:
        if self.phase is RunStatus.RUNNING and self._sessions:
            self._sessions[-1][1] = self.last_time  # the previous session died silently
        self.phase = RunStatus.RUNNING
        self.spec = fields.get("spec", _as_object) or self.spec
        self.plan = fields.get("plan", _as_object) or {}
        self.started = self.started if self.started is not None else when
        self.error = self.error_tail = None
        self.summary = None
        self._sessions.append([when, None])
        self._epoch_times = []

    def _end_session(self, kind: EventType, fields: _Fields, when: float | None) -> None:
        self.phase = _ENDED[kind]
        if self._sessions and self._sessions[-1][1] is None:
            self._sessions[-1][1] = when
        for trial in self.trials.values():
            if trial.status is TrialStatus.RUNNING:
                trial.status = (TrialStatus.STOPPED if kind is EventType.RUN_FAILED
                                else TrialStatus.INTERRUPTED)
        self.current = None
        if kind is EventType.RUN_ENDED:
            self.summary = fields.get("results", _as_object) or {}
        elif kind is EventType.RUN_FAILED:
            error, error_type = fields.get("error", as_text), fields.get("error_type", as_text)
            self.error = error or error_type or "failed"
            text = (fields.get("traceback", as_text) or self.error).strip()
            self.error_tail = "\n".join(text.splitlines()[-3:])

    def _epoch(self, trial: TrialState, epoch: int, fields: _Fields, when: float | None) -> None:
        planned = fields.get("epochs", as_count)
        event = {**fields.event, "epoch": epoch, "epochs": planned, "logs": fields.logs(),
                 "seconds": fields.get("seconds", as_number),
                 "cpu_seconds": fields.get("cpu_seconds", as_number)}
        if trial.epochs and trial.epochs[-1]["epoch"] >= epoch:
            trial.epochs = [e for e in trial.epochs if e["epoch"] < epoch]
        trial.epochs.append(event)
        if planned:
            trial.planned_epochs = planned
        if when is not None:
            self._epoch_times.append(when)

    def _confusion(self, key: str, fields: _Fields) -> None:
        matrix = fields.get("matrix", _as_matrix)
        names = fields.get("class_names", _as_names)
        if matrix is not None and (names is None or len(names) != len(matrix)):
            if names is not None:
                fields.wrong.append("`class_names` do not match the matrix")
            names = [str(i) for i in range(len(matrix))]
        event = {**fields.event, "trial_id": None if key == "-" else key,
                 "epoch": fields.get("epoch", as_count), "split": fields.get("split", as_text),
                 "matrix": matrix, "class_names": names or [],
                 "per_class": fields.get("per_class", _as_object) or {}}
        if event["split"] == "test":
            self.test_confusion = event
        else:
            self._trial(key).confusion = event

    def _trial(self, key: str) -> TrialState:
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
    def damage(self) -> str | None:
        """What of the log could not be read, in a line, or `None` when all of it was.

        Example:

        >>> state = RunState.from_events([{"event": "trial_ended", "trial_id": "0", "score": "high"},
        ...                               [1, 2]])
        >>> state.skipped, state.damaged
        (1, 1)
        >>> print(state.damage)
        1 event skipped, 1 event read in part: trial_ended: `score` is not a number; not an event object
        """
        counts = [f"{n} event{'s' if n != 1 else ''} {what}"
                  for n, what in ((self.skipped, "skipped"), (self.damaged, "read in part")) if n]
        return ", ".join(counts) + ": " + "; ".join(self.problems) if counts else None

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

    def spend(self) -> Spend:
        """What the run's trials spent, and what pruning saved (`Spend`)."""
        trials = [t for t in self.trials.values() if t.epochs]
        pruned = [t for t in self.trials.values() if t.status is TrialStatus.PRUNED]
        cpu = [t.cpu_seconds for t in trials if t.cpu_seconds is not None]
        saved = 0
        cpu_saved = 0.0
        for trial in pruned:
            left = max(0, (trial.planned_epochs or trial.epochs_done) - trial.epochs_done)
            saved += left
            per_epoch = trial.cpu_seconds / len(trial.epochs) if trial.cpu_seconds and trial.epochs else 0.0
            cpu_saved += left * per_epoch
        return Spend(epochs=sum(len(t.epochs) for t in trials), cpu_seconds=sum(cpu) if cpu else None,
                     pruned=len(pruned), epochs_saved=saved,
                     cpu_seconds_saved=cpu_saved if cpu and pruned else None)

    def final_trial(self) -> TrialState | None:
        """The trial whose model the run kept, as its `run_ended` names it; before the end
        (or where it names none), the best so far (`best`)."""
        best_id = (self.summary or {}).get("best_trial")
        if isinstance(best_id, str) and best_id in self.trials:
            return self.trials[best_id]
        return self.best()

    def focus_trial(self) -> TrialState | None:
        """The trial to show by default: the one running, else the final one, else the last."""
        if self.current in self.trials:
            return self.trials[self.current]
        return self.final_trial() or (list(self.trials.values())[-1] if self.trials else None)

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




MAX_PROBLEMS = 3
"""The most problems of a log `RunState.problems` keeps."""


class _Fields:
    """One event's fields, read with their types checked; those of the wrong type are noted.

    Args:
        event: The event, as read (any value).
    """

    def __init__(self, event: Any) -> None:
        self.event: dict[str, Any] = event if isinstance(event, dict) else {}
        name = self.event.get("event")
        self.name = name if isinstance(name, str) else None
        self.wrong: list[str] = []

    def get(self, name: str, convert: Callable[[Any], Any]) -> Any:
        """The field as `convert` makes it (`as_number`, ...); `None` when it is missing,
        null or of the wrong type (noted in `wrong`)."""
        value = self.event.get(name)
        if value is None:
            return None
        converted = convert(value)
        if converted is None:
            self.wrong.append(f"`{name}` is not {_EXPECTED.get(convert, 'valid')}")
        return converted

    def logs(self) -> dict[str, float | None]:
        """`logs`: metric -> number (or `None`); values that are not numbers are noted and dropped."""
        logs = {}
        for key, value in (self.get("logs", _as_object) or {}).items():
            number = as_number(value)
            if number is None and value is not None:
                self.wrong.append(f"`logs.{key}` is not a number")
                continue
            logs[key] = number
        return logs


def _go_on(trial: TrialState, earlier: TrialState, epoch: int) -> None:
    """Gives a trial that goes on from its checkpoint at `epoch` (`initial_epoch`) what its earlier
    start logged before it: its epochs, its planned epochs and, if of such an epoch, its
    confusion matrix. Epochs logged from `epoch` on (after the checkpoint, before a kill) are
    trained again, and logged again."""
    trial.epochs = [event for event in earlier.epochs if event["epoch"] < epoch]
    trial.planned_epochs = earlier.planned_epochs
    confusion = earlier.confusion
    if confusion is not None and confusion.get("epoch") is not None and confusion["epoch"] < epoch:
        trial.confusion = confusion


def _trial_key(trial_id: str | None) -> str:
    return "-" if trial_id is None else trial_id  # epochs of a plain `fit`, outside any trial


def _as_time(value: Any) -> float | None:
    number = as_number(value)
    return number if number is not None and 0 <= number < 1e11 else None  # up to the year 5138


def _as_object(value: Any) -> dict[str, Any] | None:
    ok = isinstance(value, dict) and all(isinstance(key, str) for key in value)
    return dict(value) if ok else None


def _as_names(value: Any) -> list[str] | None:
    ok = isinstance(value, list) and all(isinstance(name, str) for name in value)
    return list(value) if ok else None


def _as_matrix(value: Any) -> list[list[int]] | None:
    """A square, non-empty matrix of counts, else `None`."""
    if not isinstance(value, list) or not value:
        return None
    size = len(value)
    rows = [row for row in value if isinstance(row, list) and len(row) == size]
    if len(rows) != size or any(as_count(cell) is None for row in rows for cell in row):
        return None
    return [list(row) for row in rows]


_EXPECTED: dict[Callable[[Any], Any], str] = {
    as_number: "a number", as_count: "a count", as_text: "a string", _as_time: "a Unix time",
    _as_object: "an object", _as_names: "a list of strings", _as_matrix: "a square matrix of counts"}


def _positive(value: Any) -> int | None:
    count = as_count(value)
    return count if count is not None and count > 0 else None
