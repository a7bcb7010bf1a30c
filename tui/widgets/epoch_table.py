"""Every epoch of every trial: Keras's metrics, the validation and full-eval metrics, time."""

from __future__ import annotations

from kerasmnist_tui.formatting import metric
from rich.text import Text
from textual.widgets import DataTable

from kerasmnist.runs.state import LOG_KEYS, RunState

__all__ = ["EpochTable"]

_HEADERS = {"loss": "loss", "accuracy": "acc", "val_loss": "val_loss", "val_accuracy": "val_acc",
            "train_loss": "train_loss", "train_accuracy": "train_acc"}


class EpochTable(DataTable[Text]):
    """A table of epochs, one row each, filled in as they end.

    `loss` and `acc` are Keras's running means over the epoch's batches;
    `train_*` are the full evaluation of the training set after the epoch
    (`FullEvalMetrics`), comparable with `val_*`; `secs` is the epoch's time.
    """

    DEFAULT_CSS = """
    EpochTable {
        height: 1fr;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        self.add_column("trial", key="trial")
        self.add_column("epoch", key="epoch")
        for key in LOG_KEYS:
            self.add_column(_HEADERS[key], key=key)
        self.add_column("secs", key="seconds")

    def sync(self, state: RunState, *, follow: bool = True) -> None:
        """Shows the epochs of `state`, adding and updating rows in place where it can.

        Args:
            state: The run's state.
            follow: Whether to move to the last row when rows are added.
                Defaults to `True`.
        """
        wanted: dict[str, tuple[str, ...]] = {}
        for trial in state.trials.values():
            for event in trial.epochs:
                logs = event.get("logs") or {}
                planned = f"/{trial.planned_epochs}" if trial.planned_epochs else ""
                wanted[f"{trial.trial_id}:{event.get('epoch')}"] = (
                    trial.trial_id, f"{int(event.get('epoch', 0)) + 1}{planned}",
                    *(metric(logs.get(key)) for key in LOG_KEYS), metric(event.get("seconds"), 2))
        keys = list(self._rows)
        if list(wanted)[:len(keys)] != keys:
            self.clear()
            self._rows = {}
            keys = []
        added = False
        for key, cells in wanted.items():
            if key not in self._rows:
                self.add_row(*(_cell(i, c) for i, c in enumerate(cells)), key=key)
                added = True
            elif self._rows[key] != cells:
                for index, (column, old, new) in enumerate(zip(self.columns, self._rows[key], cells,
                                                               strict=True)):
                    if old != new:
                        self.update_cell(key, column, _cell(index, new), update_width=True)
            self._rows[key] = cells
        if added and follow:
            self.move_cursor(row=self.row_count - 1)

    def values(self, trial_id: str, epoch: int) -> dict[str, str]:
        """The cells shown for one epoch (0-based, as logged), by column key; for tests and tools."""
        cells = self._rows[f"{trial_id}:{epoch}"]
        return {str(column.value): value for column, value in zip(self.columns, cells, strict=True)}


def _cell(index: int, value: str) -> Text:
    return Text(value, justify="left" if index == 0 else "right")
