"""Small text formats shared by the screens and widgets."""

from __future__ import annotations

import datetime
import math
from typing import Any

__all__ = ["STATUS_STYLES", "duration", "metric", "setup_lines", "short_value", "status_text",
           "timestamp"]

STATUS_STYLES = {
    "running": "bold yellow",
    "starting": "yellow",
    "stopping": "bold magenta",
    "finished": "bold green",
    "failed": "bold red",
    "interrupted": "magenta",
    "new": "dim",
}
"""The style of each run status, wherever a status is shown."""


def status_text(status: str) -> Any:
    """A run status as styled Rich text."""
    from rich.text import Text

    return Text(status, style=STATUS_STYLES.get(status, ""))


def duration(seconds: float | None) -> str:
    """`42s`, `3m 05s` or `1h 02m`; an empty string for `None`.

    Example:

    >>> duration(42.4), duration(185), duration(3725)
    ('42s', '3m 05s', '1h 02m')
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


def metric(value: Any, digits: int = 4) -> str:
    """A logged metric with `digits` decimals; empty for a missing or non-numeric value.

    Example:

    >>> metric(0.40799999237), metric(None), metric(2)
    ('0.4080', '', '2.0000')
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return ""
    return f"{value:.{digits}f}"


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


def setup_lines(events: list[dict[str, Any]]) -> list[str]:
    """What ran before a trial's epochs (`TrialState.setup`), a line per step.

    Example:

    >>> for line in setup_lines([
    ...         {"event": "teacher_trained", "teacher": "mnist_cnn", "epochs": 15,
    ...          "logs": {"val_accuracy": 0.993}},
    ...         {"event": "restart_ended", "restart": 0, "epochs": 10, "score": 0.8518,
    ...          "objective": "val_accuracy"},
    ...         {"event": "restart_ended", "restart": 1, "epochs": 10, "score": None},
    ...         {"event": "restart_ended", "restart": 2, "epochs": 10, "score": 0.9004},
    ...         {"event": "restart_chosen", "restart": 2, "epochs": 10, "score": 0.9004}]):
    ...     print(line)
    Teacher mnist_cnn trained: 15 epochs, val_accuracy 0.9930
    Restarts of 10 epochs: 0.8518, failed, 0.9004 (val_accuracy); training on restart 2
    """
    lines: list[str] = []
    restarts: list[str] = []
    objective, epochs, chosen = "", None, ""
    for event in events:
        kind = event.get("event")
        if kind == "teacher_trained":
            logs = event.get("logs") or {}
            key = "val_accuracy" if metric(logs.get("val_accuracy")) else "accuracy"
            shown = f", {key} {metric(logs.get(key))}" if metric(logs.get(key)) else ""
            lines.append(f"Teacher {event.get('teacher')} trained: {event.get('epochs')} epochs"
                         + shown)
        elif kind == "restart_ended":
            restarts.append(metric(event.get("score")) or "failed")
            objective = event.get("objective") or objective
            epochs = event.get("epochs", epochs)
        elif kind == "restart_chosen":
            chosen = f"; training on restart {event.get('restart')}"
    if restarts:
        lines.append(f"Restarts of {epochs} epochs: {', '.join(restarts)}"
                     + (f" ({objective})" if objective else "") + chosen)
    return lines


def timestamp(seconds: float | None) -> str:
    """Unix time as local `YYYY-MM-DD HH:MM`; empty for `None`."""
    if seconds is None:
        return ""
    return datetime.datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M")
