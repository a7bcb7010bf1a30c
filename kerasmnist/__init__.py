"""kerasmnist: Keras 3 components for the MNIST family of data sets.

The data layer (`read_idx`, `write_idx`) imports neither Keras nor
TensorFlow, so `import kerasmnist` stays fast.
"""

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
    "DatasetError",
    "DatasetNotFoundError",
    "DownloadError",
    "IdxFormatError",
    "InvalidArgumentError",
    "KerasMnistError",
    "__version__",
    "read_idx",
    "write_idx",
]
