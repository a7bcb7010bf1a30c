"""The hypermodel of each kind, and `build_hypermodel`, which makes one."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from kerasmnist.datasets import Dataset, DatasetInfo, get_dataset_info
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.hypermodels.base import MnistHyperModel
from kerasmnist.hypermodels.cnn import CNNHyperModel
from kerasmnist.hypermodels.mlp import MLPHyperModel
from kerasmnist.hypermodels.tiny import TinyHyperModel

__all__ = ["KINDS", "build_hypermodel"]

KINDS: dict[str, type[MnistHyperModel]] = {
    "mlp": MLPHyperModel,
    "cnn": CNNHyperModel,
    "tiny": TinyHyperModel,
}
"""The hypermodel class of each kind."""


def build_hypermodel(
    kind: str = "mlp",
    *,
    dataset: str | Dataset | DatasetInfo | None = None,
    input_shape: Sequence[int] | None = None,
    num_classes: int | None = None,
    max_params: int | None = None,
    **overrides: Any,
) -> MnistHyperModel:
    """Returns a `keras_tuner.HyperModel` for MNIST-like data.

    The result goes wherever keras-tuner takes a build function:
    `keras_tuner.RandomSearch(build_hypermodel("cnn", dataset="mnist"), ...)`.

    Args:
        kind: `"mlp"`, `"cnn"` or `"tiny"`. Defaults to `"mlp"`.
        dataset: A data-set name, `Dataset` or `DatasetInfo`, which supplies the
            number of classes and the input shape (flat, as `Dataset.arrays()`
            gives by default). Defaults to `None` (MNIST's: 784 inputs, 10
            classes).
        input_shape: Shape of one example as fed to the model, e.g. `(784,)` or
            `(28, 28, 1)`; overrides the data set's. Defaults to `None`.
        num_classes: Number of classes; overrides the data set's. Defaults to
            `None`.
        max_params: Parameter budget: no model over it is trained. Defaults to
            `None`.
        **overrides: Search-space overrides by hyperparameter name: a value fixes
            it, a `(low, high)` tuple narrows it, a list restricts its choices.

    Returns:
        An `MLPHyperModel`, `CNNHyperModel` or `TinyHyperModel`.

    Raises:
        InvalidArgumentError: Unknown kind or data set, or an invalid setting or
            override, naming it.

    Example:

    >>> import keras_tuner as kt
    >>> hm = build_hypermodel("mlp", dataset="fashion_mnist", num_layers=1)
    >>> hm.build(kt.HyperParameters()).output_shape
    (None, 10)
    """
    if kind not in KINDS:
        raise InvalidArgumentError(
            f"Invalid value for argument `kind`. Expected one of {sorted(KINDS)}. "
            f"Received: kind={kind!r}"
        )
    shape: Sequence[int] = (784,)
    classes = 10
    if isinstance(dataset, Dataset):
        shape, classes = (math.prod(dataset.image_shape),), dataset.num_classes
    elif dataset is not None:
        info = get_dataset_info(dataset)
        shape, classes = (math.prod(info.image_shape),), info.num_classes
    return KINDS[kind](
        input_shape if input_shape is not None else shape,
        num_classes if num_classes is not None else classes,
        overrides=overrides,
        max_params=max_params,
    )
