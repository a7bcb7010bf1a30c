"""The run view, on recorded runs and on a log that grows while it is open."""

from __future__ import annotations

import io

import pytest
from kerasmnist_tui.app import KerasMnistApp
from kerasmnist_tui.launcher import Launcher
from kerasmnist_tui.screens import RunScreen
from kerasmnist_tui.widgets import ConfusionView, Curves, EpochTable, Leaderboard, MistakeGrid, ProgressPanel
from rich.console import Console

from kerasmnist.events import EventWriter
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import RunState, RunStatus
from tests.tui.conftest import CLASSES, drive, fake_python, record_run, wait_for, wait_for_screen


def _text(renderable, width: int = 120) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def _open(runs_dir, name: str) -> KerasMnistApp:
    app = KerasMnistApp(runs_dir, poll_interval=0.1)
    app.get_default_screen = lambda: RunScreen(runs_dir / name)  # type: ignore[method-assign]
    return app


def test_finished_run_shows_its_epochs_trials_results_and_test_confusion(runs_dir, recorded):
    run = recorded["finished"]
    app = _open(runs_dir, "2026-finished")

    async def script(pilot):
        screen = app.screen
        epochs = screen.query_one(EpochTable)
        await wait_for(pilot, lambda: epochs.row_count == 6, what="6 epochs")
        for (trial_id, epoch), logs in run.epochs.items():
            cells = epochs.values(trial_id, epoch)
            assert cells["epoch"] == f"{epoch + 1}/2"
            for key in ("loss", "accuracy", "val_loss", "val_accuracy", "train_loss", "train_accuracy"):
                assert cells[key] == f"{logs[key]:.4f}"
            assert cells["seconds"] == f"{1.5 + epoch:.2f}"

        board = screen.query_one(Leaderboard)
        rows = [[str(c) for c in board.get_row(key)] for key in board.rows]
        assert [r[1] for r in rows] == ["2 ★", "1", "0"]
        assert [r[3] for r in rows] == [f"{run.scores[t]:.4f}" for t in ("2", "1", "0")]
        assert [r[4] for r in rows] == [f"{run.params[t]:,}" for t in ("2", "1", "0")]
        assert [str(c.label) for c in board.columns.values()][-1] == "units_0"  # the one that differs
        assert [r[-1] for r in rows] == ["192", "128", "64"]

        panel = screen.query_one(ProgressPanel)
        assert panel.status == "finished"
        head = _text(panel.content)
        assert "Test accuracy 0.7912" in head and "3 of 3 trials done" in head

        confusion = screen.query_one(ConfusionView)
        assert confusion.matrix.tolist() == run.test_matrix
        assert confusion.title.startswith("Test set")
        drawn = _text(confusion.content).splitlines()
        row_3 = next(line for line in drawn if line.split()[:1] == ["3"])
        assert [int(v) for v in row_3.split()[1:]] == run.test_matrix[3]
        assert "Top confusions" in "".join(drawn)

        await pilot.press("m")  # counts -> row shares
        await pilot.pause()
        assert confusion.normalized
        assert f"{run.test_matrix[3][3] / sum(run.test_matrix[3]):.2f}" in _text(confusion.content)

        curves = screen.query_one(Curves)
        assert curves.trial_id == "2"  # the best trial
        assert curves.series["loss"][2].values == pytest.approx([run.epochs[("2", e)]["val_loss"]
                                                                 for e in range(2)])
        assert screen.query_one(MistakeGrid).report is None  # no best_model.keras was recorded

    drive(app, script)


def test_choosing_a_trial_shows_its_curves_and_last_validation_matrix(runs_dir, recorded):
    run = recorded["finished"]
    app = _open(runs_dir, "2026-finished")

    async def script(pilot):
        board = app.screen.query_one(Leaderboard)
        await wait_for(pilot, lambda: board.row_count == 3, what="3 trials")
        board.focus()
        await pilot.press("down", "down", "enter")  # trial 0, ranked last
        await pilot.pause()
        confusion = app.screen.query_one(ConfusionView)
        assert app.screen.chosen == "0" and app.screen.query_one(Curves).trial_id == "0"
        assert confusion.matrix.tolist() == run.validation_matrix["0"]
        assert confusion.title == "Validation set, trial 0, epoch 2"
        await pilot.press("f")  # follow the run again
        await pilot.pause()
        assert confusion.matrix.tolist() == run.test_matrix
        await pilot.press("t", "t")  # to the mistakes tab
        await pilot.pause()
        assert app.screen.query_one("#run-plots").active == "mistakes-pane"

    drive(app, script)


