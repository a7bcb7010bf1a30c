"""Every exception class of kerasmnist.

Each class also subclasses the built-in exception a caller would naturally catch
(`ValueError`, `FileNotFoundError`), so code written against the built-ins keeps
working.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_TUNER_ERRORS = ("TrialFailed", "OverBudgetTrial")

__all__ = [
    "KerasMnistError",
    "InvalidArgumentError",
    "IdxFormatError",
    "DatasetError",
    "ChecksumError",
    "DatasetNotFoundError",
    "DownloadError",
    "ParamBudgetExceeded",
    "ByteBudgetExceeded",
    "ExportError",
    "SpecError",
    "UsageError",
    "RunError",
    "RunBusyError",
    "KerasTunerMismatchError",
    "CheckpointError",
    "TrialFailed",  # noqa: F822 (made on first use by __getattr__)
    "OverBudgetTrial",  # noqa: F822
    "MistakesError",
    "ImportanceError",
    "error_details",
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


class ByteBudgetExceeded(KerasMnistError, ValueError):
    """A model's TFLite flatbuffer has more bytes than its byte budget allows.

    Attributes:
        report: The `kerasmnist.budget.ByteReport` of the check: the
            flatbuffer's bytes, its weights' bytes and the budget.
    """

    def __init__(self, report: Any) -> None:
        self.report = report
        kind = "int8 " if report.int8 else ""
        super().__init__(
            f"Model's {kind}TFLite flatbuffer has {report.file_bytes:,} bytes "
            f"({report.weight_bytes:,} of weights), over the budget of {report.budget:,} bytes "
            f"by {report.file_bytes - report.budget:,}.")


class ExportError(KerasMnistError, RuntimeError):
    """A model that TensorFlow could not export or convert to TFLite: a Keras backend that
    cannot export, or an operation TFLite lacks. The message gives TensorFlow's reason."""


class SpecError(InvalidArgumentError):
    """A run spec (`kerasmnist.runs.RunSpec`) with an invalid field.

    Attributes:
        field: The name of the field (`"overrides.units"` for one override).
        detail: What was expected and what was found.
        source: Where the spec came from (a file), or `None`.
    """

    def __init__(self, field_name: str, message: str, source: str | None = None) -> None:
        self.field = field_name
        self.detail = message
        self.source = source
        where = f" in {source}" if source else ""
        super().__init__(f"Invalid run spec{where}: field `{field_name}`: {message}")


class UsageError(InvalidArgumentError):
    """A command-line argument the command cannot use: not a number, a file that
    cannot be read, a directory that cannot be made.

    Attributes:
        field: The argument's destination name (`"seed"` for `--seed`, which is
            also the run-spec field it sets; `"run_dir"` for `--run-dir`), or
            `None` for a mistake that is about no one argument.
        detail: The message: what was expected and what was found.
    """

    def __init__(self, field_name: str | None, message: str) -> None:
        self.field = field_name
        self.detail = message
        super().__init__(message)


class RunError(KerasMnistError, RuntimeError):
    """A run that could not produce a model (every trial failed, say)."""


class RunBusyError(KerasMnistError, RuntimeError):
    """Another process is running the same run directory."""


class KerasTunerMismatchError(KerasMnistError, RuntimeError):
    """The installed keras-tuner lacks a name the run engine relies on.

    The message names it (see `kerasmnist.runs.search.PRIVATE_NAMES`).
    """


class CheckpointError(KerasMnistError, ValueError):
    """A training checkpoint that cannot be read, or that does not fit the model restored from it.

    The message names the checkpoint file and what was expected and found; deleting
    the file starts the training over (`kerasmnist.callbacks.EpochCheckpoint`).
    """


class MistakesError(KerasMnistError, RuntimeError):
    """A model's mistakes could not be found: no model yet, no data, or a crash."""


class ImportanceError(KerasMnistError, ValueError):
    """Trials from which no hyperparameter importance can be computed: too few usable
    ones, no hyperparameter that varies, or an objective with one value throughout.

    Attributes:
        trials: How many trials were usable (completed, with a score).
        needed: How many are needed (`kerasmnist.importance.MIN_TRIALS`).
    """

    def __init__(self, message: str, *, trials: int, needed: int) -> None:
        self.trials = trials
        self.needed = needed
        super().__init__(message)


def error_details(error: BaseException) -> dict[str, Any]:
    """An error as data, for a JSON document or a form: message, type, field and detail.

    `field` names the run-spec field a `SpecError` is about (its first part:
    `"overrides"` for `"overrides.units"`; the detail names the override), or
    the argument a `UsageError` is about (`"seed"` for `--seed`), and is `None`
    for other errors; `detail` is what was expected and found, without the
    prefix that names the field, or `None`.

    Example:

    >>> error_details(SpecError("epochs", "expected an integer >= 1, found 0"))["field"]
    'epochs'
    >>> error_details(SpecError("overrides.units", "expected ..."))["field"]
    'overrides'
    """
    field = getattr(error, "field", None) if isinstance(error, (SpecError, UsageError)) else None
    detail = getattr(error, "detail", None) if isinstance(error, (SpecError, UsageError)) else None
    return {"error": str(error), "error_type": type(error).__name__,
            "field": field.split(".")[0] if field else None, "detail": detail}


def __getattr__(name: str) -> type[KerasMnistError]:
    """`TrialFailed` and `OverBudgetTrial`, made on first use.

    Both subclass keras-tuner's `FailedTrialError`, so that a tuner records the
    trial as failed and goes on; importing keras-tuner loads TensorFlow, which
    `import kerasmnist.errors` must not (the command line and the terminal UI
    start without it).
    """
    if name not in _TUNER_ERRORS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import keras_tuner as kt

    class TrialFailed(KerasMnistError, kt.errors.FailedTrialError, RuntimeError):
        """A trial that cannot give a result (its loss became NaN, say); the search goes on."""

    class OverBudgetTrial(ParamBudgetExceeded, kt.errors.FailedTrialError):
        """A configuration over its parameter budget, rejected before training.

        Being a `keras_tuner.errors.FailedTrialError`, it makes a tuner record the
        trial as failed and go on; being a `ParamBudgetExceeded`, it carries the
        per-layer report.
        """

    for cls in (TrialFailed, OverBudgetTrial):
        cls.__module__ = __name__
        cls.__qualname__ = cls.__name__
        globals()[cls.__name__] = cls
    made: type[KerasMnistError] = globals()[name]
    return made
