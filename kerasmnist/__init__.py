"""kerasmnist: Keras 3 components for the MNIST family of data sets.

The data layer (`read_idx`, `write_idx`, `load_dataset`) imports neither Keras nor
TensorFlow, so `import kerasmnist` stays fast; the model components load Keras on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kerasmnist._lazy import lazy_getattr
from kerasmnist.datasets import (
    Dataset,
    DatasetInfo,
    dataset_names,
    get_dataset_info,
    load_dataset,
    register_dataset,
)
from kerasmnist.errors import (
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    IdxFormatError,
    InvalidArgumentError,
    KerasMnistError,
    ParamBudgetExceeded,
)
from kerasmnist.events import EventWriter, read_events
from kerasmnist.idx import read_idx, write_idx
from kerasmnist.pareto import pareto_front
from kerasmnist.runs import RunSpec

if TYPE_CHECKING:
    from kerasmnist import evaluation, presets
    from kerasmnist.budget import BudgetReport, ParamBudget, check_budget, count_params
    from kerasmnist.callbacks import EventLogger, FullEvalMetrics, Pruner
    from kerasmnist.distillation import Distiller
    from kerasmnist.hypermodels import (
        CNNHyperModel,
        MLPHyperModel,
        TinyHyperModel,
        build_hypermodel,
    )
    from kerasmnist.runs.engine import RunResult, resume, run

__version__ = "0.1.0"

# Names whose modules import Keras, loaded on first access.
_LAZY = {
    "BudgetReport": "kerasmnist.budget",
    "CNNHyperModel": "kerasmnist.hypermodels",
    "Distiller": "kerasmnist.distillation",
    "EventLogger": "kerasmnist.callbacks",
    "FullEvalMetrics": "kerasmnist.callbacks",
    "MLPHyperModel": "kerasmnist.hypermodels",
    "ParamBudget": "kerasmnist.budget",
    "Pruner": "kerasmnist.callbacks",
    "RunResult": "kerasmnist.runs.engine",
    "TinyHyperModel": "kerasmnist.hypermodels",
    "build_hypermodel": "kerasmnist.hypermodels",
    "check_budget": "kerasmnist.budget",
    "count_params": "kerasmnist.budget",
    "evaluation": "kerasmnist.evaluation",
    "presets": "kerasmnist.presets",
    "resume": "kerasmnist.runs.engine",
    "run": "kerasmnist.runs.engine",
}

__all__ = [
    "BudgetReport",
    "CNNHyperModel",
    "ChecksumError",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "Distiller",
    "DownloadError",
    "EventLogger",
    "EventWriter",
    "FullEvalMetrics",
    "IdxFormatError",
    "InvalidArgumentError",
    "KerasMnistError",
    "MLPHyperModel",
    "ParamBudget",
    "ParamBudgetExceeded",
    "Pruner",
    "RunResult",
    "RunSpec",
    "TinyHyperModel",
    "__version__",
    "build_hypermodel",
    "check_budget",
    "count_params",
    "dataset_names",
    "evaluation",
    "get_dataset_info",
    "load_dataset",
    "pareto_front",
    "presets",
    "read_events",
    "read_idx",
    "register_dataset",
    "resume",
    "run",
    "write_idx",
]


__getattr__ = lazy_getattr(globals(), _LAZY)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
