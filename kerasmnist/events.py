"""The run event log: JSON Lines appended to a run directory's `events.jsonl`.

The command line writes it and the terminal UI reads it, while the run goes on.
The module imports neither Keras nor TensorFlow.

Schema (version 1). Every line is one JSON object with these fields:

- `schema`: the schema version, `1`;
- `event`: the event type, below (the values of `EventType`);
- `time`: Unix time in seconds (float) when it was written;

and, by event type:

- `run_started`: `spec` (the run's settings, any JSON object), `backend`, and
  `versions` (python, kerasmnist, keras, keras_tuner, numpy, the backend's package);
  the run engine adds `plan` (`trials`, `epochs`: what it expects to run, or
  null where unknown) and `resumed` (whether an earlier start is continued);
- `trial_started`: `trial_id`, `hyperparameters` (name -> value); the run engine
  adds `worker` (the process running the trial) and, for a trial that goes on
  from the checkpoint of an interrupted start, `initial_epoch` (0-based: the
  first epoch it trains; absent when it starts afresh). Such a trial's epochs
  before `initial_epoch`, logged by the earlier start, are its own; those the
  earlier start logged from `initial_epoch` on (after its last checkpoint) are
  trained, and logged, again: a reader keeps the later ones;
- `epoch_ended`: `trial_id` (or null), `epoch` (0-based, as Keras counts), `epochs`
  (planned total, or null), `logs` (every value Keras logged, the full-eval
  metrics included), `seconds`; `EventLogger` adds `cpu_seconds` (the process's
  CPU time over the epoch, every thread, the full evaluation included);
- `confusion`: `trial_id`, `epoch`, `split`, `class_names`, `matrix` (rows true,
  columns predicted, counts), `per_class` (class -> precision, recall, f1, support);
- `teacher_trained`: `trial_id`, `teacher` (the preset a distilled model learns
  from), `params` (its weight count), `epochs` (it trained), `logs` (its last
  epoch's), `seconds`; written before the trial's own epochs;
- `restart_ended`: `trial_id`, `restart` (0-based), `epochs` (it trained),
  `objective` (the logged metric compared), `score` (or null when it failed),
  `message` (why it failed, or null); one of a preset's random restarts;
- `restart_chosen`: `trial_id`, `restart`, `epochs`, `objective`, `score`: the
  restart the trial goes on training from;
- `trial_ended`: `trial_id`, `status` (e.g. "COMPLETED", "FAILED", or "PRUNED":
  stopped early by the search's pruner, `RunSpec.prune`), `score` (or null: for
  a pruned trial, its best so far), `params` (weight count, or null); the run engine adds `worker`,
  `message` (why a trial failed, or null) and `rss_mb` (the process's resident
  memory, or null), and a plain run's completed replicate `training_cpu_seconds`
  and `training_seconds` (the CPU and wall time of its training, start-up,
  loading and test excluded);
- `run_ended`: `results` (any JSON object);
- `run_failed`: `error` (the message), `error_type`, `traceback`;
- `run_interrupted`: `reason`; the run was stopped (Ctrl-C, a signal, a cancel)
  and can be resumed.

A run that is resumed appends a new `run_started` to the same log, and a trial
that starts again a new `trial_started`: without `initial_epoch` its earlier
events no longer count.
`kerasmnist.runs.state.RunState` folds a log into the state of its run.

The version is still 1 although `teacher_trained`, `restart_ended` and
`restart_chosen` were added to this list: the run engine wrote them, with these
fields, before they were documented, so no line a reader of version 1 sees has
changed (readers skip event types they do not know). Only `restart_ended` of a
restart that succeeded now carries `message: null` where it had no `message`,
which a reader already takes as null. `trial_started`'s `initial_epoch` came
later too: a reader that ignores it shows a resumed trial from that epoch only.
Numbers that are not finite (a NaN loss) are written as `null`. A writer may add
fields; readers ignore the ones they do not know. Lines are only ever appended,
each with one `write`, and flushed at once. A line cut short by a crash is
skipped by readers; a writer that opens a log ending in such a line first ends
it, so the next event starts on a line of its own.

Readers open only a regular file: a log that is a FIFO, a directory, a socket
or a device raises `OSError` without being opened, so
that no reader waits on it for ever. Lines that are valid JSON but not objects
with an `event` are skipped like torn ones; `kerasmnist.runs.state.RunState`
checks the type of every field it reads.
"""

