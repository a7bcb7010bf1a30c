"""Tests of benchmarks/explore.py: its architectures are the presets they became."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from kerasmnist import presets
from kerasmnist.budget import count_params

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "explore.py"
_spec = importlib.util.spec_from_file_location("explore", _PATH)
explore = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(explore)


@pytest.mark.parametrize(("arch", "preset"), [
    ("tn:c4-p-s9-p-s11-p-w", "tiny_500"),
    ("tn:c8-p-s16-p-s17-p-w", "tiny_1000"),
    ("t:c12-p-s24-p-s29-g", "tiny_2000"),
    ("tn:a2-C2x3-S2-S2-a7-u", "tiny_150"),
    ("mlp:1024,1024:0.5:0.2", "mnist_mlp"),
    ("cnn_a", "mnist_cnn"),
    ("mlp:1024,1024:0.4:0.1", "fashion_mlp"),
    ("cnn_vf", "fashion_cnn"),
])
def test_an_explored_architecture_has_its_presets_weights_and_layers(arch, preset):
    ours, theirs = explore.build(arch), presets.build(preset, input_shape=(28, 28, 1))
    assert count_params(ours) == count_params(theirs)
    kinds = [type(layer).__name__ for layer in ours.layers if layer.weights]
    assert kinds == [type(layer).__name__ for layer in theirs.layers if layer.weights]


def test_unknown_architectures_and_tokens_are_rejected():
    with pytest.raises(SystemExit, match="unknown token 'q3'"):
        explore.build("t:c4-q3")
    with pytest.raises(SystemExit, match="unknown architecture"):
        explore.build("resnet")


def test_the_vgg_style_candidate_stays_under_the_cnn_targets_budget():
    model = explore.build("cnn_v")
    assert count_params(model) == 98_618 < 100_000
    convs = [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert convs == [32, 32, 64, 64, 56]
    assert [type(layer).__name__ for layer in model.layers].count("Dropout") == 3


def test_a_model_ending_in_u_has_a_dense_head_without_biases():
    model = explore.build("tn:a2-C2x3-S2-S2-a7-u")
    head = model.layers[-1]
    assert type(head).__name__ == "Dense" and head.bias is None
    assert count_params(model) == 20 + 24 + 24 + 80


def test_a_model_ending_in_o_has_no_dense_head():
    model = explore.build("tn:a2-c4-p-S10-G-o")
    assert model.output_shape == (None, 10)
    assert [type(layer).__name__ for layer in model.layers if layer.weights] == [
        "Conv2D", "SeparableConv2D"]
    assert count_params(model) == 126


def test_a_run_with_shift_and_weight_decay_trains_adamw_on_shifted_images(capsys, monkeypatch):
    built = []
    monkeypatch.setattr(explore.keras.Model, "compile",
                        lambda self, optimizer, *a, **k: built.append((self, optimizer)))
    monkeypatch.setattr(explore.keras.Model, "fit", lambda *a, **k: None)
    monkeypatch.setattr(explore.keras.Model, "predict",
                        lambda self, x, **k: explore.np.zeros((len(x), 10)))
    assert explore.main(["t:c2-p-g", "--dataset", "mnist_sample", "--shift", "2",
                         "--weight-decay", "0.01", "--validation", "500"]) == 0
    model, optimizer = built[0]
    assert type(model.layers[0]).__name__ == "RandomTranslation"
    assert model.layers[0].height_factor == pytest.approx(2 / 28)
    assert type(optimizer).__name__ == "AdamW" and optimizer.weight_decay == pytest.approx(0.01)


def test_a_run_with_flip_mirrors_training_images_before_shifting_them(monkeypatch):
    built = []
    monkeypatch.setattr(explore.keras.Model, "compile",
                        lambda self, optimizer, *a, **k: built.append(self))
    monkeypatch.setattr(explore.keras.Model, "fit", lambda *a, **k: None)
    monkeypatch.setattr(explore.keras.Model, "predict",
                        lambda self, x, **k: explore.np.zeros((len(x), 10)))
    assert explore.main(["mlp:64:0.1:0", "--dataset", "mnist_sample", "--flip", "--shift", "1",
                         "--validation", "500"]) == 0
    flip, shift = built[0].layers[:2]
    assert (type(flip).__name__, flip.mode) == ("RandomFlip", "horizontal")
    assert type(shift).__name__ == "RandomTranslation"
    with pytest.raises(SystemExit):  # the distillation would not flip: refused
        explore.main(["mlp:64:0.1:0", "--flip", "--teacher", "cnn_a"])


def test_a_run_prints_epochs_and_a_json_summary(capsys):
    assert explore.main(["t:c2-p-g", "--dataset", "mnist_sample", "--epochs", "1",
                         "--validation", "500"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("epoch 1 ")
    summary = json.loads(lines[-1])
    assert summary["weights"] == count_params(explore.build("t:c2-p-g"))
    assert 0.0 <= summary["test_accuracy"] <= 1.0


def test_a_distilled_run_trains_the_teacher_first_and_reports_the_student(capsys):
    assert explore.main(["tn:a2-C2x3-C2x3-p7-f", "--dataset", "mnist_sample", "--epochs", "1",
                         "--validation", "500", "--shift", "1", "--teacher", "t:c2-p-g",
                         "--teacher-epochs", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("epoch 1 ") and len(lines) == 2
    summary = json.loads(lines[-1])
    assert summary["weights"] == 148  # the student alone, not the teacher's weights too
    assert 0 <= summary["test_accuracy"] <= 1
