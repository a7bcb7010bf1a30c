"""Damaged run directories: one never hides, blocks or breaks the others.

A runs directory holds a good, finished run (recorded as the engine writes one,
without training) beside a damaged copy of it. `kerasmnist runs list` must list
both, the damaged one as `damaged` with the file and the problem; `runs show` of
the damaged one must fail with exit status 1 and one line (or one JSON document),
never a traceback. A log with a few bad events is not damaged: its run is listed
and shown, with a note. A FIFO where a file should be is never opened (that would
wait for a writer for ever): those cases run in a real process with a timeout.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasmnist.cli import main
from kerasmnist.events import EventTail, EventType, read_events
from kerasmnist.runs.rundir import read_results, run_info
from kerasmnist.runs.state import LOG_KEYS, RunState
from tests.tui.conftest import record_run

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


@pytest.fixture
def runs_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A runs directory with one good, finished run, `good`."""
    path = tmp_path / "runs"
    record_run(path, "good", monkeypatch)
    monkeypatch.setenv("COLUMNS", "400")  # tables wide enough that no cell wraps
    return path


def _damaged_copy(runs_dir: Path, name: str, damage: Callable[[Path], object]) -> Path:
    """A copy of the good run with one file damaged by `damage(run_dir)`."""
    run_dir = runs_dir / name
    shutil.copytree(runs_dir / "good", run_dir)
    damage(run_dir)
    return run_dir


def _replace(name: str, make: Callable[[Path], object]) -> Callable[[Path], object]:
    """A damage: the file `name` removed, then `make(path)` puts something else there."""

    def damage(run_dir: Path) -> object:
        (run_dir / name).unlink()
        return make(run_dir / name)

    return damage


def _socket(path: Path) -> None:
    """A Unix socket at `path` (bound by its name: a socket's path is short)."""
    if not hasattr(socket, "AF_UNIX"):
        pytest.skip("no Unix sockets here")
    here = os.getcwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(here)


def _results_without(key: str) -> Callable[[Path], object]:
    def damage(run_dir: Path) -> object:
        results = json.loads((run_dir / "results.json").read_text())
        del results[key]
        return (run_dir / "results.json").write_text(json.dumps(results))

    return damage


# name: (the damage, the file the problem names, words it says)
DAMAGES: dict[str, tuple[Callable[[Path], object], str, str]] = {
    "events_a_directory": (_replace("events.jsonl", Path.mkdir), "events.jsonl", "directory"),
    "events_a_device": (_replace("events.jsonl", lambda p: p.symlink_to(os.devnull)), "events.jsonl",
                        "not a regular file but a character device"),
    "events_a_socket": (_replace("events.jsonl", _socket), "events.jsonl", "not a regular file but a socket"),
    "spec_not_utf8": (_replace("spec.toml", lambda p: p.write_bytes(b'dataset = "caf\xe9"\n')),
                      "spec.toml", "UTF-8"),
    "spec_not_toml": (_replace("spec.toml", lambda p: p.write_text("epochs = \n")), "spec.toml", "TOML"),
    "spec_wrong_types": (_replace("spec.toml", lambda p: p.write_text('epochs = "many"\n')),
                         "spec.toml", "`epochs`"),
    "spec_a_directory": (_replace("spec.toml", Path.mkdir), "spec.toml", "directory"),
    "results_not_json": (_replace("results.json", lambda p: p.write_text('{"splits": [')),
                         "results.json", "not valid JSON"),
    "results_not_utf8": (_replace("results.json", lambda p: p.write_bytes(b'{"a": "\xff"}')),
                         "results.json", "UTF-8"),
    "results_an_array": (_replace("results.json", lambda p: p.write_text("[1, 2]")),
                         "results.json", "array"),
    "results_without_splits": (_results_without("splits"), "results.json", "`splits`"),
    "results_wrong_confusion": (
        lambda d: (d / "results.json").write_text(
            json.dumps({**json.loads((d / "results.json").read_text()), "confusion": [[1, "x"]]})),
        "results.json", "`confusion`"),
    "results_a_directory": (_replace("results.json", Path.mkdir), "results.json", "directory"),
}


