"""Tests of the presets' label-smoothing loss."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError
from kerasmnist.losses import SparseSmoothedCrossentropy


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_equals_keras_categorical_crossentropy_on_one_hot_labels(smoothing):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(16, 10)).astype("float32")
    labels = rng.integers(0, 10, size=16)
    ours = SparseSmoothedCrossentropy(smoothing)(labels, logits)
    keras_loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=smoothing)
    expected = keras_loss(np.eye(10)[labels], logits)
    assert float(ours) == pytest.approx(float(expected), rel=1e-5)


def test_labels_of_shape_n_by_1_are_accepted():
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 3.0]], dtype="float32")
    flat = SparseSmoothedCrossentropy(0.2)(np.array([0, 2]), logits)
    column = SparseSmoothedCrossentropy(0.2)(np.array([[0], [2]]), logits)
    assert float(flat) == pytest.approx(float(column))


def test_a_model_compiled_with_it_saves_and_loads(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.compile("adam", SparseSmoothedCrossentropy(0.2))
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.loss, SparseSmoothedCrossentropy)
    assert loaded.loss.label_smoothing == pytest.approx(0.2)


@pytest.mark.parametrize("smoothing", [-0.1, 1.0])
def test_smoothing_outside_zero_to_one_is_rejected(smoothing):
    with pytest.raises(InvalidArgumentError, match=f"label_smoothing={smoothing}"):
        SparseSmoothedCrossentropy(smoothing)
