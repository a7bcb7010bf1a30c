"""Parameter counting and the budget checkers for tiny models: weights and bytes.

Challenges such as "the smallest model above 80% on MNIST" count every weight of
a model: trainable ones and non-trainable ones such as batch-normalisation moving
statistics. That is the default here; `trainable_only=True` counts as
keras-tuner's `max_model_size` does.

A microcontroller counts bytes instead: `ByteBudget` checks the size of a
model's TFLite flatbuffer (`kerasmnist.tflite`), float32 or full-integer int8,
and reports the bytes of its weights alone beside it.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
from tabulate import tabulate

from kerasmnist.errors import ByteBudgetExceeded, InvalidArgumentError, ParamBudgetExceeded

if TYPE_CHECKING:
    import numpy as np

__all__ = ["BudgetReport", "ByteBudget", "ByteReport", "LayerParams", "ParamBudget", "check_budget",
           "count_params"]


@dataclass(frozen=True)
class LayerParams:
    """The weights of one layer.

    Attributes:
        name: Layer name.
        kind: Layer class name, e.g. `"Dense"`.
        trainable: Number of trainable weights.
        non_trainable: Number of non-trainable weights.
    """

    name: str
    kind: str
    trainable: int
    non_trainable: int

    @property
    def total(self) -> int:
        """All weights of the layer."""
        return self.trainable + self.non_trainable


@dataclass(frozen=True)
class ByteReport:
    """The result of checking a TFLite flatbuffer against a byte budget.

    Attributes:
        file_bytes: The flatbuffer's size, as a `.tflite` file: what counts
            against the budget.
        weight_bytes: The bytes of its constant tensors alone
            (`kerasmnist.tflite.TFLiteInfo.weight_bytes`).
        budget: The budget, in bytes.
        within_budget: Whether `file_bytes <= budget`.
        int8: Whether the flatbuffer is full-integer (int8 input).
    """

    file_bytes: int
    weight_bytes: int
    budget: int
    within_budget: bool
    int8: bool

    @property
    def over_by(self) -> int:
        """Bytes over the budget; 0 within it."""
        return max(0, self.file_bytes - self.budget)

    def table(self) -> str:
        """Renders the sizes and the budget as a plain-text table."""
        kind = "int8" if self.int8 else "float32"
        rows = [(f"TFLite flatbuffer ({kind})", self.file_bytes), ("weights alone", self.weight_bytes),
                ("budget", self.budget)]
        return tabulate(rows, headers=("", "bytes"), intfmt=",")


@dataclass(frozen=True)
class BudgetReport:
    """The result of checking a model against a parameter budget, a byte budget or both.

    Attributes:
        params: The model's weight count, as counted for the budget.
        budget: The parameter budget, or `None` when only bytes were checked.
        within_budget: Whether every budget checked holds: `params <= budget`
            and the flatbuffer within its byte budget.
        trainable_only: Whether only trainable weights were counted.
        layers: Per-layer breakdown, in the model's layer order.
        tflite: The byte budget's `ByteReport` (the TFLite flatbuffer's size
            and its weights' bytes), or `None` when no byte budget was given.
    """

    params: int
    budget: int | None
    within_budget: bool
    trainable_only: bool
    layers: tuple[LayerParams, ...]
    tflite: ByteReport | None = None

    def table(self) -> str:
        """Renders the per-layer breakdown (and the TFLite sizes) as a plain-text table."""
        rows: list[tuple[object, ...]] = [
            (layer.name, layer.kind, layer.trainable, layer.non_trainable, layer.total)
            for layer in self.layers
        ]
        counted = "trainable" if self.trainable_only else "all"
        rows.append((f"total ({counted})", "", "", "", self.params))
        if self.budget is not None:
            rows.append(("budget", "", "", "", self.budget))
        text = tabulate(rows, headers=("layer", "type", "trainable", "non-trainable", "params"),
                        intfmt=",")
        return text if self.tflite is None else f"{text}\n\n{self.tflite.table()}"


def count_params(model: keras.Model, *, trainable_only: bool = False) -> int:
    """Counts a model's weights.

    Args:
        model: A built Keras model.
        trainable_only: Count only trainable weights (as keras-tuner's
            `max_model_size` does). Defaults to `False`: every weight counts,
            batch-normalisation moving statistics included.

    Returns:
        The number of weights.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    >>> count_params(model)
    7850
    """
    weights = model.trainable_weights if trainable_only else model.weights
    return sum(math.prod(w.shape) for w in weights)


def layer_params(model: keras.Model) -> tuple[LayerParams, ...]:
    """Returns the per-layer weight counts of a model, nested models flattened."""
    rows: list[LayerParams] = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows.extend(layer_params(layer))
            continue
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        non_trainable = sum(math.prod(w.shape) for w in layer.non_trainable_weights)
        rows.append(LayerParams(layer.name, type(layer).__name__, trainable, non_trainable))
    return tuple(rows)


class ParamBudget:
    """A maximum number of weights, and the check of a model against it.

    Args:
        max_params: The largest number of weights allowed.
        trainable_only: Count only trainable weights. Defaults to `False`.

    Raises:
        InvalidArgumentError: `max_params` is not a positive integer.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    >>> ParamBudget(10_000).check(model).within_budget
    True
    """

    def __init__(self, max_params: int, *, trainable_only: bool = False) -> None:
        if isinstance(max_params, bool) or not isinstance(max_params, int) or max_params < 1:
            raise InvalidArgumentError(
                "Invalid value for argument `max_params`. Expected a positive integer. "
                f"Received: max_params={max_params!r}"
            )
        self.max_params = max_params
        self.trainable_only = trainable_only

    def check(self, model: keras.Model) -> BudgetReport:
        """Counts `model`'s weights against the budget; never raises for size."""
        params = count_params(model, trainable_only=self.trainable_only)
        return BudgetReport(params, self.max_params, params <= self.max_params,
                            self.trainable_only, layer_params(model))

    def enforce(self, model: keras.Model) -> BudgetReport:
        """Like `check`, but raises `ParamBudgetExceeded` when over budget."""
        report = self.check(model)
        if not report.within_budget:
            raise ParamBudgetExceeded(report)
        return report

    def __repr__(self) -> str:
        return f"ParamBudget(max_params={self.max_params}, trainable_only={self.trainable_only})"


