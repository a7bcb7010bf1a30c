"""Every exception class of kerasmnist.

Each class also subclasses the built-in exception a caller would naturally catch
(`ValueError`, `FileNotFoundError`), so code written against the built-ins keeps
working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = [
    "KerasMnistError",
    "InvalidArgumentError",
    "IdxFormatError",
    "DatasetError",
    "ChecksumError",
    "DatasetNotFoundError",
    "DownloadError",
    "ParamBudgetExceeded",
]


class KerasMnistError(Exception):
    """Base class of every error raised by kerasmnist."""


class InvalidArgumentError(KerasMnistError, ValueError):
    """An argument has the wrong type or value.

    The message names the argument, what was expected and what was received.
    """


class IdxFormatError(KerasMnistError, ValueError):
    """Bytes that do not form a valid IDX file.

    Attributes:
        source: A description of what was read (a path, `"<bytes>"`, or a file
            object's name).
    """

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"Invalid IDX data in {source}: {problem}")


class DatasetError(KerasMnistError, ValueError):
    """Data set files that are each valid IDX but do not form a data set."""


class ChecksumError(DatasetError):
    """A file's content does not match the checksum recorded for it."""


class DatasetNotFoundError(KerasMnistError, FileNotFoundError):
    """A data set's files were found nowhere and could not be downloaded."""


class DownloadError(KerasMnistError, OSError):
    """No mirror delivered a verified copy of a file.

    Attributes:
        filename: The file asked for.
        failures: One `kerasmnist.download.MirrorFailure` per mirror tried, each
            with its `url`, its `reason` and whether it was a `checksum` failure.
    """

    def __init__(self, filename: str, failures: Sequence[Any]) -> None:
        self.filename = filename
        self.failures = list(failures)
        tried = "; ".join(f"{f.url}: {f.reason}" for f in self.failures)
        self.message = f"Could not download {filename}: " + (tried or "no mirror is known")
        super().__init__(self.message)

    def __str__(self) -> str:
        # OSError would format its first constructor arguments as errno and strerror.
        return self.message


class ParamBudgetExceeded(KerasMnistError, ValueError):
    """A model has more weights than its parameter budget allows.

    Attributes:
        report: The `kerasmnist.budget.BudgetReport` of the check, with the
            per-layer breakdown that the message also shows.
    """

    def __init__(self, report: Any) -> None:
        self.report = report
        super().__init__(
            f"Model has {report.params:,} parameters, over the budget of "
            f"{report.budget:,} by {report.params - report.budget:,}.\n{report.table()}"
        )
