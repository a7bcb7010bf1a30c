"""Quitting asks first while runs started here are going."""

from __future__ import annotations

import os

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.launcher import Launcher
from kerasmnist_tui.screens import QuitScreen, RunsScreen

from kerasmnist.runs.spec import RunSpec
from tests.tui.conftest import SLEEPER, drive, fake_python, wait_for_screen, wait_ready

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and an executable script")


@pytest.fixture
def sleeper(tmp_path) -> Launcher:
    """A launcher whose runs wait for SIGINT, then exit 130 as `kerasmnist` does."""
    return Launcher(fake_python(tmp_path, SLEEPER))


def test_quit_with_an_active_run_asks_and_can_stop_it(runs_dir, sleeper, stop_launches):
    stop_launches.append(sleeper)
    app = KerasMnistApp(runs_dir, launcher=sleeper)
    run = sleeper.launch(RunSpec(), runs_dir / "r")
    wait_ready(run)  # its SIGINT handler is set

    async def script(pilot):
        await pilot.press("q")
        await wait_for_screen(pilot, QuitScreen)
        await pilot.press("escape")  # cancel: nothing happens
        await wait_for_screen(pilot, RunsScreen)
        assert run.alive
        await pilot.press("q")
        await wait_for_screen(pilot, QuitScreen)
        await pilot.click("#stop")
        await pilot.pause()

    drive(app, script)
    assert run.stopping and run.process.wait(10) == 130
    sleeper.close()  # the app closed it on quitting, maybe before the process had ended
    assert sleeper.runs == []  # forgotten once ended


def test_leaving_runs_going_quits_without_stopping_them(runs_dir, sleeper, stop_launches):
    stop_launches.append(sleeper)
    app = KerasMnistApp(runs_dir, launcher=sleeper)
    run = sleeper.launch(RunSpec(), runs_dir / "r")

    async def script(pilot):
        await pilot.press("q")
        await wait_for_screen(pilot, QuitScreen)
        await pilot.press("l")

    drive(app, script)
    assert run.alive and not run.stopping and sleeper.runs == [run]
