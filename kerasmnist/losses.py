"""Losses the presets train with.

Keras's `SparseCategoricalCrossentropy` has no label smoothing, and
`CategoricalCrossentropy` needs one-hot labels, which the data sets' integer
labels are not. `SparseSmoothedCrossentropy` takes integer labels and logits.
It is registered as `kerasmnist>SparseSmoothedCrossentropy`, so a saved model
that uses it loads once `kerasmnist.losses` is imported (the engine and the
command line import it; `kerasmnist.layers` does the same for the presets' layer).

Example:

>>> import numpy as np
>>> loss = SparseSmoothedCrossentropy(label_smoothing=0.1)
>>> round(float(loss(np.array([0]), np.array([[10.0, 0.0]]))), 4)
0.5
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from kerasmnist.errors import InvalidArgumentError

__all__ = ["SparseSmoothedCrossentropy"]


@keras.saving.register_keras_serializable(package="kerasmnist")
class SparseSmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of logits against integer labels, with label smoothing.

    The target of a label is `1 - label_smoothing + label_smoothing / classes`
    for its class and `label_smoothing / classes` for each other, as in
    `keras.losses.CategoricalCrossentropy(label_smoothing=...)`.

    Args:
        label_smoothing: In [0, 1). Defaults to `0.1`.
        name: The loss's name. Defaults to `"sparse_smoothed_crossentropy"`.
        **kwargs: Passed to `keras.losses.Loss` (`reduction`, `dtype`).

    Raises:
        InvalidArgumentError: `label_smoothing` outside [0, 1).
    """

    def __init__(self, label_smoothing: float = 0.1, name: str = "sparse_smoothed_crossentropy",
                 **kwargs: Any) -> None:
        if not 0.0 <= label_smoothing < 1.0:
            raise InvalidArgumentError(
                "Invalid value for argument `label_smoothing`. Expected a number in [0, 1). "
                f"Received: label_smoothing={label_smoothing!r}")
        super().__init__(name=name, **kwargs)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        classes = ops.shape(y_pred)[-1]
        labels = ops.reshape(ops.cast(y_true, "int32"), ops.shape(y_pred)[:-1])
        target = ops.one_hot(labels, classes, dtype=y_pred.dtype)
        return keras.losses.categorical_crossentropy(
            target, y_pred, from_logits=True, label_smoothing=self.label_smoothing)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "label_smoothing": self.label_smoothing}
