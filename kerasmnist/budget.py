"""Parameter counting and the parameter-budget checker for tiny models.

Challenges such as "the smallest model above 80% on MNIST" count every weight of
a model: trainable ones and non-trainable ones such as batch-normalisation moving
statistics. That is the default here; `trainable_only=True` counts as
keras-tuner's `max_model_size` does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import keras
from tabulate import tabulate

from kerasmnist.errors import InvalidArgumentError, ParamBudgetExceeded

__all__ = ["BudgetReport", "LayerParams", "ParamBudget", "check_budget", "count_params"]


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
class BudgetReport:
    """The result of checking a model against a parameter budget.

    Attributes:
        params: The model's weight count, as counted for the budget.
        budget: The budget.
        within_budget: Whether `params <= budget`.
        trainable_only: Whether only trainable weights were counted.
        layers: Per-layer breakdown, in the model's layer order.
    """

    params: int
    budget: int
    within_budget: bool
    trainable_only: bool
    layers: tuple[LayerParams, ...]

    def table(self) -> str:
        """Renders the per-layer breakdown as a plain-text table."""
        rows: list[tuple[object, ...]] = [
            (layer.name, layer.kind, layer.trainable, layer.non_trainable, layer.total)
            for layer in self.layers
        ]
        counted = "trainable" if self.trainable_only else "all"
        rows.append((f"total ({counted})", "", "", "", self.params))
        rows.append(("budget", "", "", "", self.budget))
        return tabulate(rows, headers=("layer", "type", "trainable", "non-trainable", "params"),
                        intfmt=",")


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


def check_budget(
    model: keras.Model,
    max_params: int,
    *,
    trainable_only: bool = False,
    raise_error: bool = False,
) -> BudgetReport:
    """Checks a model against a parameter budget.

    Args:
        model: A built Keras model.
        max_params: The largest number of weights allowed.
        trainable_only: Count only trainable weights. Defaults to `False`.
        raise_error: Raise instead of returning when over budget. Defaults to
            `False`.

    Returns:
        A frozen `BudgetReport`: params, budget, within_budget and the per-layer
        breakdown.

    Raises:
        ParamBudgetExceeded: Over budget and `raise_error` is `True`; the message
            holds the per-layer table.
        InvalidArgumentError: `max_params` is not a positive integer.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    >>> report = check_budget(model, 5000)
    >>> report.params, report.within_budget
    (7850, False)
    """
    budget = ParamBudget(max_params, trainable_only=trainable_only)
    return budget.enforce(model) if raise_error else budget.check(model)