from __future__ import annotations

import enum
import json
import math
import os
import platform
import stat
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from kerasmnist._enum import StrEnum

__all__ = ["SCHEMA_VERSION", "TERMINAL_EVENTS", "EventTail", "EventType", "EventWriter",
           "file_kind", "jsonable", "open_regular", "read_events"]

SCHEMA_VERSION = 1


class EventType(StrEnum):
    """The event types of the schema: the values of an event's `event` field.

    Each compares equal to its value, so readers match an event read from a
    log (a plain string) against these names rather than string literals.

    Example:

    >>> EventType.RUN_ENDED == "run_ended", EventType("trial_started").name
    (True, 'TRIAL_STARTED')
    """

    RUN_STARTED = "run_started"
    TRIAL_STARTED = "trial_started"
    EPOCH_ENDED = "epoch_ended"
    CONFUSION = "confusion"
    TEACHER_TRAINED = "teacher_trained"
    RESTART_ENDED = "restart_ended"
    RESTART_CHOSEN = "restart_chosen"
    TRIAL_ENDED = "trial_ended"
    RUN_ENDED = "run_ended"
    RUN_FAILED = "run_failed"
    RUN_INTERRUPTED = "run_interrupted"


TERMINAL_EVENTS = frozenset({EventType.RUN_ENDED, EventType.RUN_FAILED, EventType.RUN_INTERRUPTED})
"""Events after which a run writes nothing more (until it is resumed)."""


