"""Tests of the named preset architectures."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, presets, recipes
from kerasmnist.budget import count_params

EXPECTED = {
    "logistic_regression": 7_850,
    "avgpool5_dense": 260,
    "conv2_maxpool9": 142,
    "mlp_128": 101_770,
    "mlp_128_128": 118_282,
    "mlp_128_128_128": 134_794,
    "mlp_64_64": 55_050,
    "mlp_500_300": 545_810,
    "mlp_deep_thin": 6_730,
    "cnn_small": 63_050,
    "cnn_medium": 50_186,
    "cnn_large": 398_090,
    "lenet5": 61_706,
    "keras_convnet": 34_826,
    "mnist_mlp": 1_863_690,
    "mnist_cnn": 71_002,
    "fashion_mlp": 1_863_690,
    "fashion_cnn": 96_938,
    "tiny_150": 148,
    "tiny_500": 487,
    "tiny_1000": 994,
    "tiny_2000": 1_976,
    "mnist_fast": 29_066,
    "fashion_fast": 29_402,
}


def test_the_presets_are_exactly_the_documented_list():
    assert presets.names() == list(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_preset_has_its_exact_weight_count_and_trains_a_step(name, sample_arrays):
    x, y, _, _ = sample_arrays
    model = presets.build(name)
    assert count_params(model) == EXPECTED[name]
    assert model.output_shape == (None, 10)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(x[:64], y[:64], batch_size=64, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights(), strict=True))


@pytest.mark.parametrize("input_shape", [(28, 28), (28, 28, 1)])
def test_presets_accept_image_input_with_the_same_count(input_shape):
    assert presets.build("lenet5", input_shape=input_shape).count_params() == EXPECTED["lenet5"]


def test_presets_follow_the_number_of_classes():
    assert presets.build("logistic_regression", num_classes=3).count_params() == 784 * 3 + 3


def test_unknown_preset_and_bad_input_shape_are_rejected():
    with pytest.raises(InvalidArgumentError, match="Received: name='lenet'"):
        presets.build("lenet")
    with pytest.raises(InvalidArgumentError, match="square number of pixels.*input_shape=\\(783,\\)"):
        presets.build("cnn_small", input_shape=(783,))


def test_classic_presets_train_with_the_plain_recipe():
    plain = recipes.recipe("lenet5")
    assert (plain.epochs, plain.batch_size, plain.learning_rate, plain.schedule) == (5, 128, 1e-3,
                                                                                      "constant")
    assert set(recipes.RECIPES) <= set(presets.names())


def test_a_cosine_recipe_decays_to_zero_over_the_run(sample_arrays):
    x, y, _, _ = sample_arrays
    assert recipes.recipe("mnist_cnn").schedule == "cosine"
    model = presets.build("mnist_cnn", steps_per_epoch=2, epochs=2, learning_rate=0.01)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)  # half the run
    assert float(model.optimizer.learning_rate) == pytest.approx(0.005, rel=1e-3)
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)


def test_without_steps_per_epoch_the_rate_stays_constant(sample_arrays):
    x, y, _, _ = sample_arrays
    model = presets.build("mnist_cnn")
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(recipes.recipe("mnist_cnn")
                                                                 .learning_rate)


def test_weight_decay_recipes_use_adamw(monkeypatch):
    monkeypatch.setitem(recipes.RECIPES, "mlp_64_64", recipes.Recipe(weight_decay=1e-4))
    optimizer = presets.build("mlp_64_64").optimizer
    assert type(optimizer).__name__ == "AdamW"
    assert optimizer.weight_decay == pytest.approx(1e-4)


def test_recipe_rejects_unknown_names_and_bad_values():
    with pytest.raises(InvalidArgumentError, match="Received: name='lenet'"):
        recipes.recipe("lenet")
    with pytest.raises(InvalidArgumentError, match="schedule='linear'"):
        recipes.Recipe(schedule="linear")
    with pytest.raises(InvalidArgumentError, match="epochs=0"):
        recipes.Recipe(epochs=0)
    with pytest.raises(InvalidArgumentError, match="learning_rate=0"):
        recipes.Recipe(learning_rate=0)
    with pytest.raises(InvalidArgumentError, match="label_smoothing=1.0"):
        recipes.Recipe(label_smoothing=1.0)
    with pytest.raises(InvalidArgumentError, match="Expected an integer >= 0.*shift=-1"):
        recipes.Recipe(shift=-1)


def test_a_shift_recipe_moves_training_images_only(monkeypatch, sample_arrays, tmp_path):
    x = sample_arrays[0][:8]
    monkeypatch.setitem(recipes.RECIPES, "avgpool5_dense", recipes.Recipe(shift=3))
    model = presets.build("avgpool5_dense")  # flat input: reshaped to images, then shifted
    assert count_params(model) == EXPECTED["avgpool5_dense"]  # the shift has no weights
    shift = model.get_layer("shift")
    assert (shift.height_factor, shift.width_factor) == (3 / 28, 3 / 28)
    images = x.reshape(-1, 28, 28, 1)
    np.testing.assert_array_equal(np.asarray(shift(images, training=False)), images)
    moved = np.asarray(shift(images, training=True))
    assert not np.allclose(moved, images)
    assert moved.sum() == pytest.approx(images.sum(), rel=0.25)  # moved, mostly still in frame
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x, training=False)))
    np.testing.assert_allclose(np.asarray(model(x)), np.asarray(model(x)))  # no training: no moves
    assert "shift" not in [layer.name for layer in presets.build("mlp_128").layers]
    model.save(tmp_path / "shifted.keras")  # a saved model keeps the (idle) shift
    loaded = keras.saving.load_model(tmp_path / "shifted.keras")
    assert type(loaded.get_layer("shift")).__name__ == "TrainingShift"
    assert loaded.get_layer("shift").height_factor == 3 / 28
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), rtol=1e-5, atol=1e-6)


def test_label_smoothing_recipes_use_the_smoothed_loss(monkeypatch):
    monkeypatch.setitem(recipes.RECIPES, "mlp_64_64", recipes.Recipe(label_smoothing=0.1))
    loss = presets.build("mlp_64_64").loss
    assert type(loss).__name__ == "SparseSmoothedCrossentropy" and loss.label_smoothing == 0.1
    assert type(presets.build("mlp_128").loss).__name__ == "SparseCategoricalCrossentropy"


def test_tiny_150_and_the_tiny_space_see_centred_images_so_no_filter_starts_dead():
    import keras_tuner as kt
    import numpy as np

    from kerasmnist.hypermodels import build_hypermodel
    from kerasmnist.layers import MNIST_MEAN, MNIST_STD

    for model in (presets.build("tiny_150", input_shape=(28, 28, 1)),
                  build_hypermodel("tiny", max_params=500).build(kt.HyperParameters())):
        layer = model.get_layer("standardize")
        assert not layer.weights  # it costs no budget
        images = np.array([[[[0.0]], [[MNIST_MEAN]], [[1.0]]]], dtype="float32")
        out = np.asarray(layer(images)).ravel()
        np.testing.assert_allclose(out, [-MNIST_MEAN / MNIST_STD, 0.0, (1 - MNIST_MEAN) / MNIST_STD],
                                   rtol=1e-5, atol=1e-6)
        assert out.min() < 0 < out.max()  # both signs: a first filter's ReLU sees both


def test_tiny_150_cannot_die_a_layer_whose_outputs_are_all_negative_still_passes_gradient():
    # The second cause of dead starts: a layer of two channels pushed below zero everywhere
    # by the first steps' high rate. Behind ReLUs it would pass no gradient back, ever.
    import tensorflow as tf

    model = presets.build("tiny_150", input_shape=(28, 28, 1))
    last = [layer for layer in model.layers if isinstance(layer, keras.layers.SeparableConv2D)][-1]
    last.bias.assign(np.full(last.bias.shape, -1e3, dtype="float32"))  # every output negative
    rng = np.random.default_rng(0)
    images = rng.random((8, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, 8)
    with tf.GradientTape() as tape:
        loss = model.loss(labels, model(images, training=True))
    gradients = tape.gradient(loss, model.trainable_weights)
    kernel = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)).kernel
    first = next(i for i, weight in enumerate(model.trainable_weights) if weight is kernel)
    assert float(tf.reduce_max(tf.abs(gradients[first]))) > 0  # it can still learn