def test_failed_and_interrupted_runs_say_so(runs_dir, recorded):
    for name, status, words in (("2026-failed", "failed", "ValueError: Out of memory"),
                                ("2026-interrupted", "interrupted", "press r to resume")):
        app = _open(runs_dir, name)

        async def script(pilot, app=app, status=status, words=words):
            panel = app.screen.query_one(ProgressPanel)
            await wait_for(pilot, lambda: panel.status == status, what=status)
            assert words in _text(panel.content)
            await pilot.press("c")  # not running: the app says so and keeps working
            await pilot.pause()
            assert panel.status == status

        drive(app, script)


def test_the_view_follows_a_log_as_it_grows_and_skips_a_torn_line(runs_dir, monkeypatch):
    run_dir = runs_dir / "growing"
    record_run(runs_dir, "growing", monkeypatch, ending="interrupted")
    (run_dir / "events.jsonl").write_text("")  # start from an empty log
    app = _open(runs_dir, "growing")

    async def script(pilot):
        epochs = app.screen.query_one(EpochTable)
        panel = app.screen.query_one(ProgressPanel)
        await pilot.pause(0.3)
        assert epochs.row_count == 0 and panel.status == "new"
        with EventWriter(run_dir / "events.jsonl") as writer:
            writer.run_started({"objective": "val_accuracy"}, plan={"trials": 2, "epochs": 3})
            writer.trial_started("0", {"units": 32})
            with open(run_dir / "events.jsonl", "a") as log:
                log.write('{"schema": 1, "event": "epoch_en')  # a line cut short by a crash...
            writer.close()
        with EventWriter(run_dir / "events.jsonl") as writer:  # ...which the next writer ends
            writer.epoch_ended(0, {"loss": 1.25, "val_accuracy": 0.5}, seconds=2.0, epochs=3, trial_id="0")
            writer.confusion([[3, 1], [0, 4]], CLASSES[:2], split="validation", epoch=0, trial_id="0")
        await wait_for(pilot, lambda: epochs.row_count == 1, what="the first epoch")
        assert epochs.values("0", 0)["loss"] == "1.2500"
        assert app.screen.query_one(ConfusionView).matrix.tolist() == [[3, 1], [0, 4]]
        # No process holds the run's lock: the log says running, but nothing runs it.
        await wait_for(pilot, lambda: panel.status == "interrupted", what="the probe of the lock")

    drive(app, script)


CRASH = """
import sys
from pathlib import Path
from kerasmnist.events import EventWriter
args = sys.argv
run_dir = Path(args[args.index("--run-dir") + 1] if "--run-dir" in args else args[args.index("resume") + 1])
run_dir.mkdir(parents=True, exist_ok=True)
(run_dir / "spec.toml").write_text('dataset = "mnist_sample"\\n')
with EventWriter(run_dir / "events.jsonl") as events:
    events.run_started({"dataset": "mnist_sample", "model": "mlp"}, plan={"trials": 1, "epochs": 2})
sys.exit("Fatal Python error: Segmentation fault")
"""


def test_a_process_that_dies_without_a_word_shows_the_end_of_its_error(runs_dir, tmp_path):
    launcher = Launcher(fake_python(tmp_path, CRASH))
    app = KerasMnistApp(runs_dir, launcher=launcher, poll_interval=0.1)

    async def script(pilot):
        await pilot.pause()
        run = launcher.launch(RunSpec(), runs_dir / "crash")
        app.open_run(run.run_dir)
        panel = await _panel(pilot, app)
        await wait_for(pilot, lambda: not run.alive and panel.status == "interrupted", what="the crash")
        await pilot.pause(0.3)
        assert "Fatal Python error: Segmentation fault" in _text(panel.content)
        await pilot.press("escape")  # the interface keeps working
        await pilot.pause()

    drive(app, script)


