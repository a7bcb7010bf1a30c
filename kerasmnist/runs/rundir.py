"""Run directories as seen from outside: status, summary, trials, the lock.

The command line's `runs` commands and the terminal UI read runs through this
module, which imports neither Keras nor TensorFlow. Whatever it says of a run's
log comes from the one fold of events, `kerasmnist.runs.state.RunState`. The run
engine (`kerasmnist.runs.engine`) writes run directories.

A run directory is damaged when its `spec.toml`, `events.jsonl` or
`results.json` is there but cannot be read (not a regular file, not UTF-8, not
valid TOML or JSON, or not of the expected form): `run_info` then gives the
status `DAMAGED` and the `problem`, naming the file, and never raises, so one
damaged run does not hide the others. Only regular files are opened: a FIFO
would keep a reader waiting. A log with some events of the wrong form is not
damaged: its run is read, with a `note`.
"""

from __future__ import annotations

import json
import os
import stat
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasmnist.errors import InvalidArgumentError, RunBusyError, RunError, SpecError
from kerasmnist.events import file_kind, open_regular, read_events
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import RunState, RunStatus
from kerasmnist.runs.trials import as_count, as_number

__all__ = [
    "EVENTS_FILE",
    "MODEL_FILE",
    "RESULTS_FILE",
    "SPEC_FILE",
    "RunBusyError",
    "RunInfo",
    "RunLock",
    "best_model_source",
    "is_running",
    "read_run",
    "list_runs",
    "load_spec",
    "read_results",
    "run_dirs",
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
            can be resumed) or `NEW` (no event yet); or `DAMAGED` when a file of
            the run cannot be read (`problem`). A `RunStatus`, equal to its value
            (`"running"`, ...).
        spec: The run's spec, or `None` if `spec.toml` is unreadable.
        started: Unix time of the first `run_started`, or `None`.
        trials_done: Trials (or replicates) that ended.
        trials_planned: Trials expected, or `None` where unknown.
        best_score: The best trial score so far, or `None`.
        test_accuracy: The final model's test accuracy, once finished.
        error: The end of the error of a failed run.
        pid: The id of the process running it, while one does.
        problem: Why the run is `DAMAGED`, each file by its name
            (`"events.jsonl: not a regular file but a FIFO"`), or `None`.
        note: What of its event log could not be read (`RunState.damage`), as
            `"events.jsonl: ..."`, for a run read in spite of it; or `None`.
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
    problem: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain JSON types."""
        return {"path": str(self.path), "status": self.status.value,
                "spec": self.spec.to_dict() if self.spec else None, "started": self.started,
                "trials_done": self.trials_done, "trials_planned": self.trials_planned,
                "best_score": self.best_score, "test_accuracy": self.test_accuracy,
                "error": self.error, "pid": self.pid, "problem": self.problem, "note": self.note}


def load_spec(run_dir: str | os.PathLike[str], *, check_overrides: bool = True) -> RunSpec:
    """Reads a run directory's `spec.toml`.

    Args:
        run_dir: The run directory.
        check_overrides: See `RunSpec.from_toml`; `run_info` and `list_runs`
            skip the check, so that they never load Keras. Defaults to `True`.

    Raises:
        InvalidArgumentError: There is no run in `run_dir`.
        SpecError: Its spec cannot be read (not a regular file, not UTF-8 text,
            not valid TOML) or is invalid; its `detail` says why.
    """
    path = Path(run_dir) / SPEC_FILE
    if not os.path.lexists(path):
        raise InvalidArgumentError(
            f"Invalid value for argument `run_dir`. Expected a run directory holding {SPEC_FILE}. "
            f"Received: {str(run_dir)!r}, which has none")
    problem = _file_problem(path)
    if problem is not None:
        raise SpecError("(file)", problem, str(path))
    try:
        return RunSpec.from_toml(path, check_overrides=check_overrides)
    except UnicodeDecodeError as error:
        raise SpecError("(file)", f"not UTF-8 text ({error.reason} at byte {error.start})",
                        str(path)) from None
    except OSError as error:
        raise SpecError("(file)", f"cannot be read: {error.strerror or error}", str(path)) from None


def best_model_source(path: str | os.PathLike[str], *,
                      argument: str = "model") -> tuple[Path, str | None]:
    """A saved model's `.keras` file, and the data set it was trained on where known.

    `path` is a `.keras` file, returned as it is (not opened: loading it tells
    whether it is a model), or a run directory, which gives its best model
    (`best_model.keras`, written when the run finishes) and the data set of
    its spec.

    Args:
        path: A `.keras` file or a run directory.
        argument: The argument's name, for the error messages. Defaults to
            `"model"`.

    Returns:
        The `.keras` file, and the run's data-set name (`None` for a file).

    Raises:
        InvalidArgumentError: `path` is a directory without `spec.toml`, or a
            run directory without a best model yet; the message names
            `argument`.
        SpecError: The run's `spec.toml` cannot be read.

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.runs.spec import RunSpec
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     run_dir = pathlib.Path(folder)
    ...     _ = (run_dir / SPEC_FILE).write_text(RunSpec(dataset="fashion_mnist").to_toml())
    ...     _ = (run_dir / MODEL_FILE).write_bytes(b"")
    ...     model_file, dataset = best_model_source(run_dir)
    >>> model_file.name, dataset
    ('best_model.keras', 'fashion_mnist')
    >>> best_model_source("model.keras") == (pathlib.Path("model.keras"), None)
    True
    """
    source = Path(path)
    if not source.is_dir():
        return source, None
    if not (source / SPEC_FILE).exists():
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a saved .keras model or a run "
            f"directory (holding {SPEC_FILE}). Received: {argument}={os.fspath(path)!r}, a "
            f"directory without {SPEC_FILE}")
    spec = load_spec(source, check_overrides=False)
    if not (source / MODEL_FILE).is_file():
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a run directory with a best model "
            f"({MODEL_FILE}, written when the run finishes). Received: {argument}="
            f"{os.fspath(path)!r}, which has none yet")
    return source / MODEL_FILE, spec.dataset


def run_info(run_dir: str | os.PathLike[str], *, state: RunState | None = None) -> RunInfo:
    """Summarises one run directory from its spec, event log, results and lock.

    A run whose files cannot be read is summarised too, as `DAMAGED` with the
    `problem`, from what could be read.

    Args:
        run_dir: The run directory.
        state: Its log already folded (`run_state`), to save reading it again.
            Defaults to `None` (read it).

    Returns:
        The summary.

    Raises:
        InvalidArgumentError: There is no run in `run_dir` (no `spec.toml`).

    Example:

    >>> import tempfile, pathlib
    >>> from kerasmnist.runs.spec import RunSpec
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / SPEC_FILE).write_text(RunSpec().to_toml())
    >>> info = run_info(run_dir)
    >>> info.status, info.trials_done
    (<RunStatus.NEW: 'new'>, 0)
    >>> (run_dir / EVENTS_FILE).mkdir()
    >>> info = run_info(run_dir)
    >>> info.status, info.problem
    (<RunStatus.DAMAGED: 'damaged'>, 'events.jsonl: not a regular file but a directory')
    """
    path = Path(run_dir)
    problems = []
    spec: RunSpec | None = None
    try:
        spec = load_spec(path, check_overrides=False)
    except SpecError as error:
        detail = error.detail if error.field == "(file)" else f"field `{error.field}`: {error.detail}"
        problems.append(f"{SPEC_FILE}: {detail}")
    if state is None:
        state, problem = _fold(path / EVENTS_FILE)
        if problem is not None:
            problems.append(f"{EVENTS_FILE}: {problem}")
    problem = _read_results(path / RESULTS_FILE)[1]
    if problem is not None:
        problems.append(f"{RESULTS_FILE}: {problem}")
    pid = running_pid(path)
    best = state.best()
    status = RunStatus.DAMAGED if problems else state.status(alive=pid is not None)
    return RunInfo(path, status, spec, state.started, state.trials_done, state.trials_planned,
                   None if best is None else best.score, state.test_accuracy, state.error_tail, pid,
                   "; ".join(problems) or None,
                   None if state.damage is None else f"{EVENTS_FILE}: {state.damage}")


def run_state(run_dir: str | os.PathLike[str]) -> RunState:
    """A run directory's event log, folded: the state of the run as its events tell it.

    A directory without a log yet gives the state of a new run.

    Raises:
        OSError: The log cannot be read: it is not a regular file (it is not
            opened then), or reading it failed.

    Example:

    >>> import tempfile
    >>> run_state(tempfile.mkdtemp()).status(alive=None)
    <RunStatus.NEW: 'new'>
    """
    path = Path(run_dir) / EVENTS_FILE
    state, problem = _fold(path)
    if problem is not None:
        raise OSError(f"{path}: {problem}")
    return state


def run_dirs(runs_dir: str | os.PathLike[str]) -> list[Path]:
    """The run directories directly under `runs_dir`, in no order: those holding a
    `spec.toml`, even one that cannot be read (a damaged run is a run).

    A missing or unreadable `runs_dir` holds no runs.
    """
    try:
        entries = list(Path(runs_dir).iterdir())
    except OSError:
        return []
    return [p for p in entries if p.is_dir() and os.path.lexists(p / SPEC_FILE)]


def list_runs(runs_dir: str | os.PathLike[str]) -> list[RunInfo]:
    """Summaries of the runs directly under `runs_dir` (`run_dirs`), newest first.

    A damaged run is one summary among the others (`run_info`). A missing
    `runs_dir` holds no runs.
    """
    infos = []
    for path in run_dirs(runs_dir):
        try:
            infos.append(run_info(path))
        except InvalidArgumentError:
            continue  # removed while we looked
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


def read_run(run_dir: str | os.PathLike[str], *, argument: str = "run_dir") -> tuple[RunState, RunInfo]:
    """A run directory's folded log and summary, read as `kerasmnist runs show` reads them.

    A log with some unreadable events is read for what it holds; a run whose
    files cannot be read is refused.

    Args:
        run_dir: The run directory.
        argument: The argument's name, for the error message. Defaults to `"run_dir"`.

    Returns:
        The run's state (`kerasmnist.runs.state.RunState`) and its summary
        (`kerasmnist.runs.rundir.RunInfo`, whose `spec` is that of `spec.toml`).

    Raises:
        InvalidArgumentError: `run_dir` holds no run (no `spec.toml`); the
            message names it.
        RunError: The run is damaged: a file cannot be read (the message names
            the run and the file).
    """
    if not os.path.lexists(Path(run_dir) / SPEC_FILE):
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a run directory holding {SPEC_FILE}. "
            f"Received: {os.fspath(run_dir)!r}, which has none")
    state: RunState | None
    try:
        state = run_state(run_dir)
    except OSError:
        state = None  # run_info reads the log again, and says why it cannot
    info = run_info(run_dir, state=state)
    if info.problem is not None or state is None:
        raise RunError(f"The run {os.fspath(run_dir)} is damaged: "
                       f"{info.problem or f'{EVENTS_FILE}: cannot be read'}")
    return state, info


def read_results(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """A finished run's `results.json`, or `None` if there is none yet.

    Raises:
        ValueError: It cannot be read: not a regular file, not UTF-8 JSON, or
            not of the form `kerasmnist.runs.results.RunResult.to_dict` writes
            (the message names the file and says why).
    """
    path = Path(run_dir) / RESULTS_FILE
    results, problem = _read_results(path)
    if problem is not None:
        raise ValueError(f"{path}: {problem}")
    return results


def _file_problem(path: Path) -> str | None:
    """Why `path` cannot be read as a regular file, or `None` (also where nothing is there).

    Only `stat` is called: nothing is opened.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError as error:
        return f"cannot be read: {error.strerror or error}"
    return None if stat.S_ISREG(mode) else f"not a regular file but {file_kind(mode)}"


