"""The new-run form: data set, model, search, trials, epochs, budget, validation, seed.

The form checks its values with the library's `kerasmnist.runs.spec.check_spec`,
field by field, so it says exactly what the command line would; errors show
under their field and block the launch. A valid spec is written into a new run
directory in this process (`kerasmnist.runs.prepare`: the name, then the resolved
`spec.toml`; Keras-free and quick), and the run starts as `kerasmnist resume DIR`
in a process of its own (`Launcher.launch`).

Only a hypermodel's overrides are left unchecked here: the run process checks
them against the hypermodel's search space as it reads the spec. An empty
Trials field leaves the number to the search kind (`RunSpec.resolved()`: 10 for
a random or Bayesian search; a grid search walks its whole grid). A run without
overrides opens in the run view at once. With overrides
the form stays open (Back stops the launch) until the process has written its
first event, and then hands over to the run view; if the process refuses the
spec instead, its JSON error document names the field, the message goes under
that field, and the directory, which holds only the spec, is removed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from typing import Any

from kerasmnist_tui.choices import dataset_choices, model_choices
from kerasmnist_tui.launcher import LaunchedRun
from kerasmnist_tui.screens.base import AppScreen
from kerasmnist_tui.widgets.form_field import FormField
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, LoadingIndicator, Select, Static

from kerasmnist.errors import InvalidArgumentError, KerasMnistError, error_details
from kerasmnist.events import EventTail
from kerasmnist.runs.prepare import discard_new_run_dir, new_run_dir
from kerasmnist.runs.rundir import EVENTS_FILE
from kerasmnist.runs.spec import SEARCH_KINDS, RunSpec, check_spec, parse_override

__all__ = ["NewRunScreen", "proposed_epochs"]

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunSpec)}
_SEARCH_LABELS = {"none": "none  (train one configuration)", "random": "random", "grid": "grid",
                  "hyperband": "hyperband", "bayesian": "bayesian"}
_REQUIRED_INTS = ("epochs", "seed")
_OPTIONAL_INTS = ("trials", "max_params", "limit")
_STOPPED_SECONDS = 60.0
"""How long a launch stopped from the form may take to end before its directory is left as it is."""


def proposed_epochs(model: str) -> int:
    """The epochs the form proposes for `model`: what a spec with no epochs resolves to.

    >>> proposed_epochs("mnist_cnn"), proposed_epochs("mlp")
    (25, 5)
    """
    return RunSpec(model=model).epoch_count


def _discard_when_ended(launched: LaunchedRun) -> None:
    """Removes the directory of a launch stopped before its run started, once its process ends."""
    with contextlib.suppress(subprocess.TimeoutExpired):
        launched.process.wait(_STOPPED_SECONDS)
    if not launched.alive:
        discard_new_run_dir(launched.run_dir)


class NewRunScreen(AppScreen):
    """A form for a new run; launching it opens the run view."""

    BINDINGS = [
        Binding("ctrl+s", "launch", "Launch"),
        Binding("escape", "back", "Back"),
    ]

    starting: reactive[LaunchedRun | None] = reactive(None, init=False)
    """A launch whose process is checking the overrides, before its first event."""

    def __init__(self) -> None:
        super().__init__()
        self._tail: EventTail | None = None
        self._start_timer: Timer | None = None
        self._proposed_epochs = str(proposed_epochs(str(_DEFAULTS["model"])))

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="form"):
            yield Static("Train one configuration, or search a hypermodel's space with keras-tuner. "
                         "The run goes on in its own process; this window follows it.", id="form-intro")
            yield FormField("Data set", Select(dataset_choices(), value=_DEFAULTS["dataset"],
                                               allow_blank=False, id="dataset", compact=True))
            yield FormField("Model", Select(model_choices(), value=_DEFAULTS["model"],
                                            allow_blank=False, id="model", compact=True),
                            hint="a hypermodel to tune, or a fixed preset")
            yield FormField("Search", Select([(_SEARCH_LABELS.get(s, s), s) for s in SEARCH_KINDS],
                                             value=_DEFAULTS["search"], allow_blank=False, id="search",
                                             compact=True),
                            hint="keras-tuner's tuner")
            yield FormField("Trials", Input("", placeholder="default", id="trials", compact=True),
                            hint="the most trials of a search (default: 10; a grid walks the whole grid)")
            yield FormField("Epochs", Input(self._proposed_epochs, id="epochs", compact=True),
                            hint="per trial (Hyperband: the most)")
            yield FormField("Parameter budget", Input("", placeholder="none", id="max_params", compact=True),
                            hint="the most weights a model may have")
            yield FormField("Validation", Input(str(_DEFAULTS["validation"]), id="validation", compact=True),
                            hint="held out: a count or a fraction")
            yield FormField("Seed", Input(str(_DEFAULTS["seed"]), id="seed", compact=True))
            yield FormField("Training examples", Input("", placeholder="all", id="limit", compact=True),
                            hint="train on the first N only")
            yield FormField("Overrides", Input("", placeholder="e.g. units_0=64; dropout_0=0.1..0.3",
                                               id="overrides", compact=True),
                            hint="fix, restrict or narrow hyperparameters")
            yield Static(id="form-error")
            with Horizontal(id="form-buttons"):
                yield Button("Launch", variant="primary", id="launch")
                yield Button("Back", id="back")
                yield LoadingIndicator(id="form-busy")
            yield Static(id="form-status")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "New run"
        self.query_one("#form-busy").display = False
        self._search_changed()
        self.query_one("#dataset", Select).focus()

    # -- reading and checking ----------------------------------------------------------

    def read_values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """The `RunSpec` fields the form sets, and the errors of text it cannot read."""
        values: dict[str, Any] = {name: self.query_one(f"#{name}", Select).value
                                  for name in ("dataset", "model", "search")}
        errors: dict[str, str] = {}
        for name in (*_REQUIRED_INTS, *_OPTIONAL_INTS):
            if name == "trials" and values["search"] == "none":
                continue
            text = self.query_one(f"#{name}", Input).value.strip()
            if not text:
                if name in _REQUIRED_INTS:
                    errors[name] = "required: an integer"
                continue
            try:
                values[name] = int(text)
            except ValueError:
                errors[name] = f"expected an integer, found {text!r}"
        text = self.query_one("#validation", Input).value.strip()
        try:
            values["validation"] = int(text)
        except ValueError:
            try:
                values["validation"] = float(text)
            except ValueError:
                errors["validation"] = (f"expected a count (e.g. 5000) or a fraction (e.g. 0.1), "
                                        f"found {text!r}")
        overrides: dict[str, Any] = {}
        for part in self.query_one("#overrides", Input).value.split(";"):
            if not part.strip():
                continue
            try:
                name, value = parse_override(part)
            except InvalidArgumentError:
                errors["overrides"] = (f"expected name=value (several separated by ';'), "
                                       f"found {part.strip()!r}")
                continue
            overrides[name] = value
        values["overrides"] = overrides
        return values, errors

    def show_errors(self, errors: dict[str, str], general: str | None = None) -> None:
        """Puts each error under its field; errors of fields the form lacks go below the form."""
        fields = {f.field: f for f in self.query(FormField)}
        for name, field in fields.items():
            field.set_error(errors.get(name))
        rest = [f"{name}: {message}" for name, message in errors.items() if name not in fields]
        if general:
            rest.append(general)
        self.query_one("#form-error", Static).update("\n".join(rest))
        if errors:
            first = next((fields[n] for n in fields if n in errors), None)
            if first is not None:
                first.control.focus()

    def _status(self, message: str) -> None:
        self.query_one("#form-status", Static).update(message)

    # -- launching ----------------------------------------------------------------------

    def action_launch(self) -> None:
        """Checks the form and, if it is valid, prepares the run directory and starts the run."""
        if self.starting is not None:
            return
        values, unreadable = self.read_values()
        spec, errors = check_spec(values, check_overrides=False)  # the run process checks overrides
        errors = {**errors, **unreadable}  # text that is not a number says so first
        self.show_errors(errors)
        if spec is None or errors:
            self._status("Fix the fields marked in red to launch.")
            return
        run_dir = new_run_dir(self.kapp.runs_dir, spec)
        try:
            launched = self.kapp.launcher.launch(spec, run_dir)
        except (KerasMnistError, OSError) as error:
            discard_new_run_dir(run_dir)
            self._not_started(error_details(error))
            return
        if not spec.overrides:
            self.kapp.open_run(run_dir, replace=True)
            return
        self._tail = EventTail(run_dir / EVENTS_FILE)
        self.starting = launched
        self._start_timer = self.set_interval(0.2, self._watch_start)

    def watch_starting(self, launched: LaunchedRun | None) -> None:
        self.query_one("#form-busy").display = launched is not None
        self.query_one("#launch", Button).disabled = launched is not None
        if launched is not None:
            self._status(f"Starting {launched.run_dir.name}: its process loads TensorFlow and checks "
                         "the overrides…")

    def _watch_start(self) -> None:
        """Hands over to the run view at the first event; reports a process that ended before it."""
        launched, tail = self.starting, self._tail
        if launched is None or tail is None:
            return
        alive = launched.alive  # read first: a process found ended has written all its events
        if tail.poll():
            self._stop_watching()
            self.kapp.open_run(launched.run_dir, replace=True)
        elif not alive:
            self._stop_watching()
            discard_new_run_dir(launched.run_dir)
            self._not_started(launched.error_details() or {
                "error": "The process was stopped before the run started.", "field": None, "detail": None})

    def _not_started(self, details: dict[str, Any]) -> None:
        """Shows why a run did not start: under the field it names (`error_details`), else below."""
        field = details.get("field")
        if field:
            self.show_errors({field: str(details.get("detail") or details["error"])})
        else:
            self.show_errors({}, str(details["error"]))
        self._status("The run did not start; fix the form and launch again.")
        self.notify(f"The run did not start: {details.get('detail') or details['error']}",
                    title="New run", severity="error")

    def _stop_watching(self) -> None:
        if self._start_timer is not None:
            self._start_timer.stop()
            self._start_timer = None
        self.starting = None

    # -- events -------------------------------------------------------------------------

    @on(Select.Changed, "#search")
    def _search_changed(self) -> None:
        searching = self.query_one("#search", Select).value != "none"
        self.query_one("#trials", Input).disabled = not searching

    @on(Select.Changed, "#model")
    def _model_changed(self) -> None:
        """Proposes the new model's epochs, unless the user has typed their own."""
        epochs = self.query_one("#epochs", Input)
        proposed = str(proposed_epochs(str(self.query_one("#model", Select).value)))
        if epochs.value.strip() == self._proposed_epochs:
            epochs.value = proposed
        self._proposed_epochs = proposed

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_launch()

    @on(Button.Pressed, "#launch")
    def _launch_pressed(self) -> None:
        self.action_launch()

    @on(Button.Pressed, "#back")
    def _back_pressed(self) -> None:
        self.action_back()

    def action_back(self) -> None:
        """Leaves the form; a launch still starting is stopped and its directory removed."""
        launched = self.starting
        self._stop_watching()
        if launched is not None and launched.stop():
            self.app.run_worker(lambda: _discard_when_ended(launched), thread=True,
                                name="discard stopped launch", exit_on_error=False)
            self.notify("The run was stopped before it started.", title="New run")
        self.dismiss()