async def _panel(pilot, app) -> ProgressPanel:
    screen = await wait_for_screen(pilot, RunScreen)
    return screen.query_one(ProgressPanel)


def test_a_trial_s_teacher_and_restarts_are_shown_while_it_runs():
    events = [
        ("run_started", {"spec": {"model": "tiny_150"}, "plan": {"trials": 3, "epochs": 160}}),
        ("trial_started", {"trial_id": "r0", "hyperparameters": {"preset": "tiny_150"}}),
        ("teacher_trained", {"trial_id": "r0", "teacher": "mnist_cnn", "params": 1000, "epochs": 15,
                             "logs": {"val_accuracy": 0.993}, "seconds": 80.0}),
        ("restart_ended", {"trial_id": "r0", "restart": 0, "epochs": 10, "score": 0.8518,
                           "objective": "val_accuracy"}),
        ("restart_ended", {"trial_id": "r0", "restart": 1, "epochs": 10, "score": None,
                           "objective": "val_accuracy", "message": "the loss became nan"}),
    ]
    state = RunState.from_events({"event": kind, "time": float(i), **fields}
                                 for i, (kind, fields) in enumerate(events))
    panel = ProgressPanel()
    panel.show(state, RunStatus.RUNNING, state.progress(now=20.0, alive=True))
    assert "Teacher mnist_cnn trained: 15 epochs, val_accuracy 0.9930" in _text(panel.content)
    assert "Restarts of 10 epochs: 0.8518, failed (val_accuracy)" in _text(panel.content)
    state.apply([{"event": "restart_chosen", "time": 6.0, "trial_id": "r0", "restart": 0, "epochs": 10,
                  "score": 0.8518}])
    panel.show(state, RunStatus.RUNNING, state.progress(now=20.0, alive=True))
    assert "0.8518, failed (val_accuracy); training on restart 0" in _text(panel.content)
    state.apply([{"event": "trial_ended", "time": 7.0, "trial_id": "r0", "status": "COMPLETED",
                  "score": 0.9}])
    panel.show(state, RunStatus.RUNNING, state.progress(now=30.0, alive=True))
    assert "Restarts" not in _text(panel.content)  # shown for the trial under way only


def test_a_pruned_trial_shows_as_pruned_live_and_the_panel_says_what_pruning_saved(runs_dir):
    run_dir = runs_dir / "pruned"
    run_dir.mkdir()
    (run_dir / "spec.toml").write_text(RunSpec(search="random", prune="median").to_toml())
    spec = {"search": "random", "objective": "val_accuracy", "model": "mlp", "dataset": "mnist_sample"}
    with EventWriter(run_dir / "events.jsonl") as writer:
        writer.run_started(spec, plan={"trials": 2, "epochs": 4})
        writer.trial_started("0", {"units": 32})
        for epoch in range(4):
            writer.epoch_ended(epoch, {"val_accuracy": 0.8}, seconds=1.0, epochs=4, trial_id="0",
                               cpu_seconds=3.0)
        writer.trial_ended("0", status="COMPLETED", score=0.8, params=100)
        writer.trial_started("1", {"units": 64})
        writer.epoch_ended(0, {"val_accuracy": 0.3}, seconds=1.0, epochs=4, trial_id="1", cpu_seconds=6.0)
    app = _open(runs_dir, "pruned")

    async def script(pilot):
        board = app.screen.query_one(Leaderboard)
        panel = app.screen.query_one(ProgressPanel)
        await wait_for(pilot, lambda: board.row_count == 2, what="both trials")
        assert "pruning" not in _text(panel.content)
        with EventWriter(run_dir / "events.jsonl") as writer:
            writer.trial_ended("1", status="PRUNED", score=0.3, params=200)
        await wait_for(pilot, lambda: str(board.get_row("1")[2]) == "PRUNED", what="the pruned trial")
        assert str(board.get_row("1")[5]) == "1/4"  # the epochs it trained, of those planned
        await wait_for(pilot, lambda: "pruning stopped 1 trial" in _text(panel.content), what="the spend")
        assert ("Spent: 5 epochs, 0.3 CPU-minutes; pruning stopped 1 trial, saving 3 epochs (about 0.3 "
                "CPU-minutes)") in _text(panel.content)

    drive(app, script)
