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

__all__ = ["TrainingShift"]


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
