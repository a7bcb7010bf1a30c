"""Small text formats shared by the screens and widgets."""

from __future__ import annotations

import datetime
import math
from typing import Any

from kerasmnist.runs.state import RunStatus, TrialState

__all__ = ["STATUS_STYLES", "metric", "setup_lines", "status_text", "timestamp"]

STATUS_STYLES = {
    RunStatus.RUNNING: "bold yellow",
    RunStatus.STARTING: "yellow",
    RunStatus.STOPPING: "bold magenta",
    RunStatus.FINISHED: "bold green",
    RunStatus.FAILED: "bold red",
    RunStatus.INTERRUPTED: "magenta",
    RunStatus.NEW: "dim",
}
"""The style of each run status, wherever a status is shown."""


def status_text(status: RunStatus) -> Any:
    """A run status as styled Rich text."""
    from rich.text import Text

    return Text(str(status), style=STATUS_STYLES.get(status, ""))


def metric(value: Any, digits: int = 4) -> str:
    """A logged metric with `digits` decimals; empty for a missing or non-numeric value.

    Example:

    >>> metric(0.40799999237), metric(None), metric(2)
    ('0.4080', '', '2.0000')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


def setup_lines(trial: TrialState) -> list[str]:
    """What ran before a trial's epochs (its teacher, its random restarts), a line per step.

    Example:

    >>> from kerasmnist.runs.state import Restart, TeacherTrained
    >>> trial = TrialState("r0", teacher=TeacherTrained("mnist_cnn", epochs=15,
    ...                                                 logs={"val_accuracy": 0.993}),
    ...                    restarts=[Restart(0, 10, "val_accuracy", 0.8518), Restart(1, 10),
    ...                              Restart(2, 10, "val_accuracy", 0.9004)],
    ...                    chosen_restart=Restart(2, 10, "val_accuracy", 0.9004))
    >>> for line in setup_lines(trial):
    ...     print(line)
    Teacher mnist_cnn trained: 15 epochs, val_accuracy 0.9930
    Restarts of 10 epochs: 0.8518, failed, 0.9004 (val_accuracy); training on restart 2
    """
    lines: list[str] = []
    if trial.teacher is not None:
        logs = trial.teacher.logs
        key = "val_accuracy" if metric(logs.get("val_accuracy")) else "accuracy"
        shown = f", {key} {metric(logs.get(key))}" if metric(logs.get(key)) else ""
        lines.append(f"Teacher {trial.teacher.teacher} trained: {trial.teacher.epochs} epochs" + shown)
    if trial.restarts:
        scores = ", ".join(metric(r.score) or "failed" for r in trial.restarts)
        objective = next((r.objective for r in reversed(trial.restarts) if r.objective), None)
        chosen = trial.chosen_restart
        lines.append(f"Restarts of {trial.restarts[-1].epochs} epochs: {scores}"
                     + (f" ({objective})" if objective else "")
                     + (f"; training on restart {chosen.restart}" if chosen is not None else ""))
    return lines


def timestamp(seconds: float | None) -> str:
    """Unix time as local `YYYY-MM-DD HH:MM`; empty for `None`."""
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")