def _fold(path: Path) -> tuple[RunState, str | None]:
    """A log folded, and why it could not be read (`None`: it was, or there is none)."""
    problem = _file_problem(path)
    if problem is not None:
        return RunState(), problem
    try:
        return RunState.from_events(read_events(path)), None
    except FileNotFoundError:
        return RunState(), None
    except OSError as error:
        return RunState(), f"cannot be read: {error.strerror or error}"


def _read_results(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """A `results.json` read, and why it could not be (`None`: it was, or there is none)."""
    problem = _file_problem(path)
    if problem is not None:
        return None, problem
    try:
        with open_regular(path) as stream:
            results = json.loads(stream.read().decode("utf-8"))
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"cannot be read: {error.strerror or error}"
    except UnicodeDecodeError as error:
        return None, f"not UTF-8 text ({error.reason} at byte {error.start})"
    except ValueError as error:  # json.JSONDecodeError, or a number too long to convert
        return None, f"not valid JSON ({error})"
    problem = _results_problem(results)
    return (None, problem) if problem is not None else (results, None)


def _results_problem(results: Any) -> str | None:
    """What keeps `results` from being read as `RunResult.to_dict` writes it, or `None`.

    The fields checked are those `kerasmnist runs show` prints.
    """
    if not isinstance(results, dict):
        return f"not a JSON object but {_json_type(results)}"
    names = results.get("class_names")
    checks: dict[str, Callable[[Any], bool]] = {
        "run_dir": _is_text, "best_trial": _is_text, "params": _is_count,
        "spec": lambda spec: isinstance(spec, dict) and all(
            _is_text(spec.get(key)) for key in ("dataset", "model", "objective")),
        "splits": _list_of(lambda split: isinstance(split, dict) and _is_text(split.get("split"))
                           and _is_count(split.get("examples"))
                           and all(split.get(key) is None or _is_number(split.get(key))
                                   for key in ("loss", "accuracy", "error_rate"))),
        "replicates": lambda reps: reps is None or (
            isinstance(reps, dict) and isinstance(reps.get("values"), dict)
            and all(map(_is_number, reps["values"].values()))
            and _is_number(reps.get("mean")) and _is_number(reps.get("std"))
            and ("median" not in reps or _is_number(reps["median"]))),
        "trials": _list_of(lambda trial: isinstance(trial, dict) and _is_text(trial.get("trial_id"))),
        "class_names": _list_of(_is_text),
        "confusion": _list_of(lambda row: isinstance(row, list) and isinstance(names, list)
                              and len(row) == len(names) and all(map(_is_count, row))),
        "top_confusions": _list_of(lambda entry: isinstance(entry, list) and len(entry) == 3),
    }
    for key, check in checks.items():
        if key not in results:
            return f"no `{key}`"
        if not check(results[key]):
            return f"`{key}` is not of the expected form"
    if not names or len(results["confusion"]) != len(names):
        return "`confusion` is not of the expected form"
    return None


def _list_of(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, list) and all(map(check, value))


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_count(value: Any) -> bool:
    return as_count(value) is not None


def _is_number(value: Any) -> bool:
    return as_number(value) is not None


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number",
             float: "a number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class RunLock:
    """A lock on a run directory, held while a process writes it.

    The exclusive lock is the run's: one process runs a directory at a time, and
    the holder's process id is written into the lock file (`running_pid`). Its
    children share it: `inherited` adopts the lock a parent passed down
    (`kerasmnist.runs.processes.spawn`), so that a child never writes the
    directory without it, and the lock outlives the parent only as long as the
    child does. A shared lock is what each hand-started process of a
    distributed search holds: several may, and no run can start beside them.

    Taking the lock waits up to `wait` seconds, so that a reader's brief probe
    (`is_running` takes a shared lock for an instant) never makes a run fail.

    Args:
        run_dir: The run directory.
        wait: Seconds to keep trying. Defaults to `2.0`.
        shared: Take a shared lock instead of the exclusive one. Defaults to
            `False`.

    Raises:
        RunBusyError: On entry, when another process holds it.
    """

    def __init__(self, run_dir: str | os.PathLike[str], *, wait: float = 2.0, shared: bool = False) -> None:
        self.path = Path(run_dir) / LOCK_FILE
        self.wait = wait
        self.shared = shared
        self._fd = -1

    @classmethod
    def inherited(cls, run_dir: str | os.PathLike[str], fd: int) -> RunLock:
        """The lock of `run_dir` that a parent process passed down as the open descriptor `fd`.

        Raises:
            RunError: `fd` is not an open descriptor of `run_dir`'s lock file.
        """
        lock = cls(run_dir)
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(lock.path))
        except OSError as error:
            raise RunError(f"The lock of {str(lock.path.parent)!r} handed down as descriptor {fd} "
                           f"cannot be read: {error.strerror}") from None
        if not same:
            raise RunError(f"Descriptor {fd} handed down as the lock of {str(lock.path.parent)!r} "
                           f"is another file")
        lock._fd = fd
        return lock

    @property
    def fd(self) -> int:
        """The lock file's open descriptor (`-1` when not held), for a child to inherit."""
        return self._fd

    def __enter__(self) -> RunLock:  # noqa: PYI034
        if self._fd >= 0:  # inherited: already held
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _lock(self._fd, exclusive=not self.shared, wait=self.wait):
            os.close(self._fd)
            self._fd = -1
            raise RunBusyError(f"Another process is running {str(self.path.parent)!r}")
        if not self.shared:
            os.ftruncate(self._fd, 0)
            os.pwrite(self._fd, f"{os.getpid()}\n".encode(), 0)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing releases the lock (once every process sharing it has)
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
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO in its place must not block
    except FileNotFoundError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None  # not a lock any run took
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
