"""The convolutional network hypermodel."""

from __future__ import annotations

import math
from typing import ClassVar

import keras
import keras_tuner as kt
from keras import layers

from kerasmnist.budget import LayerParams
from kerasmnist.hypermodels.base import MnistHyperModel
from kerasmnist.hypermodels.space import Spec
from kerasmnist.hypermodels.spaces import CNN_SPACE

__all__ = ["CNNHyperModel"]


class CNNHyperModel(MnistHyperModel):
    """A search space of convolutional networks for MNIST-like data.

    Each block is Conv2D ('same' padding) -> (BatchNormalization) -> activation
    -> (pooling, 2x2 'same') -> (Dropout); the head flattens or averages
    globally, then an optional dense layer, then the logits. Flat input is
    reshaped to an image inside the model.

    The space (per-block entries are declared as `filters_0`, `filters_1`, ...):

    {space}

    Args: see `MnistHyperModel`.

    Example:

    >>> import keras_tuner as kt
    >>> model = CNNHyperModel(overrides={"conv_blocks": 1}).build(kt.HyperParameters())
    >>> model.count_params()
    804554
    """

    SPACE: ClassVar[dict[str, Spec]] = CNN_SPACE

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        filters = [self.hp(hp, "filters", i) for i in range(self.hp(hp, "conv_blocks"))]
        kernel_size = self.hp(hp, "kernel_size")
        strides = self.hp(hp, "strides")
        pooling = self.hp(hp, "pooling")
        batch_norm = self.hp(hp, "batch_norm")
        head = self.hp(hp, "head")
        dense_units = self.hp(hp, "dense_units")
        if self.budget is not None:
            predicted = self.predict_params(filters, kernel_size, strides, pooling, batch_norm,
                                            head, dense_units)
            self.reject_if_over(self.predicted_report(predicted))
        activation = self.hp(hp, "activation")
        initializer = self.hp(hp, "kernel_initializer")
        dropout = self.hp(hp, "dropout")
        inputs, x = self.image_input()
        for i, block_filters in enumerate(filters):
            x = layers.Conv2D(block_filters, kernel_size, strides=strides,
                              padding="same", use_bias=not batch_norm,
                              kernel_initializer=initializer, name=f"conv_{i}")(x)
            if batch_norm:
                x = layers.BatchNormalization(name=f"batch_norm_{i}")(x)
            x = layers.Activation(activation, name=f"{activation}_{i}")(x)
            if pooling == "max":
                x = layers.MaxPooling2D(2, padding="same", name=f"max_pool_{i}")(x)
            elif pooling == "average":
                x = layers.AveragePooling2D(2, padding="same", name=f"average_pool_{i}")(x)
            if dropout:
                x = layers.Dropout(dropout, name=f"dropout_{i}")(x)
        if head == "flatten":
            x = layers.Flatten(name="flatten")(x)
        else:
            x = layers.GlobalAveragePooling2D(name="global_average")(x)
        if dense_units:
            x = layers.Dense(dense_units, activation=activation, kernel_initializer=initializer,
                             name="dense")(x)
            if dropout:
                x = layers.Dropout(dropout, name="dropout_dense")(x)
        outputs = layers.Dense(self.num_classes, name="logits")(x)
        return self.compile(hp, keras.Model(inputs, outputs, name="cnn"))

    def predict_params(
        self,
        filters: list[int],
        kernel_size: int,
        strides: int,
        pooling: str,
        batch_norm: bool,
        head: str,
        dense_units: int,
    ) -> list[LayerParams]:
        """Per-layer weight counts of the network these values describe, unbuilt."""
        height, width, channels = self.image_shape
        rows = []
        for i, f in enumerate(filters):
            weights = kernel_size * kernel_size * channels * f + (0 if batch_norm else f)
            rows.append(LayerParams(f"conv_{i}", "Conv2D", weights, 0))
            if batch_norm:
                rows.append(LayerParams(f"batch_norm_{i}", "BatchNormalization", 2 * f, 2 * f))
            channels = f
            # 'same' padding: a stride, then a 2x2 pool, each round the size up.
            height, width = math.ceil(height / strides), math.ceil(width / strides)
            if pooling != "none":
                height, width = math.ceil(height / 2), math.ceil(width / 2)
        features = channels * (height * width if head == "flatten" else 1)
        if dense_units:
            rows.append(LayerParams("dense", "Dense", features * dense_units + dense_units, 0))
            features = dense_units
        rows.append(LayerParams("logits", "Dense", features * self.num_classes + self.num_classes, 0))
        return rows
