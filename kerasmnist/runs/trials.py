"""The trials of a run as its event log tells them: status, score, weights, setup.

`kerasmnist.runs.state.RunState` folds a log into these; `results.json`'s
`trials` and `kerasmnist runs show --json` hold them as `TrialState.to_dict()`.
The module imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kerasmnist._enum import StrEnum
from kerasmnist.runs.spec import objective_direction

__all__ = ["MAX_COUNT", "Restart", "TeacherTrained", "TrialState", "TrialStatus", "as_count",
           "as_number", "as_text", "rank_trials", "short_value", "training_time_text",
           "trial_status", "varying_hyperparameters"]

MAX_COUNT = 2**53
"""Counts (epochs, weights, matrix cells) are below this: larger ones are damage, not data."""


class TrialStatus(StrEnum):
    """A trial's status. Each compares equal to its value (`TrialStatus.COMPLETED == "COMPLETED"`).

    The values a `trial_ended` event carries are keras-tuner's (`COMPLETED`,
    `FAILED`, `INVALID`, `IDLE`; the run engine's replicates write the first
    two) and `PRUNED`: a search's pruner (`kerasmnist.pruning`) stopped the trial
    early; it keeps the epochs it trained and its best score so far (keras-tuner's
    oracle records it as completed, so that Bayesian optimisation learns from it).
    The fold adds the states of a trial without a `trial_ended`:

    - `RUNNING`: started, not ended;
    - `INTERRUPTED`: the run was interrupted while it ran (a resume goes on from
      its last finished epoch, or starts it over where it kept no checkpoint);
    - `STOPPED`: the run failed while it ran.

    Example:

    >>> TrialStatus("COMPLETED").ended, TrialStatus.INTERRUPTED.ended
    (True, False)
    """

    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    PRUNED = "PRUNED"
    FAILED = "FAILED"
    INTERRUPTED = "INTERRUPTED"
    STOPPED = "STOPPED"
    INVALID = "INVALID"
    IDLE = "IDLE"

    @property
    def ended(self) -> bool:
        """Whether the status is one a `trial_ended` event gives (the trial did end)."""
        return self not in _OPEN


_OPEN = frozenset({TrialStatus.RUNNING, TrialStatus.INTERRUPTED, TrialStatus.STOPPED})
_STATUS_VALUES = frozenset(status.value for status in TrialStatus)


@dataclass(frozen=True)
class TeacherTrained:
    """The teacher a trial's model is distilled from, as its `teacher_trained` event tells.

    Attributes:
        teacher: The teacher's preset name.
        params: Its weight count, or `None`.
        epochs: Epochs it trained, or `None`.
        logs: Its last epoch's logs.
        seconds: How long it trained, or `None`.
    """

    teacher: str
    params: int | None = None
    epochs: int | None = None
    logs: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None


@dataclass(frozen=True)
class Restart:
    """One of a trial's random restarts (a `restart_ended` or `restart_chosen` event).

    Attributes:
        restart: Its number, from 0.
        epochs: Epochs it trained, or `None`.
        objective: The logged metric the restarts are compared by, or `None`.
        score: Its value of `objective`; `None` when it failed.
        message: Why it failed, or `None`.
    """

    restart: int
    epochs: int | None = None
    objective: str | None = None
    score: float | None = None
    message: str | None = None


@dataclass
class TrialState:
    """One trial (or replicate) of a run.

    Attributes:
        trial_id: The trial's id.
        hyperparameters: Its hyperparameter values.
        status: `RUNNING` until it ends, then the status of its `trial_ended`
            (see `TrialStatus`).
        score: The objective's value, once ended.
        params: The model's weight count, once ended.
        message: Why the trial failed, or `None`.
        worker: The process that ran it, or `None`.
        epochs: Its `epoch_ended` events, in order.
        planned_epochs: Epochs it was to run, or `None`.
        confusion: Its latest validation `confusion` event, or `None`.
        teacher: The teacher it was distilled from, or `None`.
        restarts: Its random restarts that ended, in order.
        chosen_restart: The restart it goes on training from, or `None`.
        training_cpu_seconds: The CPU time (user and system, every thread) of a
            plain run's replicate's training, as its `trial_ended` records it: the
            teacher, the restarts and the fit with its callbacks, without the
            process's start-up, the data's loading or the test; `None` for a
            search's trial or an older log. A replicate resumed from a checkpoint
            counts only the session that finished it.
        training_seconds: The wall-clock time of the same, or `None`.

    Example:

    >>> trial = TrialState.from_dict({"trial_id": "3", "status": "COMPLETED", "score": 0.9,
    ...                               "params": 7850, "hyperparameters": {"units": 8}})
    >>> trial.status, trial.ended, trial.to_dict()["status"]
    (<TrialStatus.COMPLETED: 'COMPLETED'>, True, 'COMPLETED')
    """

    trial_id: str
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    status: TrialStatus = TrialStatus.RUNNING
    score: float | None = None
    params: int | None = None
    message: str | None = None
    worker: str | None = None
    epochs: list[dict[str, Any]] = field(default_factory=list)
    planned_epochs: int | None = None
    confusion: dict[str, Any] | None = None
    teacher: TeacherTrained | None = None
    restarts: list[Restart] = field(default_factory=list)
    chosen_restart: Restart | None = None
    training_cpu_seconds: float | None = None
    training_seconds: float | None = None

    @property
    def ended(self) -> bool:
        """Whether the trial has a `trial_ended` event."""
        return self.status.ended

    @property
    def epochs_done(self) -> int:
        """Epochs trained: the last logged epoch's number, from 1 (a trial that goes on
        from its chosen restart logs its first epoch after the restart's)."""
        return int(self.epochs[-1]["epoch"]) + 1 if self.epochs else 0

    @property
    def cpu_seconds(self) -> float | None:
        """CPU seconds of its logged epochs (`epoch_ended`'s `cpu_seconds`), or `None` if none has one."""
        values = [e["cpu_seconds"] for e in self.epochs if isinstance(e.get("cpu_seconds"), (int, float))]
        return float(sum(values)) if values else None

    @property
    def seconds(self) -> float | None:
        """Wall-clock seconds of its logged epochs (`epoch_ended`'s `seconds`), or `None` if none has one."""
        values = [e["seconds"] for e in self.epochs if isinstance(e.get("seconds"), (int, float))]
        return float(sum(values)) if values else None

    def history(self, key: str) -> list[float | None]:
        """The values of one logged metric, epoch by epoch (`None` where missing)."""
        return [as_number((event.get("logs") or {}).get(key)) for event in self.epochs]

    def to_dict(self) -> dict[str, Any]:
        """The trial as `trial_table` gives it: `trial_id`, `status`, `score`, `params`,
        `hyperparameters`, `worker` and `message`, and `training_cpu_seconds` and
        `training_seconds` where known, in plain JSON types."""
        values = {"trial_id": self.trial_id, "status": self.status.value, "score": self.score,
                  "params": self.params, "hyperparameters": dict(self.hyperparameters),
                  "worker": self.worker, "message": self.message}
        for name in ("training_cpu_seconds", "training_seconds"):
            if getattr(self, name) is not None:
                values[name] = getattr(self, name)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> TrialState:
        """A trial from `to_dict`'s form (a `results.json`'s `trials`, `runs show --json`).

        Fields of the wrong type are taken as missing.

        Raises:
            ValueError: `trial_id` is missing or not a string.
        """
        trial_id = values.get("trial_id")
        if not isinstance(trial_id, str):
            raise ValueError(f"a trial's `trial_id` must be a string, found {trial_id!r}")
        hyperparameters = values.get("hyperparameters")
        return cls(trial_id, dict(hyperparameters) if isinstance(hyperparameters, dict) else {},
                   status=trial_status(values.get("status")), score=as_number(values.get("score")),
                   params=as_count(values.get("params")), message=as_text(values.get("message")),
                   worker=as_text(values.get("worker")),
                   training_cpu_seconds=as_number(values.get("training_cpu_seconds")),
                   training_seconds=as_number(values.get("training_seconds")))


