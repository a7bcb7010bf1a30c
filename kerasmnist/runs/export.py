"""A run's trials as a table: one row per trial, for a spreadsheet, a script or a report.

`trial_rows` gives the rows as plain values, `trials_dataframe` as a pandas
DataFrame (the optional `pandas` extra), `format_rows` and `write_rows` as CSV,
JSON or a Markdown table. `kerasmnist runs export` is their face on the command
line. The module imports neither Keras nor TensorFlow (nor pandas, until a
DataFrame is asked for).

Each row holds, in this order:

- `trial_id`, `status`, `score` (the value of the run's objective the trial
  ended with), `best_epoch` (from 1: the epoch whose logged objective was
  best in the objective's direction; the first of equal ones);
- `best_<metric>` for every metric the run's trials logged, at the best epoch,
  then `last_<metric>`, at the last epoch trained (metrics in
  `kerasmnist.runs.state.LOG_KEYS`'s order, then any others in the order met);
- `params` (weights), `epochs` (epochs trained), `seconds` and `cpu_seconds`
  (of its logged epochs);
- `hp_<name>` for each hyperparameter any trial has (keras-tuner's own
  `tuner/...` left out), in the order met.

Every row has every column; what a trial lacks is `None`.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.fileio import atomic_write_text
from kerasmnist.runs.rundir import read_run
from kerasmnist.runs.spec import objective_direction
from kerasmnist.runs.state import LOG_KEYS, RunState
from kerasmnist.runs.trials import TrialState

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BASE_COLUMNS", "EXPORT_FORMATS", "best_epoch", "format_for_path", "format_rows",
           "trial_rows", "trials_dataframe", "write_rows"]

EXPORT_FORMATS = ("csv", "json", "markdown")
"""The formats `format_rows` and `write_rows` write."""

SUFFIX_FORMATS = {".csv": "csv", ".json": "json", ".md": "markdown", ".markdown": "markdown"}
"""The format a file's suffix names (`format_for_path`); a file without a suffix is CSV."""

BASE_COLUMNS = ("trial_id", "status", "score", "best_epoch", "params", "epochs", "seconds",
                "cpu_seconds")
"""The columns every table has, whatever its trials logged (in their order among the others)."""

_COUNT_COLUMNS = ("best_epoch", "params", "epochs")


def best_epoch(trial: TrialState, objective: str) -> int | None:
    """The epoch (from 1) at which a trial's logged `objective` was best, or `None` if it logged none.

    A loss is best lowest, anything else highest
    (`kerasmnist.runs.spec.objective_direction`); of equal values, the first.

    Example:

    >>> trial = TrialState("0", epochs=[{"epoch": e, "logs": {"val_loss": v}}
    ...                                 for e, v in enumerate([0.5, 0.3, 0.4])])
    >>> best_epoch(trial, "val_loss"), best_epoch(trial, "val_accuracy")
    (2, None)
    """
    sign = 1.0 if objective_direction(objective) == "min" else -1.0
    best: tuple[float, int] | None = None
    for event, value in zip(trial.epochs, trial.history(objective), strict=True):
        if value is not None and (best is None or sign * value < best[0]):
            best = (sign * value, int(event["epoch"]) + 1)
    return None if best is None else best[1]


