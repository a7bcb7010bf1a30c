"""The tiny-model hypermodel, for parameter-budget challenges."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar

import keras
import keras_tuner as kt
from keras import layers

from kerasmnist.budget import LayerParams
from kerasmnist.hypermodels.base import MnistHyperModel
from kerasmnist.hypermodels.space import Spec
from kerasmnist.hypermodels.spaces import TINY_SPACE
from kerasmnist.layers import standardization

__all__ = ["TinyHyperModel", "TinyArchitecture"]


@dataclass(frozen=True)
class TinyArchitecture:
    """A concrete tiny network: what `TinyHyperModel.build` builds.

    Attributes:
        input_pool: Average-pooling size applied to the input first (1: none).
        filters: Filters of each convolution, in order.
        kernel_size: Convolution kernel size.
        separable: Whether the convolutions after the first are depthwise-separable
            (the first sees one channel, where a separable convolution's filters
            would all be multiples of one).
        pool_size: Pooling size after each convolution (1: none).
        stacked: Whether the convolutions are stacked, pooled once after the last
            rather than after each.
        pooling: `"max"` or `"average"` pooling after the convolutions.
        logits_bias: Whether the dense layer to the logits has biases.
        head: "flatten", "global_average" or "global_max".
        dense_units: Width of the hidden dense layer (0: none).
    """

    input_pool: int
    filters: tuple[int, ...]
    kernel_size: int
    separable: bool
    pool_size: int
    head: str
    dense_units: int
    stacked: bool = False
    pooling: str = "max"
    logits_bias: bool = True

    def pools_after(self, layer: int) -> bool:
        """Whether convolution number `layer` (from 0) is followed by pooling."""
        return not self.stacked or layer == len(self.filters) - 1

    def shrunk(self) -> TinyArchitecture | None:
        """The next smaller architecture: the widest layer halved, or None."""
        widths = [*self.filters, self.dense_units]
        widest = max(range(len(widths)), key=lambda i: (widths[i], i))
        if widths[widest] <= 1 and self.dense_units == 0:
            return None
        if widest == len(self.filters):
            return replace(self, dense_units=self.dense_units // 2)
        filters = list(self.filters)
        filters[widest] //= 2
        return replace(self, filters=tuple(filters))


class TinyHyperModel(MnistHyperModel):
    """A search space of very small networks, for budgets of ~50 to 10,000 weights.

    The network: optional average pooling of the input, 0 to 3 convolutions
    ('same' padding; the first plain, the others plain or separable; each
    followed by max or average pooling, or `stacked` and pooled once after the
    last), a flatten or global pooling head, an optional dense layer, the logits
    (with or without biases). The `tiny_150` preset is such a network, with
    leaky ReLUs where this space has ReLUs: three stacked convolutions, the last
    two separable, average pooling, no logit biases.

    With `max_params`, every model it builds is within budget: the weight count
    is computed from the hyperparameters before building and, while it is over
    budget, the widest layer (filters or dense units) is halved. The widths a
    trial declares are thus upper bounds, turned into the model by a fixed rule,
    so the same hyperparameters always build the same model. A configuration
    that is over budget even at width 1 is rejected before training.

    A search over several budgets at once lists them as the `budget` override
    (`overrides={"budget": [150, 500, 1000]}`): each trial draws one, a
    hyperparameter like any other, and its model fits that budget (or
    `max_params`, if smaller). Without the override there is no `budget`
    entry: the space is the one below less that row.

    The space (per-layer entries are declared as `filters_0`, `filters_1`, ...):

    {space}

    Args: see `MnistHyperModel`.

    Example:

    >>> import keras_tuner as kt
    >>> hm = TinyHyperModel(max_params=300)
    >>> hm.build(kt.HyperParameters()).count_params() <= 300
    True
    >>> ladder = TinyHyperModel(max_params=1000, overrides={"budget": [150, 1000]})
    >>> hp = kt.HyperParameters()
    >>> hp.Fixed("budget", 150)  # as a trial that drew the 150-weight budget
    150
    >>> ladder.build(hp).count_params() <= 150
    True
    """

    SPACE: ClassVar[dict[str, Spec]] = TINY_SPACE

    def architecture(self, hp: kt.HyperParameters) -> TinyArchitecture:
        """Declares the architecture entries and returns the network to build.

        Raises:
            OverBudgetTrial: Over budget (`trial_budget`) even with every width at 1.
        """
        arch = TinyArchitecture(
            input_pool=self.hp(hp, "input_pool"),
            filters=tuple(self.hp(hp, "filters", i) for i in range(self.hp(hp, "conv_layers"))),
            kernel_size=self.hp(hp, "kernel_size"),
            separable=self.hp(hp, "separable"),
            pool_size=self.hp(hp, "pool_size"),
            head=self.hp(hp, "head"),
            dense_units=self.hp(hp, "dense_units"),
            stacked=self.hp(hp, "stacked"),
            pooling=self.hp(hp, "pooling"),
            logits_bias=self.hp(hp, "logits_bias"),
        )
        budget = self.trial_budget(hp)
        if budget is None:
            return arch
        while True:
            report = self.predicted_report(self.predict_params(arch), budget)
            if report.within_budget:
                return arch
            smaller = arch.shrunk()
            if smaller is None:
                self.reject_if_over(report)
            arch = smaller  # type: ignore[assignment]

    def trial_budget(self, hp: kt.HyperParameters) -> int | None:
        """The most weights the trial's model may have: its `budget` tier and `max_params`, the smaller.

        Declares `budget` where an override gives it (else it is no part of
        the space). `None`: neither is set.

        Example:

        >>> import keras_tuner as kt
        >>> TinyHyperModel(max_params=500, overrides={"budget": 1000}).trial_budget(kt.HyperParameters())
        500
        """
        budgets = [self.hp(hp, "budget"), self.budget.max_params if self.budget else None]
        return min((b for b in budgets if b is not None), default=None)

    def build(self, hp: kt.HyperParameters) -> keras.Model:
        arch = self.architecture(hp)
        inputs, x = self.image_input()
        x = standardization()(x)  # centred inputs: no dead starts (`kerasmnist.layers.standardization`)
        if arch.input_pool > 1:
            x = layers.AveragePooling2D(arch.input_pool, name="input_pool")(x)
        for i, filters in enumerate(arch.filters):
            conv = layers.SeparableConv2D if arch.separable and i else layers.Conv2D
            x = conv(filters, arch.kernel_size, padding="same", activation="relu", name=f"conv_{i}")(x)
            if arch.pool_size > 1 and arch.pools_after(i):
                pool = layers.MaxPooling2D if arch.pooling == "max" else layers.AveragePooling2D
                x = pool(arch.pool_size, padding="same", name=f"{arch.pooling}_pool_{i}")(x)
        if arch.head == "flatten":
            x = layers.Flatten(name="flatten")(x)
        elif arch.head == "global_average":
            x = layers.GlobalAveragePooling2D(name="global_average")(x)
        else:
            x = layers.GlobalMaxPooling2D(name="global_max")(x)
        if arch.dense_units:
            x = layers.Dense(arch.dense_units, activation="relu", name="dense")(x)
        outputs = layers.Dense(self.num_classes, use_bias=arch.logits_bias, name="logits")(x)
        return self.compile(hp, keras.Model(inputs, outputs, name="tiny"))

    def predict_params(self, arch: TinyArchitecture) -> list[LayerParams]:
        """Per-layer weight counts of `arch`, computed without building it."""
        height, width, channels = self.image_shape
        if arch.input_pool > 1:
            height, width = height // arch.input_pool, width // arch.input_pool
        rows = []
        k = arch.kernel_size
        for i, filters in enumerate(arch.filters):
            if arch.separable and i:
                weights = k * k * channels + channels * filters + filters
                rows.append(LayerParams(f"conv_{i}", "SeparableConv2D", weights, 0))
            else:
                rows.append(LayerParams(f"conv_{i}", "Conv2D", k * k * channels * filters + filters, 0))
            channels = filters
            if arch.pool_size > 1 and arch.pools_after(i):
                height, width = math.ceil(height / arch.pool_size), math.ceil(width / arch.pool_size)
        features = channels * (height * width if arch.head == "flatten" else 1)
        if arch.dense_units:
            rows.append(LayerParams("dense", "Dense", features * arch.dense_units + arch.dense_units, 0))
            features = arch.dense_units
        biases = self.num_classes if arch.logits_bias else 0
        rows.append(LayerParams("logits", "Dense", features * self.num_classes + biases, 0))
        return rows
