"""Real runs on the bundled sample, launched and followed by the app in separate processes."""

from __future__ import annotations

import os

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.screens import NewRunScreen, RunScreen, RunsScreen
from kerasmnist_tui.widgets import ConfusionView, EpochTable, Leaderboard, MistakeGrid, ProgressPanel
from textual.widgets import Input, Select

from kerasmnist.events import read_events
from kerasmnist.runs.prepare import new_run_dir
from kerasmnist.runs.rundir import run_info
from kerasmnist.runs.spec import RunSpec
from tests.tui.conftest import drive, wait_for, wait_for_screen

pytestmark = pytest.mark.skipif(os.name != "posix", reason="runs are stopped with SIGINT")

START = 90.0  # seconds for a process to load TensorFlow and train an epoch on a busy machine
STOPPED = 130  # `kerasmnist`'s exit status after a graceful stop


def test_a_one_epoch_run_launched_from_the_form_fills_the_view_and_shows_its_mistakes(runs_dir,
                                                                                      stop_launches):
    app = KerasMnistApp(runs_dir, poll_interval=0.2, refresh_interval=0.5)
    stop_launches.append(app.launcher)

    async def script(pilot):
        await pilot.press("n")
        await wait_for_screen(pilot, NewRunScreen)
        form = app.screen
        assert form.query_one("#dataset", Select).value == "mnist_sample"
        form.query_one("#epochs", Input).value = "1"
        form.query_one("#limit", Input).value = "500"
        await pilot.press("ctrl+s")
        await wait_for_screen(pilot, RunScreen, timeout=START)
        screen = app.screen
        [launched] = app.launcher.runs
        assert launched.args[:2] == ["resume", str(screen.run_dir.absolute())]
        spec = RunSpec.from_toml(screen.run_dir / "spec.toml")  # written by the form, before the run
        assert (spec.epochs, spec.limit) == (1, 500)
        epochs, panel = screen.query_one(EpochTable), screen.query_one(ProgressPanel)
        await wait_for(pilot, lambda: epochs.row_count == 1, timeout=START, what="the epoch")
        await wait_for(pilot, lambda: panel.status == "finished", timeout=START, what="the end")
        logged = next(e for e in read_events(screen.run_dir / "events.jsonl") if e["event"] == "epoch_ended")
        assert epochs.values("r0", 0)["val_accuracy"] == f"{logged['logs']['val_accuracy']:.4f}"
        assert [str(c) for c in screen.query_one(Leaderboard).get_row("r0")][2] == "COMPLETED"
        confusion = screen.query_one(ConfusionView)
        assert confusion.title.startswith("Test set") and int(confusion.matrix.sum()) == 1000

        await pilot.press("t", "t")  # the mistakes, predicted in a process of their own
        grid = screen.query_one(MistakeGrid)
        await wait_for(pilot, lambda: grid.report is not None, timeout=START, what="the mistakes")
        assert grid.report.errors > 0 and all("→" in c for c in grid.captions())
        assert grid.report.mistakes[0].image.shape == (28, 28)

        await pilot.press("escape")
        await wait_for_screen(pilot, RunsScreen)
        runs = app.screen
        await wait_for(pilot, lambda: runs.statuses.get(str(screen.run_dir)) == "finished", what="the row")

    drive(app, script)


def test_a_bad_override_is_refused_by_the_run_process_and_shown_under_its_field(runs_dir,
                                                                                 stop_launches):
    app = KerasMnistApp(runs_dir)
    stop_launches.append(app.launcher)

    async def script(pilot):
        await pilot.press("n")
        form = await wait_for_screen(pilot, NewRunScreen)
        form.query_one("#overrides", Input).value = "nonsense=1"  # not checked here: no keras-tuner
        await pilot.press("ctrl+s")
        field = form.query_one("#field-overrides")
        await wait_for(pilot, lambda: field.error is not None, timeout=START, what="the refusal")
        assert "Invalid override `nonsense`" in field.error
        [launched] = app.launcher.runs
        assert launched.returncode == 2 and launched.error_details()["field"] == "overrides"
        assert list(runs_dir.iterdir()) == [] and app.screen is form

    drive(app, script)


def test_cancel_interrupts_a_run_and_resume_continues_it(runs_dir, stop_launches):
    app = KerasMnistApp(runs_dir, poll_interval=0.2)
    stop_launches.append(app.launcher)
    spec = RunSpec(search="random", trials=2, epochs=200, limit=500)
    run_dir = new_run_dir(runs_dir, spec)

    async def script(pilot):
        await wait_for_screen(pilot, RunsScreen)
        await pilot.pause()
        first = app.launcher.launch(spec, run_dir)
        app.open_run(run_dir)
        await wait_for_screen(pilot, RunScreen)
        screen = app.screen
        epochs, panel = screen.query_one(EpochTable), screen.query_one(ProgressPanel)
        await wait_for(pilot, lambda: epochs.row_count >= 1, timeout=START, what="the first epoch")
        assert panel.status == "running"
        await pilot.press("c")
        await pilot.pause()
        assert first.stopping
        await wait_for(pilot, lambda: panel.status == "interrupted", timeout=START, what="the stop",
                       context=lambda: _child_state(first, run_dir))
        assert first.process.wait(30) == STOPPED
        assert [e["event"] for e in read_events(run_dir / "events.jsonl")][-1] == "run_interrupted"
        assert run_info(run_dir).status == "interrupted"
        assert len([e for e in read_events(run_dir / "events.jsonl") if e["event"] == "run_started"]) == 1

        await pilot.press("r")
        await wait_for(pilot, lambda: len(app.launcher.runs) == 2, what="the resume")
        second = app.launcher.runs[1]
        assert second.args[0] == "resume"
        await wait_for(pilot, lambda: panel.status == "running" and screen.state.phase == "running",
                       timeout=START, what="the resumed run")
        await pilot.press("c")
        await wait_for(pilot, lambda: panel.status == "interrupted", timeout=START, what="the second stop",
                       context=lambda: _child_state(second, run_dir))
        assert second.process.wait(30) == STOPPED and second.error() is None
        starts = [e for e in read_events(run_dir / "events.jsonl") if e["event"] == "run_started"]
        assert len(starts) == 2 and starts[1]["resumed"] is True

    drive(app, script)


def _child_state(launched, run_dir) -> str:
    """What a run process and its log say, for a test that timed out waiting on them."""
    events = [e["event"] for e in read_events(run_dir / "events.jsonl")][-5:]
    stderr = launched.stderr.read_text(errors="replace").strip().splitlines()[-10:]
    return (f"process alive: {launched.alive}, exit status {launched.returncode}; last events {events}; "
            "standard error:\n" + "\n".join(stderr))
