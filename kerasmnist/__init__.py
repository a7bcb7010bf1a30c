"""kerasmnist: Keras 3 components for the MNIST family of data sets.

The data layer (`read_idx`, `write_idx`, `load_dataset`) imports neither Keras nor
TensorFlow, so `import kerasmnist` stays fast.
"""

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
)
from kerasmnist.idx import read_idx, write_idx

__version__ = "0.1.0"

__all__ = [
    "ChecksumError",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "DatasetNotFoundError",
    "DownloadError",
    "IdxFormatError",
    "InvalidArgumentError",
    "KerasMnistError",
    "__version__",
    "dataset_names",
    "get_dataset_info",
    "load_dataset",
    "read_idx",
    "register_dataset",
    "write_idx",
]
