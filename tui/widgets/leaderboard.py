"""The trials ranked by the objective, with weight counts and the hyperparameters that differ."""

from __future__ import annotations

from kerasmnist_tui.formatting import STATUS_STYLES, metric
from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from kerasmnist.runs.state import RunState, RunStatus, TrialState, TrialStatus
from kerasmnist.runs.trials import short_value

__all__ = ["Leaderboard"]

_TRIAL_STYLES = {TrialStatus.COMPLETED: "green", TrialStatus.RUNNING: STATUS_STYLES[RunStatus.RUNNING],
                 TrialStatus.PRUNED: "magenta", TrialStatus.FAILED: "red",
                 TrialStatus.INTERRUPTED: STATUS_STYLES[RunStatus.INTERRUPTED]}


class Leaderboard(DataTable[Text]):
    """Trials best first; a running trial shows its best epoch so far, dimmed.

    Select a row (Enter) to show that trial's curves and confusion matrix; the
    row key is the trial id.

    Args:
        max_hyperparameters: The most hyperparameter columns shown. Defaults to `6`.
    """

    BINDINGS = [Binding("enter", "select_cursor", "Show trial")]

    DEFAULT_CSS = """
    Leaderboard {
        height: 1fr;
    }
    """

    def __init__(self, *, max_hyperparameters: int = 6, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self.max_hyperparameters = max_hyperparameters
        self._columns: tuple[str, ...] = ()

    def sync(self, state: RunState) -> None:
        """Shows the trials of `state`: the cursor stays on its trial while the table has
        focus, else it goes to the best trial."""
        varying = state.varying_hyperparameters()[:self.max_hyperparameters]
        columns = ("#", "trial", "status", state.objective, "weights", "epochs", *varying)
        selected = self._selected_key() if self.has_focus else None
        if columns != self._columns:
            self.clear(columns=True)
            for name in columns:
                self.add_column(name, key=name)
            self._columns = columns
        else:
            self.clear()
        best = state.best()
        rank = 0
        for trial in state.ranked():
            rank += trial.score is not None
            self.add_row(*self._cells(state, trial, rank, best, varying), key=trial.trial_id)
        if selected is not None and selected in state.trials:
            self.move_cursor(row=self.get_row_index(selected))

    def _selected_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return key.value

    @staticmethod
    def _cells(state: RunState, trial: TrialState, rank: int, best: TrialState | None,
               varying: list[str]) -> list[Text]:
        if trial.score is not None:
            score = Text(metric(trial.score), justify="right")
        else:
            live = [v for v in trial.history(state.objective) if v is not None]
            pick = min if state.direction == "min" else max
            score = Text(metric(pick(live)) if live else "", style="dim italic", justify="right")
        epochs = f"{trial.epochs_done}" + (f"/{trial.planned_epochs}" if trial.planned_epochs else "")
        name = Text(trial.trial_id, style="bold" if trial is best else "")
        if trial is best:
            name.append(" ★", style="yellow")
        return [
            Text(str(rank) if trial.score is not None else "", justify="right"),
            name,
            Text(str(trial.status), style=_TRIAL_STYLES.get(trial.status, "")),
            score,
            Text("" if trial.params is None else f"{trial.params:,}", justify="right"),
            Text(epochs, justify="right"),
            *(Text(short_value(trial.hyperparameters.get(name)), justify="right") for name in varying),
        ]
