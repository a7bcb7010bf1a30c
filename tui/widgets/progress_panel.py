"""The run view's head: status, trial and epoch progress, times, results or the error."""

from __future__ import annotations

from kerasmnist_tui.formatting import metric, setup_lines, status_text
from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from kerasmnist.runs.state import Progress, RunState, RunStatus, duration_text

__all__ = ["ProgressPanel"]


class ProgressPanel(Static):
    """Where a run stands: trial i of N, epoch j of M, elapsed and remaining time, and
    what a search has spent (epochs, CPU time, what pruning saved).

    Below that, what ran before the current trial's epochs (a teacher, random
    restarts), the final results of a finished run, the end of the error of a
    failed one, and a note (such as "stopping") when there is one.
    """

    DEFAULT_CSS = """
    ProgressPanel {
        height: auto;
        padding: 0 1;
        border: round $primary;
        border-title-color: $text;
    }
    """

    status: RunStatus = RunStatus.NEW
    """The status last drawn."""

    def show(self, state: RunState, status: RunStatus, progress: Progress, *, note: str | None = None,
             command: str | None = None) -> None:
        """Draws the panel.

        Args:
            state: The run's state.
            status: Its status (see `RunState.status`).
            progress: Its progress (`RunState.progress`).
            note: A line to show in the accent colour. Defaults to `None`.
            command: The command line that runs it, shown dimmed. Defaults to `None`.
        """
        self.status = status
        self.update(Group(*self._lines(state, status, progress, note, command)))

    def _lines(self, state: RunState, status: RunStatus, progress: Progress, note: str | None,
               command: str | None) -> list[RenderableType]:
        spec = state.spec
        head = Text.assemble(status_text(status), "  ")
        if spec:
            search = spec.get("search", "none")
            head.append(f"{spec.get('dataset', '?')} · {spec.get('model', '?')} · "
                        + ("training" if search == "none" else f"{search} search")
                        + f" · objective {state.objective}")
        lines: list[RenderableType] = [head]
        bars = Table.grid(padding=(0, 1))
        for _ in range(4):
            bars.add_column()
        trials, epochs = progress.trials, progress.epochs
        of_trials, of_epochs = (f"of {trials}" if trials else "of ?"), (f"of {epochs}" if epochs else "of ?")
        if status in (RunStatus.RUNNING, RunStatus.STOPPING) and progress.trial > progress.done:
            trial_label = f"Trial {progress.trial} {of_trials}"
            epoch_label = f"Epoch {progress.epoch} {of_epochs}"
        else:
            trial_label = f"{progress.done} {of_trials} trials done"
            epoch_label = f"last trial: epoch {progress.epoch} {of_epochs}" if progress.epoch else ""
        bars.add_row(
            Text(trial_label),
            ProgressBar(total=float(trials or 1), completed=float(min(progress.done, trials or 0)), width=16),
            Text(f"  {epoch_label}"),
            ProgressBar(total=float(epochs or 1), completed=float(min(progress.epoch, epochs or 0)), width=16)
            if epoch_label else Text(""),
        )
        lines.append(bars)
        times = f"Elapsed {duration_text(progress.elapsed) or '0s'}"
        if progress.remaining is not None:
            times += f" · remaining ~{duration_text(progress.remaining)}"
        best = state.best()
        if best is not None:
            times += f" · best {state.objective} {metric(best.score)} (trial {best.trial_id})"
        lines.append(Text(times))
        if spec and spec.get("search", "none") != "none" and state.trials:
            lines.append(Text("Spent: " + state.spend().describe(), style="dim"))
        trial = state.trials.get(state.current) if state.current is not None else None
        if trial is not None:
            lines.extend(Text(line, style="cyan") for line in setup_lines(trial))
        summary = state.summary
        if status == RunStatus.FINISHED and summary:
            lines.append(self._results(summary))
        if state.error_tail and status == RunStatus.FAILED:
            lines.append(Text(state.error_tail, style="red"))
        if note:
            lines.append(Text(note, style="bold magenta"))
        if command:
            lines.append(Text(f"$ {command}", style="dim"))
        return lines

    @staticmethod
    def _results(summary: dict) -> Text:
        text = Text("Test accuracy ", style="bold green")
        text.append(metric(summary.get("test_accuracy")), style="bold green")
        if isinstance(summary.get("params"), int):
            text.append(f" · {summary['params']:,} weights")
        if summary.get("best_trial") is not None:
            text.append(f" · best trial {summary['best_trial']}")
        splits = [s for s in summary.get("splits") or [] if isinstance(s, dict)]
        if splits:
            text.append(" · accuracy " + ", ".join(f"{s.get('split')} {metric(s.get('accuracy'))}"
                                                   for s in splits))
        return text