def _list_json(capsys: pytest.CaptureFixture[str], runs_dir: Path) -> dict:
    assert main(["runs", "list", "--runs-dir", str(runs_dir), "--json"]) == 0
    return {Path(run["path"]).name: run for run in json.loads(capsys.readouterr().out)["runs"]}


@pytest.mark.parametrize("kind", DAMAGES)
def test_runs_list_shows_a_damaged_run_as_one_row_and_the_good_one_as_usual(runs_dir, capsys, kind):
    damage, file, words = DAMAGES[kind]
    _damaged_copy(runs_dir, "broken", damage)
    runs = _list_json(capsys, runs_dir)
    assert runs["good"]["status"] == "finished" and runs["good"]["problem"] is None
    assert runs["good"]["test_accuracy"] == pytest.approx(0.7912)
    broken = runs["broken"]
    assert broken["status"] == "damaged"
    assert broken["problem"].startswith(f"{file}: ") and words in broken["problem"]

    assert main(["runs", "list", "--runs-dir", str(runs_dir)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    rows = {line.split()[1]: line for line in captured.out.splitlines() if line.startswith("│")}
    assert "finished" in rows["good"] and "0.7912" in rows["good"]
    assert "damaged" in rows["broken"] and broken["problem"] in rows["broken"]


@pytest.mark.parametrize("kind", DAMAGES)
def test_runs_show_of_a_damaged_run_fails_with_one_line_naming_the_file(runs_dir, capsys, kind):
    damage, file, words = DAMAGES[kind]
    broken = _damaged_copy(runs_dir, "broken", damage)
    assert main(["runs", "show", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("kerasmnist: error: ") and "damaged" in line
    assert f"{file}: " in line and words in line

    assert main(["runs", "show", str(broken), "--json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "damaged" and document["problem"].startswith(f"{file}: ")
    assert words in document["error"]
    assert main(["runs", "show", str(runs_dir / "good")]) == 0  # the good one still shows


def _run_cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """`kerasmnist ARGS` in a fresh process; a hang fails the test instead of stalling it."""
    try:
        return subprocess.run([sys.executable, "-m", "kerasmnist.cli", *args], capture_output=True,
                              text=True, timeout=timeout, env={**os.environ, "COLUMNS": "400"})
    except subprocess.TimeoutExpired:
        pytest.fail(f"`kerasmnist {' '.join(args)}` hung (a FIFO opened for reading?)")


@needs_fifo
@pytest.mark.parametrize("file", ["events.jsonl", "spec.toml", "results.json"])
def test_a_fifo_in_a_run_is_never_opened_by_runs_list_or_show(runs_dir, file):
    _damaged_copy(runs_dir, "broken", _replace(file, os.mkfifo))
    listing = _run_cli("runs", "list", "--runs-dir", str(runs_dir), "--json")
    assert listing.returncode == 0, listing.stderr
    runs = {Path(run["path"]).name: run for run in json.loads(listing.stdout)["runs"]}
    assert runs["good"]["status"] == "finished"
    assert runs["broken"]["status"] == "damaged"
    assert runs["broken"]["problem"] == f"{file}: not a regular file but a FIFO"
    shown = _run_cli("runs", "show", str(runs_dir / "broken"))
    assert shown.returncode == 1 and "Traceback" not in shown.stderr
    assert shown.stderr.strip().endswith(f"{file}: not a regular file but a FIFO")


@needs_fifo
def test_a_log_that_is_a_fifo_is_not_opened_by_the_readers(tmp_path):
    """The terminal UI's run view polls its log with an EventTail: it must not wait."""
    path = tmp_path / "events.jsonl"
    os.mkfifo(path)
    outcome: list[BaseException | object] = []

    def read() -> None:
        for reader in (lambda: EventTail(path).poll(), lambda: list(read_events(path))):
            try:
                outcome.append(reader())
            except OSError as error:
                outcome.append(error)

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # blocked in open(): a writer end lets it go
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail("a reader opened the FIFO and waited for a writer")
    assert len(outcome) == 2 and all(isinstance(o, OSError) for o in outcome)
    assert all("not a regular file but a FIFO" in str(o) for o in outcome)


def test_read_results_names_the_file_and_the_problem(runs_dir):
    broken = _damaged_copy(runs_dir, "broken", _replace("results.json", lambda p: p.write_text("[]")))
    with pytest.raises(ValueError, match=r"results\.json: not a JSON object but an array"):
        read_results(broken)
    assert read_results(runs_dir / "good")["test_accuracy"] == pytest.approx(0.7912)


# -- a log with bad events: read, with a note --------------------------------------------

# name: (lines appended to the good run's log, words of the note, or None where a line that
# is not a JSON object is skipped by the reader as a torn line is)
BAD_LINES: dict[str, tuple[list[str], str | None]] = {
    "plan_a_number": (['{"event": "run_started", "time": 1767225700, "spec": {}, "plan": 5}'],
                      "run_started: `plan` is not an object"),
    "time_a_string": (['{"event": "run_interrupted", "time": "x"}'], "`time` is not a Unix time"),
    "time_far_away": (['{"event": "run_interrupted", "time": 1e300}'], "`time` is not a Unix time"),
    "trial_id_a_list": (['{"event": "trial_started", "trial_id": [1], "hyperparameters": {}}'],
                        "trial_started: `trial_id` is not a string"),
    "trial_id_a_number": (['{"event": "trial_ended", "trial_id": 3, "status": "COMPLETED"}'],
                          "trial_ended: `trial_id` is not a string"),
    "metric_a_string": (['{"event": "epoch_ended", "trial_id": "0", "epoch": 5, "logs": '
                         '{"val_accuracy": "high"}}'], "`logs.val_accuracy` is not a number"),
    "score_a_string": (['{"event": "trial_ended", "trial_id": "0", "status": "COMPLETED", '
                        '"score": "0.9"}'], "trial_ended: `score` is not a number"),
    "epoch_infinite": (['{"event": "epoch_ended", "trial_id": "0", "epoch": Infinity, "logs": {}}'],
                       "epoch_ended: `epoch` is not a count"),
    "logs_a_list": (['{"event": "epoch_ended", "trial_id": "0", "epoch": 9, "logs": [1]}'],
                    "`logs` is not an object"),
    "matrix_ragged": (['{"event": "confusion", "trial_id": "0", "split": "validation", '
                       '"matrix": [[1, 2], [3]], "class_names": ["a", "b"]}'], "`matrix`"),
    "results_best_trial_a_list": (['{"event": "run_ended", "time": 1767225999, '
                                   '"results": {"best_trial": [1], "test_accuracy": "x"}}'], None),
    "event_a_number": (['{"event": 5}'], "not an event object"),
    "a_json_list": (["[1, 2]", "5", '"run_ended"'], None),
}


@pytest.mark.parametrize("kind", BAD_LINES)
def test_a_log_with_a_bad_line_is_listed_and_shown_with_a_note(runs_dir, capsys, kind):
    lines, words = BAD_LINES[kind]
    noted = _damaged_copy(runs_dir, "noted", lambda d: None)
    with open(noted / "events.jsonl", "a", encoding="utf-8") as log:
        log.write("".join(line + "\n" for line in lines))
    runs = _list_json(capsys, runs_dir)
    assert runs["good"]["status"] == "finished" and runs["good"]["note"] is None
    assert runs["noted"]["status"] in ("finished", "interrupted") and runs["noted"]["problem"] is None
    if words is not None:
        assert runs["noted"]["note"].startswith("events.jsonl: 1 event") and words in runs["noted"]["note"]
    assert main(["runs", "list", "--runs-dir", str(runs_dir)]) == 0
    assert main(["runs", "show", str(noted)]) == 0
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    assert ("Note: events.jsonl:" in captured.out) is (words is not None)
    assert main(["runs", "show", str(noted), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["note"] == runs["noted"]["note"]


def test_a_run_with_a_bad_log_and_a_bad_spec_names_both(runs_dir):
    def damage(run_dir: Path) -> None:
        (run_dir / "spec.toml").write_text("epochs = \n")
        with open(run_dir / "events.jsonl", "a", encoding="utf-8") as log:
            log.write('{"event": "trial_ended", "trial_id": "0", "score": "high"}\n')

    info = run_info(_damaged_copy(runs_dir, "broken", damage))
    assert info.status == "damaged" and info.problem.startswith("spec.toml: not valid TOML")
    assert info.note.startswith("events.jsonl: 1 event read in part") and info.trials_done == 3


# -- the fold never raises ----------------------------------------------------------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.just(10**400) | st.floats() | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8)
"""Any value `json.loads` can give (it reads NaN, Infinity and integers of any size)."""

_PLAUSIBLE = {
    "time": st.floats(0, 2e9) | st.integers(-5, 5),
    "trial_id": st.sampled_from(["0", "1", "-"]) | st.none(),
    "epoch": st.integers(-1, 4), "epochs": st.integers(-1, 4), "restart": st.integers(-1, 3),
    "params": st.integers(-1, 10**6),
    "status": st.sampled_from(["COMPLETED", "FAILED", "RUNNING", "odd"]),
    "split": st.sampled_from(["validation", "test"]),
    "logs": st.dictionaries(st.sampled_from(LOG_KEYS), _JSON | st.floats(), max_size=3),
    "matrix": st.lists(st.lists(st.integers(-1, 9), min_size=0, max_size=3), max_size=3),
    "class_names": st.lists(st.text(max_size=2), max_size=3),
    "spec": st.fixed_dictionaries({}, optional={"objective": _JSON | st.sampled_from(["val_loss"])}),
    "plan": st.fixed_dictionaries({}, optional={"trials": _JSON, "epochs": _JSON}),
    "results": st.fixed_dictionaries({}, optional={"best_trial": _JSON | st.just("0"),
                                                   "test_accuracy": _JSON}),
    "hyperparameters": st.dictionaries(st.text(max_size=6), _JSON, max_size=3),
}
_FIELDS = sorted({*_PLAUSIBLE, "seconds", "score", "message", "worker", "teacher", "objective",
                  "per_class", "error", "error_type", "traceback", "reason", "schema"})
_EVENT = st.builds(
    lambda name, fields: {**fields, "event": name},
    st.sampled_from([str(e) for e in EventType]) | _JSON,
    st.fixed_dictionaries({}, optional={name: _PLAUSIBLE.get(name, _JSON) | _JSON for name in _FIELDS}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_EVENT | _JSON, max_size=8))
def test_the_fold_reads_any_json_values_without_raising(events):
    state = RunState.from_events(events)
    assert state.skipped + state.damaged <= len(events)
    assert (state.damage is None) is (state.skipped + state.damaged == 0)
    for alive in (None, True, False):
        state.status(alive)
        progress = state.progress(now=2e9, alive=alive)
        assert progress.remaining is None or math.isfinite(progress.remaining)
    json.dumps(state.trial_table())
    assert len(state.ranked()) == len(state.trials) and state.direction in ("min", "max")
    assert state.focus_trial() in (None, *state.trials.values()) and state.best() in (None, *state.ranked())
    assert isinstance(state.varying_hyperparameters(), list) and isinstance(state.objective, str)
    assert state.test_accuracy is None or math.isfinite(state.test_accuracy)
    assert state.trials_planned is None or state.trials_planned > 0
    for trial in state.trials.values():
        assert trial.epochs_done >= 0
        assert all(len(trial.history(key)) == len(trial.epochs) for key in LOG_KEYS)
        assert state.trial_of({"trial_id": trial.trial_id}) is trial or trial.trial_id == "-"
        for confusion in (trial.confusion, state.test_confusion):
            if confusion is not None and confusion["matrix"] is not None:
                assert len(confusion["class_names"]) == len(confusion["matrix"])
