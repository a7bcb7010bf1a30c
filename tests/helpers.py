"""Helpers shared by the tests."""

from __future__ import annotations

import gzip
import hashlib
import http.server
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


def wait_for_event(run_dir: Path, process: subprocess.Popen[bytes], log: Path,
                   wanted: Callable[[dict[str, Any]], bool], timeout: float = 240.0) -> dict[str, Any]:
    """The first event of a run's log that `wanted` accepts, as soon as `process` writes it.

    Reads the log as it grows (an `EventTail`, polled every 20 ms: the log is how
    the run says what it has done); fails the test if `process` ends first or
    nothing comes within `timeout` seconds.
    """
    import pytest

    from kerasmnist.events import EventTail

    tail = EventTail(run_dir / "events.jsonl")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in tail.poll():
            if wanted(event):
                return event
        if process.poll() is not None:
            pytest.fail(f"the run ended (exit {process.returncode}) before the event: "
                        f"{log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.02)
    pytest.fail("the event never came")
