"""RunState: a run's event log folded into the state every reader shows."""

from __future__ import annotations

import doctest
import importlib
import json
import re

import pytest

import kerasmnist.runs
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.events import EventWriter, jsonable, read_events
from kerasmnist.runs.rundir import MODEL_FILE, SPEC_FILE, best_model_source, run_info, run_state, trial_table
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import (
    Restart,
    RunState,
    RunStatus,
    TeacherTrained,
    TrialState,
    TrialStatus,
    rank_trials,
    varying_hyperparameters,
)
from kerasmnist.runs.trials import training_time_text
from tests.tui.conftest import record_run


@pytest.fixture
def runs_dir(tmp_path):
    path = tmp_path / "runs"
    path.mkdir()
    return path


def _events(*pairs: tuple[str, dict]) -> list[dict]:
    return [{"event": kind, "time": float(i), **fields} for i, (kind, fields) in enumerate(pairs)]


@pytest.mark.parametrize("module", ["kerasmnist.runs.state", "kerasmnist.runs.rundir"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


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


def test_a_trial_s_teacher_and_restarts_are_kept_as_they_come():
    state = RunState()
    state.apply(_events(
        ("run_started", {"spec": {"model": "tiny_150"}, "plan": {"trials": 3, "epochs": 160}}),
        ("trial_started", {"trial_id": "r0", "hyperparameters": {"preset": "tiny_150"}}),
        ("restart_ended", {"trial_id": "r0", "restart": 0, "epochs": 10, "score": 0.8518,
                           "objective": "val_accuracy"}),
        ("restart_ended", {"trial_id": "r0", "restart": 1, "epochs": 10, "score": None,
                           "objective": "val_accuracy", "message": "the loss became nan"}),
    ))
    trial = state.trials["r0"]
    assert [r.restart for r in trial.restarts] == [0, 1] and trial.chosen_restart is None
    assert trial.restarts[1] == Restart(1, 10, "val_accuracy", None, "the loss became nan")
    # A log of an older writer: `restart_chosen` without its objective.
    state.apply(_events(("restart_chosen", {"trial_id": "r0", "restart": 0, "epochs": 10,
                                            "score": 0.8518})))
    assert trial.chosen_restart == Restart(0, 10, None, 0.8518)


# -- the enums --------------------------------------------------------------------------


def test_statuses_are_enums_equal_to_their_strings_and_written_as_them():
    assert RunStatus("finished") is RunStatus.FINISHED and RunStatus.FINISHED == "finished"
    assert f"{RunStatus.INTERRUPTED}" == "interrupted" and str(RunStatus.NEW) == "new"
    assert {RunStatus.RUNNING: 1}["running"] == 1  # hashes as its value: plain-string keys work
    assert TrialStatus.COMPLETED == "COMPLETED" and f"{TrialStatus.FAILED}" == "FAILED"
    assert json.dumps(jsonable({"status": RunStatus.FAILED, "trial": TrialStatus.COMPLETED})) == (
        '{"status": "failed", "trial": "COMPLETED"}')
    assert [s.value for s in RunStatus] == ["new", "starting", "running", "stopping", "finished",
                                            "failed", "interrupted", "damaged"]
    assert {s.value for s in TrialStatus} == {"RUNNING", "COMPLETED", "PRUNED", "FAILED", "INTERRUPTED",
                                              "STOPPED", "INVALID", "IDLE"}
    assert [s for s in TrialStatus if s.ended] == [TrialStatus.COMPLETED, TrialStatus.PRUNED,
                                                   TrialStatus.FAILED, TrialStatus.INVALID, TrialStatus.IDLE]


def test_the_fold_gives_enum_statuses_and_keras_tuner_s_statuses_pass_through():
    state = RunState.from_events(_events(
        ("run_started", {"spec": {}}),
        ("trial_started", {"trial_id": "0", "hyperparameters": {}}),
        ("trial_ended", {"trial_id": "0", "status": "INVALID", "score": None}),
        ("trial_started", {"trial_id": "1", "hyperparameters": {}}),
        ("trial_ended", {"trial_id": "1", "status": "SOMETHING_NEW"}),
        ("trial_started", {"trial_id": "2", "hyperparameters": {}}),
        ("run_interrupted", {}),
    ))
    assert state.phase is RunStatus.INTERRUPTED and state.status(alive=True) is RunStatus.STARTING
    statuses = {t.trial_id: t.status for t in state.trials.values()}
    assert statuses == {"0": TrialStatus.INVALID, "1": TrialStatus.FAILED, "2": TrialStatus.INTERRUPTED}
    assert all(type(s) is TrialStatus for s in statuses.values())
    assert "SOMETHING_NEW" in state.trials["1"].message  # an unknown status is failed, and says why
    assert state.trials_done == 2


# -- teacher and restarts, through the writer's methods ----------------------------------


def test_teacher_and_restart_events_written_by_the_writer_read_back_typed(tmp_path):
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        events.run_started({"objective": "val_accuracy"}, plan={"trials": 1, "epochs": 30})
        events.trial_started("r0", {"preset": "tiny_150"})
        events.teacher_trained("r0", teacher="mnist_cnn", params=1_200_000, epochs=15,
                               logs={"val_accuracy": 0.993, "loss": 0.02}, seconds=84.5)
        events.restart_ended("r0", restart=0, epochs=10, objective="val_accuracy", score=0.85)
        events.restart_ended("r0", restart=1, epochs=10, objective="val_accuracy", score=None,
                             message="the loss became nan")
        events.restart_chosen("r0", restart=0, epochs=10, objective="val_accuracy", score=0.85)
        events.epoch_ended(10, {"val_accuracy": 0.9}, seconds=1.0, epochs=30, trial_id="r0")
    trial = run_state(tmp_path).trials["r0"]
    assert trial.teacher == TeacherTrained("mnist_cnn", 1_200_000, 15, {"val_accuracy": 0.993, "loss": 0.02},
                                           84.5)
    assert trial.restarts == [Restart(0, 10, "val_accuracy", 0.85),
                              Restart(1, 10, "val_accuracy", None, "the loss became nan")]
    assert trial.chosen_restart == Restart(0, 10, "val_accuracy", 0.85)
    assert trial.epochs_done == 11  # it goes on from the restart's 10 epochs


def test_the_progress_listener_draws_teacher_restarts_and_trials_from_the_fold(tmp_path):
    import io

    from rich.console import Console

    from kerasmnist.cli.progress import RunProgress

    out = io.StringIO()
    progress = RunProgress(Console(file=out, width=200, color_system=None))
    with progress, EventWriter(tmp_path / "events.jsonl", listeners=[progress]) as events:
        events.run_started({"objective": "val_accuracy"}, plan={"trials": 1, "epochs": 30})
        events.trial_started("r0", {})
        events.teacher_trained("r0", teacher="mnist_cnn", params=1000, epochs=15,
                               logs={"val_accuracy": 0.993}, seconds=84.5)
        events.restart_ended("r0", restart=1, epochs=10, objective="val_accuracy", score=None,
                             message="the loss became nan")
        events.restart_chosen("r0", restart=0, epochs=10, objective="val_accuracy", score=0.85)
        events.trial_ended("r0", status="COMPLETED", score=0.9, params=150)
    text = out.getvalue()
    assert "trial r0: teacher mnist_cnn trained (15 epochs, 84 s, val_accuracy 0.9930)" in text
    assert "trial r0: restart 1 ended (10 epochs, the loss became nan)" in text
    assert "trial r0: restart 0 chosen, training on (10 epochs, val_accuracy 0.8500)" in text
    assert "trial r0: COMPLETED, val_accuracy 0.9000, 150 weights" in text
    assert progress.state.trials["r0"].status is TrialStatus.COMPLETED


# -- run directories ---------------------------------------------------------------------


def test_run_info_of_a_run_with_a_failed_trial(tmp_path):
    (tmp_path / SPEC_FILE).write_text(RunSpec(objective="val_loss", validation=0.1).to_toml())
    with EventWriter(tmp_path / "events.jsonl") as events:
        events.run_started({"objective": "val_loss"}, plan={"trials": 3, "epochs": 2})
        for trial_id, status, score in (("0", "COMPLETED", 0.40), ("1", "FAILED", None),
                                        ("2", "COMPLETED", 0.30)):
            events.trial_started(trial_id, {"units": 8 * (int(trial_id) + 1)}, worker="w0")
            events.trial_ended(trial_id, status=status, score=score, params=100,
                               message="budget exceeded" if score is None else None)
        events.run_ended({"test_accuracy": 0.88})
    info = run_info(tmp_path)
    assert info.status is RunStatus.FINISHED and info.to_dict()["status"] == "finished"
    assert (info.trials_done, info.trials_planned) == (3, 3)
    assert info.best_score == pytest.approx(0.30)  # a loss: the lowest
    assert info.test_accuracy == pytest.approx(0.88) and info.error is None
    table = trial_table(tmp_path / "events.jsonl")
    assert [(t["trial_id"], t["status"], t["message"]) for t in table] == [
        ("0", "COMPLETED", None), ("1", "FAILED", "budget exceeded"), ("2", "COMPLETED", None)]
    assert table[1] == {"trial_id": "1", "status": "FAILED", "score": None, "params": 100,
                        "hyperparameters": {"units": 16}, "worker": "w0", "message": "budget exceeded"}
    assert all(type(t["status"]) is str for t in table)  # plain JSON, as results.json holds it
    assert [t.trial_id for t in rank_trials(map(TrialState.from_dict, table), "val_loss")] == ["2", "0", "1"]


def test_run_info_of_a_failed_run_and_of_a_run_whose_process_died(runs_dir, monkeypatch):
    failed = record_run(runs_dir, "failed", monkeypatch, ending="failed")
    info = run_info(failed.path)
    assert info.status == "failed"
    assert info.error.endswith("ValueError: Out of memory while building the model")
    assert info.trials_done == 0 and info.best_score is None
    interrupted = record_run(runs_dir, "interrupted", monkeypatch, ending="interrupted")
    assert run_info(interrupted.path).status is RunStatus.INTERRUPTED
    assert trial_table(interrupted.path / "events.jsonl")[-1]["status"] == "INTERRUPTED"


def test_best_model_source_of_a_file_and_of_a_run_directory(tmp_path):
    assert best_model_source(tmp_path / "model.keras") == (tmp_path / "model.keras", None)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    received = re.escape(repr(str(run_dir)))
    with pytest.raises(InvalidArgumentError, match=rf"argument `model`.*Received: model={received}, "
                                                   rf"a directory without {SPEC_FILE}"):
        best_model_source(run_dir)
    (run_dir / SPEC_FILE).write_text(RunSpec(dataset="kmnist").to_toml())
    with pytest.raises(InvalidArgumentError, match=rf"argument `source`.*Received: source={received}, "
                                                   "which has none yet"):
        best_model_source(str(run_dir), argument="source")
    (run_dir / MODEL_FILE).write_bytes(b"")
    assert best_model_source(run_dir) == (run_dir / MODEL_FILE, "kmnist")
    assert kerasmnist.runs.best_model_source is best_model_source


def test_a_version_1_log_written_before_the_setup_events_were_documented_still_reads(tmp_path):
    # As the run engine wrote it with `events.write(...)`: no `message` on a restart that succeeded.
    lines = [
        {"schema": 1, "event": "run_started", "time": 1.0, "spec": {"objective": "val_accuracy"},
         "plan": {"trials": 1, "epochs": 20}, "resumed": False, "backend": "tensorflow", "versions": {}},
        {"schema": 1, "event": "trial_started", "time": 2.0, "trial_id": "r0", "hyperparameters": {},
         "worker": "main", "replicate": 0},
        {"schema": 1, "event": "teacher_trained", "time": 3.0, "trial_id": "r0", "teacher": "mnist_cnn",
         "params": 500, "epochs": 2, "logs": {"accuracy": 0.9}, "seconds": 4.2},
        {"schema": 1, "event": "restart_ended", "time": 4.0, "trial_id": "r0", "restart": 0, "epochs": 5,
         "objective": "val_accuracy", "score": 0.8},
        {"schema": 1, "event": "restart_chosen", "time": 5.0, "trial_id": "r0", "restart": 0, "epochs": 5,
         "objective": "val_accuracy", "score": 0.8},
        {"schema": 1, "event": "trial_ended", "time": 6.0, "trial_id": "r0", "status": "COMPLETED",
         "score": 0.91, "params": 150, "worker": "main", "message": None, "rss_mb": None},
    ]
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    state = run_state(tmp_path)
    trial = state.trials["r0"]
    assert trial.teacher.teacher == "mnist_cnn" and trial.restarts == [Restart(0, 5, "val_accuracy", 0.8)]
    assert trial.chosen_restart.restart == 0 and trial.status is TrialStatus.COMPLETED
    assert state.status(alive=None) is RunStatus.RUNNING and state.skipped == 0


# -- across trials -----------------------------------------------------------------------


def test_varying_hyperparameters_leave_out_shared_values_and_keras_tuner_s_own():
    trials = [TrialState("0", {"units": 8, "activation": "relu", "tuner/epochs": 2}),
              TrialState("1", {"units": 16, "activation": "relu", "tuner/epochs": 4}),
              TrialState("2", {"units": 16, "activation": "relu", "dropout": 0.1})]
    assert varying_hyperparameters(trials) == ["units", "dropout"]  # dropout: some trials lack it
    assert varying_hyperparameters(trials[:1]) == []
    assert varying_hyperparameters([]) == []


def test_trials_rank_by_the_objective_s_direction_with_unscored_ones_last():
    trials = [TrialState("failed", status=TrialStatus.FAILED), TrialState("low", score=0.1),
              TrialState("running"), TrialState("high", score=0.9)]
    assert [t.trial_id for t in rank_trials(trials, "val_accuracy")] == ["high", "low", "running", "failed"]
    assert [t.trial_id for t in rank_trials(trials, "train_loss")] == ["low", "high", "running", "failed"]


def test_a_trial_resumed_from_its_checkpoint_keeps_the_epochs_before_it_each_once():
    def epoch(n, loss, **extra):
        return ("epoch_ended", {"trial_id": "0", "epoch": n, "epochs": 4, "logs": {"val_loss": loss},
                                **extra})

    def confusion(n):
        return ("confusion", {"trial_id": "0", "epoch": n, "split": "validation", "class_names": ["a", "b"],
                              "matrix": [[n, 0], [0, 1]]})

    started = ("trial_started", {"trial_id": "0", "hyperparameters": {"units": 8}})
    # Epoch 2 (index) was logged after the last checkpoint, before the kill: trained again.
    first = [("run_started", {"spec": {}}), started, epoch(0, 0.9), confusion(0), epoch(1, 0.7), confusion(1),
             epoch(2, 0.6), confusion(2), ("run_interrupted", {"reason": "killed"})]
    resumed = [("run_started", {"spec": {}}), ("trial_started", {**started[1], "initial_epoch": 2})]
    state = RunState.from_events(_events(*first, *resumed))
    trial = state.trials["0"]
    assert [e["epoch"] for e in trial.epochs] == [0, 1]
    assert trial.planned_epochs == 4 and trial.status is TrialStatus.RUNNING
    assert trial.confusion is None  # the latest was of epoch 2, to be trained again
    state.apply(_events(epoch(2, 0.5), confusion(2), epoch(3, 0.4),
                        ("trial_ended", {"trial_id": "0", "status": "COMPLETED", "score": 0.4})))
    assert [e["epoch"] for e in trial.epochs] == [0, 1, 2, 3]
    assert trial.history("val_loss") == [0.9, 0.7, 0.5, 0.4]
    assert trial.epochs_done == 4 and trial.confusion["epoch"] == 2

    kept = RunState.from_events(_events(*first[:6], *resumed)).trials["0"]  # killed in epoch 2
    assert [e["epoch"] for e in kept.epochs] == [0, 1] and kept.confusion["epoch"] == 1
    restarted = RunState.from_events(_events(*first, *resumed[:1], started))  # no initial_epoch: over
    assert restarted.trials["0"].epochs == [] and restarted.trials["0"].confusion is None


def test_the_final_trial_is_the_one_the_run_kept_else_the_best_so_far():
    events = [{"event": "run_started", "spec": {"search": "random"}},
              {"event": "trial_started", "trial_id": "0", "hyperparameters": {}},
              {"event": "trial_ended", "trial_id": "0", "status": "COMPLETED", "score": 0.9},
              {"event": "trial_started", "trial_id": "1", "hyperparameters": {}},
              {"event": "trial_ended", "trial_id": "1", "status": "COMPLETED", "score": 0.8}]
    state = RunState.from_events(events)
    assert state.final_trial().trial_id == "0"  # running: the best so far
    state.apply([{"event": "run_ended", "results": {"best_trial": "1"}}])  # a retrain kept trial 1
    assert state.final_trial().trial_id == "1" and state.focus_trial().trial_id == "1"
    assert RunState().final_trial() is None


def test_a_replicate_s_training_time_is_folded_and_survives_the_results_form():
    state = RunState.from_events([
        {"event": "trial_started", "trial_id": "r0", "hyperparameters": {}},
        {"event": "trial_ended", "trial_id": "r0", "status": "COMPLETED", "score": 0.9,
         "training_cpu_seconds": 41.25, "training_seconds": 22.5},
        {"event": "trial_started", "trial_id": "r1", "hyperparameters": {}},
        {"event": "trial_ended", "trial_id": "r1", "status": "FAILED", "training_cpu_seconds": "soon"}])
    r0, r1 = state.trials["r0"], state.trials["r1"]
    assert (r0.training_cpu_seconds, r0.training_seconds) == (41.25, 22.5)
    assert r1.training_cpu_seconds is None and "training_cpu_seconds" not in r1.to_dict()
    again = TrialState.from_dict(r0.to_dict())
    assert (again.training_cpu_seconds, again.training_seconds) == (41.25, 22.5)
    assert training_time_text([r0, r1]) == ("Training time (start-up, loading and test excluded): "
                                            "r0 41.2 CPU-s in 22.5 s")
    assert training_time_text([r1]) is None
