"""Layers the presets use.

Keras's augmentation layers augment whenever they are called without a
`training` argument: `fit` passes `training=True` and `predict` and `evaluate`
pass `False`, but a plain `model(x)` moves the images too. `TrainingShift` is
`keras.layers.RandomTranslation` that augments only when told it is training,
so that a preset trained with augmentation (`kerasmnist.recipes.Recipe.shift`)
predicts the same however it is called. It is registered as
`kerasmnist>TrainingShift`, so a saved model that uses it loads once
`kerasmnist.layers` is imported (the engine, the command line and the terminal
UI import it).

Example:

>>> import numpy as np
>>> shift = TrainingShift(2 / 28, 2 / 28, fill_mode="constant")
>>> images = np.random.default_rng(0).random((2, 28, 28, 1), dtype=np.float32)
>>> bool(np.array_equal(np.asarray(shift(images)), images))
True
>>> bool(np.array_equal(np.asarray(shift(images, training=True)), images))
False
"""

from __future__ import annotations

from typing import Any

import keras

__all__ = ["MNIST_MEAN", "MNIST_STD", "TrainingShift", "standardization"]

MNIST_MEAN = 0.1307
"""The mean pixel of MNIST's training images, scaled to [0, 1]."""

MNIST_STD = 0.3081
"""Their standard deviation."""


def standardization(mean: float = MNIST_MEAN, std: float = MNIST_STD, *,
                    name: str = "standardize") -> keras.layers.Rescaling:
    """A weightless layer that maps pixels in [0, 1] to `(x - mean) / std`.

    Images in [0, 1] are never negative, so a first convolution whose weights sum
    below zero gives a negative output everywhere, and its ReLU, no gradient: with a
    handful of filters every one of them can start dead and the model never learns
    (a "dead start"). Centred images have both signs, so every filter starts alive
    whatever its weights. On 16 initialisations of `tiny_150`'s network trained 2
    epochs (benchmarks/RESULTS.md, "Dead starts"), 4 never learned without it and
    none with it. It has no weights, so it costs no budget.

    Example:

    >>> import numpy as np
    >>> layer = standardization()
    >>> [round(float(v), 3) for v in np.asarray(layer(np.array([[0.0, 1.0]], dtype="float32")))[0]]
    [-0.424, 2.821]
    """
    return keras.layers.Rescaling(1 / std, offset=-mean / std, name=name)


@keras.saving.register_keras_serializable(package="kerasmnist")
class TrainingShift(keras.layers.RandomTranslation):
    """`keras.layers.RandomTranslation` that is idle unless `training=True`.

    Takes `RandomTranslation`'s arguments: `height_factor` and `width_factor`
    are fractions of the image's height and width (`2 / 28`: up to 2 pixels
    of a 28x28 image, either way).
    """

    def call(self, data: Any, training: bool = False) -> Any:
        """Translates `data` at random when `training` is true; returns it unchanged otherwise."""
        return super().call(data, training=training)
