"""The run view: one run, live from its `events.jsonl`, or as its log left it.

It polls the log with `kerasmnist.events.EventTail` from a timer, so it shows
the same for a run started here, one started from the command line, and one
that ended long ago. A log that cannot be read (a FIFO, a directory) is never
opened, and what of a log could not be read is said under the progress.
"""

from __future__ import annotations

import time
from pathlib import Path

from kerasmnist_tui.control import cancel_run, resume_run
from kerasmnist_tui.mistakes import MistakeSearch, MistakesError
from kerasmnist_tui.screens.base import AppScreen
from kerasmnist_tui.widgets import (
    ConfusionView,
    Curves,
    EpochTable,
    FrontView,
    Leaderboard,
    MistakeGrid,
    ProgressPanel,
)
from kerasmnist_tui.widgets.parallel import HyperparametersView
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Header, TabbedContent, TabPane

from kerasmnist.events import EventTail
from kerasmnist.runs.rundir import EVENTS_FILE, MODEL_FILE, is_running
from kerasmnist.runs.state import RunState, RunStatus

__all__ = ["RunScreen"]

_PROBE_SECONDS = 2.0


class RunScreen(AppScreen):
    """Progress, the epoch table, the trial leaderboard, curves, the confusion matrix,
    the misclassified test images, the accuracy-versus-weights front and the hyperparameters'
    importance and parallel coordinates of one run.

    Args:
        run_dir: The run directory.
    """

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (150, "-wide")]
    """Tables beside the plots from 150 columns, above them below that."""

    BINDINGS = [
        Binding("escape", "back", "Runs"),
        Binding("c", "cancel_run", "Cancel run"),
        Binding("r", "resume_run", "Resume"),
        Binding("t", "next_tab", "Next plot"),
        Binding("m", "toggle_normalized", "Counts/shares"),
        Binding("f", "follow", "Follow"),
        Binding("p", "toggle_front", "Front"),
        Binding("h", "toggle_hyperparameters", "Hyperparams"),
        Binding("w", "write_report", "Write report"),
    ]

    def __init__(self, run_dir: Path) -> None:
        super().__init__()
        self.run_dir = Path(run_dir)
        self.state = RunState()
        self.status = RunStatus.NEW
        self.chosen: str | None = None
        self._tail = EventTail(self.run_dir / EVENTS_FILE)
        self._alive: bool | None = None
        self._probed = 0.0
        self._mistakes: MistakeSearch | None = None
        self._mistakes_done = False
        self._read_error: str | None = None
        self._before_toggle = "curves-pane"  # the tab a toggled one (front, hyperparameters) goes back to

    def compose(self) -> ComposeResult:
        yield Header()
        yield ProgressPanel(id="progress")
        with Container(id="run-body"):
            with Vertical(id="run-tables"):
                yield Leaderboard(id="leaderboard")
                yield EpochTable(id="epochs")
            with TabbedContent(id="run-plots", initial="curves-pane"):
                with TabPane("Curves", id="curves-pane"):
                    yield Curves(id="curves")
                with TabPane("Confusion", id="confusion-pane"), VerticalScroll():
                    yield ConfusionView(id="confusion")
                with TabPane("Mistakes", id="mistakes-pane"), VerticalScroll():
                    yield MistakeGrid(id="mistakes")
                with TabPane("Front", id="front-pane"):
                    yield FrontView(id="front")
                with TabPane("Hyperparameters", id="hyperparameters-pane"):
                    yield HyperparametersView(id="hyperparameters")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.run_dir.name
        self.query_one("#leaderboard").border_title = "Trials"
        self.query_one("#epochs").border_title = "Epochs"
        self.poll()
        self.set_interval(self.kapp.poll_interval, self.poll)

    def on_unmount(self) -> None:
        if self._mistakes is not None:
            self._mistakes.cancel()
            self._mistakes = None

    # -- following the log --------------------------------------------------------------

    def poll(self) -> None:
        """Reads new events, updates what changed, and the clock."""
        try:
            events = self._tail.poll()
            self._read_error = None
        except OSError as error:
            events, self._read_error = [], f"Cannot read the event log: {error}"
        changed = self.state.apply(events)
        self.status = self._status()
        if changed:
            self._draw_data()
        self._draw_progress()
        self._poll_mistakes()

    def _status(self) -> RunStatus:
        launched = self.kapp.launcher.get(self.run_dir)
        if launched is not None and launched.alive:
            self._alive = True
            status = self.state.status(True)
            if launched.stopping and status in (RunStatus.RUNNING, RunStatus.STARTING):
                return RunStatus.STOPPING
            return status
        if launched is not None:
            self._alive = False
        elif self.state.phase is RunStatus.RUNNING:
            now = time.monotonic()
            if now - self._probed >= _PROBE_SECONDS:  # another process may run it: ask its lock
                self._probed = now
                self._alive = is_running(self.run_dir)
        else:
            self._alive = None
        return self.state.status(self._alive)

    def _draw_progress(self) -> None:
        launched = self.kapp.launcher.get(self.run_dir)
        note = self._read_error
        if (launched is not None and not launched.alive and launched.error()
                and self.status is not RunStatus.FAILED):
            note = f"The kerasmnist process failed: {launched.error()}"
        elif self.status is RunStatus.STOPPING:
            note = "Stopping: the run records where it stopped and leaves a resumable directory."
        elif self.status is RunStatus.INTERRUPTED:
            note = "Interrupted: press r to resume (completed trials are kept)."
        elif self.status is RunStatus.STARTING:
            note = "Starting: the run loads TensorFlow in its own process."
        if self.state.damage is not None:
            note = "\n".join(filter(None, (note, f"Note: {EVENTS_FILE}: {self.state.damage}")))
        progress = self.state.progress(time.time(), self._alive)
        command = launched.command if launched is not None else None
        self.query_one(ProgressPanel).show(self.state, self.status, progress, note=note, command=command)

    def _draw_data(self) -> None:
        follow = self.chosen is None
        self.query_one(Leaderboard).sync(self.state)
        self.query_one(EpochTable).sync(self.state, follow=follow)
        self.query_one(FrontView).sync(self.state)
        self.query_one(HyperparametersView).sync(self.state)
        self._update_importance()
        self._draw_trial()

    def _draw_trial(self) -> None:
        trial = self.state.trials.get(self.chosen) if self.chosen else self.state.focus_trial()
        self.query_one(Curves).plot(trial)
        confusion = self.query_one(ConfusionView)
        test = self.state.test_confusion
        if self.chosen is None and test is not None:
            source, title = test, f"Test set, final model (trial {test.get('trial_id')})"
        elif trial is not None and trial.confusion is not None:
            epoch = trial.confusion.get("epoch")
            source = trial.confusion
            title = f"Validation set, trial {trial.trial_id}" + (
                f", epoch {int(epoch) + 1}" if isinstance(epoch, int) else "")
        else:
            confusion.show(None, [], "")
            return
        confusion.show(source.get("matrix"), source.get("class_names") or [], title)

    # -- misclassified images -----------------------------------------------------------

    def _poll_mistakes(self) -> None:
        grid = self.query_one(MistakeGrid)
        if self._mistakes is not None:
            try:
                report = self._mistakes.poll()
            except MistakesError as error:
                self._mistakes, self._mistakes_done = None, True
                grid.show_message(f"Could not find the mistakes: {error}")
                return
            if report is not None:
                self._mistakes, self._mistakes_done = None, True
                grid.show_report(report)
            return
        wanted = self.query_one(TabbedContent).active == "mistakes-pane"
        if (wanted and not self._mistakes_done and self.status is RunStatus.FINISHED
                and (self.run_dir / MODEL_FILE).is_file()):
            self._mistakes = MistakeSearch(self.run_dir, python=self.kapp.launcher.python)
            grid.show_message("Predicting the test set with the best model (in its own process)…")

    @on(TabbedContent.TabActivated, "#run-plots")
    def _tab_activated(self) -> None:
        self._poll_mistakes()
        self._update_importance()

    def _update_importance(self) -> None:
        """The importance fits a forest (in a thread): only while its tab is shown."""
        if self.query_one(TabbedContent).active == "hyperparameters-pane":
            self.query_one(HyperparametersView).update_importance()

    # -- choosing a trial ---------------------------------------------------------------

    @on(DataTable.RowSelected, "#leaderboard")
    def _trial_chosen(self, event: DataTable.RowSelected) -> None:
        self.chosen = str(event.row_key.value)
        self._draw_trial()
        self.notify(f"Showing trial {self.chosen}; press f to follow the run again.", timeout=3)

    def action_follow(self) -> None:
        """Goes back to showing the running (or best) trial and the final test matrix."""
        self.chosen = None
        self._draw_trial()

    def action_next_tab(self) -> None:
        """Shows the next of the curves, the confusion matrix and the mistakes."""
        tabs = self.query_one(TabbedContent)
        panes = [pane.id for pane in tabs.query(TabPane)]
        tabs.active = str(panes[(panes.index(tabs.active) + 1) % len(panes)])

    def action_toggle_front(self) -> None:
        """Shows the front of the run's trials by weights, or goes back to the plot shown before."""
        self._toggle("front-pane")

    def action_toggle_hyperparameters(self) -> None:
        """Shows the hyperparameters' importance and parallel coordinates, or goes back."""
        self._toggle("hyperparameters-pane")

    def _toggle(self, pane: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active == pane:
            tabs.active = self._before_toggle
        else:
            if tabs.active not in ("front-pane", "hyperparameters-pane"):
                self._before_toggle = tabs.active or "curves-pane"
            tabs.active = pane

    def action_toggle_normalized(self) -> None:
        """Switches the confusion matrix between counts and row shares."""
        view = self.query_one(ConfusionView)
        view.normalized = not view.normalized

    # -- control ------------------------------------------------------------------------

    def action_cancel_run(self) -> None:
        """Stops the run gracefully, leaving a resumable directory."""
        if cancel_run(self.kapp, self.run_dir, self.status):
            self.poll()

    def action_resume_run(self) -> None:
        """Resumes an interrupted run."""
        if resume_run(self.kapp, self.run_dir, self.status):
            self._mistakes_done = False
            self.poll()

    def action_write_report(self) -> None:
        """Writes the run's HTML report (`kerasmnist report`) into its directory, off the UI thread."""
        self.notify(f"Writing the report of {self.run_dir.name}…", timeout=3)
        self._write_report()

    @work(thread=True, exclusive=True, group="report")
    def _write_report(self) -> None:
        # In a process of its own: the report loads the run's model, and so Keras.
        import json
        import subprocess

        done = subprocess.run([self.kapp.launcher.python, "-m", "kerasmnist.cli", "report",
                               str(self.run_dir), "--json"],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False)
        try:
            document = json.loads(done.stdout)
        except ValueError:
            lines = done.stderr.strip().splitlines()
            document = {"error": lines[-1] if lines else f"exit status {done.returncode}"}
        if isinstance(document, dict) and "report" in document:
            self.app.call_from_thread(self.notify, f"Report written: {document['report']}", timeout=8)
        else:
            error = document.get("error") if isinstance(document, dict) else document
            self.app.call_from_thread(self.notify, f"No report: {error}", severity="error", timeout=8)

    def action_back(self) -> None:
        """Back to the runs list."""
        self.dismiss()
