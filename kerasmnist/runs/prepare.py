"""Making run directories: their names, and the resolved spec written first.

Keras-free, like `kerasmnist.runs.rundir` beside it, so that the terminal UI
prepares a run in its own process and starts it in another (as `kerasmnist
resume DIR` does), and the command line names a run before TensorFlow loads.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from pathlib import Path

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.fileio import atomic_write_text
from kerasmnist.runs.rundir import EVENTS_FILE, SPEC_FILE
from kerasmnist.runs.spec import RunSpec

__all__ = ["DEFAULT_RUNS_DIR", "differing_fields", "discard_new_run_dir", "new_run_dir", "prepare_run_dir",
           "usable_dir"]

DEFAULT_RUNS_DIR = "runs"
"""Where new run directories go unless told otherwise (relative to the working directory)."""


def new_run_dir(
    runs_dir: str | os.PathLike[str], spec: RunSpec, now: datetime.datetime | None = None
) -> Path:
    """A new run directory's path for `spec` under `runs_dir`.

    Named `<time>-<dataset>-<model>[-<search>]`, with `-2`, `-3`, ... added when
    a run started in the same second has the name. Nothing is created.

    Args:
        runs_dir: The directory that holds run directories.
        spec: The run's spec.
        now: The time in the name. Defaults to `None` (now).

    Example:

    >>> import datetime
    >>> new_run_dir("runs", RunSpec(search="random"), datetime.datetime(2026, 1, 2, 3, 4, 5)).name
    '20260102-030405-mnist_sample-mlp-random'
    """
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{spec.dataset}-{spec.model}" + (f"-{spec.search}" if spec.search != "none" else "")
    path, n = Path(runs_dir) / name, 1
    while path.exists():
        n += 1
        path = Path(runs_dir) / f"{name}-{n}"
    return path


def prepare_run_dir(spec: RunSpec, run_dir: str | os.PathLike[str]) -> bool:
    """Writes the resolved spec (`RunSpec.resolved()`) into a run directory, or checks it.

    A new directory gets `spec.toml` (written to a temporary name and renamed);
    one that already holds a run must hold the same resolved spec, so that
    running it again resumes it.

    Args:
        spec: The run's spec.
        run_dir: The run directory; created if needed.

    Returns:
        Whether the directory already held this run (so running it resumes).

    Raises:
        InvalidArgumentError: `run_dir` is not a directory, or holds a run with
            a different spec (the message names the fields that differ).
        SpecError: The spec already in `run_dir` is invalid.
    """
    run_dir = usable_dir(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    spec = spec.resolved()
    path = run_dir / SPEC_FILE
    if path.is_file():
        changed = differing_fields(spec, run_dir)
        if changed:
            raise InvalidArgumentError(
                f"Invalid value for argument `run_dir`. {str(run_dir)!r} holds a run with a "
                f"different spec (fields {changed} differ); resume it, or use a new directory")
        return True
    atomic_write_text(path, spec.to_toml())
    return False


def usable_dir(path: str | os.PathLike[str], *, argument: str = "run_dir") -> Path:
    """`path`, if it is a directory or one can be made there; nothing is made.

    Args:
        path: The directory.
        argument: Its name in the error. Defaults to `"run_dir"`.

    Raises:
        InvalidArgumentError: A file, under a file, or where nothing can be written.
    """
    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    found = ""
    if not existing.is_dir():
        found = "which is a file" if existing == path else f"under {str(existing)!r}, a file"
    elif not os.access(existing, os.W_OK | os.X_OK):
        found = f"where {str(existing)!r} cannot be written"
    if found:
        raise InvalidArgumentError(f"Invalid value for argument `{argument}`. Expected a directory, or one "
                                   f"that can be made. Received: {str(path)!r}, {found}")
    return path


def differing_fields(spec: RunSpec, run_dir: str | os.PathLike[str]) -> list[str]:
    """The fields in which `spec`, resolved, differs from the run `run_dir` holds (none if it holds none).

    Raises:
        SpecError: The spec in `run_dir` cannot be read.
    """
    path = Path(run_dir) / SPEC_FILE
    if not path.is_file():
        return []
    spec = spec.resolved()
    existing = RunSpec.from_toml(path, check_overrides=False)  # compared, not run
    return [f.name for f in dataclasses.fields(spec) if getattr(spec, f.name) != getattr(existing, f.name)]


def discard_new_run_dir(run_dir: str | os.PathLike[str]) -> bool:
    """Removes a run directory that holds a spec and nothing else (a run never started).

    For a front end whose run process refused the spec it prepared. A
    directory holding anything more (an event log, trials) is left alone.

    Returns:
        Whether the directory was removed.
    """
    run_dir = Path(run_dir)
    try:
        names = {p.name for p in run_dir.iterdir()}
    except OSError:
        return False
    if names - {SPEC_FILE, ".lock"} or EVENTS_FILE in names:
        return False
    for name in names:
        (run_dir / name).unlink(missing_ok=True)
    run_dir.rmdir()
    return True