def trial_rows(run: RunState | str | os.PathLike[str]) -> list[dict[str, Any]]:
    """One row per trial of a run, best first (the module's docstring lists the columns).

    Args:
        run: The run's state (`kerasmnist.runs.rundir.run_state`), or its directory.

    Returns:
        The rows: dicts with the same keys, in the same order, holding plain
        values (`None` where a trial lacks one). The trials are ranked as
        `RunState.ranked` ranks them: completed ones by the objective, then
        pruned, running and the rest.

    Raises:
        InvalidArgumentError: A directory that holds no run.
        RunError: A run directory that is damaged (`read_run`).

    Example:

    >>> state = RunState.from_events([
    ...     {"event": "trial_started", "trial_id": "0", "hyperparameters": {"units": 8}},
    ...     {"event": "epoch_ended", "trial_id": "0", "epoch": 0, "logs": {"val_accuracy": 0.9},
    ...      "seconds": 2.0},
    ...     {"event": "epoch_ended", "trial_id": "0", "epoch": 1, "logs": {"val_accuracy": 0.8},
    ...      "seconds": 2.5},
    ...     {"event": "trial_ended", "trial_id": "0", "status": "COMPLETED", "score": 0.9,
    ...      "params": 6370}])
    >>> row = trial_rows(state)[0]
    >>> row["best_epoch"], row["best_val_accuracy"], row["last_val_accuracy"], row["seconds"]
    (1, 0.9, 0.8, 4.5)
    >>> list(row)[4:], row["hp_units"]
    (['best_val_accuracy', 'last_val_accuracy', 'params', 'epochs', 'seconds', 'cpu_seconds', 'hp_units'], 8)
    """
    state = run if isinstance(run, RunState) else read_run(run, argument="run")[0]
    objective = state.objective
    trials = state.ranked()
    metrics = _metrics(trials)
    names = _hyperparameters(trials)
    rows = []
    for trial in trials:
        best = best_epoch(trial, objective)
        last_logs = (trial.epochs[-1].get("logs") or {}) if trial.epochs else {}
        best_logs = next((e.get("logs") or {} for e in trial.epochs if int(e["epoch"]) + 1 == best), {})
        row: dict[str, Any] = {"trial_id": trial.trial_id, "status": trial.status.value,
                               "score": trial.score, "best_epoch": best}
        row.update({f"best_{m}": best_logs.get(m) for m in metrics})
        row.update({f"last_{m}": last_logs.get(m) for m in metrics})
        row.update({"params": trial.params, "epochs": trial.epochs_done, "seconds": trial.seconds,
                    "cpu_seconds": trial.cpu_seconds})
        row.update({f"hp_{name}": trial.hyperparameters.get(name) for name in names})
        rows.append(row)
    return rows


def trials_dataframe(run: RunState | str | os.PathLike[str]) -> pd.DataFrame:
    """`trial_rows` as a pandas DataFrame: one row per trial, best first, a column per key.

    Needs pandas (`pip install "kerasmnist[pandas]"`). `best_epoch`, `params`
    and `epochs` are of pandas's nullable `Int64` type (missing: `pd.NA`);
    other numbers missing from a trial are NaN in a float column.

    Args:
        run: As for `trial_rows`.

    Returns:
        The DataFrame, its columns in `trial_rows`'s order (those of
        `BASE_COLUMNS` alone for a run without trials).

    Raises:
        ImportError: pandas is not installed; the message says how to install it.
        InvalidArgumentError: As for `trial_rows`.
        RunError: As for `trial_rows`.
    """
    try:
        import pandas as pd
    except ImportError as error:
        raise ImportError(
            "kerasmnist.runs.export.trials_dataframe needs pandas: pip install \"kerasmnist[pandas]\""
        ) from error
    rows = trial_rows(run)
    frame = pd.DataFrame(rows, columns=_columns(rows))
    for column in _COUNT_COLUMNS:  # integers stay integers where a trial has none
        frame[column] = frame[column].astype("Int64")
    return frame


def format_for_path(path: str | os.PathLike[str]) -> str:
    """The format a file's suffix names: `.csv`, `.json`, `.md` (or `.markdown`); CSV without one.

    Raises:
        InvalidArgumentError: Another suffix; the message names the path.

    Example:

    >>> format_for_path("trials.md"), format_for_path("trials")
    ('markdown', 'csv')
    """
    suffix = Path(path).suffix.lower()
    if not suffix:
        return "csv"
    if suffix not in SUFFIX_FORMATS:
        raise InvalidArgumentError(
            f"Invalid value for argument `path`. Expected a file ending in "
            f"{', '.join(SUFFIX_FORMATS)} (or no suffix, for CSV), or a format given. "
            f"Received: {os.fspath(path)!r}")
    return SUFFIX_FORMATS[suffix]


