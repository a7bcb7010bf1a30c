"""A search killed in the middle of a trial goes on from the trial's last finished epoch.

The test drives the real command line in subprocesses and waits on what the run
writes (its event log, the trial's checkpoint), never on a clock. The search
runs with one thread per process, so that the resumed trial's epochs can be
compared for equality with an uninterrupted run's.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kerasmnist.events import read_events
from kerasmnist.runs.rundir import running_pid
from kerasmnist.runs.state import RunState
from tests.helpers import wait_for_event, wait_gone, wait_until

pytestmark = pytest.mark.skipif(not hasattr(os, "pidfd_open"), reason="waits on pidfds (Linux)")

# Two trials of five epochs, MLPs of one layer; epochs of a few hundred steps, so that
# the kill lands in the epoch after the one waited for.
SEARCH = ["search", "--dataset", "mnist_sample", "--validation", "300", "--limit", "1200",
          "--search", "random", "--trials", "2", "--epochs", "5", "--batch-size", "16", "--seed", "3",
          "--set", "num_layers=1", "--set", "units=[16, 32]", "--set", "dropout=0.2",
          "--trials-per-process", "0", "--quiet"]
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3"}
DEADLINE = 240.0  # seconds; only reached when something is broken


def kerasmnist(*args: str) -> list[str]:
    return [sys.executable, "-m", "kerasmnist.cli", *args]


def complete(*args: str) -> None:
    result = subprocess.run(kerasmnist(*args), env={**os.environ, **ONE_THREAD}, capture_output=True,
                            text=True, timeout=DEADLINE)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


def saved_epoch(checkpoint: Path) -> int | None:
    """The epoch a trial's checkpoint goes on from, read as the run would (its record), or `None`."""
    try:
        with zipfile.ZipFile(checkpoint / "state.npz") as archive:
            raw = archive.read("meta.npy")
    except (FileNotFoundError, KeyError):
        return None
    return int(json.loads(str(np.load(io.BytesIO(raw))))["epoch"])


def events_of(run_dir: Path) -> list[dict[str, Any]]:
    return list(read_events(run_dir / "events.jsonl"))


def epochs_after_last_start(events: list[dict[str, Any]], trial_id: str) -> tuple[dict[str, Any], list[int]]:
    """A trial's last `trial_started` and the epochs logged after it."""
    starts = [i for i, e in enumerate(events) if e["event"] == "trial_started" and e["trial_id"] == trial_id]
    after = events[starts[-1]:]
    return after[0], [e["epoch"] for e in after if e["event"] == "epoch_ended" and e["trial_id"] == trial_id]


def test_a_trial_killed_in_its_third_epoch_trains_only_the_last_three_on_resume(tmp_path):
    run_dir, log = tmp_path / "run", tmp_path / "run.log"
    checkpoint = run_dir / "checkpoints" / "trial_1"
    with open(log, "wb") as out:
        process = subprocess.Popen(kerasmnist(*SEARCH, "--run-dir", str(run_dir)),
                                   env={**os.environ, **ONE_THREAD}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_event(run_dir, process, log, lambda e: e["event"] == "epoch_ended"
                       and e["trial_id"] == "1" and e["epoch"] == 1)
        # The checkpoint after epoch 2 (index 1) follows its log line; then epoch 3 trains.
        wait_until(lambda: saved_epoch(checkpoint) == 2, process, log, DEADLINE)
        process.kill()  # SIGKILL, in epoch 3
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert wait_gone(process.pid)
    assert running_pid(run_dir) is None
    events = events_of(run_dir)
    _, before = epochs_after_last_start(events, "1")
    assert before == [0, 1], "the kill was meant for epoch 3 (index 2), before its end"
    assert saved_epoch(checkpoint) == 2
    assert not (run_dir / "checkpoints" / "trial_0").exists()  # trial 0 ended: its checkpoint is gone

    complete("resume", str(run_dir), "--quiet")

    events = events_of(run_dir)
    started, after = epochs_after_last_start(events, "1")
    assert started["initial_epoch"] == 2
    assert after == [2, 3, 4]  # epochs 3 to 5 only
    assert Counter(e["trial_id"] for e in events if e["event"] == "trial_started") == {"0": 1, "1": 2}
    state = RunState.from_events(events)
    for trial in state.trials.values():
        assert [e["epoch"] for e in trial.epochs] == [0, 1, 2, 3, 4]
        assert trial.status == "COMPLETED"
        assert trial.confusion is not None and trial.confusion["epoch"] == 4
    with open(run_dir / "logs" / "1.csv", newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(row["epoch"]) for row in rows] == [0, 1, 2, 3, 4]  # one header, each epoch once
    assert not (run_dir / "checkpoints").exists()
    resumed = state.trials["1"]
    assert resumed.score == max(resumed.history("val_accuracy"))

    # The same search, uninterrupted: the resumed trial's epochs are the same, to the last bit.
    whole = tmp_path / "whole"
    complete(*SEARCH, "--run-dir", str(whole))
    uninterrupted = RunState.from_events(events_of(whole)).trials["1"]
    assert resumed.history("val_loss") == uninterrupted.history("val_loss")
    assert resumed.score == uninterrupted.score
