"""Run directories as seen from outside: status, summary, trials, the lock.

The command line's `runs` commands and the terminal UI read runs through this
module, which imports neither Keras nor TensorFlow. Whatever it says of a run's
log comes from the one fold of events, `kerasmnist.runs.state.RunState`. The run
engine (`kerasmnist.runs.engine`) writes run directories.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasmnist.errors import InvalidArgumentError, KerasMnistError, RunBusyError
from kerasmnist.events import read_events
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import RunState, RunStatus

__all__ = [
    "EVENTS_FILE",
    "MODEL_FILE",
    "RESULTS_FILE",
    "SPEC_FILE",
    "RunBusyError",
    "RunInfo",
    "RunLock",
    "is_running",
    "list_runs",
    "load_spec",
    "read_results",
    "run_info",
    "run_state",
    "running_pid",
    "trial_table",
]

SPEC_FILE = "spec.toml"
EVENTS_FILE = "events.jsonl"
RESULTS_FILE = "results.json"
MODEL_FILE = "best_model.keras"
LOCK_FILE = ".lock"


@dataclass(frozen=True)
class RunInfo:
    """A run directory's summary.

    Attributes:
        path: The run directory.
        status: `RunState.status` given whether a process holds the run's lock:
            `RUNNING`, `STARTING` (its process has not written since it started),
            `FINISHED`, `FAILED`, `INTERRUPTED` (stopped, or its process died; it
            can be resumed) or `NEW` (no event yet). A `RunStatus`, equal to its
            value (`"running"`, ...).
        spec: The run's spec, or `None` if `spec.toml` is unreadable.
        started: Unix time of the first `run_started`, or `None`.
        trials_done: Trials (or replicates) that ended.
        trials_planned: Trials expected, or `None` where unknown.
        best_score: The best trial score so far, or `None`.
        test_accuracy: The final model's test accuracy, once finished.
        error: The end of the error of a failed run.
        pid: The id of the process running it, while one does.
    """

    path: Path
    status: RunStatus
    spec: RunSpec | None
    started: float | None
    trials_done: int
    trials_planned: int | None
    best_score: float | None
    test_accuracy: float | None
    error: str | None
    pid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON types."""
        return {"path": str(self.path), "status": self.status.value,
                "spec": self.spec.to_dict() if self.spec else None, "started": self.started,
                "trials_done": self.trials_done, "trials_planned": self.trials_planned,
                "best_score": self.best_score, "test_accuracy": self.test_accuracy,
                "error": self.error, "pid": self.pid}


def load_spec(run_dir: str | os.PathLike[str], *, check_overrides: bool = True) -> RunSpec:
    """Reads a run directory's `spec.toml`.

    Args:
        run_dir: The run directory.
        check_overrides: See `RunSpec.from_toml`; `run_info` and `list_runs`
            skip the check, so that they never load Keras. Defaults to `True`.

    Raises:
        InvalidArgumentError: There is no run in `run_dir`, or its spec is invalid.
    """
    path = Path(run_dir) / SPEC_FILE
    if not path.is_file():
        raise InvalidArgumentError(
            f"Invalid value for argument `run_dir`. Expected a run directory holding {SPEC_FILE}. "
            f"Received: {str(run_dir)!r}, which has none")
    return RunSpec.from_toml(path, check_overrides=check_overrides)


