"""The new-run form: every bad value shows under its field and blocks the launch; a valid one
is written by the library and run with `kerasmnist resume`."""

from __future__ import annotations

import os
from typing import Any

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.launcher import Launcher
from kerasmnist_tui.screens import NewRunScreen, RunScreen
from kerasmnist_tui.widgets import FormField
from textual.widgets import Input, Select

from kerasmnist.runs.spec import HYPERMODEL_KINDS, PRESET_NAMES, RunSpec
from tests.tui.conftest import (
    SLEEPER,
    drive,
    fake_python,
    starter,
    usage_error,
    wait_for,
    wait_for_screen,
    wait_ready,
)

posix_only = pytest.mark.skipif(os.name != "posix", reason="an executable script stands in for python")


def _errors(app: KerasMnistApp) -> dict[str, str]:
    return {f.field: f.error for f in app.screen.query(FormField) if f.error is not None}


async def _form(pilot, app: KerasMnistApp) -> NewRunScreen:
    await pilot.press("n")
    await wait_for_screen(pilot, NewRunScreen)
    return app.screen


async def _launch_with_an_override(pilot, app: KerasMnistApp) -> tuple[NewRunScreen, Any]:
    """Launches the form's defaults with an override (left for the run process to check);
    returns the form and the launch, once its fake process is ready."""
    form = await _form(pilot, app)
    form.query_one("#overrides", Input).value = "units_0=64"
    await pilot.press("ctrl+s")
    [launched] = app.launcher.runs
    wait_ready(launched)
    return form, launched


def test_bad_values_are_shown_next_to_their_fields_and_nothing_is_launched(runs_dir):
    app = KerasMnistApp(runs_dir)

    async def script(pilot):
        form = await _form(pilot, app)
        form.query_one("#search", Select).value = "random"
        await pilot.pause()
        assert not form.query_one("#trials", Input).disabled
        form.query_one("#trials", Input).focus()
        await pilot.press("end", "backspace", "backspace", *"abc")  # typed, as a user would
        form.query_one("#epochs", Input).value = "0"
        form.query_one("#validation", Input).value = "1.5"
        form.query_one("#max_params", Input).value = "-3"
        form.query_one("#overrides", Input).value = "units_0"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(_errors(app)) == 5, what="five errors")
        errors = _errors(app)
        assert errors["trials"] == "expected an integer, found 'abc'"
        assert errors["epochs"] == "expected an integer >= 1, found 0"
        assert errors["validation"] == "expected a count >= 0 or a fraction in [0, 1), found 1.5"
        assert errors["max_params"] == "expected an integer >= 1, found -3"
        assert "expected name=value" in errors["overrides"]
        assert app.launcher.runs == [] and isinstance(app.screen, NewRunScreen)
        assert form.query_one("#field-epochs").has_class("-invalid")

        for name, value in (("trials", "3"), ("epochs", "2"), ("validation", "0.1"), ("max_params", ""),
                            ("overrides", "units_0=64; dropout_0=0.1..0.3")):
            form.query_one(f"#{name}", Input).value = value
        form.query_one("#model", Select).value = "logistic_regression"  # a preset: nothing to search
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: set(_errors(app)) == {"overrides"}, what="the preset's error")
        assert "takes no overrides" in _errors(app)["overrides"]
        form.query_one("#overrides", Input).value = ""
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: set(_errors(app)) == {"search"}, what="the search error")
        assert "has no hyperparameters to search" in _errors(app)["search"]
        assert app.launcher.runs == [] and list(runs_dir.iterdir()) == []

    drive(app, script)


def test_a_preset_proposes_its_recipes_epochs_unless_the_user_typed_theirs(runs_dir):
    app = KerasMnistApp(runs_dir)

    def resolved(model: str) -> str:
        return str(RunSpec(model=model).resolved().epochs)

    # three different values, so that each change of model shows
    assert len({resolved("mlp"), resolved("mnist_cnn"), resolved("tiny_150")}) == 3

    async def script(pilot):
        form = await _form(pilot, app)
        epochs, model = form.query_one("#epochs", Input), form.query_one("#model", Select)
        assert epochs.value == resolved("mlp")  # a hypermodel: RunSpec's default
        model.value = "mnist_cnn"
        await wait_for(pilot, lambda: epochs.value == resolved("mnist_cnn"), what="the recipe's epochs")
        model.value = "tiny_150"
        await wait_for(pilot, lambda: epochs.value == resolved("tiny_150"),
                       what="the next recipe's epochs")
        model.value = "cnn"
        await wait_for(pilot, lambda: epochs.value == resolved("cnn"), what="the default again")
        epochs.value = "7"  # the user's own
        model.value = "mnist_mlp"
        await pilot.pause()
        assert epochs.value == "7"

    drive(app, script)


