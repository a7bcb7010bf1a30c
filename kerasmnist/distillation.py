"""Knowledge distillation: train a small model on a trained model's softened outputs.

A tiny model learns more from a large model's outputs than from the labels
alone: where the teacher puts the rest of its probability (a 7 that looks a
little like a 1) is information a one-hot label does not carry (Hinton, Vinyals
and Dean, 2015). `Distiller` wraps a student and a trained, frozen teacher;
its loss is

    alpha * the student's compiled loss (the labels)
    + (1 - alpha) * temperature**2 * KL(softmax(teacher / T) || softmax(student / T))

Both models see the same images: a `shift` translates each training batch at
random once, before either model (the student must then be built without its
own `kerasmnist.layers.TrainingShift`). At inference the distiller is the
student: `predict` and `evaluate` give the student's logits and its compiled
loss, so validation figures compare with an undistilled run, and
`distiller.student` is the model to keep (its weights are all that count).

Works with every Keras backend: the training-mode forward pass returns the
student's and the teacher's logits side by side, and `compute_loss` and
`compute_metrics` split them.

Example:

>>> import keras, numpy as np
>>> from kerasmnist import presets
>>> teacher = presets.build("logistic_regression")
>>> student = presets.build("avgpool5_dense")
>>> distiller = Distiller(student, teacher, temperature=4.0, alpha=0.1)
>>> distiller.compile(keras.optimizers.Adam(1e-3),
...                   keras.losses.SparseCategoricalCrossentropy(from_logits=True),
...                   metrics=["accuracy"])
>>> x = np.random.default_rng(0).random((8, 784), dtype=np.float32)
>>> y = np.arange(8) % 10
>>> history = distiller.fit(x, y, epochs=1, verbose=0)
>>> distiller.predict(x, verbose=0).shape
(8, 10)
>>> distiller.student.count_params()
260
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.layers import TrainingShift

__all__ = ["Distiller"]


class Distiller(keras.Model):
    """A student trained on a frozen teacher's softened logits and on the labels.

    Args:
        student: The model to train; gives logits.
        teacher: A trained model giving logits for the same inputs and
            classes; frozen (`trainable = False`) and always called in
            inference mode.
        temperature: Softens both models' logits before they are compared;
            `> 0`. Defaults to `4.0`.
        alpha: Weight of the student's compiled loss (the labels), in
            `[0, 1]`; the teacher's term has `1 - alpha`. Defaults to `0.1`.
        shift: Translate each training batch at random by up to this many
            pixels (images `(28, 28, 1)` or flat 784-vectors of a square
            image) before both models see it; `0` for none. Defaults to `0`.

    Raises:
        InvalidArgumentError: A temperature or alpha out of range, a negative
            shift, a shift on a student whose input is neither images nor flat
            square images, or a teacher whose output does not match the student's.
    """

    def __init__(self, student: keras.Model, teacher: keras.Model, *,
                 temperature: float = 4.0, alpha: float = 0.1, shift: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if not temperature > 0:
            raise InvalidArgumentError(
                "Invalid value for argument `temperature`. Expected a number > 0. "
                f"Received: temperature={temperature!r}")
        if not 0 <= alpha <= 1:
            raise InvalidArgumentError(
                "Invalid value for argument `alpha`. Expected a number in [0, 1]. "
                f"Received: alpha={alpha!r}")
        if shift < 0:
            raise InvalidArgumentError(
                "Invalid value for argument `shift`. Expected an integer >= 0 (pixels). "
                f"Received: shift={shift!r}")
        if tuple(student.output.shape) != tuple(teacher.output.shape):
            raise InvalidArgumentError(
                "Invalid value for argument `teacher`. Expected a model whose output matches "
                f"the student's, {tuple(student.output.shape)}. "
                f"Received: output shape {tuple(teacher.output.shape)}")
        self.student = student
        self.teacher = teacher
        self.teacher.trainable = False
        self.temperature = float(temperature)
        self.alpha = float(alpha)
        self.shift = None
        if shift:
            self._image_shape = _image_shape(tuple(student.input.shape[1:]))
            height, width = self._image_shape[:2]
            self.shift = TrainingShift(shift / height, shift / width, fill_mode="constant")

    @property
    def input_shape(self) -> Any:
        """The student's input shape: what `predict` and `evaluate` feed (and what
        `kerasmnist.evaluation.model_inputs` and `FullEvalMetrics` reshape to)."""
        return self.student.input_shape

    def call(self, inputs: Any, training: bool = False) -> Any:
        """The student's logits; when training, the student's and the teacher's side by side."""
        if not training:
            return self.student(inputs, training=False)
        if self.shift is not None:
            shape = ops.shape(inputs)
            images = ops.reshape(inputs, (-1, *self._image_shape))
            inputs = ops.reshape(self.shift(images, training=True), shape)
        student = self.student(inputs, training=True)
        teacher = ops.stop_gradient(self.teacher(inputs, training=False))
        return ops.concatenate([student, ops.cast(teacher, student.dtype)], axis=-1)

    def compute_loss(self, x: Any = None, y: Any = None, y_pred: Any = None,
                     sample_weight: Any = None, training: bool = True) -> Any:
        """`alpha` x the compiled loss + `(1 - alpha)` x T^2 x KL(teacher || student) at T."""
        student, teacher = self._split(y_pred)
        hard = super().compute_loss(x, y, student, sample_weight, training=training)
        if teacher is None:
            return hard
        t = self.temperature
        soft = keras.losses.kl_divergence(ops.softmax(teacher / t), ops.softmax(student / t))
        if sample_weight is not None:
            soft = soft * ops.cast(ops.reshape(sample_weight, ops.shape(soft)), soft.dtype)
        return self.alpha * hard + (1 - self.alpha) * t * t * ops.mean(soft)

    def compute_metrics(self, x: Any, y: Any, y_pred: Any, sample_weight: Any = None) -> Any:
        """The compiled metrics of the student's logits."""
        return super().compute_metrics(x, y, self._split(y_pred)[0], sample_weight)

    def _split(self, y_pred: Any) -> tuple[Any, Any]:
        classes = self.student.output.shape[-1]
        if y_pred.shape[-1] == classes:
            return y_pred, None
        return y_pred[..., :classes], y_pred[..., classes:]


def _image_shape(shape: tuple[int | None, ...]) -> tuple[int, ...]:
    """(height, width, channels) of the student's input: images, or flat square ones."""
    dims = [int(n) for n in shape if n is not None]
    if len(dims) == len(shape) == 3:
        return tuple(dims)
    if len(dims) == len(shape) == 2:
        return (dims[0], dims[1], 1)
    if len(dims) == len(shape) == 1 and math.isqrt(dims[0]) ** 2 == dims[0]:
        return (math.isqrt(dims[0]), math.isqrt(dims[0]), 1)
    raise InvalidArgumentError(
        "Invalid value for argument `shift`. Expected a student whose input is images "
        "(height, width[, channels]) or flat square images (784,) to shift. "
        f"Received: input shape {shape}")
