"""Snapshots of the main screens on recorded runs (pytest-textual-snapshot).

Only what stays the same from machine to machine is drawn: recorded runs with
fixed times, shown in UTC, under a relative runs directory. Update the stored
SVGs with `pytest tests/tui/test_snapshots.py --snapshot-update` after a change
to the interface, and look at them before committing.
"""

from __future__ import annotations

import time

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import RunScreen

pytest.importorskip("pytest_textual_snapshot")


@pytest.fixture
def fixed_place_and_time(runs_dir, recorded, monkeypatch):
    """Runs under ./runs, times in UTC."""
    monkeypatch.chdir(runs_dir.parent)
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def _until(pilot, condition) -> None:
    for _ in range(100):
        if condition():
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


def test_runs_list(snap_compare, fixed_place_and_time):
    app = KerasMnistApp("runs")

    async def loaded(pilot) -> None:
        await _until(pilot, lambda: app.screen.query_one("#runs-table").row_count == 3)

    assert snap_compare(app, terminal_size=(130, 16), run_before=loaded)


@pytest.mark.parametrize("press", [(), ("t",)], ids=["curves", "confusion"])
def test_run_view_of_a_finished_search(snap_compare, fixed_place_and_time, press):
    app = KerasMnistApp("runs")

    async def opened(pilot) -> None:
        await pilot.pause()
        app.open_run("runs/2026-finished")
        await _until(pilot, lambda: isinstance(app.screen, RunScreen)
                     and app.screen.state.phase == "finished")
        await pilot.press(*press)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(160, 44), run_before=opened)


def test_new_run_form(snap_compare, fixed_place_and_time):
    assert snap_compare(KerasMnistApp("runs"), press=["n", "_"], terminal_size=(110, 34))
