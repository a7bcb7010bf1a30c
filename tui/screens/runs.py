"""The runs list: every run of the runs directory, with status, data set, model, best score."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from kerasmnist_tui.control import cancel_run, resume_run
from kerasmnist_tui.formatting import metric, status_text, timestamp
from kerasmnist_tui.screens.base import AppScreen
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Static
from textual.widgets.data_table import CellDoesNotExist
from textual.worker import Worker, WorkerState

from kerasmnist.runs.rundir import RunInfo
from kerasmnist.runs.state import RunStatus

__all__ = ["RunsScreen"]

COLUMNS = ("run", "status", "dataset", "model", "search", "trials", "best", "test acc", "started")


class RunsScreen(AppScreen):
    """The runs found in the runs directory, newest first, refreshed while the app runs.

    A run started from this window shows `starting` until its process has
    written its first event, and `stopping` after a cancel until it has ended.
    A run whose files cannot be read shows `damaged`, and why below the table
    when highlighted; it is not resumed.
    """

    BINDINGS = [
        Binding("n", "new_run", "New run"),
        Binding("o", "open_run", "Open"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "resume_run", "Resume"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.infos: dict[str, RunInfo] = {}
        self.statuses: dict[str, RunStatus] = {}
        self._loading = False
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="runs-title")
        yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static(id="run-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Runs"
        table = self.query_one("#runs-table", DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.query_one("#runs-title", Static).update(f"Runs in {self.kapp.runs_dir}/ — loading…")
        self.refresh_runs()
        self._timer = self.set_interval(self.kapp.refresh_interval, self.refresh_runs)

    def on_screen_suspend(self) -> None:
        if self._timer is not None:
            self._timer.pause()  # another screen is on top: nothing to show

    def on_screen_resume(self) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.refresh_runs()

    # -- reading ------------------------------------------------------------------------

    def refresh_runs(self) -> None:
        """Reads the runs directory again, in a thread (reading a spec can be slow)."""
        if self._loading:
            return
        self._loading = True
        self.run_worker(self.kapp.index.refresh, thread=True, name="runs", group="runs")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != "runs" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        self._loading = False
        if event.state == WorkerState.SUCCESS:
            self.show_runs(cast("list[RunInfo]", event.worker.result))

    def show_runs(self, infos: list[RunInfo]) -> None:
        """Shows `infos` (newest first), keeping the cursor on the same run."""
        table = self.query_one("#runs-table", DataTable)
        selected = self._selected()
        self.infos = {str(i.path): i for i in infos}
        rows = {str(i.path): self._cells(i) for i in infos}
        if list(rows) != [str(k.value) for k in table.rows]:
            table.clear()
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
        else:
            for key, cells in rows.items():
                for column, cell in zip(COLUMNS, cells, strict=True):
                    if table.get_cell(key, column) != cell:
                        table.update_cell(key, column, cell, update_width=True)
        if selected in rows:
            table.move_cursor(row=table.get_row_index(selected))
        title = f"Runs in {self.kapp.runs_dir}/: {len(infos)}"
        damaged = sum(info.status is RunStatus.DAMAGED for info in infos)
        if damaged:
            title += f", {damaged} damaged"
        active = len(self.kapp.launcher.active())
        if active:
            title += f", {active} started here and still going"
        self.query_one("#runs-title", Static).update(
            title if infos else f"No runs in {self.kapp.runs_dir}/ yet. Press n to start one.")
        self._show_detail()

    def _cells(self, info: RunInfo) -> list[Text]:
        status = self._status(info)
        self.statuses[str(info.path)] = status
        spec = info.spec
        planned = f"/{info.trials_planned}" if info.trials_planned else ""
        return [
            Text(info.path.name),
            Text(str(status), style="bold red") if status is RunStatus.DAMAGED else status_text(status),
            Text(spec.dataset if spec else "?"),
            Text(spec.model if spec else "?"),
            Text(spec.search if spec else "?"),
            Text(f"{info.trials_done}{planned}", justify="right"),
            Text(metric(info.best_score), justify="right"),
            Text(metric(info.test_accuracy), justify="right"),
            Text(timestamp(info.started)),
        ]

    def _status(self, info: RunInfo) -> RunStatus:
        launched = self.kapp.launcher.get(info.path)
        if launched is None or not launched.alive or info.status is RunStatus.DAMAGED:
            return info.status
        if launched.stopping:
            return RunStatus.STOPPING
        return RunStatus.RUNNING if info.status is RunStatus.RUNNING else RunStatus.STARTING

    def _selected(self) -> str | None:
        table = self.query_one("#runs-table", DataTable)
        if not table.row_count:
            return None
        try:
            return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None

    def _show_detail(self) -> None:
        key = self._selected()
        info = self.infos.get(key) if key else None
        detail = self.query_one("#run-detail", Static)
        if info is None:
            detail.update("")
            return
        text = Text(str(info.path), style="dim")
        if info.problem:
            text.append(f"\nDamaged: {info.problem}", style="red")
        elif info.note:
            text.append(f"\nNote: {info.note}", style="yellow")
        if info.error and info.status is RunStatus.FAILED:
            text.append("\n" + info.error, style="red")
        elif info.status is RunStatus.INTERRUPTED:
            text.append("\nInterrupted: press r to resume it.", style="magenta")
        detail.update(text)

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected, "#runs-table")
    def _selected_row(self, event: DataTable.RowSelected) -> None:
        self.kapp.open_run(Path(str(event.row_key.value)))

    # -- actions ------------------------------------------------------------------------

    def action_new_run(self) -> None:
        """Opens the new-run form."""
        self.kapp.new_run()

    def action_open_run(self) -> None:
        """Opens the highlighted run."""
        key = self._selected()
        if key is not None:
            self.kapp.open_run(Path(key))

    def action_cancel_run(self) -> None:
        """Stops the highlighted run gracefully."""
        key = self._selected()
        if key is not None and cancel_run(self.kapp, Path(key), self.statuses.get(key, RunStatus.NEW)):
            self.refresh_runs()

    def action_resume_run(self) -> None:
        """Resumes the highlighted run."""
        key = self._selected()
        info = self.infos.get(key) if key else None
        if info is not None and info.problem:
            self.notify(f"{info.path.name} is damaged: {info.problem}", title="Resume", severity="warning")
            return
        if key is not None and resume_run(self.kapp, Path(key), self.statuses.get(key, RunStatus.NEW)):
            self.refresh_runs()