class EventWriter:
    """Appends events to a JSON Lines file, one flushed line each.

    Copies (`copy.deepcopy`, as keras-tuner makes of callbacks) share the file.

    Args:
        path: The log file; its directory is created if needed.
        listeners: Callables given each record after it is written (the command
            line draws its progress from them). Defaults to none.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> with EventWriter(path) as events:
    ...     _ = events.trial_started("t0", {"units_0": 128})
    >>> [e["event"] for e in read_events(path)]
    ['trial_started']
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        listeners: Sequence[Callable[[dict[str, Any]], None]] = (),
    ) -> None:
        self.path = Path(path)
        self.listeners = list(listeners)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        if _ends_in_torn_line(self.path):
            _write_all(self._fd, b"\n")

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Appends one event; returns the record written.

        The methods below write the documented types; this writes any.
        """
        record = {"schema": SCHEMA_VERSION, "event": str(event), "time": time.time(), **fields}
        line = json.dumps(jsonable(record), separators=(",", ":"), allow_nan=False) + "\n"
        with self._lock:
            _write_all(self._fd, line.encode("utf-8"))
        for listener in self.listeners:
            listener(record)
        return record

    def run_started(self, spec: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
        """Records the start of a run, with the versions that will produce it."""
        backend = _backend()
        return self.write(EventType.RUN_STARTED, spec=dict(spec), backend=backend,
                          versions=_versions(backend), **extra)

    def trial_started(
        self, trial_id: str, hyperparameters: Mapping[str, Any], **extra: Any
    ) -> dict[str, Any]:
        """Records the start of a trial and its hyperparameters."""
        return self.write(EventType.TRIAL_STARTED, trial_id=trial_id,
                          hyperparameters=dict(hyperparameters), **extra)

    def epoch_ended(
        self,
        epoch: int,
        logs: Mapping[str, Any],
        *,
        seconds: float,
        epochs: int | None = None,
        trial_id: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Records one epoch's logs (0-based `epoch`, as Keras counts)."""
        return self.write(EventType.EPOCH_ENDED, trial_id=trial_id, epoch=epoch, epochs=epochs,
                          logs=dict(logs), seconds=seconds, **extra)

    def confusion(
        self,
        matrix: np.ndarray,
        class_names: Sequence[str],
        *,
        split: str,
        epoch: int | None = None,
        trial_id: str | None = None,
        per_class: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Records a confusion matrix of counts (rows true, columns predicted)."""
        return self.write(EventType.CONFUSION, trial_id=trial_id, epoch=epoch, split=split,
                          class_names=list(class_names), matrix=np.asarray(matrix).tolist(),
                          per_class=dict(per_class or {}))

    def teacher_trained(
        self, trial_id: str, *, teacher: str, params: int, epochs: int, logs: Mapping[str, Any],
        seconds: float,
    ) -> dict[str, Any]:
        """Records the training of the teacher a trial's model is distilled from.

        Args:
            trial_id: The trial.
            teacher: The teacher's preset name.
            params: The teacher's weight count.
            epochs: Epochs it trained.
            logs: Its last epoch's logs.
            seconds: How long it trained.
        """
        return self.write(EventType.TEACHER_TRAINED, trial_id=trial_id, teacher=teacher,
                          params=params, epochs=epochs, logs=dict(logs), seconds=seconds)

    def restart_ended(
        self, trial_id: str, *, restart: int, epochs: int, objective: str, score: float | None,
        message: str | None = None,
    ) -> dict[str, Any]:
        """Records the end of one of a trial's random restarts.

        Args:
            trial_id: The trial.
            restart: The restart's number, from 0.
            epochs: Epochs it trained.
            objective: The logged metric the restarts are compared by.
            score: Its value of `objective`, or `None` when the restart failed.
            message: Why it failed. Defaults to `None`.
        """
        return self.write(EventType.RESTART_ENDED, trial_id=trial_id, restart=restart,
                          epochs=epochs, objective=objective, score=score, message=message)

    def restart_chosen(
        self, trial_id: str, *, restart: int, epochs: int, objective: str, score: float | None,
    ) -> dict[str, Any]:
        """Records the restart a trial goes on training from (the best by `objective`).

        Args:
            trial_id: The trial.
            restart: The chosen restart's number, from 0.
            epochs: Epochs it has trained.
            objective: The logged metric the restarts were compared by.
            score: Its value of `objective`.
        """
        return self.write(EventType.RESTART_CHOSEN, trial_id=trial_id, restart=restart,
                          epochs=epochs, objective=objective, score=score)

    def trial_ended(
        self, trial_id: str, *, status: str, score: float | None = None, params: int | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Records the end of a trial."""
        return self.write(EventType.TRIAL_ENDED, trial_id=trial_id, status=status, score=score,
                          params=params, **extra)

    def run_ended(self, results: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Records the successful end of a run."""
        return self.write(EventType.RUN_ENDED, results=dict(results or {}))

    def run_interrupted(self, reason: str = "interrupted") -> dict[str, Any]:
        """Records that a run was stopped before its end; it can be resumed."""
        return self.write(EventType.RUN_INTERRUPTED, reason=reason)

    def run_failed(self, error: BaseException) -> dict[str, Any]:
        """Records a run's failure with the error and its traceback."""
        return self.write(
            EventType.RUN_FAILED, error=str(error), error_type=type(error).__name__,
            traceback="".join(traceback.format_exception(type(error), error, error.__traceback__)),
        )

    def close(self) -> None:
        """Closes the file; further writes fail."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> EventWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __deepcopy__(self, memo: dict[int, Any]) -> EventWriter:
        return self  # one file, one writer: copies of callbacks must share it

    def __repr__(self) -> str:
        return f"EventWriter({str(self.path)!r})"


def read_events(
    path: str | os.PathLike[str],
    *,
    follow: bool = False,
    poll_interval: float = 0.2,
    idle_timeout: float | None = None,
    stop_at_end: bool = True,
) -> Iterator[dict[str, Any]]:
    """Yields the events of a log, optionally following it as it grows.

    Lines that are not complete JSON objects (a line being written, or one cut
    short by a crash) are skipped; in follow mode a last line still being
    written is yielded once its newline arrives.

    Args:
        path: The `events.jsonl` file.
        follow: Keep waiting for new events, like `tail -f`. In follow mode a
            file that does not exist yet is waited for. Defaults to `False`.
        poll_interval: Seconds between checks for new data. Defaults to `0.2`.
        idle_timeout: In follow mode, stop after this many seconds without a new
            event; `None` waits for ever. Defaults to `None`.
        stop_at_end: In follow mode, stop after a `run_ended`, `run_failed` or
            `run_interrupted` event. Defaults to `True`.

    Yields:
        Each event as a dict.

    Raises:
        FileNotFoundError: The file does not exist (and `follow` is `False`).
        OSError: It is not a regular file (a FIFO, a directory...), or cannot be read.
    """
    path = Path(path)
    last_news = time.monotonic()

    def idle() -> bool:
        return idle_timeout is not None and time.monotonic() - last_news > idle_timeout

    while follow and not path.exists():
        if idle():
            return
        time.sleep(poll_interval)
    with open_regular(path) as stream:
        pending = b""
        while True:
            chunk = stream.read()
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    event = _parse(line)
                    if event is None:
                        continue
                    last_news = time.monotonic()
                    yield event
                    if follow and stop_at_end and event.get("event") in TERMINAL_EVENTS:
                        return
            if not follow or idle():
                return
            time.sleep(poll_interval)


class EventTail:
    """Returns the events appended to a log since the last `poll()`, without blocking.

    For polling loops, such as a user interface's timer. A line still being
    written is held back until its newline arrives; a line cut short by a
    crash is skipped.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> tail = EventTail(path)
    >>> tail.poll()
    []
    >>> with EventWriter(path) as events:
    ...     _ = events.run_interrupted()
    >>> [e["event"] for e in tail.poll()], tail.poll()
    (['run_interrupted'], [])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.offset = 0
        self._pending = b""

    def poll(self) -> list[dict[str, Any]]:
        """The complete events written since the last call (none if the file is missing).

        Raises:
            OSError: The log is not a regular file (a FIFO, a directory...), or cannot be read.
        """
        try:
            with open_regular(self.path) as stream:
                stream.seek(self.offset)
                chunk = stream.read()
        except FileNotFoundError:
            return []
        self.offset += len(chunk)
        *lines, self._pending = (self._pending + chunk).split(b"\n")
        return [event for event in map(_parse, lines) if event is not None]


def file_kind(mode: int) -> str:
    """What a file is, from its `st_mode`: `"a regular file"`, `"a directory"`, `"a FIFO"`...

    Example:

    >>> import os, tempfile
    >>> file_kind(os.stat(tempfile.gettempdir()).st_mode)
    'a directory'
    """
    for test, kind in ((stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return kind
    return "a special file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Opens a regular file to read bytes; anything else is not opened.

    The type is checked before opening (opening a FIFO would wait for a writer,
    opening a device may do something), and again on the file opened, without
    waiting, in case the path changed in between.

    Raises:
        FileNotFoundError: Nothing is there.
        OSError: It is not a regular file (`"PATH: not a regular file but a FIFO"`),
            or cannot be opened.
    """
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise _not_regular(path, mode)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise _not_regular(path, mode)
        return os.fdopen(fd, "rb")  # O_NONBLOCK does nothing to a regular file's reads
    except BaseException:
        os.close(fd)
        raise


def _not_regular(path: str | os.PathLike[str], mode: int) -> OSError:
    return OSError(f"{os.fspath(path)}: not a regular file but {file_kind(mode)}")


def _parse(line: bytes) -> dict[str, Any] | None:
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and "event" in event else None


def _ends_in_torn_line(path: Path) -> bool:
    with open(path, "rb") as stream:
        if stream.seek(0, os.SEEK_END) == 0:
            return False
        stream.seek(-1, os.SEEK_END)
        return stream.read(1) != b"\n"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def jsonable(value: Any) -> Any:
    """Plain JSON types: NumPy scalars and arrays converted, non-finite floats to None,
    enumerations (such as `EventType` or a run's status) to their values."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "numpy"):  # a backend tensor
        return jsonable(np.asarray(value))
    return str(value)


def _backend() -> str:
    keras = sys.modules.get("keras")
    if keras is not None:
        return str(keras.backend.backend())
    return os.environ.get("KERAS_BACKEND", "tensorflow")


def _versions(backend: str) -> dict[str, str | None]:
    packages = {"kerasmnist": "kerasmnist", "keras": "keras", "keras_tuner": "keras-tuner",
                "numpy": "numpy", backend: {"tensorflow": "tensorflow", "jax": "jax",
                                            "torch": "torch"}.get(backend, backend)}
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for key, distribution in packages.items():
        try:
            versions[key] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[key] = None
    return versions
