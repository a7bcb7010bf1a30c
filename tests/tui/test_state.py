"""RunState: a run's event log folded into what the run view shows."""

from __future__ import annotations

import pytest
from kerasmnist_tui.state import RunState

from kerasmnist.events import read_events
from tests.tui.conftest import record_run


def _events(*pairs: tuple[str, dict]) -> list[dict]:
    return [{"event": kind, "time": float(i), **fields} for i, (kind, fields) in enumerate(pairs)]


def test_recorded_search_folds_into_trials_epochs_and_confusions(runs_dir, monkeypatch):
    run = record_run(runs_dir, "run", monkeypatch)
    state = RunState()
    assert state.apply(read_events(run.path / "events.jsonl"))
    assert state.phase == "finished" and state.status(alive=None) == "finished"
    assert list(state.trials) == ["0", "1", "2"]
    assert [t.trial_id for t in state.ranked()] == ["2", "1", "0"]  # val_accuracy: higher first
    assert state.best().score == pytest.approx(run.scores["2"])
    assert state.trials["1"].history("val_loss") == pytest.approx(
        [run.epochs[("1", e)]["val_loss"] for e in range(2)])
    assert state.trials["0"].confusion["matrix"] == run.validation_matrix["0"]
    assert state.test_confusion["matrix"] == run.test_matrix
    assert state.varying_hyperparameters() == ["units_0"]
    assert state.summary["test_accuracy"] == pytest.approx(0.7912)
    progress = state.progress(now=10**10, alive=None)
    assert (progress.done, progress.trials, progress.epoch, progress.remaining) == (3, 3, 2, None)


def test_failed_run_keeps_the_end_of_its_traceback(runs_dir, monkeypatch):
    state = RunState()
    state.apply(read_events(record_run(runs_dir, "run", monkeypatch, ending="failed").path / "events.jsonl"))
    assert state.status(alive=False) == "failed"
    assert state.error_tail.splitlines()[-1] == "ValueError: Out of memory while building the model"
    assert state.trials["0"].status == "STOPPED"


def test_status_depends_on_whether_a_process_runs_the_run():
    state = RunState()
    assert state.status(alive=None) == "new"
    assert state.status(alive=True) == "starting"
    state.apply(_events(("run_started", {"spec": {}, "plan": {"trials": 1, "epochs": 3}})))
    assert state.status(alive=True) == "running"
    assert state.status(alive=False) == "interrupted"  # its process died without a word
    state.apply(_events(("run_interrupted", {"reason": "interrupted"})))
    assert state.status(alive=None) == "interrupted"
    assert state.status(alive=True) == "starting"  # a resume that has not written yet


def test_a_resumed_trial_starts_over_and_the_estimate_counts_what_is_left():
    state = RunState()
    state.apply(_events(
        ("run_started", {"spec": {"objective": "val_loss"}, "plan": {"trials": 2, "epochs": 4}}),
        ("trial_started", {"trial_id": "a", "hyperparameters": {"units": 8}}),
        ("epoch_ended", {"trial_id": "a", "epoch": 0, "epochs": 4, "logs": {"val_loss": 1.0}}),
        ("epoch_ended", {"trial_id": "a", "epoch": 1, "epochs": 4, "logs": {"val_loss": 0.5}}),
        ("run_interrupted", {}),
        ("run_started", {"spec": {"objective": "val_loss"}, "plan": {"trials": 2, "epochs": 4},
                         "resumed": True}),
        ("trial_started", {"trial_id": "a", "hyperparameters": {"units": 8}}),
        ("epoch_ended", {"trial_id": "a", "epoch": 0, "epochs": 4, "logs": {"val_loss": float("nan")}}),
    ))
    trial = state.trials["a"]
    assert len(trial.epochs) == 1 and trial.history("val_loss") == [None]
    assert state.direction == "min"
    # Events are a second apart: this session's first epoch ended 2 s after its start.
    progress = state.progress(now=7.0, alive=True)
    assert (progress.trial, progress.epoch, progress.epochs) == (1, 1, 4)
    assert progress.remaining == pytest.approx(2.0 * (3 + 4))  # 3 epochs of this trial, 4 of the next
    assert progress.elapsed == pytest.approx((4 - 0) + (7 - 5))  # both sessions


def test_unreadable_events_are_skipped_and_counted():
    state = RunState()
    assert state.apply([{"event": "epoch_ended", "trial_id": "x", "epoch": "not a number"},
                        {"no": "event"}]) is False
    assert state.skipped == 2
    assert state.apply(_events(("something_new", {"field": 1})))  # unknown events are fine


def test_a_trial_s_teacher_and_restarts_are_kept_and_shown_while_it_runs():
    from kerasmnist_tui.widgets import ProgressPanel

    from tests.tui.test_run_screen import _text

    state = RunState()
    state.apply(_events(
        ("run_started", {"spec": {"model": "tiny_150"}, "plan": {"trials": 3, "epochs": 160}}),
        ("trial_started", {"trial_id": "r0", "hyperparameters": {"preset": "tiny_150"}}),
        ("restart_ended", {"trial_id": "r0", "restart": 0, "epochs": 10, "score": 0.8518,
                           "objective": "val_accuracy"}),
        ("restart_ended", {"trial_id": "r0", "restart": 1, "epochs": 10, "score": None,
                           "objective": "val_accuracy", "message": "the loss became nan"}),
    ))
    assert [e["restart"] for e in state.trials["r0"].setup] == [0, 1]
    panel = ProgressPanel()
    panel.show(state, "running", state.progress(now=20.0, alive=True))
    assert "Restarts of 10 epochs: 0.8518, failed (val_accuracy)" in _text(panel.content)
    state.apply(_events(("restart_chosen", {"trial_id": "r0", "restart": 0, "epochs": 10,
                                            "score": 0.8518})))
    panel.show(state, "running", state.progress(now=20.0, alive=True))
    assert "0.8518, failed (val_accuracy); training on restart 0" in _text(panel.content)
    state.apply(_events(("trial_ended", {"trial_id": "r0", "status": "COMPLETED", "score": 0.9})))
    panel.show(state, "running", state.progress(now=30.0, alive=True))
    assert "Restarts" not in _text(panel.content)  # shown for the trial under way only
