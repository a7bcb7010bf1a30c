"""Tests of knowledge distillation: the Distiller's loss, its shift, and distilled preset runs."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, load_dataset, presets, read_events
from kerasmnist.distillation import Distiller
from kerasmnist.layers import TrainingShift
from kerasmnist.recipes import RECIPES, Recipe
from kerasmnist.runs import RunSpec, engine

CE = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def dense(seed: int, inputs: int = 784, classes: int = 10) -> keras.Model:
    keras.utils.set_random_seed(seed)
    x = keras.Input((inputs,))
    return keras.Model(x, keras.layers.Dense(classes)(x))


def compiled(distiller: Distiller) -> Distiller:
    distiller.compile(keras.optimizers.Adam(1e-2), CE, metrics=["accuracy"])
    return distiller


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    return rng.random((16, 784), dtype=np.float32), rng.integers(0, 10, 16)


def test_the_loss_is_alpha_labels_plus_the_scaled_kl_at_the_temperature(batch):
    x, y = batch
    student, teacher = dense(0), dense(1)
    distiller = compiled(Distiller(student, teacher, temperature=3.0, alpha=0.25))
    loss = float(distiller.compute_loss(x, y, distiller(x, training=True)))

    s, t = np.asarray(student(x), np.float64), np.asarray(teacher(x), np.float64)

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    p, q = softmax(t / 3), softmax(s / 3)
    kl = np.mean(np.sum(p * np.log(p / q), axis=1))
    hard = np.mean(-np.log(softmax(s)[np.arange(16), y]))
    assert loss == pytest.approx(0.25 * hard + 0.75 * 9 * kl, rel=1e-4)


def test_in_inference_it_is_the_student_with_its_compiled_loss(batch):
    x, y = batch
    student = dense(0)
    distiller = compiled(Distiller(student, dense(1)))
    np.testing.assert_allclose(distiller.predict(x, verbose=0), student.predict(x, verbose=0),
                               rtol=1e-6)
    loss, _ = distiller.evaluate(x, y, verbose=0)
    assert loss == pytest.approx(float(CE(y, student(x))), rel=1e-5)


def test_training_moves_only_the_student_and_its_metrics_are_the_students(batch):
    x, y = batch
    student, teacher = dense(0), dense(1)
    before = [w.copy() for w in teacher.get_weights()]
    start = student.get_weights()[0].copy()
    history = compiled(Distiller(student, teacher)).fit(x, y, epochs=2, verbose=0)
    assert set(history.history) == {"loss", "accuracy"}
    assert 0 <= history.history["accuracy"][-1] <= 1
    assert all(np.array_equal(a, b) for a, b in zip(before, teacher.get_weights(), strict=True))
    assert not np.array_equal(start, student.get_weights()[0])


def test_a_student_that_equals_its_teacher_has_zero_loss_even_with_shifted_images(batch):
    """Both models see the same shifted batch: were they shifted apart, the KL would be > 0."""
    x, y = batch
    teacher = dense(1)
    student = keras.models.clone_model(teacher)
    student.set_weights(teacher.get_weights())
    distiller = compiled(Distiller(student, teacher, alpha=0.0, shift=3))
    y_pred = distiller(x, training=True)
    assert float(distiller.compute_loss(x, y, y_pred)) == pytest.approx(0.0, abs=1e-6)
    assert not np.allclose(np.asarray(y_pred[:, :10]), np.asarray(student(x)), atol=1e-4)


@pytest.mark.parametrize("kwargs, named", [
    ({"temperature": 0.0}, "temperature"), ({"alpha": 1.5}, "alpha"), ({"shift": -1}, "shift"),
])
def test_bad_settings_are_refused_by_name(kwargs, named):
    with pytest.raises(InvalidArgumentError, match=f"argument `{named}`"):
        Distiller(dense(0), dense(1), **kwargs)


def test_a_shift_needs_images_or_flat_square_images():
    assert Distiller(dense(0, inputs=784), dense(1, inputs=784), shift=1)._image_shape == (
        28, 28, 1)
    with pytest.raises(InvalidArgumentError, match=r"`shift`.*Received: input shape \(700,\)"):
        Distiller(dense(0, inputs=700), dense(1, inputs=700), shift=1)


def test_a_teacher_with_other_outputs_is_refused():
    with pytest.raises(InvalidArgumentError, match=r"teacher.*\(None, 10\).*\(None, 5\)"):
        Distiller(dense(0), dense(1, classes=5))


@pytest.mark.parametrize("kwargs, named", [
    ({"teacher": "nope"}, "teacher"), ({"temperature": -1.0}, "temperature"),
    ({"alpha": -0.1}, "alpha"),
])
def test_a_recipe_checks_its_distillation_settings(kwargs, named):
    with pytest.raises(InvalidArgumentError, match=named):
        Recipe(**kwargs)


@pytest.mark.parametrize("full_eval", [False, True])
def test_a_preset_with_a_teacher_trains_it_first_and_keeps_only_the_student(tmp_path, monkeypatch, full_eval):
    monkeypatch.setitem(RECIPES, "logistic_regression", Recipe(epochs=2, batch_size=64))
    monkeypatch.setitem(RECIPES, "avgpool5_dense", Recipe(
        epochs=3, batch_size=100, learning_rate=1e-2, schedule="cosine", shift=1,
        teacher="logistic_regression", temperature=2.0, alpha=0.5))
    # The full evaluation reshapes the data to the Distiller's input: the student's.
    spec = RunSpec(dataset="mnist_sample", validation=100, limit=300, model="avgpool5_dense", epochs=3,
                   full_eval=full_eval, csv_log=False)
    run_dir = tmp_path / "run"
    result = engine.run(spec, run_dir)

    events = list(read_events(run_dir / "events.jsonl"))
    kinds = [e["event"] for e in events]
    assert kinds.index("trial_started") < kinds.index("teacher_trained") < kinds.index(
        "epoch_ended")
    taught = next(e for e in events if e["event"] == "teacher_trained")
    assert (taught["teacher"], taught["params"], taught["epochs"]) == (
        "logistic_regression", 7850, 2)
    assert 0 <= taught["logs"]["val_accuracy"] <= 1
    assert [e["epoch"] for e in events if e["event"] == "epoch_ended"] == [0, 1, 2]
    assert all(("train_loss" in e["logs"]) == full_eval for e in events if e["event"] == "epoch_ended")

    model = keras.saving.load_model(run_dir / "replicates" / "r0" / "model.keras")
    assert model.count_params() == 260
    assert not any(isinstance(layer, TrainingShift) for layer in model.layers)
    assert int(model.optimizer.iterations) == 9  # 3 epochs x 3 batches: the student's optimizer
    x, y = load_dataset("mnist_sample", validation=100).arrays("test")
    assert result.test_accuracy == pytest.approx(model.evaluate(x, y, verbose=0)[1], abs=1e-6)
    assert json.loads((run_dir / "results.json").read_text())["params"] == 260


def test_a_teacher_recipe_trains_the_teacher_its_way_not_by_the_teachers_own(tmp_path, monkeypatch):
    monkeypatch.setitem(RECIPES, "logistic_regression", Recipe(epochs=4, batch_size=64,
                                                               label_smoothing=0.1))
    monkeypatch.setitem(RECIPES, "avgpool5_dense", Recipe(
        epochs=1, batch_size=100, teacher="logistic_regression",
        teacher_recipe=Recipe(epochs=1, batch_size=50), temperature=2.0, alpha=0.5))
    built = []
    original = presets.build

    def build(name, **kwargs):
        model = original(name, **kwargs)
        built.append((name, type(model.loss).__name__))
        return model
    monkeypatch.setattr(presets, "build", build)
    spec = RunSpec(dataset="mnist_sample", validation=100, limit=300, model="avgpool5_dense",
                   full_eval=False, csv_log=False)
    engine.run(spec, tmp_path / "run")
    taught = next(e for e in read_events(tmp_path / "run" / "events.jsonl")
                  if e["event"] == "teacher_trained")
    assert taught["epochs"] == 1  # the pinned recipe's, not the teacher's own 4
    # ...and its loss: no label smoothing, where the teacher's own recipe has it
    assert ("logistic_regression", "SparseCategoricalCrossentropy") in built


@pytest.mark.parametrize("kwargs", [
    {"teacher_recipe": Recipe()},  # no teacher to train
    {"teacher": "mnist_cnn", "teacher_recipe": Recipe(teacher="mnist_mlp")},  # nested
    {"teacher": "mnist_cnn", "teacher_recipe": {"epochs": 3}},  # not a Recipe
])
def test_a_teacher_recipe_needs_a_teacher_and_none_of_its_own(kwargs):
    with pytest.raises(InvalidArgumentError, match="argument `teacher_recipe`"):
        Recipe(**kwargs)


def test_the_command_line_progress_reports_the_trained_teacher():
    from rich.console import Console

    from kerasmnist.cli.progress import RunProgress

    console = Console(record=True, width=120)
    RunProgress(console)({"event": "teacher_trained", "trial_id": "r0", "teacher": "mnist_cnn",
                          "epochs": 15, "seconds": 271.4, "logs": {"val_accuracy": 0.9912}})
    assert ("trial r0: teacher mnist_cnn trained (15 epochs, 271 s, val_accuracy 0.9912)"
            in console.export_text())
