"""Tests of the run event log: writing, reading, following, torn lines."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerasmnist import EventWriter, read_events
from kerasmnist.events import SCHEMA_VERSION, TERMINAL_EVENTS, EventType


def test_every_event_type_round_trips_with_schema_and_time(tmp_path):
    path = tmp_path / "run" / "events.jsonl"
    with EventWriter(path) as events:
        events.run_started({"dataset": "mnist_sample", "epochs": 2})
        events.trial_started("t0", {"units_0": np.int64(128), "learning_rate": np.float32(0.5)})
        events.epoch_ended(0, {"loss": np.float32(0.25), "train_accuracy": 0.9}, seconds=1.5,
                           epochs=2, trial_id="t0")
        events.confusion(np.array([[3, 1], [0, 2]]), ["a", "b"], split="validation", epoch=0,
                         trial_id="t0", per_class={"a": {"recall": 0.75}})
        events.trial_ended("t0", status="COMPLETED", score=0.9, params=7850)
        try:
            raise RuntimeError("out of memory")
        except RuntimeError as error:
            events.run_failed(error)
        events.run_ended({"test_accuracy": 0.91})
    read = list(read_events(path))
    assert [e["event"] for e in read] == ["run_started", "trial_started", "epoch_ended",
                                         "confusion", "trial_ended", "run_failed", "run_ended"]
    assert all(e["schema"] == SCHEMA_VERSION and isinstance(e["time"], float) for e in read)
    started = read[0]
    assert started["spec"]["epochs"] == 2 and started["backend"] in ("tensorflow", "jax", "torch")
    assert started["versions"]["keras"] and started["versions"]["python"]
    assert read[1]["hyperparameters"] == {"units_0": 128, "learning_rate": 0.5}
    assert read[2]["logs"] == {"loss": 0.25, "train_accuracy": 0.9} and read[2]["epochs"] == 2
    assert read[3]["matrix"] == [[3, 1], [0, 2]] and read[3]["class_names"] == ["a", "b"]
    assert read[4]["params"] == 7850
    assert read[5]["error_type"] == "RuntimeError" and "out of memory" in read[5]["traceback"]
    assert len(path.read_text().splitlines()) == 7  # one object per line


def test_teacher_and_restart_events_are_written_with_their_documented_fields(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        events.teacher_trained("r0", teacher="mnist_cnn", params=np.int64(1200), epochs=15,
                               logs={"val_accuracy": np.float32(0.5)}, seconds=84.25)
        events.restart_ended("r0", restart=0, epochs=10, objective="val_accuracy", score=0.85)
        events.restart_ended("r0", restart=1, epochs=10, objective="val_accuracy", score=math.nan,
                             message="the loss became nan")
        events.restart_chosen("r0", restart=0, epochs=10, objective="val_accuracy", score=0.85)
    fields = [{k: v for k, v in e.items() if k not in ("schema", "time")} for e in read_events(path)]
    assert fields == [
        {"event": "teacher_trained", "trial_id": "r0", "teacher": "mnist_cnn", "params": 1200,
         "epochs": 15, "logs": {"val_accuracy": 0.5}, "seconds": 84.25},
        {"event": "restart_ended", "trial_id": "r0", "restart": 0, "epochs": 10,
         "objective": "val_accuracy", "score": 0.85, "message": None},
        {"event": "restart_ended", "trial_id": "r0", "restart": 1, "epochs": 10,
         "objective": "val_accuracy", "score": None, "message": "the loss became nan"},
        {"event": "restart_chosen", "trial_id": "r0", "restart": 0, "epochs": 10,
         "objective": "val_accuracy", "score": 0.85},
    ]


def test_every_event_type_is_documented_and_has_a_writer_method():
    import kerasmnist.events as module

    for kind in EventType:
        assert f"- `{kind.value}`:" in module.__doc__, kind
        assert callable(getattr(EventWriter, kind.value)), kind
    assert EventType.RUN_ENDED == "run_ended" and f"{EventType.CONFUSION}" == "confusion"
    assert "run_failed" in TERMINAL_EVENTS and "trial_ended" not in TERMINAL_EVENTS


def test_listeners_get_the_event_type_as_a_plain_string(tmp_path):
    seen = []
    with EventWriter(tmp_path / "e.jsonl", listeners=[seen.append]) as events:
        events.write(EventType.RUN_INTERRUPTED, reason="test")
    assert type(seen[0]["event"]) is str and seen[0]["event"] == "run_interrupted"


def test_non_finite_numbers_are_written_as_null(tmp_path):
    with EventWriter(tmp_path / "e.jsonl") as events:
        events.epoch_ended(0, {"loss": math.nan, "val_loss": np.float64("inf")}, seconds=1.0)
    (event,) = read_events(tmp_path / "e.jsonl")
    assert event["logs"] == {"loss": None, "val_loss": None}
    json.loads((tmp_path / "e.jsonl").read_text())  # strict JSON, no NaN literal


def test_a_torn_last_line_is_skipped_and_a_new_writer_starts_a_fresh_line(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        events.trial_started("t0", {})
    with open(path, "ab") as raw:
        raw.write(b'{"schema":1,"event":"epoch_ended","lo')  # a crash mid-write
    assert [e["event"] for e in read_events(path)] == ["trial_started"]
    with EventWriter(path) as events:  # a resumed run appends
        events.trial_started("t1", {})
    assert [e.get("trial_id") for e in read_events(path)] == ["t0", "t1"]


def test_writer_never_rewrites_earlier_lines(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        events.trial_started("t0", {})
    first = path.read_bytes()
    with EventWriter(path) as events:
        events.trial_started("t1", {})
    assert path.read_bytes().startswith(first)


def test_copies_of_a_writer_share_one_file(tmp_path):
    import copy

    events = EventWriter(tmp_path / "e.jsonl")
    assert copy.deepcopy(events) is events
    events.close()


def test_reading_a_missing_log_raises_unless_following(tmp_path):
    with pytest.raises(FileNotFoundError):
        list(read_events(tmp_path / "absent.jsonl"))
    assert list(read_events(tmp_path / "absent.jsonl", follow=True, idle_timeout=0.3,
                            poll_interval=0.05)) == []


WRITER = textwrap.dedent("""
    import sys, time
    from kerasmnist import EventWriter
    path = sys.argv[1]
    with EventWriter(path) as events:
        events.run_started({"n": 3})
        for epoch in range(3):
            time.sleep(0.3)
            events.epoch_ended(epoch, {"loss": 1.0 / (epoch + 1)}, seconds=0.3)
    with open(path, "ab") as raw:
        raw.write(b'{"schema":1,"event":"epoch_en')  # torn, then completed later
        raw.flush()
        time.sleep(0.5)
        raw.write(b'ded","epoch":3,"logs":{}}\\n')
    with EventWriter(path) as events:
        events.run_ended({"done": True})
""")


def test_follow_sees_events_appended_by_another_process(tmp_path):
    path = tmp_path / "events.jsonl"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    try:
        seen = list(read_events(path, follow=True, poll_interval=0.05, idle_timeout=20))
    finally:
        writer.wait(timeout=30)
    assert [e["event"] for e in seen] == ["run_started", "epoch_ended", "epoch_ended",
                                         "epoch_ended", "epoch_ended", "run_ended"]
    assert [e["epoch"] for e in seen if e["event"] == "epoch_ended"] == [0, 1, 2, 3]
    assert writer.returncode == 0


def test_follow_can_continue_past_the_end_of_a_run(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        events.run_ended({})
        events.run_started({})  # a resumed run
    seen = list(read_events(path, follow=True, stop_at_end=False, idle_timeout=0.3,
                            poll_interval=0.05))
    assert [e["event"] for e in seen] == ["run_ended", "run_started"]
