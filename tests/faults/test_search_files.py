"""keras-tuner's files of a search lost or damaged: rebuilt from the event log, or a clear way out."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kerasmnist.cli import main
from kerasmnist.runs import RunSpec, engine

SPEC = RunSpec(dataset="mnist_sample", validation=200, limit=400, search="random", trials=3, epochs=2,
               overrides={"num_layers": 1, "units": [8, 16, 32, 64]})


class Stop(KeyboardInterrupt):
    """Raised by a listener: the run is interrupted at a chosen event."""


@pytest.fixture(scope="module")
def interrupted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A search interrupted in the first epoch of trial 1 (trial 0 completed)."""
    run_dir = tmp_path_factory.mktemp("interrupted") / "run"

    def stop(event: dict) -> None:
        if event["event"] == "epoch_ended" and event["trial_id"] == "1":
            raise Stop

    with pytest.raises(Stop):
        engine.run(SPEC, run_dir, listeners=[stop], trials_per_process=None)
    return run_dir


def copy_of(run_dir: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    return copy


def events_of(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]


def resume(run_dir: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["resume", str(run_dir), "--quiet", "--json"])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("lost", ["1", "0"], ids=["interrupted trial", "completed trial"])
def test_a_lost_trial_file_is_rebuilt_from_the_event_log(interrupted, tmp_path, capsys, lost):
    run_dir = copy_of(interrupted, tmp_path)
    (run_dir / "search" / f"trial_{lost}" / "trial.json").unlink()
    code, out, err = resume(run_dir, capsys)
    assert code == 0, out + err
    events = events_of(run_dir)
    ended = Counter(e["trial_id"] for e in events
                    if e["event"] == "trial_ended" and e["status"] == "COMPLETED")
    assert ended == {"0": 1, "1": 1, "2": 1}  # every trial ended once, the re-run one included
    started = Counter(e["trial_id"] for e in events if e["event"] == "trial_started")
    assert started == {"0": 1, "1": 2, "2": 1}  # the completed trial was not run again
    rebuilt = json.loads((run_dir / "search" / f"trial_{lost}" / "trial.json").read_text())
    assert rebuilt["status"] == "COMPLETED"


def test_a_lost_search_state_is_an_error_that_names_the_file_and_the_way_out(interrupted, tmp_path, capsys):
    run_dir = copy_of(interrupted, tmp_path)
    (run_dir / "search" / "oracle.json").unlink()
    code, out, err = resume(run_dir, capsys)
    assert code == 1
    error = json.loads(out)
    assert error["status"] == "failed"
    assert str(run_dir / "search" / "oracle.json") in error["error"]
    assert "kerasmnist search --config" in error["error"]
    assert "Traceback" not in err


def test_a_damaged_search_state_is_an_error_too(interrupted, tmp_path, capsys):
    run_dir = copy_of(interrupted, tmp_path)
    (run_dir / "search" / "oracle.json").write_text('{"ongoing_trials": 5')
    code, out, _ = resume(run_dir, capsys)
    assert code == 1
    assert "cannot be read" in json.loads(out)["error"]
