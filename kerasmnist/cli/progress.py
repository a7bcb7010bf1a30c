"""Live progress of a run on the terminal, drawn from its events as `RunState` folds them."""

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

from kerasmnist.events import EventType
from kerasmnist.runs.state import Restart, RunState, TrialState

__all__ = ["RunProgress"]


class RunProgress:
    """An event listener that shows trials and epochs as Rich progress bars.

    Each bar shows its count, the elapsed time and an estimate of what remains;
    each trial's end is also printed as a line, so a log of a run that was not
    watched on a terminal still tells its story. What it shows comes from the
    events it is given, folded into `state`.

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
        self.state = RunState()

    def __enter__(self) -> RunProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.progress.stop()

    def __call__(self, event: dict[str, Any]) -> None:
        self.state.apply([event])
        kind = event.get("event")
        trial = self.state.trial_of(event)
        objective = self.state.objective
        if kind == EventType.RUN_STARTED:
            self.progress.update(self._trials, total=self.state.trials_planned)
            self.progress.update(self._epochs, total=self.state.plan.get("epochs"))
        elif trial is None:
            return
        elif kind == EventType.TRIAL_STARTED:  # a trial resumed from its checkpoint goes on from there
            self.progress.reset(self._epochs, description=f"trial {trial.trial_id} epochs",
                                completed=trial.epochs_done, total=trial.planned_epochs)
        elif kind == EventType.EPOCH_ENDED:
            value = trial.history(objective)[-1]
            shown = f" {objective} {value:.4f}" if value is not None else ""
            self.progress.update(self._epochs, completed=trial.epochs_done, total=trial.planned_epochs,
                                 description=f"trial {trial.trial_id} epochs{shown}")
        elif kind == EventType.TEACHER_TRAINED and trial.teacher is not None:
            teacher = trial.teacher
            value = teacher.logs.get(objective)
            shown = f", {objective} {value:.4f}" if isinstance(value, (int, float)) else ""
            self._print(trial, f"teacher {teacher.teacher} trained ({teacher.epochs} epochs, "
                               f"{teacher.seconds or 0:.0f} s{shown})")
        elif kind == EventType.RESTART_ENDED and trial.restarts:
            self._print_restart(trial, trial.restarts[-1], "ended")
        elif kind == EventType.RESTART_CHOSEN and trial.chosen_restart is not None:
            self._print_restart(trial, trial.chosen_restart, "chosen, training on")
        elif kind == EventType.TRIAL_ENDED:
            self.progress.advance(self._trials)
            shown = f"{objective} {trial.score:.4f}" if trial.score is not None else "no score"
            weights = f", {trial.params:,} weights" if trial.params is not None else ""
            line = f"{trial.status}, {shown}{weights}"
            if trial.message:
                line += f" ({trial.message})"
            self._print(trial, line)

    def _print_restart(self, trial: TrialState, restart: Restart, what: str) -> None:
        shown = (f"{restart.objective} {restart.score:.4f}" if restart.score is not None
                 else restart.message or "no score")
        self._print(trial, f"restart {restart.restart} {what} ({restart.epochs} epochs, {shown})")

    def _print(self, trial: TrialState, text: str) -> None:
        self.progress.console.print(f"trial {trial.trial_id}: {text}")
