"""Tests of random restarts: a preset recipe's `restarts`, chosen by the run's objective."""

from __future__ import annotations

import keras
import pytest

from kerasmnist import InvalidArgumentError, read_events
from kerasmnist.errors import TrialFailed
from kerasmnist.recipes import RECIPES, Recipe
from kerasmnist.runs import RunSpec, engine, training

SPEC = {"dataset": "mnist_sample", "validation": 100, "limit": 300, "model": "avgpool5_dense",
        "full_eval": False, "csv_log": False}


def run(tmp_path, monkeypatch, recipe: Recipe, **spec):
    monkeypatch.setitem(RECIPES, "avgpool5_dense", recipe)
    run_dir = tmp_path / "run"
    result = engine.run(RunSpec(**{**SPEC, "epochs": recipe.epochs, **spec}), run_dir)
    return result, list(read_events(run_dir / "events.jsonl")), run_dir


@pytest.mark.parametrize("field", ["restarts", "restart_epochs"])
def test_a_recipe_refuses_restart_counts_below_one(field):
    with pytest.raises(InvalidArgumentError, match=f"`{field}`.*Received: {field}=0"):
        Recipe(**{field: 0})


def test_the_best_restart_trains_on_and_the_others_are_dropped(tmp_path, monkeypatch):
    recipe = Recipe(epochs=4, batch_size=100, learning_rate=3e-2, restarts=3, restart_epochs=2)
    result, events, run_dir = run(tmp_path, monkeypatch, recipe)

    ended = [e for e in events if e["event"] == "restart_ended"]
    assert [(e["restart"], e["epochs"], e["objective"]) for e in ended] == [
        (k, 2, "val_accuracy") for k in range(3)]
    scores = [e["score"] for e in ended]
    chosen = next(e for e in events if e["event"] == "restart_chosen")
    assert chosen["score"] == max(scores)
    assert chosen["restart"] == scores.index(max(scores))
    kinds = [e["event"] for e in events]
    assert kinds.index("restart_chosen") < kinds.index("epoch_ended")
    # The chosen model goes on from its second epoch: epochs 3 and 4 are logged, and its
    # optimizer has taken 4 epochs x 3 batches, on one cosine schedule.
    assert [e["epoch"] for e in events if e["event"] == "epoch_ended"] == [2, 3]
    model = keras.saving.load_model(run_dir / "replicates" / "r0" / "model.keras")
    assert int(model.optimizer.iterations) == 12
    assert result.trials[0]["score"] is not None


def test_restarts_as_long_as_the_run_need_no_more_training(tmp_path, monkeypatch):
    recipe = Recipe(epochs=2, batch_size=100, restarts=2, restart_epochs=5)
    result, events, run_dir = run(tmp_path, monkeypatch, recipe)
    chosen = next(e for e in events if e["event"] == "restart_chosen")
    assert chosen["epochs"] == 2
    assert not [e for e in events if e["event"] == "epoch_ended"]
    assert result.trials[0]["score"] == chosen["score"]
    model = keras.saving.load_model(run_dir / "replicates" / "r0" / "model.keras")
    assert int(model.optimizer.iterations) == 6


def test_a_failed_restart_is_skipped_and_the_others_compete(tmp_path, monkeypatch):
    calls = []

    class FailFirst(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            calls.append(epoch)
            if len(calls) == 1:
                raise TrialFailed("the training loss became nan at epoch 1")

    monkeypatch.setattr(training, "NanCheck", FailFirst)
    recipe = Recipe(epochs=1, batch_size=100, restarts=2, restart_epochs=1)
    _, events, _ = run(tmp_path, monkeypatch, recipe)
    ended = [e for e in events if e["event"] == "restart_ended"]
    assert ended[0]["score"] is None and "nan" in ended[0]["message"]
    assert ended[1]["score"] is not None
    assert next(e for e in events if e["event"] == "restart_chosen")["restart"] == 1


def test_restarts_of_a_distilled_preset_share_one_teacher(tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPES, "logistic_regression", Recipe(epochs=1, batch_size=100))
    recipe = Recipe(epochs=2, batch_size=100, teacher="logistic_regression", restarts=2,
                    restart_epochs=1)
    _, events, run_dir = run(tmp_path, monkeypatch, recipe)
    kinds = [e["event"] for e in events]
    assert kinds.count("teacher_trained") == 1
    assert kinds.index("teacher_trained") < kinds.index("restart_ended")
    assert kinds.count("restart_ended") == 2
    assert keras.saving.load_model(run_dir / "replicates" / "r0" / "model.keras").count_params() == 260


def test_searches_ignore_a_recipe_s_restarts(tmp_path, monkeypatch):
    recipe = Recipe(epochs=1, batch_size=100, restarts=3, restart_epochs=1)
    _, events, _ = run(tmp_path, monkeypatch, recipe, model="tiny", search="random", trials=1,
                       max_params=150)
    assert not [e for e in events if e["event"].startswith("restart_")]


def test_the_command_line_progress_reports_restarts():
    from rich.console import Console

    from kerasmnist.cli.progress import RunProgress

    console = Console(record=True, width=120)
    progress = RunProgress(console)
    progress({"event": "restart_ended", "trial_id": "r1", "restart": 0, "epochs": 10,
              "objective": "val_accuracy", "score": 0.8604})
    progress({"event": "restart_ended", "trial_id": "r1", "restart": 1, "epochs": 10,
              "objective": "val_accuracy", "score": None, "message": "the loss became nan"})
    progress({"event": "restart_chosen", "trial_id": "r1", "restart": 0, "epochs": 10,
              "objective": "val_accuracy", "score": 0.8604})
    text = console.export_text()
    assert "trial r1: restart 0 ended (10 epochs, val_accuracy 0.8604)" in text
    assert "trial r1: restart 1 ended (10 epochs, the loss became nan)" in text
    assert "trial r1: restart 0 chosen, training on (10 epochs, val_accuracy 0.8604)" in text


@pytest.mark.parametrize(("score", "than", "direction", "expected"), [
    (0.9, 0.8, "max", True), (0.8, 0.9, "max", False), (0.2, 0.3, "min", True),
    (0.9, None, "max", True), (0.9, float("nan"), "max", True),
    (None, 0.1, "max", False), (float("nan"), None, "min", False), (0.5, 0.5, "max", False),
])
def test_a_score_beats_another_only_when_finite_and_better_in_the_objective_s_direction(
        score, than, direction, expected):
    assert training.better(score, than, direction) is expected
