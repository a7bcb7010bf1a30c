"""Live progress of a run on the terminal, drawn from its events."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["RunProgress"]


class RunProgress:
    """An event listener that shows trials and epochs as Rich progress bars.

    Each bar shows its count, the elapsed time and an estimate of what remains;
    each trial's end is also printed as a line, so a log of a run that was not
    watched on a terminal still tells its story.

    Args:
        console: Where to draw (standard error, so `--json` output stays clean).
        trials_done: Trials an earlier start of the run already finished.
    """

    def __init__(self, console: Console, *, trials_done: int = 0) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("elapsed"), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(),
            console=console, transient=False,
        )
        self._trials = self.progress.add_task("trials", total=None, completed=trials_done)
        self._epochs = self.progress.add_task("epochs", total=None)
        self._trial_id: str | None = None
        self._objective = "val_accuracy"

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "run_started":
            plan = event.get("plan") or {}
            self._objective = (event.get("spec") or {}).get("objective", self._objective)
            self.progress.update(self._trials, total=plan.get("trials"))
            self.progress.update(self._epochs, total=plan.get("epochs"))
        elif kind == "trial_started":
            self._trial_id = event.get("trial_id")
            self.progress.reset(self._epochs, description=f"trial {self._trial_id} epochs")
        elif kind == "epoch_ended":
            logs = event.get("logs") or {}
            value = logs.get(self._objective)
            shown = f" {self._objective} {value:.4f}" if isinstance(value, (int, float)) else ""
            self.progress.update(self._epochs, completed=int(event.get("epoch", 0)) + 1,
                                 total=event.get("epochs"),
                                 description=f"trial {event.get('trial_id')} epochs{shown}")
        elif kind == "teacher_trained":
            value = (event.get("logs") or {}).get(self._objective)
            shown = f", {self._objective} {value:.4f}" if isinstance(value, (int, float)) else ""
            self.progress.console.print(
                f"trial {event.get('trial_id')}: teacher {event.get('teacher')} trained "
                f"({event.get('epochs')} epochs, {event.get('seconds', 0):.0f} s{shown})")
        elif kind in ("restart_ended", "restart_chosen"):
            score = event.get("score")
            shown = (f"{event.get('objective')} {score:.4f}" if isinstance(score, (int, float))
                     else event.get("message") or "no score")
            what = "ended" if kind == "restart_ended" else "chosen, training on"
            self.progress.console.print(
                f"trial {event.get('trial_id')}: restart {event.get('restart')} {what} "
                f"({event.get('epochs')} epochs, {shown})")
        elif kind == "trial_ended":
            self.progress.advance(self._trials)
            score = event.get("score")
            shown = f"{self._objective} {score:.4f}" if isinstance(score, (int, float)) else "no score"
            params = event.get("params")
            weights = f", {params:,} weights" if isinstance(params, int) else ""
            line = f"trial {event.get('trial_id')}: {event.get('status')}, {shown}{weights}"
            if event.get("message"):
                line += f" ({event['message']})"
            self.progress.console.print(line)
