"""What kerasmnist's hypermodels share: fixed settings, optimizer, budget, fit."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import keras
import keras_tuner as kt

from kerasmnist.budget import BudgetReport, LayerParams, ParamBudget
from kerasmnist.errors import InvalidArgumentError, OverBudgetTrial
from kerasmnist.hypermodels.space import Spec, declare, declare_space, describe, validate_overrides
from kerasmnist.hypermodels.spaces import OPTIMIZERS, optimizer_space

__all__ = ["MnistHyperModel", "OverBudgetTrial", "image_shape_for", "optimizer_space"]

_SPACE_MARK = "{space}"


class MnistHyperModel(kt.HyperModel):
    """Base class: validates fixed settings at construction, compiles, fits.

    Subclasses set `SPACE` and implement `build(hp)`, declaring entries with
    `self.hp(hp, name, index)` where they are used. A line `{space}` in a
    subclass's docstring becomes the table of its `SPACE` (`describe`), so the
    documented space is the declared one.

    Args:
        input_shape: Shape of one example as the model will be fed: flat
            `(784,)`, `(28, 28)` or `(28, 28, 1)`. Defaults to `(784,)`, the
            shape of `Dataset.arrays()`'s default view.
        num_classes: Number of classes. Defaults to `10`.
        overrides: Search-space overrides by name (see
            `kerasmnist.hypermodels.space`). Defaults to `None`.
        max_params: Parameter budget; a configuration over it is never trained.
            Where a subclass can (`predicted_report`), it counts the weights
            from the hyperparameters and rejects the configuration before
            building anything. Defaults to `None` (no budget).
        name: Name of the hypermodel. Defaults to the class's.
        tunable: Whether the hyperparameters may be tuned. Defaults to `True`.
    """

    SPACE: ClassVar[Mapping[str, Spec]] = {}
    CONDITIONS: ClassVar[Mapping[str, tuple[str, list[Any]]]] = {"momentum": ("optimizer", ["sgd"])}
    """Entries used only under a condition on another: name to the parent entry and its values."""
    NEEDS_IMAGE: ClassVar[bool] = True
    """Whether the network sees its input as an image (checked at construction)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__doc__:  # None under `python -OO`
            cls.__doc__ = _with_space_table(cls.__doc__, cls.SPACE)

    def __init__(
        self,
        input_shape: Sequence[int] = (784,),
        num_classes: int = 10,
        *,
        overrides: Mapping[str, Any] | None = None,
        max_params: int | None = None,
        name: str | None = None,
        tunable: bool = True,
    ) -> None:
        super().__init__(name=name, tunable=tunable)
        self.input_shape = _checked_input_shape(input_shape)
        if self.NEEDS_IMAGE:
            image_shape_for(self.input_shape)  # raises now for a flat size that is no square
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise InvalidArgumentError(
                "Invalid value for argument `num_classes`. Expected an integer >= 2. "
                f"Received: num_classes={num_classes!r}"
            )
        self.num_classes = num_classes
        self.overrides = validate_overrides(self.SPACE, dict(overrides or {}))
        self.budget = ParamBudget(max_params) if max_params is not None else None
        self.rejected = 0
        """Configurations rejected for exceeding the budget, never trained."""

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """The `(height, width, channels)` the input is reshaped to."""
        return image_shape_for(self.input_shape)

    def hp(self, hp: kt.HyperParameters, name: str, index: int | None = None) -> Any:
        """Declares entry `name` of the space (layer `index`) and returns its value."""
        return declare(hp, self.SPACE, self.overrides, name, index)

    def image_input(self) -> tuple[keras.KerasTensor, keras.KerasTensor]:
        """The model input and the same data as an image `(h, w, c)`."""
        inputs = keras.Input(self.input_shape)
        if self.input_shape == self.image_shape:
            return inputs, inputs
        return inputs, keras.layers.Reshape(self.image_shape)(inputs)

    def compile(self, hp: kt.HyperParameters, model: keras.Model) -> keras.Model:
        """Compiles with the tuned optimizer: logits, sparse cross-entropy, accuracy.

        Raises:
            InvalidArgumentError: An optimizer name other than `OPTIMIZERS`
                (one a tuner's own `HyperParameters` fixed, say).
        """
        model.compile(
            optimizer=self.optimizer(hp),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=["accuracy"],
        )
        return model

    def optimizer(self, hp: kt.HyperParameters) -> keras.optimizers.Optimizer:
        """The optimizer `hp` names, with its learning rate (and momentum, for SGD).

        Raises:
            InvalidArgumentError: A name other than `OPTIMIZERS`: never a silent Adam.
        """
        name = self.hp(hp, "optimizer")
        if name not in OPTIMIZERS:
            raise InvalidArgumentError(
                f"Invalid value for hyperparameter `optimizer`. Expected one of {list(OPTIMIZERS)}. "
                f"Received: optimizer={name!r}")
        learning_rate = float(self.hp(hp, "learning_rate"))
        with hp.conditional_scope(*self.CONDITIONS["momentum"]):  # None unless SGD
            momentum = self.hp(hp, "momentum")
        if name == "sgd":
            return keras.optimizers.SGD(learning_rate, momentum=float(momentum), nesterov=True)
        if name == "rmsprop":
            return keras.optimizers.RMSprop(learning_rate)
        return keras.optimizers.Adam(learning_rate)

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        """Declares the whole space before any trial (keras-tuner's hook; `space.declare_space`).

        So every trial is proposed from the same space, whichever process asks
        and whatever trials ran before: a search proposes the same trials in one
        process, in fresh processes and with distributed workers. The batch size,
        which `fit` declares, is part of it: a `batch_size` given to `fit` (or
        `search`) still wins; fix it with the `batch_size` override to keep the
        trials' values true to it.
        """
        declare_space(hp, self.SPACE, self.overrides, self.CONDITIONS)

    def fit(self, hp: kt.HyperParameters, model: keras.Model, *args: Any, **kwargs: Any) -> Any:
        """Trains with the tuned batch size, after checking the budget."""
        if self.budget is not None:
            self.reject_if_over(self.budget.check(model))
        if "batch_size" not in kwargs:
            kwargs["batch_size"] = self.hp(hp, "batch_size")
        return model.fit(*args, **kwargs)

    def reject_if_over(self, report: BudgetReport) -> None:
        """Counts and raises `OverBudgetTrial` for a report over budget."""
        if not report.within_budget:
            self.rejected += 1
            raise OverBudgetTrial(report)

    def predicted_report(self, layers: Sequence[LayerParams], max_params: int | None = None) -> BudgetReport:
        """A budget report from weight counts predicted before building.

        Args:
            layers: The predicted weights of each layer.
            max_params: The budget to check against. Defaults to `None`: the
                hypermodel's own.

        Raises:
            InvalidArgumentError: No budget: neither `max_params` nor the hypermodel's.
        """
        if max_params is None:
            if self.budget is None:
                raise InvalidArgumentError("predicted_report needs a hypermodel with max_params")
            max_params = self.budget.max_params
        params = sum(layer.total for layer in layers)
        return BudgetReport(params, max_params, params <= max_params, False, tuple(layers))

    def __repr__(self) -> str:
        budget = f", max_params={self.budget.max_params}" if self.budget else ""
        return (f"{type(self).__name__}(input_shape={self.input_shape}, "
                f"num_classes={self.num_classes}{budget})")


