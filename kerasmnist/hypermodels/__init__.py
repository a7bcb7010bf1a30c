"""keras-tuner HyperModels for MNIST-like data, behind `build_hypermodel`.

The hypermodels import Keras and keras-tuner, so their names load on first
access (`kerasmnist._lazy`); the search spaces (`kerasmnist.hypermodels.spaces`)
and their declarations (`kerasmnist.hypermodels.space`) import neither, so that
a run spec's overrides are checked without them.

Example:

>>> from kerasmnist.hypermodels import build_hypermodel
>>> build_hypermodel("cnn", dataset="fashion_mnist", conv_blocks=1)
CNNHyperModel(input_shape=(784,), num_classes=10)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasmnist._lazy import lazy_getattr

if TYPE_CHECKING:
    from kerasmnist.hypermodels.base import MnistHyperModel, OverBudgetTrial
    from kerasmnist.hypermodels.cnn import CNNHyperModel
    from kerasmnist.hypermodels.kinds import KINDS, build_hypermodel
    from kerasmnist.hypermodels.mlp import MLPHyperModel
    from kerasmnist.hypermodels.tiny import TinyArchitecture, TinyHyperModel

__all__ = [
    "CNNHyperModel",
    "KINDS",
    "MLPHyperModel",
    "MnistHyperModel",
    "OverBudgetTrial",
    "TinyArchitecture",
    "TinyHyperModel",
    "build_hypermodel",
]

__getattr__ = lazy_getattr(globals(), {
    "CNNHyperModel": "kerasmnist.hypermodels.cnn",
    "KINDS": "kerasmnist.hypermodels.kinds",
    "MLPHyperModel": "kerasmnist.hypermodels.mlp",
    "MnistHyperModel": "kerasmnist.hypermodels.base",
    "OverBudgetTrial": "kerasmnist.hypermodels.base",
    "TinyArchitecture": "kerasmnist.hypermodels.tiny",
    "TinyHyperModel": "kerasmnist.hypermodels.tiny",
    "build_hypermodel": "kerasmnist.hypermodels.kinds",
})


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