def run_info(run_dir: str | os.PathLike[str], *, state: RunState | None = None) -> RunInfo:
    """Summarises one run directory from its spec, event log and lock.

    Args:
        run_dir: The run directory.
        state: Its log already folded (`run_state`), to save reading it again.
            Defaults to `None` (read it).

    Returns:
        The summary.

    Raises:
        InvalidArgumentError: There is no run in `run_dir`.

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.runs.spec import RunSpec
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / SPEC_FILE).write_text(RunSpec().to_toml())
    >>> info = run_info(run_dir)
    >>> info.status, info.trials_done
    (<RunStatus.NEW: 'new'>, 0)
    """
    path = Path(run_dir)
    if not (path / SPEC_FILE).is_file():
        raise InvalidArgumentError(
            f"Invalid value for argument `run_dir`. Expected a run directory holding {SPEC_FILE}. "
            f"Received: {str(run_dir)!r}, which has none")
    try:
        spec: RunSpec | None = load_spec(path, check_overrides=False)
    except KerasMnistError:
        spec = None
    if state is None:
        state = run_state(path)
    pid = running_pid(path)
    best = state.best()
    return RunInfo(path, state.status(alive=pid is not None), spec, state.started, state.trials_done,
                   state.trials_planned, None if best is None else best.score, state.test_accuracy,
                   state.error_tail, pid)


def run_state(run_dir: str | os.PathLike[str]) -> RunState:
    """A run directory's event log, folded: the state of the run as its events tell it.

    A directory without a log yet gives the state of a new run.

    Example:

    >>> import tempfile
    >>> run_state(tempfile.mkdtemp()).status(alive=None)
    <RunStatus.NEW: 'new'>
    """
    path = Path(run_dir) / EVENTS_FILE
    return RunState.from_events(read_events(path) if path.exists() else ())


def list_runs(runs_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Summaries of the runs directly under `runs_dir`, newest first.

    A missing `runs_dir` holds no runs.
    """
    root = Path(runs_dir)
    if not root.is_dir():
        return []
    infos = [run_info(p) for p in root.iterdir() if (p / SPEC_FILE).is_file()]
    return sorted(infos, key=lambda i: (i.started or 0.0, i.path.name), reverse=True)


def trial_table(events: str | os.PathLike[str] | Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every trial of a run's log, in start order (`RunState.trial_table`).

    Each is a dict with `trial_id`, `status` (`"RUNNING"` until it ends;
    `"INTERRUPTED"` or `"STOPPED"` if the run was interrupted or failed during
    it), `score`, `params`, `hyperparameters`, `worker` and `message`, in plain
    JSON types. A trial that was restarted after an interruption appears once,
    with its latest start and end, where it started last.

    Args:
        events: The `events.jsonl` path, or events already read.
    """
    if isinstance(events, (str, os.PathLike)):
        events = read_events(events)
    return RunState.from_events(events).trial_table()


def read_results(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A finished run's `results.json`, or `None` if there is none yet."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.is_file():
        return None
    result: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return result


class RunLock:
    """An exclusive lock on a run directory, held while a process runs it.

    The holder's process id is written into the lock file (`running_pid`).
    Taking the lock waits up to `wait` seconds, so that a reader's brief probe
    (`is_running` takes a shared lock for an instant) never makes a run fail.

    Args:
        run_dir: The run directory.
        wait: Seconds to keep trying. Defaults to `2.0`.

    Raises:
        RunBusyError: On entry, when another process holds it.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, wait: float = 2.0) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.wait = wait
        self._fd = -1

    def __enter__(self) -> RunLock:  # noqa: PYI034
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _lock(self._fd, exclusive=True, wait=self.wait):
            os.close(self._fd)
            self._fd = -1
            raise RunBusyError(f"Another process is running {str(self.path.parent)!r}")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing releases the lock
            self._fd = -1


def is_running(run_dir: str | os.PathLike[str]) -> bool:
    """Whether a process is running `run_dir` now (it holds the directory's lock)."""
    return running_pid(run_dir) is not None


def running_pid(run_dir: str | os.PathLike[str]) -> int | None:
    """The id of the process running `run_dir` now, or `None` if none is.

    The probe holds a shared lock for an instant and never blocks a run.
    """
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _lock(fd, exclusive=False, wait=0.0):
            return None  # nobody holds it exclusively
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else -1
    finally:
        os.close(fd)  # releases the shared lock, if taken


def _lock(fd: int, *, exclusive: bool, wait: float) -> bool:
    """Takes a lock on `fd`, retrying for `wait` seconds; whether it was taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no locks
        return True
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
            return True
        except OSError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