class ByteBudget:
    """A maximum size of a model's TFLite flatbuffer, and the check of a model against it.

    A Keras model is converted in memory (`kerasmnist.tflite.to_tflite`),
    float32 or full-integer int8; a `.tflite` file, or a flatbuffer's bytes,
    is measured as it is. What counts is the flatbuffer's whole size, as a
    device stores it; the bytes of the weights alone are reported beside it.

    Args:
        max_bytes: The largest number of bytes allowed.

    Raises:
        InvalidArgumentError: `max_bytes` is not a positive integer.

    Example:

    >>> from kerasmnist import presets
    >>> report = ByteBudget(8_000).check(presets.build("avgpool5_dense"))
    >>> report.within_budget, report.weight_bytes >= 250 * 4
    (True, True)
    """

    def __init__(self, max_bytes: int) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise InvalidArgumentError(
                "Invalid value for argument `max_bytes`. Expected a positive integer. "
                f"Received: max_bytes={max_bytes!r}"
            )
        self.max_bytes = max_bytes

    def check(
        self,
        target: keras.Model | bytes | str | os.PathLike[str],
        *,
        int8: bool = False,
        calibration: np.ndarray | None = None,
    ) -> ByteReport:
        """Measures `target`'s TFLite flatbuffer against the budget; never raises for size.

        Args:
            target: A Keras model, a `.tflite` file's path, or a flatbuffer.
            int8: Convert a Keras model to full-integer int8. Defaults to `False`.
            calibration: With `int8`, training images to calibrate on
                (`kerasmnist.tflite.calibration_images`). Defaults to `None`.

        Returns:
            A `ByteReport`.

        Raises:
            InvalidArgumentError: `int8` for a target that is no Keras model
                (a flatbuffer is measured as it is), `int8` without
                calibration images, or a file that is no TFLite model.
            ExportError: TensorFlow could not convert the model.
        """
        from kerasmnist import tflite

        if isinstance(target, keras.Model):
            target = tflite.to_tflite(target, int8=int8, calibration=calibration)
        elif int8:
            raise InvalidArgumentError(
                "Invalid value for argument `int8`. Expected int8=False for a TFLite model, "
                "which is measured as it is; int8 converts a Keras model. Received: int8=True "
                f"with a target of type {type(target).__name__}")
        info = tflite.tflite_info(target, argument="target")
        return ByteReport(info.file_bytes, info.weight_bytes, self.max_bytes,
                          info.file_bytes <= self.max_bytes, info.int8)

    def enforce(
        self,
        target: keras.Model | bytes | str | os.PathLike[str],
        *,
        int8: bool = False,
        calibration: np.ndarray | None = None,
    ) -> ByteReport:
        """Like `check`, but raises `ByteBudgetExceeded` when over budget."""
        report = self.check(target, int8=int8, calibration=calibration)
        if not report.within_budget:
            raise ByteBudgetExceeded(report)
        return report

    def __repr__(self) -> str:
        return f"ByteBudget(max_bytes={self.max_bytes})"


