"""The interface's process never loads Keras or TensorFlow: runs train in processes of their own.

Each check runs the app in a fresh interpreter (this test session has long since
imported Keras), opens every screen on recorded runs, and lists the heavy
modules it ended up with.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.tui.conftest import START, record_run

HEAVY = ("keras", "tensorflow", "keras_tuner")

APP_SCRIPT = """
import asyncio, json, sys
{prelude}
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import NewRunScreen, RunScreen, RunsScreen


async def until(pilot, condition):
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise SystemExit("timed out")


async def main():
    app = KerasMnistApp(sys.argv[1], poll_interval=0.1)
    async with app.run_test(size=(140, 40)) as pilot:
        table = app.screen.query_one("#runs-table")
        await until(pilot, lambda: table.row_count == int(sys.argv[2]))
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.press("o")
            await until(pilot, lambda: isinstance(app.screen, RunScreen) and app.screen.is_mounted)
            await pilot.pause(0.15)
            await pilot.press("t", "m", "t", "t", "p")  # every plot, the front too
            await pilot.pause(0.1)
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RunsScreen))
            table = app.screen.query_one("#runs-table")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, NewRunScreen) and app.screen.is_mounted)
        app.screen.query_one("#epochs").value = "0"
        app.screen.query_one("#overrides").value = "units_0=64"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen.query_one("#field-epochs").error is not None)
    print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))


asyncio.run(main())
"""

# RunSpec checks overrides against the hypermodel's search space, which imports keras-tuner
# (and so Keras). A no-op in place of that check isolates the interface's own imports.
WITHOUT_OVERRIDES_CHECK = "from kerasmnist.runs.spec import RunSpec\nRunSpec._check_model = lambda self: None"


@pytest.fixture
def every_kind_of_run(runs_dir, recorded, monkeypatch):
    """The recorded runs and one whose spec has hyperparameter overrides."""
    run = record_run(runs_dir, "2026-overrides", monkeypatch, start=START + 600)
    with open(run.path / "spec.toml", "a", encoding="utf-8") as spec:
        spec.write("\n[overrides]\nunits_0 = 64\n")  # written by hand: RunSpec would load Keras here
    return runs_dir


def _heavy_modules(runs_dir, prelude: str = "") -> list[str]:
    script = APP_SCRIPT.format(prelude=prelude, heavy=HEAVY)
    out = subprocess.run([sys.executable, "-c", script, str(runs_dir), "4"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_interface_code_imports_neither_keras_nor_tensorflow(every_kind_of_run):
    assert _heavy_modules(every_kind_of_run, WITHOUT_OVERRIDES_CHECK) == []


def test_the_interface_process_stays_free_of_keras_with_the_real_run_spec(every_kind_of_run):
    # Reading an existing run's spec skips the overrides check (run_info), which needs Keras.
    assert _heavy_modules(every_kind_of_run) == []