def format_rows(rows: Sequence[Mapping[str, Any]], fmt: str) -> str:
    """Rows (`trial_rows`) as CSV, JSON or a Markdown table.

    - `"csv"`: a header, then one line per row (`csv` module; `None` is an
      empty field, floats keep every digit);
    - `"json"`: a list of objects (numbers as numbers, `None` and non-finite
      numbers as null, floats with every digit);
    - `"markdown"`: a GitHub table (numbers right-aligned, floats to 4
      significant digits, `|` escaped).

    Columns are the first row's keys (`BASE_COLUMNS` when there is no row).

    Args:
        rows: The rows.
        fmt: One of `EXPORT_FORMATS`.

    Returns:
        The text, ending with a newline.

    Raises:
        InvalidArgumentError: `fmt` is not one of `EXPORT_FORMATS`.

    Example:

    >>> rows = [{"trial_id": "0", "score": 0.91234567, "hp_units": 8},
    ...         {"trial_id": "1", "score": None, "hp_units": 16}]
    >>> print(format_rows(rows, "csv"), end="")
    trial_id,score,hp_units
    0,0.91234567,8
    1,,16
    >>> print(format_rows(rows, "markdown"), end="")
    | trial_id   |   score |   hp_units |
    |------------|---------|------------|
    | 0          |  0.9123 |          8 |
    | 1          |         |         16 |
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidArgumentError(f"Invalid value for argument `fmt`. Expected one of {EXPORT_FORMATS}. "
                                   f"Received: fmt={fmt!r}")
    columns = _columns(rows)
    if fmt == "csv":
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_csv_cell(row.get(c)) for c in columns] for row in rows)
        return stream.getvalue()
    if fmt == "json":
        from kerasmnist.events import jsonable

        return json.dumps(jsonable([dict(row) for row in rows]), indent=2, allow_nan=False) + "\n"
    return _markdown(rows, columns)


def write_rows(rows: Sequence[Mapping[str, Any]], path: str | os.PathLike[str],
               fmt: str | None = None) -> Path:
    """Writes rows (`trial_rows`) to a file atomically, as `format_rows` formats them.

    Args:
        rows: The rows.
        path: The file; its directory is made if missing.
        fmt: One of `EXPORT_FORMATS`. Defaults to `None`: the format the
            file's suffix names (`format_for_path`).

    Returns:
        The path written.

    Raises:
        InvalidArgumentError: `fmt` is unknown, or is `None` and the suffix names
            no format.
        OSError: The file cannot be written (it is left as it was).
    """
    text = format_rows(rows, fmt or format_for_path(path))
    atomic_write_text(path, text)
    return Path(path)


def _metrics(trials: Iterable[TrialState]) -> list[str]:
    """The metrics the trials logged: `LOG_KEYS`'s first, then the others as met."""
    seen: dict[str, None] = {}
    for trial in trials:
        for event in trial.epochs:
            seen.update(dict.fromkeys(event.get("logs") or {}))
    return [key for key in LOG_KEYS if key in seen] + [key for key in seen if key not in LOG_KEYS]


def _hyperparameters(trials: Iterable[TrialState]) -> list[str]:
    """Every hyperparameter of the trials, as met, keras-tuner's own (`tuner/...`) left out."""
    seen: dict[str, None] = {}
    for trial in trials:
        seen.update(dict.fromkeys(name for name in trial.hyperparameters if not name.startswith("tuner/")))
    return list(seen)


def _columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(rows[0]) if rows else list(BASE_COLUMNS)


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _markdown(rows: Sequence[Mapping[str, Any]], columns: list[str]) -> str:
    from tabulate import tabulate

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.4g}"
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    numeric = [any(row.get(c) is not None for row in rows)
               and all(row.get(c) is None or _is_number(row.get(c)) for row in rows) for c in columns]
    table = tabulate([[cell(row.get(c)) for c in columns] for row in rows], headers=columns,
                     tablefmt="github", disable_numparse=True,
                     colalign=["right" if n else "left" for n in numeric])
    return table + "\n"