def image_shape_for(input_shape: Sequence[int]) -> tuple[int, int, int]:
    """The `(height, width, channels)` image that an input shape holds.

    A flat size must be a square number of one-channel pixels; `(h, w)` gets one
    channel.

    Raises:
        InvalidArgumentError: Neither a square flat size nor an image shape.

    Example:

    >>> image_shape_for((784,)), image_shape_for((28, 28))
    ((28, 28, 1), (28, 28, 1))
    """
    shape = tuple(input_shape)
    if len(shape) == 1 and shape[0] > 0 and math.isqrt(shape[0]) ** 2 == shape[0]:
        return math.isqrt(shape[0]), math.isqrt(shape[0]), 1
    if len(shape) in (2, 3):
        return shape[0], shape[1], shape[2] if len(shape) == 3 else 1
    raise InvalidArgumentError(
        "Invalid value for argument `input_shape`. Expected a flat size that is a square "
        "number of pixels, (height, width) or (height, width, channels). Received: "
        f"input_shape={shape}"
    )


def _with_space_table(doc: str, space: Mapping[str, Spec]) -> str:
    lines = []
    for line in doc.splitlines():
        if line.strip() == _SPACE_MARK:
            indent = line[:len(line) - len(line.lstrip())]
            lines += [indent + row for row in describe(space, tablefmt="github").splitlines()]
        else:
            lines.append(line)
    return "\n".join(lines)


def _checked_input_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
        ok = not isinstance(input_shape, str) and 1 <= len(shape) <= 3 and min(shape) > 0
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InvalidArgumentError(
            "Invalid value for argument `input_shape`. Expected 1 to 3 positive sizes, "
            f"e.g. (784,) or (28, 28, 1). Received: input_shape={input_shape!r}"
        )
    return shape

