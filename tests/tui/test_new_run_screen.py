"""The new-run form: every bad value shows under its field and blocks the launch."""

from __future__ import annotations

import os

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.launcher import Launcher
from kerasmnist_tui.screens import NewRunScreen
from kerasmnist_tui.widgets import FormField
from textual.widgets import Input, Select

from kerasmnist.recipes import recipe
from kerasmnist.runs.spec import HYPERMODEL_KINDS, PRESET_NAMES
from tests.tui.conftest import drive, fake_python, usage_error, wait_for, wait_for_screen


def _errors(app: KerasMnistApp) -> dict[str, str]:
    return {f.field: f.error for f in app.screen.query(FormField) if f.error is not None}


async def _form(pilot, app: KerasMnistApp) -> NewRunScreen:
    await pilot.press("n")
    await wait_for_screen(pilot, NewRunScreen)
    return app.screen


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
        assert app.launcher.runs == []

    drive(app, script)


def test_a_preset_proposes_its_recipes_epochs_unless_the_user_typed_theirs(runs_dir):
    app = KerasMnistApp(runs_dir)

    # three different values, so that each change of model shows
    assert len({5, recipe("mnist_cnn").epochs, recipe("tiny_150").epochs}) == 3

    async def script(pilot):
        form = await _form(pilot, app)
        epochs, model = form.query_one("#epochs", Input), form.query_one("#model", Select)
        assert epochs.value == "5"  # a hypermodel: RunSpec's default
        model.value = "mnist_cnn"
        await wait_for(pilot, lambda: epochs.value == str(recipe("mnist_cnn").epochs),
                       what="the recipe's epochs")
        model.value = "tiny_150"
        await wait_for(pilot, lambda: epochs.value == str(recipe("tiny_150").epochs),
                       what="the next recipe's epochs")
        model.value = "cnn"
        await wait_for(pilot, lambda: epochs.value == "5", what="the default again")
        epochs.value = "7"  # the user's own
        model.value = "mnist_mlp"
        await pilot.pause()
        assert epochs.value == "7"

    drive(app, script)


@pytest.mark.skipif(os.name != "posix", reason="an executable script stands in for python")
def test_an_error_the_launched_process_reports_goes_next_to_its_field(runs_dir, tmp_path):
    fake = fake_python(tmp_path, usage_error("Invalid run spec: field `epochs`: too many for this machine"))
    app = KerasMnistApp(runs_dir, launcher=Launcher(fake))

    async def script(pilot):
        form = await _form(pilot, app)
        form.query_one("#epochs", Input).value = "2"
        await pilot.click("#launch")
        await wait_for(pilot, lambda: "epochs" in _errors(app), what="the process's error")
        assert _errors(app)["epochs"] == "Invalid run spec: field `epochs`: too many for this machine"
        assert len(app.launcher.runs) == 1 and isinstance(app.screen, NewRunScreen)
        assert "did not start" in str(form.query_one("#form-status").content)
        assert not form.query_one("#launch").disabled

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