@posix_only
def test_a_valid_spec_is_written_by_the_library_and_run_with_resume(runs_dir, tmp_path, stop_launches):
    app = KerasMnistApp(runs_dir, launcher=Launcher(fake_python(tmp_path, SLEEPER)))
    stop_launches.append(app.launcher)

    async def script(pilot):
        form = await _form(pilot, app)
        form.query_one("#model", Select).value = "mnist_cnn"
        await pilot.pause()
        form.query_one("#epochs", Input).value = "2"
        form.query_one("#limit", Input).value = "500"
        await pilot.press("ctrl+s")
        screen = await wait_for_screen(pilot, RunScreen)  # at once: nothing is left to check
        [run_dir] = runs_dir.iterdir()
        assert screen.run_dir == run_dir and run_dir.name.endswith("-mnist_sample-mnist_cnn")
        written = RunSpec.from_toml(run_dir / "spec.toml")
        assert written == RunSpec(model="mnist_cnn", epochs=2, limit=500).resolved()
        assert written.batch_size is not None  # the recipe's, filled in by `resolved()`
        [launched] = app.launcher.runs
        assert launched.args == ["resume", str(run_dir.absolute()), "--quiet", "--json"]
        assert launched.command == f"kerasmnist resume {run_dir}"

    drive(app, script)


@posix_only
def test_a_bad_override_the_run_process_reports_goes_under_overrides_and_its_directory_goes(
        runs_dir, tmp_path):
    detail = "Invalid override `nonsense`. Expected one of ['units', ...]. Received: nonsense=1"
    app = KerasMnistApp(runs_dir, launcher=Launcher(fake_python(tmp_path,
                                                                usage_error("overrides.nonsense", detail))))

    async def script(pilot):
        form = await _form(pilot, app)
        form.query_one("#overrides", Input).value = "nonsense=1"
        await pilot.click("#launch")
        await wait_for(pilot, lambda: "overrides" in _errors(app), what="the process's error")
        assert _errors(app) == {"overrides": detail}  # the JSON document's `detail`, by its `field`
        [launched] = app.launcher.runs
        assert launched.args[0] == "resume" and launched.returncode == 2
        assert not launched.run_dir.exists() and list(runs_dir.iterdir()) == []
        assert isinstance(app.screen, NewRunScreen) and form.starting is None
        assert "did not start" in str(form.query_one("#form-status").content)
        assert not form.query_one("#launch").disabled

    drive(app, script)


@posix_only
def test_with_overrides_the_form_waits_for_the_first_event_then_opens_the_run_view(
        runs_dir, tmp_path, stop_launches):
    go = tmp_path / "go"
    app = KerasMnistApp(runs_dir, launcher=Launcher(fake_python(tmp_path, starter(go))))
    stop_launches.append(app.launcher)

    async def script(pilot):
        form, launched = await _launch_with_an_override(pilot, app)
        await pilot.pause(0.5)  # several of the form's checks: no event yet, so it waits
        assert isinstance(app.screen, NewRunScreen) and form.starting is launched
        assert form.query_one("#launch").disabled
        assert RunSpec.from_toml(launched.run_dir / "spec.toml", check_overrides=False).overrides == {
            "units_0": 64}
        go.touch()  # the process has accepted the overrides: it writes its first event
        screen = await wait_for_screen(pilot, RunScreen)
        assert screen.run_dir == launched.run_dir and launched.alive

    drive(app, script)


@posix_only
def test_going_back_while_a_run_starts_stops_it_and_removes_its_directory(runs_dir, tmp_path,
                                                                          stop_launches):
    app = KerasMnistApp(runs_dir, launcher=Launcher(fake_python(tmp_path, SLEEPER)))
    stop_launches.append(app.launcher)

    async def script(pilot):
        _, launched = await _launch_with_an_override(pilot, app)
        assert (launched.run_dir / "spec.toml").is_file()
        await pilot.press("escape")
        await wait_for(pilot, lambda: not launched.run_dir.exists(), what="the directory removed")
        assert launched.stopping and launched.returncode == 130
        assert not isinstance(app.screen, NewRunScreen)

    drive(app, script)


def test_the_form_offers_bundled_data_first_then_hypermodels_and_presets(runs_dir):
    app = KerasMnistApp(runs_dir)

    async def script(pilot):
        form = await _form(pilot, app)
        datasets = [value for _, value in form.query_one("#dataset", Select)._options]
        assert datasets[:2] == ["fashion_mnist_sample", "mnist_sample"]  # bundled first
        assert {"mnist", "fashion_mnist", "kmnist"} <= set(datasets)
        models = [value for _, value in form.query_one("#model", Select)._options]
        assert models == [*HYPERMODEL_KINDS, *PRESET_NAMES]
        assert form.query_one("#trials", Input).disabled  # no search: no trials

    drive(app, script)