def rank_trials(trials: Iterable[TrialState], objective: str) -> list[TrialState]:
    """Trials best first: completed ones by `objective` in its direction, then pruned ones
    (their scores are of fewer epochs), then running, then the rest.

    Args:
        trials: The trials.
        objective: The metric their scores are values of; a loss ranks lowest first
            (`kerasmnist.runs.spec.objective_direction`).

    Returns:
        The trials, sorted; ties keep their order.

    Example:

    >>> trials = [TrialState("a", score=0.2), TrialState("b"), TrialState("c", score=0.1)]
    >>> [t.trial_id for t in rank_trials(trials, "val_loss")]
    ['c', 'a', 'b']
    """
    sign = 1.0 if objective_direction(objective) == "min" else -1.0

    def key(trial: TrialState) -> tuple[int, float]:
        if trial.score is not None:
            return (1 if trial.status is TrialStatus.PRUNED else 0, sign * trial.score)
        return (2 if trial.status is TrialStatus.RUNNING else 3, 0.0)

    return sorted(trials, key=key)


def training_time_text(trials: Iterable[TrialState]) -> str | None:
    """The training time of a plain run's replicates in a line, or `None` when none has one.

    Example:

    >>> training_time_text([TrialState("r0", training_cpu_seconds=41.25, training_seconds=22.5)])
    'Training time (start-up, loading and test excluded): r0 41.2 CPU-s in 22.5 s'
    """
    parts = [f"{t.trial_id} {t.training_cpu_seconds:.1f} CPU-s"
             + (f" in {t.training_seconds:.1f} s" if t.training_seconds is not None else "")
             for t in trials if t.training_cpu_seconds is not None]
    return ("Training time (start-up, loading and test excluded): " + ", ".join(parts)) if parts else None


