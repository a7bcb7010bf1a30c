"""Helpers shared by the tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kerasmnist import write_idx


def make_toy_files(
    directory: Path,
    *,
    n_train: int = 60,
    n_test: int = 20,
    num_classes: int = 3,
    seed: int = 0,
    compress: bool = True,
) -> dict[str, str]:
    """Writes a small synthetic data set; returns the SHA-256 of each file's content.

    Labels cycle through the classes, so every class has the same share; each
    image's first pixel holds its index so tests can tell examples apart.
    """
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    digests = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n) % 256
        labels = (np.arange(n) % num_classes).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            path = directory / (name if compress else name[:-3])
            write_idx(path, array, compress=compress)
            raw = path.read_bytes()
            digests[name] = hashlib.sha256(gzip.decompress(raw) if compress else raw).hexdigest()
    return digests


@contextmanager
def http_server(
    handler: type[http.server.BaseHTTPRequestHandler], on_stop: Callable[[], None] = lambda: None
) -> Iterator[str]:
    """Serves `handler` on 127.0.0.1 from a thread; yields the base URL.

    `on_stop` runs first when the server stops (to release handlers still sending).
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        on_stop()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """The URL of a port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def wait_until(condition: Callable[[], Any], process: subprocess.Popen[bytes], log: Path,
               timeout: float = 240.0) -> Any:
    """`condition()`'s first true value, as soon as it holds (checked every 20 ms).

    For what a process says through its files (its event log, a checkpoint it
    renames into place); fails the test if `process` ends first or the condition
    does not hold within `timeout` seconds.
    """
    import pytest

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process.poll() is not None:
            pytest.fail(f"the process ended (exit {process.returncode}) before the condition held: "
                        f"{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"the condition did not hold within {timeout:g} s")


def wait_for_event(run_dir: Path, process: subprocess.Popen[bytes], log: Path,
                   wanted: Callable[[dict[str, Any]], bool], timeout: float = 240.0) -> dict[str, Any]:
    """The first event of a run's log that `wanted` accepts, as soon as `process` writes it.

    Reads the log as it grows (an `EventTail`: the log is how the run says what it
    has done), by `wait_until`.
    """
    from kerasmnist.events import EventTail

    tail = EventTail(run_dir / "events.jsonl")
    return wait_until(lambda: next((e for e in tail.poll() if wanted(e)), None), process, log, timeout)


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    """Whether process `pid` ends within `timeout` seconds: it and every thread of it.

    Waits on a pidfd, which becomes readable once the whole thread group has
    exited (a killed process's main thread can be a zombie while its other
    threads, still holding its files and so its locks, exit).
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout)[0])
    finally:
        os.close(fd)


def write_search_run(
    run_dir: Path,
    trials: list[tuple[str, str, float | None, int | None, dict[str, Any]]],
    *,
    objective: str = "val_accuracy",
    logged_spec: dict[str, Any] | None = None,
    finished: bool = True,
    epochs: dict[str, list[dict[str, float]]] | None = None,
) -> Path:
    """A search's run directory as its log would tell it, written without training.

    Args:
        trials: `(trial_id, status, score, params, hyperparameters)` each; a
            `"RUNNING"` trial is started and never ended.
        objective: The spec's objective.
        logged_spec: Fields added to the spec that `run_started` logs (`max_params`,
            `overrides`), unchecked: `spec.toml` does not get them.
        finished: Whether the log ends with `run_ended`.
        epochs: Each trial's epoch logs (`{"val_accuracy": ...}`), by trial id; each
            becomes an `epoch_ended` of one second and one CPU-second.
    """
    from kerasmnist.events import EventWriter
    from kerasmnist.runs.spec import RunSpec

    spec = RunSpec(search="random", objective=objective, trials=len(trials))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    with EventWriter(run_dir / "events.jsonl") as events:
        events.run_started({**spec.to_dict(), **(logged_spec or {})},
                           plan={"trials": len(trials), "epochs": 2})
        for trial_id, status, score, params, hyperparameters in trials:
            events.trial_started(trial_id, hyperparameters)
            logs = (epochs or {}).get(trial_id, [])
            for epoch, values in enumerate(logs):
                events.epoch_ended(epoch, values, seconds=1.0, epochs=len(logs), trial_id=trial_id,
                                   cpu_seconds=1.0)
            if status != "RUNNING":
                events.trial_ended(trial_id, status=status, score=score, params=params)
        if finished and all(status != "RUNNING" for _, status, *_ in trials):
            events.run_ended({})
    return run_dir
