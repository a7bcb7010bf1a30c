"""The new-run form: data set, model, search, trials, epochs, budget, validation, seed.

Each value is checked by `RunSpec` itself, field by field, so the form says
exactly what the command line would; errors show under their field and block
the launch. A valid run starts as a `kerasmnist` subprocess, and the form waits
(without blocking) until that process has accepted the spec and written the run
directory, then hands over to the run view. Hyperparameter overrides of a
hypermodel are checked against its search space, which needs keras-tuner, so the
launched process checks them; its usage error comes back under the field too.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, cast

from kerasmnist_tui.choices import dataset_choices, model_choices
from kerasmnist_tui.launcher import LaunchedRun, new_run_dir
from kerasmnist_tui.widgets.form_field import FormField
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, Footer, Header, Input, LoadingIndicator, Select, Static

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.recipes import recipe
from kerasmnist.runs.rundir import SPEC_FILE
from kerasmnist.runs.spec import (
    HYPERMODEL_KINDS,
    PRESET_NAMES,
    SEARCH_KINDS,
    RunSpec,
    SpecError,
    parse_override,
)

if TYPE_CHECKING:
    from kerasmnist_tui.app import KerasMnistApp

__all__ = ["NewRunScreen", "check_spec", "default_epochs"]

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(RunSpec)}
_SEARCH_LABELS = {"none": "none  (train one configuration)", "random": "random", "grid": "grid",
                  "hyperband": "hyperband", "bayesian": "bayesian"}
_REQUIRED_INTS = ("trials", "epochs", "seed")
_OPTIONAL_INTS = ("max_params", "limit")


def default_epochs(model: str) -> int:
    """The epochs the form proposes for `model`: a preset's recipe's, else `RunSpec`'s default.

    >>> default_epochs("mnist_cnn"), default_epochs("mlp")
    (15, 5)
    """
    return recipe(model).epochs if model in PRESET_NAMES else int(_DEFAULTS["epochs"])


def check_spec(values: dict[str, Any]) -> tuple[RunSpec | None, dict[str, str]]:
    """Checks form values with `RunSpec`: each field alone (so every bad field is
    reported at once), then all of them together.

    The overrides of a hypermodel are left out of the spec returned: checking
    them needs keras-tuner, so the launched process does (see `cli_args`).
    A preset's overrides are an error found here.

    Args:
        values: `RunSpec` fields and values.

    Returns:
        The spec (or `None`) and the error of each bad field, by field name
        (`"overrides.units_0"` is reported as `"overrides"`).
    """
    errors: dict[str, str] = {}
    values = dict(values)
    overrides = values.pop("overrides", {})

    def check(**fields: Any) -> RunSpec | None:
        try:
            return RunSpec(**fields)
        except SpecError as error:
            errors.setdefault(error.field.split(".")[0], error.detail)
            return None

    for name, value in values.items():
        check(**{name: value})
    model = values.get("model", _DEFAULTS["model"])
    if overrides and model not in HYPERMODEL_KINDS:
        check(model=model, overrides=overrides)
    if errors:
        return None, errors
    return check(**values), errors


class NewRunScreen(Screen[None]):
    """A form for a new run; launching it opens the run view."""

    BINDINGS = [
        Binding("ctrl+s", "launch", "Launch"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.launched: LaunchedRun | None = None
        self._start_timer: Timer | None = None
        self._proposed_epochs = str(default_epochs(str(_DEFAULTS["model"])))

    @property
    def kapp(self) -> KerasMnistApp:
        """The app, typed."""
        return cast("KerasMnistApp", self.app)

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
            yield FormField("Trials", Input(str(_DEFAULTS["trials"]), id="trials", compact=True),
                            hint="the most trials of a search")
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

    def _status(self, message: str, *, busy: bool = False) -> None:
        self.query_one("#form-status", Static).update(message)
        self.query_one("#form-busy").display = busy
        self.query_one("#launch", Button).disabled = busy

    # -- launching ----------------------------------------------------------------------

    def action_launch(self) -> None:
        """Checks the form and, if it is valid, starts the run."""
        if self.launched is not None:
            return
        values, unreadable = self.read_values()
        spec, errors = check_spec(values)
        errors = {**errors, **unreadable}  # text that is not a number says so first
        self.show_errors(errors)
        if spec is None or errors:
            self._status("Fix the fields marked in red to launch.")
            return
        run_dir = new_run_dir(self.kapp.runs_dir, spec)
        self.launched = self.kapp.launcher.launch(spec, run_dir, values["overrides"])
        self._status(f"Starting {run_dir.name}: the run loads TensorFlow in its own process…", busy=True)
        self._start_timer = self.set_interval(0.2, self._watch_start)

    def _watch_start(self) -> None:
        launched = self.launched
        if launched is None:
            return
        if (launched.run_dir / SPEC_FILE).is_file():
            self._stop_watching()
            self.kapp.open_run(launched.run_dir, replace=True)
        elif not launched.alive:
            self._stop_watching()
            self.launched = None
            field, message = launched.error_field(), launched.error() or "the process ended"
            self.show_errors({field: message} if field else {}, None if field else message)
            self._status("The run did not start.")

    def _stop_watching(self) -> None:
        if self._start_timer is not None:
            self._start_timer.stop()
            self._start_timer = None

    # -- events -------------------------------------------------------------------------

    @on(Select.Changed, "#search")
    def _search_changed(self) -> None:
        searching = self.query_one("#search", Select).value != "none"
        self.query_one("#trials", Input).disabled = not searching

    @on(Select.Changed, "#model")
    def _model_changed(self) -> None:
        """Proposes the new model's epochs, unless the user has typed their own."""
        epochs = self.query_one("#epochs", Input)
        proposed = str(default_epochs(str(self.query_one("#model", Select).value)))
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
        """Leaves the form; a run still starting is stopped."""
        if self.launched is not None and not (self.launched.run_dir / SPEC_FILE).is_file():
            self.launched.stop()
            self.notify("The run was stopped before it started.", title="New run")
        self._stop_watching()
        self.dismiss()