def check_budget(
    model: keras.Model,
    max_params: int | None = None,
    *,
    max_bytes: int | None = None,
    int8: bool = False,
    calibration: np.ndarray | None = None,
    trainable_only: bool = False,
    raise_error: bool = False,
) -> BudgetReport:
    """Checks a model against a parameter budget, a byte budget or both.

    Args:
        model: A built Keras model.
        max_params: The largest number of weights allowed. Defaults to `None`:
            no parameter budget (the weights are still counted).
        max_bytes: The largest TFLite flatbuffer allowed, in bytes
            (`ByteBudget`): the model is converted in memory. Defaults to
            `None`: no byte budget, and no conversion.
        int8: With `max_bytes`, convert to full-integer int8. Defaults to `False`.
        calibration: With `int8`, training images to calibrate on
            (`kerasmnist.tflite.calibration_images`). Defaults to `None`.
        trainable_only: Count only trainable weights. Defaults to `False`.
        raise_error: Raise instead of returning when over budget. Defaults to
            `False`.

    Returns:
        A frozen `BudgetReport`: params, budget, within_budget (every budget
        given holds), the per-layer breakdown and, with `max_bytes`, the
        `ByteReport` of the flatbuffer (`tflite`).

    Raises:
        ParamBudgetExceeded: Over the parameter budget and `raise_error` is
            `True`; the message holds the per-layer table.
        ByteBudgetExceeded: Within any parameter budget but over the byte
            budget, and `raise_error` is `True`.
        InvalidArgumentError: Neither budget given, one that is not a positive
            integer, or `int8` without `max_bytes` or without calibration images.
        ExportError: TensorFlow could not convert the model.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    >>> report = check_budget(model, 5000)
    >>> report.params, report.within_budget
    (7850, False)
    >>> report = check_budget(model, max_bytes=40_000)
    >>> report.budget, report.within_budget, report.tflite.weight_bytes >= 784 * 10 * 4
    (None, True, True)
    """
    if max_params is None and max_bytes is None:
        raise InvalidArgumentError(
            "Invalid value for argument `max_params`. Expected a positive integer, or a "
            "`max_bytes` budget. Received: max_params=None and max_bytes=None")
    if int8 and max_bytes is None:
        raise InvalidArgumentError(
            "Invalid value for argument `int8`. Expected int8=True only with a byte budget "
            "(`max_bytes`), which converts the model. Received: int8=True and max_bytes=None")
    params_budget = ParamBudget(max_params, trainable_only=trainable_only) if max_params is not None else None
    bytes_budget = ByteBudget(max_bytes) if max_bytes is not None else None
    if params_budget is not None:
        report = params_budget.check(model)
    else:
        params = count_params(model, trainable_only=trainable_only)
        report = BudgetReport(params, None, True, trainable_only, layer_params(model))
    if bytes_budget is not None:
        tflite = bytes_budget.check(model, int8=int8, calibration=calibration)
        report = BudgetReport(report.params, report.budget, report.within_budget and tflite.within_budget,
                              trainable_only, report.layers, tflite)
    if raise_error and report.budget is not None and report.params > report.budget:
        raise ParamBudgetExceeded(report)
    if raise_error and report.tflite is not None and not report.tflite.within_budget:
        raise ByteBudgetExceeded(report.tflite)
    return report
