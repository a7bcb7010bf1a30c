"""The search space of each hypermodel kind, as data, importable without Keras.

`MLPHyperModel.SPACE`, `CNNHyperModel.SPACE` and `TinyHyperModel.SPACE` are the
mappings defined here, so a run spec's overrides are checked against the very
space the hypermodel declares (`check_overrides`), in a process that never
loads Keras or keras-tuner: the command line before its run, the terminal UI.

Each entry's `limits` say what an override may set where that goes beyond what
a search samples: a width may be fixed to any size up to a few times the
largest choice (tests and quick examples use small ones), a learning rate to
any positive value, a dropout rate up to 0.9; a layer count stays within the
range the per-layer defaults and the image size make sense for.

The tiny space's `budget` is opt-in (`Choice.opt_in`): without an override it
is not declared, and the space and its draws are as if it were absent; listed
(`budget=[150, 500, 1000]`), each trial draws one of those weight budgets and
its model fits it (`TinyHyperModel`), so that one search covers several.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kerasmnist.hypermodels.space import Boolean, Choice, Float, Int, Spec, override_problem

__all__ = ["CNN_SPACE", "MLP_SPACE", "OPTIMIZERS", "SPACES", "TINY_SPACE", "check_overrides",
           "optimizer_space"]

OPTIMIZERS = ("adam", "sgd", "rmsprop")
"""The optimizers a hypermodel compiles with (its `optimizer` entry's choices)."""

_PENALTIES = (0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3)
_DROPOUT_LIMITS = (0.0, 0.9)


def optimizer_space(learning_rate: float = 1e-3, batch_size: int = 128) -> dict[str, Spec]:
    """The optimizer and batch-size entries every hypermodel shares."""
    return {
        "optimizer": Choice(OPTIMIZERS, default="adam", doc="sgd uses Nesterov momentum"),
        "learning_rate": Float(1e-4, 1e-1, default=learning_rate, sampling="log",
                               limits=(0.0, math.inf)),
        "momentum": Float(0.5, 0.99, default=0.9, limits=(0.0, 1.0), doc="only with optimizer=sgd"),
        "batch_size": Choice((16, 32, 64, 128, 256), default=batch_size, limits=(1, 65536),
                             doc="tuned in fit(); a batch_size given to search() wins"),
    }


MLP_SPACE: dict[str, Spec] = {
    "num_layers": Int(1, 5, default=2, counts_layers=True, doc="hidden layers"),
    "units": Choice((32, 64, 128, 256, 512, 1024), default=128, per_layer=True, limits=(1, 4096)),
    "activation": Choice(("relu", "leaky_relu", "elu", "selu", "tanh"), default="relu"),
    "batch_norm": Boolean(False),
    "dropout": Float(0.0, 0.5, default=0.2, step=0.05, per_layer=True, limits=_DROPOUT_LIMITS,
                     doc="after the activation"),
    "l1": Choice(_PENALTIES, default=0.0, per_layer=True, limits=(0.0, 1.0), doc="kernel L1 penalty"),
    "l2": Choice(_PENALTIES, default=0.0, per_layer=True, limits=(0.0, 1.0), doc="kernel L2 penalty"),
    "kernel_initializer": Choice(
        ("glorot_uniform", "he_normal", "he_uniform", "lecun_normal"), default="glorot_uniform"),
    **optimizer_space(),
}
"""`MLPHyperModel`'s space."""

CNN_SPACE: dict[str, Spec] = {
    "conv_blocks": Int(1, 4, default=2, limits=(1, 6), counts_layers=True),
    "filters": Choice((16, 32, 64, 128, 256), default=(32, 64, 128, 256), per_layer=True,
                      limits=(1, 1024)),
    "kernel_size": Choice((3, 5), default=3, limits=(1, 9)),
    "strides": Choice((1, 2), default=1, limits=(1, 4)),
    "pooling": Choice(("max", "average", "none"), default="max"),
    "batch_norm": Boolean(False),
    "activation": Choice(("relu", "leaky_relu", "elu"), default="relu"),
    "kernel_initializer": Choice(("glorot_uniform", "he_normal", "he_uniform"), default="he_normal"),
    "dropout": Float(0.0, 0.5, default=0.25, step=0.05, limits=_DROPOUT_LIMITS,
                     doc="after each block and the dense layer"),
    "head": Choice(("flatten", "global_average"), default="flatten"),
    "dense_units": Choice((0, 64, 128, 256, 512), default=128, limits=(0, 4096), doc="0: no dense layer"),
    **optimizer_space(),
}
"""`CNNHyperModel`'s space."""

TINY_SPACE: dict[str, Spec] = {
    "input_pool": Choice((1, 2, 3, 4), default=2, limits=(1, 14), doc="average pooling of the input"),
    "conv_layers": Int(0, 3, default=2, counts_layers=True),
    "filters": Choice((1, 2, 4, 8, 16, 32), default=(8, 16, 16), per_layer=True, limits=(1, 256)),
    "kernel_size": Choice((3, 5), default=3, limits=(1, 9)),
    "separable": Boolean(False, doc="depthwise-separable convolutions after the first"),
    "pool_size": Choice((1, 2, 3, 4, 5, 7), default=2, limits=(1, 14),
                        doc="pooling after each convolution ('same' padding)"),
    "stacked": Boolean(False, doc="pooling once, after the last convolution"),
    "pooling": Choice(("max", "average"), default="max", doc="after the convolutions"),
    "head": Choice(("flatten", "global_average", "global_max"), default="global_average"),
    "dense_units": Choice((0, 4, 8, 16, 32), default=0, limits=(0, 1024), doc="0: no hidden dense layer"),
    "logits_bias": Boolean(True, doc="biases in the dense layer to the logits"),
    **optimizer_space(learning_rate=3e-3),
    "budget": Choice((100, 150, 300, 500, 1000, 2000, 5000, 10_000), default=None,
                     limits=(1, 10**6), opt_in=True,
                     doc="opt-in: the trial's weight budget (with max_params, the smaller)"),
}
"""`TinyHyperModel`'s space."""

SPACES: dict[str, Mapping[str, Spec]] = {"mlp": MLP_SPACE, "cnn": CNN_SPACE, "tiny": TINY_SPACE}
"""The space of each hypermodel kind (`kerasmnist.hypermodels.KINDS`)."""


def check_overrides(kind: str, overrides: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first override that kind `kind`'s space refuses: its name and the message, or `None`.

    The same check as the hypermodel's constructor (`space.override_problem`),
    without Keras.

    Example:

    >>> check_overrides("mlp", {"num_layers": 3, "units": [16, 64]}) is None
    True
    >>> check_overrides("mlp", {"num_layers": 100000})[0]
    'num_layers'
    """
    return override_problem(SPACES[kind], overrides)