def short_value(value: Any) -> str:
    """A hyperparameter value in a few characters.

    Example:

    >>> short_value(0.00025413872), short_value(True), short_value(None), short_value(128)
    ('0.000254', 'True', '', '128')
    """
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def varying_hyperparameters(trials: Iterable[TrialState]) -> list[str]:
    """The hyperparameters whose value differs between trials, or that some trials lack.

    keras-tuner's own (`tuner/epochs`, ...) are left out.

    Args:
        trials: The trials.

    Returns:
        Their names, in the order they are first met.

    Example:

    >>> varying_hyperparameters([TrialState("0", {"units": 8, "activation": "relu"}),
    ...                          TrialState("1", {"units": 16, "activation": "relu"})])
    ['units']
    """
    trials = list(trials)
    seen: dict[str, set[str]] = {}
    for trial in trials:
        for name, value in trial.hyperparameters.items():
            if not name.startswith("tuner/"):
                seen.setdefault(name, set()).add(repr(value))
    return [name for name, values in seen.items()
            if len(values) > 1 or any(name not in t.hyperparameters for t in trials)]


def trial_status(value: Any) -> TrialStatus:
    """The status a `trial_ended` event gives; one this reader does not know is `FAILED`."""
    if isinstance(value, str) and value in _STATUS_VALUES:
        return TrialStatus(value)
    return TrialStatus.FAILED  # ended, but not as this reader knows: not a success


def as_number(value: Any) -> float | None:
    """A finite real number as a float, else `None` (`True`, `"0.9"`, NaN and 10**400 are not)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_count(value: Any) -> int | None:
    """An integer in [0, `MAX_COUNT`), else `None`."""
    ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNT
    return value if ok else None


def as_text(value: Any) -> str | None:
    """A string, else `None`."""
    return value if isinstance(value, str) else None
