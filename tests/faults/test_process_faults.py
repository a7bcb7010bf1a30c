"""Processes killed at chosen events: no orphan, the lock held, each trial once, the same scores.

Each test drives the real command line in subprocesses and waits on what the
other side writes (the run's event log, a process's end), never on a clock.
Every search runs with one thread per process, so that its scores are exact
functions of the seeds and can be compared for equality.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kerasmnist.runs.rundir import running_pid
from tests.helpers import wait_for_event, wait_gone

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "pidfd_open"),
                                reason="finds a run's children through /proc and waits on pidfds (Linux)")

# A small random search: three trials of two epochs, MLPs of one layer.
SEARCH = ["search", "--dataset", "mnist_sample", "--validation", "200", "--limit", "400",
          "--search", "random", "--trials", "3", "--epochs", "2", "--seed", "7",
          "--set", "num_layers=1", "--set", "units=[8, 16, 32, 64]", "--quiet"]
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3"}
DEADLINE = 240.0  # seconds; only reached when something is broken


def kerasmnist(*args: str) -> list[str]:
    return [sys.executable, "-m", "kerasmnist.cli", *args]


def environment() -> dict[str, str]:
    return {**os.environ, **ONE_THREAD}


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(kerasmnist(*args), env=environment(), stdout=out, stderr=subprocess.STDOUT)


def complete(args: list[str]) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(kerasmnist(*args), env=environment(), capture_output=True, text=True,
                            timeout=DEADLINE)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def children_of(pid: int) -> list[int]:
    """The live processes whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _stat(int(entry.name)) is not None:
            state, parent = _stat(int(entry.name))  # type: ignore[misc]
            if parent == pid and state != "Z":
                found.append(int(entry.name))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def scores(run_dir: Path) -> dict[str, float]:
    """Each trial's score, by trial id, checking that each trial completed exactly once."""
    ended = [e for e in events_of(run_dir) if e["event"] == "trial_ended" and e["status"] == "COMPLETED"]
    counts = Counter(e["trial_id"] for e in ended)
    assert set(counts.values()) == {1}, counts
    return {e["trial_id"]: e["score"] for e in ended}


@pytest.fixture(scope="module")
def one_process(tmp_path_factory: pytest.TempPathFactory) -> dict[str, float]:
    """The scores of the search run with every trial in one process."""
    run_dir = tmp_path_factory.mktemp("one") / "run"
    complete([*SEARCH, "--trials-per-process", "0", "--run-dir", str(run_dir)])
    found = scores(run_dir)
    assert len(found) == 3
    return found


def test_killing_the_parent_leaves_no_child_and_a_resume_runs_each_trial_once(tmp_path, one_process):
    run_dir, log = tmp_path / "run", tmp_path / "parent.log"
    parent = start([*SEARCH, "--trials-per-process", "1", "--run-dir", str(run_dir)], log)
    try:
        # The first epoch of the second trial: a child is training it, with two trials done
        # or to do on either side.
        wait_for_event(run_dir, parent, log, lambda e: e["event"] == "epoch_ended" and e["trial_id"] == "1"
                       and e["epoch"] == 0)
        children = children_of(parent.pid)
        assert children, "the child training trial 1 was expected alive"
        for child in children:
            os.kill(child, signal.SIGSTOP)  # frozen mid-trial, so that it cannot end by itself
        parent.kill()
        parent.wait()
        for child in children:
            assert wait_gone(child), f"child {child} outlived its parent"
    finally:
        if parent.poll() is None:
            parent.kill()
    assert running_pid(run_dir) is None  # nobody holds the run's lock
    complete(["resume", str(run_dir), "--quiet"])
    assert scores(run_dir) == one_process  # every trial once, as in one process
    started = Counter(e["trial_id"] for e in events_of(run_dir) if e["event"] == "trial_started")
    assert started == {"0": 1, "1": 2, "2": 1}  # only the killed trial ran again


def held_locks(pid: int, path: Path) -> list[str]:
    """The kinds of flock (`WRITE`, `READ`) that process `pid` holds on `path` through its open files."""
    kinds = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            if os.path.realpath(fd) != os.path.realpath(path):
                continue
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        kinds += [line.split()[4] for line in info.splitlines()
                  if line.startswith("lock:") and "FLOCK" in line]
    return kinds


def test_a_child_writes_the_run_directory_holding_the_run_lock(tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "parent.log"
    parent = start([*SEARCH, "--trials-per-process", "1", "--run-dir", str(run_dir)], log)
    try:
        wait_for_event(run_dir, parent, log, lambda e: e["event"] == "epoch_ended" and e["trial_id"] == "0")
        (child,) = children_of(parent.pid)
        os.kill(child, signal.SIGSTOP)  # stays mid-trial while we look
        assert held_locks(child, run_dir / ".lock") == ["WRITE"]
        assert running_pid(run_dir) == parent.pid
    finally:
        parent.kill()
        parent.wait()
    assert wait_gone(child)


def test_a_search_gives_the_same_trials_in_fresh_processes_and_with_workers(tmp_path, one_process):
    fresh = tmp_path / "fresh"
    complete([*SEARCH, "--trials-per-process", "1", "--run-dir", str(fresh)])
    assert scores(fresh) == one_process
    workers = tmp_path / "workers"
    complete([*SEARCH, "--workers", "2", "--run-dir", str(workers)])
    # The same trials, the same scores: keras-tuner's gRPC carries them as 32-bit floats.
    assert scores(workers) == pytest.approx(one_process, rel=1e-7, abs=0)
    assert proposals(workers) == proposals(fresh)


def proposals(run_dir: Path) -> dict[str, dict[str, Any]]:
    """The hyperparameters of each trial, by trial id."""
    return {e["trial_id"]: e["hyperparameters"] for e in events_of(run_dir) if e["event"] == "trial_started"}


def test_a_deterministic_run_repeats_bit_for_bit_with_every_thread(tmp_path):
    train = ["train", "--dataset", "mnist_sample", "--validation", "200", "--limit", "400", "--epochs", "2",
             "--set", "num_layers=1", "--set", "units=64", "--set", "dropout=0.2", "--deterministic",
             "--quiet", "--json"]
    splits = []
    for name in ("a", "b"):  # the machine's threads, not one: op determinism holds regardless
        result = subprocess.run(kerasmnist(*train, "--run-dir", str(tmp_path / name)), capture_output=True,
                                text=True, timeout=DEADLINE, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        assert result.returncode == 0, result.stderr[-3000:]
        splits.append(json.loads(result.stdout)["splits"])
    assert splits[0] == splits[1]  # every loss and accuracy, to the last bit
    assert tomllib_load(tmp_path / "a" / "spec.toml")["deterministic"] is True


def tomllib_load(path: Path) -> dict[str, Any]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.loads(path.read_text())
