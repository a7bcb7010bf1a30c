"""The multi-layer perceptron hypermodel."""

from __future__ import annotations

import math
from typing import ClassVar

import keras
import keras_tuner as kt
from keras import layers

from kerasmnist.budget import LayerParams
from kerasmnist.hypermodels.base import MnistHyperModel
from kerasmnist.hypermodels.space import Spec
from kerasmnist.hypermodels.spaces import MLP_SPACE

__all__ = ["MLPHyperModel"]

class MLPHyperModel(MnistHyperModel):
    """A search space of fully connected networks for MNIST-like data.

    Each hidden layer is Dense -> (BatchNormalization) -> activation ->
    (Dropout), with the dense bias dropped when batch normalisation follows; the
    output layer gives logits. Flat or image input is flattened inside the model.

    The space (per-layer entries are declared as `units_0`, `units_1`, ...):

    {space}

    Args: see `MnistHyperModel`.

    Example:

    >>> import keras_tuner as kt
    >>> hm = MLPHyperModel(overrides={"num_layers": 3, "units": [64, 256]})
    >>> model = hm.build(kt.HyperParameters())
    >>> [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    [64, 64, 64, 10]
    """

    NEEDS_IMAGE: ClassVar[bool] = False
    SPACE: ClassVar[dict[str, Spec]] = MLP_SPACE

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        num_layers = self.hp(hp, "num_layers")
        widths = [self.hp(hp, "units", i) for i in range(num_layers)]
        batch_norm = self.hp(hp, "batch_norm")
        if self.budget is not None:
            self.reject_if_over(self.predicted_report(self.predict_params(widths, batch_norm)))
        activation = self.hp(hp, "activation")
        initializer = self.hp(hp, "kernel_initializer")
        inputs = keras.Input(self.input_shape)
        x = layers.Flatten()(inputs)
        for i, units in enumerate(widths):
            l1, l2 = self.hp(hp, "l1", i), self.hp(hp, "l2", i)
            x = layers.Dense(
                units,
                use_bias=not batch_norm,
                kernel_initializer=initializer,
                kernel_regularizer=keras.regularizers.L1L2(l1, l2) if l1 or l2 else None,
                name=f"dense_{i}",
            )(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = layers.Activation(activation, name=f"{activation}_{i}")(x)
            dropout = self.hp(hp, "dropout", i)
            if dropout:
                x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
        outputs = layers.Dense(self.num_classes, name="logits")(x)
        return self.compile(hp, keras.Model(inputs, outputs, name="mlp"))

    def predict_params(self, widths: list[int], batch_norm: bool) -> list[LayerParams]:
        """Per-layer weight counts of the network with these widths, unbuilt."""
        rows, fan_in = [], math.prod(self.input_shape)
        for i, units in enumerate(widths):
            rows.append(LayerParams(f"dense_{i}", "Dense", fan_in * units + (0 if batch_norm else units), 0))
            if batch_norm:
                rows.append(LayerParams(f"batch_norm_{i}", "BatchNormalization", 2 * units, 2 * units))
            fan_in = units
        rows.append(LayerParams("logits", "Dense", fan_in * self.num_classes + self.num_classes, 0))
        return rows
