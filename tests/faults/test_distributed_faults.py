"""A distributed search whose chief dies: each worker ends with a clear error, in bounded time."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs import RunSpec
from kerasmnist.runs.prepare import prepare_run_dir
from kerasmnist.runs.search import CHIEF_TIMEOUT_VARIABLE, chief_timeout
from tests.helpers import wait_for_event


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start(run_dir: Path, tuner_id: str, port: int, log: Path, **extra: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(port), "TF_CPP_MIN_LOG_LEVEL": "3", **extra}
    with open(log, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", "kerasmnist.cli", "worker", str(run_dir)], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


def test_a_worker_that_loses_its_chief_exits_with_an_error_naming_it(tmp_path):
    run_dir = tmp_path / "run"
    spec = RunSpec(dataset="mnist_sample", validation=200, limit=400, search="random", trials=2, epochs=50,
                   overrides={"num_layers": 1, "units": [32, 64]})
    prepare_run_dir(spec.resolved(), run_dir)
    port = free_port()
    chief = start(run_dir, "chief", port, tmp_path / "chief.log")
    worker = None
    try:
        # The worker's short timeout is for a chief that answered once and died, not for
        # one still starting on a loaded machine: start the worker once the chief serves.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=120)
        worker = start(run_dir, "worker0", port, tmp_path / "worker.log", **{CHIEF_TIMEOUT_VARIABLE: "5"})
        # The worker is training.
        wait_for_event(run_dir, worker, tmp_path / "worker.log", lambda e: e["event"] == "epoch_ended")
        chief.kill()
        chief.wait()
        code = worker.wait(timeout=120)  # keras-tuner alone would wait an hour per request
    finally:
        for process in (chief, worker):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
    output = (tmp_path / "worker.log").read_text()
    assert code == 1, output
    assert f"Lost the search's chief at 127.0.0.1:{port}" in output
    assert "Traceback" not in output


def test_the_chief_timeout_is_read_from_the_environment(monkeypatch):
    monkeypatch.delenv(CHIEF_TIMEOUT_VARIABLE, raising=False)
    assert chief_timeout() == 300.0
    monkeypatch.setenv(CHIEF_TIMEOUT_VARIABLE, "2.5")
    assert chief_timeout() == 2.5
    for bad in ("0", "-1", "soon", "nan", "inf"):
        monkeypatch.setenv(CHIEF_TIMEOUT_VARIABLE, bad)
        with pytest.raises(InvalidArgumentError, match=CHIEF_TIMEOUT_VARIABLE):
            chief_timeout()
