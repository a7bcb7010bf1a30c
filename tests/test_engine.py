"""Tests of the run engine: plain runs, every search kind, resume, failures, distribution."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import keras
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, read_events
from kerasmnist.errors import RunError
from kerasmnist.evaluation import confusion_matrix
from kerasmnist.runs import RunSpec, engine, run_info, training, trial_table
from kerasmnist.runs.engine import hyperband_trials

SMALL = {"dataset": "mnist_sample", "validation": 200, "limit": 400}
TINY_MLP = {"num_layers": 1, "units": 16}


def events_of(run_dir):
    return list(read_events(run_dir / "events.jsonl"))


def kinds(events):
    return [e["event"] for e in events]


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("plain") / "run"
    spec = RunSpec(**SMALL, epochs=2, replicates=2, overrides=TINY_MLP)
    seen = []
    result = engine.run(spec, run_dir, listeners=[seen.append])
    return spec, run_dir, result, seen


def test_a_plain_run_writes_every_file_and_event(plain_run):
    spec, run_dir, result, seen = plain_run
    for name in ("spec.toml", "events.jsonl", "results.json", "results.txt", "confusion.txt",
                 "best_model.keras", "best_hyperparameters.json", "logs/r0.csv", "logs/r1.csv"):
        assert (run_dir / name).is_file(), name
    events = events_of(run_dir)
    assert kinds(events) == kinds(seen)  # listeners see exactly what is written
    assert kinds(events)[0] == "run_started" and kinds(events)[-1] == "run_ended"
    assert events[0]["plan"] == {"trials": 2, "epochs": 2} and events[0]["resumed"] is False
    assert Counter(kinds(events))["epoch_ended"] == 4  # 2 replicates x 2 epochs
    epoch = next(e for e in events if e["event"] == "epoch_ended")
    assert {"loss", "val_accuracy", "train_loss", "train_accuracy"} <= set(epoch["logs"])
    assert [t["trial_id"] for t in result.trials] == ["r0", "r1"]
    assert all(t["status"] == "COMPLETED" and t["params"] == result.params for t in result.trials)


def test_results_match_an_independent_evaluation_of_the_saved_model(plain_run):
    spec, run_dir, result, _ = plain_run
    from kerasmnist import load_dataset

    ds = load_dataset("mnist_sample", validation=200)
    model = keras.saving.load_model(run_dir / "best_model.keras")
    x, y = ds.arrays("test")
    loss, accuracy = model.evaluate(x, y, verbose=0)
    assert result.test_accuracy == pytest.approx(accuracy, abs=1e-6)
    np.testing.assert_array_equal(result.confusion, confusion_matrix(y, model.predict(x, verbose=0), 10))
    saved = json.loads((run_dir / "results.json").read_text())
    assert saved["test_accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert saved["splits"][0]["examples"] == 400  # the limit applied to training
    assert saved["params"] == model.count_params() == 12_730  # 784-16-10


def test_replicates_report_each_test_accuracy_with_mean_and_sample_std(plain_run):
    _, _, result, _ = plain_run
    values = list(result.replicates["values"].values())
    assert len(values) == 2 and result.replicates["mean"] == pytest.approx(np.mean(values))
    assert result.replicates["std"] == pytest.approx(np.std(values, ddof=1))
    assert any(v == pytest.approx(result.test_accuracy, abs=1e-6) for v in values)  # one of them


def test_running_a_finished_run_again_trains_nothing_new(plain_run):
    spec, run_dir, result, _ = plain_run
    before = kinds(events_of(run_dir))
    again = engine.run(spec, run_dir)
    after = events_of(run_dir)[len(before):]
    assert "trial_started" not in kinds(after) and after[0]["resumed"] is True
    assert again.test_accuracy == pytest.approx(result.test_accuracy)
    assert run_info(run_dir).status == "finished"


def test_a_different_spec_in_the_same_directory_is_refused(plain_run):
    spec, run_dir, _, _ = plain_run
    with pytest.raises(InvalidArgumentError, match=r"different spec \(fields \['epochs'\]"):
        engine.run(spec.replace(epochs=3), run_dir)


@pytest.mark.parametrize("kind", ["random", "grid", "bayesian"])
def test_each_search_kind_runs_its_trials_and_keeps_the_best_checkpoint(kind, tmp_path):
    overrides = {**TINY_MLP, "units": [8, 16], "optimizer": "adam", "learning_rate": 1e-3,
                 "dropout": 0.0, "l1": 0.0, "l2": 0.0, "activation": ["relu", "tanh"],
                 "kernel_initializer": "he_normal", "batch_size": 64, "batch_norm": False}
    spec = RunSpec(**SMALL, search=kind, trials=3, epochs=1, overrides=overrides)
    result = engine.run(spec, tmp_path / "run")
    completed = [t for t in result.trials if t["status"] == "COMPLETED"]
    assert len(completed) == 3
    if kind == "grid":  # the grid is units x activation: 4 points, 3 trials, none twice
        points = {(t["hyperparameters"]["units_0"], t["hyperparameters"]["activation"])
                  for t in completed}
        assert len(points) == 3
    best = max(completed, key=lambda t: t["score"])
    assert result.best_trial == best["trial_id"] and result.params == best["params"]
    assert (tmp_path / "run" / "search" / "oracle.json").is_file()


def test_hyperband_runs_as_many_trials_as_planned_and_can_retrain(tmp_path):
    spec = RunSpec(**SMALL, search="hyperband", epochs=2, overrides=TINY_MLP, best_model="retrain")
    result = engine.run(spec, tmp_path / "run")
    events = events_of(tmp_path / "run")
    searched = [t for t in result.trials if not t["trial_id"].startswith("final")]
    assert len(searched) == events[0]["plan"]["trials"] == hyperband_trials(2, 3) == 2
    assert [t["trial_id"] for t in result.trials if t["trial_id"].startswith("final")] == ["final_r0"]
    assert result.best_trial == "final_r0"
    # Retrained on training and validation together, for the best trial's epochs.
    assert (tmp_path / "run" / "logs" / "final_r0.csv").read_text().count("\n") == 1 + 2


def test_hyperband_trial_counts_follow_keras_tuner():
    import keras_tuner as kt

    for max_epochs, factor in [(2, 3), (5, 3), (10, 3), (27, 3), (8, 2)]:
        oracle = kt.oracles.HyperbandOracle(objective="val_loss", max_epochs=max_epochs,
                                            factor=factor)
        expected = sum(oracle._get_size(b, r) for b in range(oracle._get_num_brackets())
                       for r in range(oracle._get_num_rounds(b)))
        assert hyperband_trials(max_epochs, factor) == expected


def test_a_trial_whose_loss_becomes_nan_fails_and_the_search_goes_on(tmp_path):
    overrides = {**TINY_MLP, "optimizer": "sgd", "learning_rate": [1e-2, 1e9]}
    spec = RunSpec(**SMALL, search="random", trials=4, epochs=1, seed=1, overrides=overrides)
    result = engine.run(spec, tmp_path / "run")
    failed = [t for t in result.trials if t["status"] == "FAILED"]
    assert failed and all("loss became nan" in t["message"] for t in failed)
    assert all(t["hyperparameters"]["learning_rate"] == 1e9 for t in failed)
    assert len(result.trials) == 4 and result.best_hyperparameters["learning_rate"] == 1e-2


def test_a_run_where_nothing_completes_fails_with_the_reasons(tmp_path):
    spec = RunSpec(**SMALL, epochs=1, max_params=100, overrides=TINY_MLP)
    with pytest.raises(RunError, match=r"r0: Model has 12,730 parameters, over the budget of 100"):
        engine.run(spec, tmp_path / "run")
    events = events_of(tmp_path / "run")
    assert events[-1]["event"] == "run_failed" and events[-1]["error_type"] == "RunError"
    assert run_info(tmp_path / "run").status == "failed"


def test_an_interrupted_run_is_recorded_and_resumes(tmp_path):
    spec = RunSpec(**SMALL, epochs=2, replicates=2, overrides=TINY_MLP)

    def interrupt_second_trial(event):
        if event["event"] == "epoch_ended" and event["trial_id"] == "r1":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        engine.run(spec, tmp_path / "run", listeners=[interrupt_second_trial])
    assert events_of(tmp_path / "run")[-1]["event"] == "run_interrupted"
    assert run_info(tmp_path / "run").status == "interrupted"
    engine.resume(tmp_path / "run")
    started = [e["trial_id"] for e in events_of(tmp_path / "run") if e["event"] == "trial_started"]
    assert started == ["r0", "r1", "r1"]  # r0 kept, the interrupted r1 restarted


def _cli(*args, **kwargs):
    return subprocess.Popen([sys.executable, "-m", "kerasmnist.cli", *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)


def _wait_for(path, predicate, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and predicate(list(read_events(path))):
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting on {path}")


@pytest.mark.parametrize("moment", ["after the first trial", "inside the second trial"])
def test_a_search_killed_with_sigkill_resumes_without_redoing_completed_trials(tmp_path, moment):
    run_dir = tmp_path / "run"
    process = _cli("search", "--dataset", "mnist_sample", "--validation", "200", "--limit", "400",
                   "--search", "random", "--trials", "3", "--epochs", "2", "--set", "num_layers=1",
                   "--set", "units=[8, 16, 32]", "--run-dir", str(run_dir), "--quiet")
    events_path = run_dir / "events.jsonl"
    if moment == "after the first trial":
        _wait_for(events_path, lambda ev: "trial_ended" in kinds(ev))
    else:
        _wait_for(events_path, lambda ev: any(e["event"] == "epoch_ended" and e["trial_id"] == "1"
                                              for e in ev))
    process.send_signal(signal.SIGKILL)
    process.wait()
    before = trial_table(events_path)  # the log still reads
    done = {t["trial_id"] for t in before if t["status"] == "COMPLETED"}
    assert done and run_info(run_dir).status == "interrupted"
    result = engine.resume(run_dir)
    events = events_of(run_dir)
    started = Counter(e["trial_id"] for e in events if e["event"] == "trial_started")
    assert all(started[t] == 1 for t in done)  # completed trials were not redone
    assert sorted(t["trial_id"] for t in result.trials if t["status"] == "COMPLETED") == ["0", "1", "2"]


def test_a_distributed_search_runs_every_trial_once_and_gathers_them(tmp_path):
    spec = RunSpec(**SMALL, search="random", trials=4, epochs=1,
                   overrides={**TINY_MLP, "units": [4, 8, 16, 32, 64]})
    seen = []
    result = engine.run_distributed(spec, tmp_path / "run", workers=2, listeners=[seen.append],
                                    poll_interval=0.2)
    events = events_of(tmp_path / "run")
    ended = Counter(e["trial_id"] for e in events if e["event"] == "trial_ended")
    assert sorted(ended) == ["0", "1", "2", "3"] and set(ended.values()) == {1}
    assert {e["worker"] for e in events if e["event"] == "trial_started"} <= {"worker0", "worker1"}
    assert len([t for t in result.trials if t["status"] == "COMPLETED"]) == 4
    assert "trial_ended" in kinds(seen)  # the workers' events reached the listener
    assert json.loads((tmp_path / "run" / "results.json").read_text())["best_trial"] in ended


def test_distributed_settings_are_checked(tmp_path, monkeypatch):
    with pytest.raises(InvalidArgumentError, match="workers"):
        engine.run_distributed(RunSpec(search="random"), tmp_path / "a", workers=0)
    with pytest.raises(InvalidArgumentError, match="search"):
        engine.run_distributed(RunSpec(), tmp_path / "b", workers=1)
    monkeypatch.setenv("KERASTUNER_TUNER_ID", "worker0")  # without the chief's address
    for name in ("KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(InvalidArgumentError, match="KERASTUNER_ORACLE_IP"):
        engine.search_worker(tmp_path / "c")


def test_a_search_goes_on_in_fresh_processes_and_runs_each_trial_once(tmp_path):
    spec = RunSpec(**SMALL, search="random", trials=5, epochs=1,
                   overrides={**TINY_MLP, "units": [4, 8, 16, 32, 64]})
    seen = []
    result = engine.run(spec, tmp_path / "run", listeners=[seen.append], trials_per_process=2)
    events = events_of(tmp_path / "run")
    started = Counter(e["trial_id"] for e in events if e["event"] == "trial_started")
    assert sorted(started) == ["0", "1", "2", "3", "4"] and set(started.values()) == {1}
    assert kinds(seen).count("trial_ended") == 5  # the children's events reach the listeners
    # More trials than a process runs: every trial in children of two, two and one, so that
    # the parent builds no model while they train.
    logs = sorted(p.name for p in (tmp_path / "run" / "workers").iterdir())
    assert logs == ["continue-1.log", "continue-2.log", "continue-3.log"]
    assert len([t for t in result.trials if t["status"] == "COMPLETED"]) == 5


def test_tensorboard_logs_and_early_stopping_follow_the_spec(tmp_path):
    spec = RunSpec(**SMALL, epochs=1, tensorboard=True, early_stopping=2, objective="val_loss",
                   overrides=TINY_MLP)
    engine.run(spec, tmp_path / "run")
    assert list((tmp_path / "run" / "tensorboard" / "r0").rglob("events.out.tfevents.*"))
    from kerasmnist import EventWriter, load_dataset

    callbacks = training.trial_callbacks(spec, load_dataset("mnist_sample", validation=200),
                                        EventWriter(tmp_path / "events.jsonl"), tmp_path, "t")
    (stopping,) = [c for c in callbacks if isinstance(c, keras.callbacks.EarlyStopping)]
    assert (stopping.monitor, stopping.patience, stopping.restore_best_weights) == (
        "val_loss", 2, True)
    assert type(callbacks[0]).__name__ == "FullEvalMetrics"  # first, so the others see its keys
    assert type(callbacks[-1]).__name__ == "EventLogger"  # last, so it records every key


def test_executions_per_trial_train_several_models_per_trial(tmp_path):
    spec = RunSpec(**SMALL, search="random", trials=1, epochs=1, executions_per_trial=2,
                   overrides=TINY_MLP)
    engine.run(spec, tmp_path / "run")
    epochs = [e for e in events_of(tmp_path / "run") if e["event"] == "epoch_ended"]
    assert len(epochs) == 2 and {e["trial_id"] for e in epochs} == {"0"}


def test_the_lock_names_the_running_process_and_a_probe_never_blocks_a_run(tmp_path):
    from kerasmnist.runs.rundir import RunBusyError, RunLock, running_pid

    assert running_pid(tmp_path) is None
    with RunLock(tmp_path):
        assert running_pid(tmp_path) == os.getpid()
        with pytest.raises(RunBusyError, match="Another process is running"), RunLock(
                tmp_path, wait=0.1):
            pass
    assert running_pid(tmp_path) is None
    # A probe holding its shared lock while a run starts only delays the run.
    fd = os.open(tmp_path / ".lock", os.O_RDONLY)
    import fcntl
    import threading

    fcntl.flock(fd, fcntl.LOCK_SH)
    threading.Timer(0.3, os.close, [fd]).start()
    with RunLock(tmp_path, wait=2.0):
        assert running_pid(tmp_path) == os.getpid()


def test_a_time_limit_stops_the_search_after_the_trial_under_way(tmp_path):
    spec = RunSpec(**SMALL, search="random", trials=20, epochs=1, max_minutes=1e-4,
                   overrides={**TINY_MLP, "units": [4, 8, 16, 32, 64]})
    result = engine.run(spec, tmp_path / "run")
    assert len(result.trials) == 1 and result.time_limit_reached
    assert "stopped at its time limit" in (tmp_path / "run" / "results.txt").read_text()


def test_a_search_process_stops_at_its_deadline_or_after_its_share(tmp_path):
    from kerasmnist.cli import main

    spec = RunSpec(**SMALL, search="random", trials=4, epochs=1,
                   overrides={**TINY_MLP, "units": [4, 8, 16, 32, 64]})
    engine.prepare_run_dir(spec, tmp_path)
    assert main(["worker", str(tmp_path), "--deadline", "0"]) == engine.EXIT_TIME_UP
    assert main(["worker", str(tmp_path), "--max-trials", "2"]) == engine.EXIT_MORE_TRIALS
    assert main(["worker", str(tmp_path)]) == 0
    ended = [t["trial_id"] for t in trial_table(tmp_path / "events.jsonl")]
    assert ended == ["0", "1", "2", "3"]


def test_a_preset_trains_with_its_recipe_over_the_whole_run(tmp_path):
    """The cosine schedule spans exactly the run's steps; the batch size is the recipe's."""
    from kerasmnist.recipes import recipe

    spec = RunSpec(dataset="mnist_sample", validation=200, limit=2 * recipe("mnist_cnn").batch_size,
                   model="mnist_cnn", epochs=2, full_eval=False, csv_log=False)
    engine.run(spec, tmp_path / "run")
    model = keras.saving.load_model(tmp_path / "run" / "replicates" / "r0" / "model.keras")
    assert int(model.optimizer.iterations) == 4  # 2 epochs x 2 batches of the recipe's size
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-7)


@pytest.mark.parametrize("trials", [None, 7])
def test_a_grid_search_walks_every_cell_once_unless_told_fewer(tmp_path, trials):
    # 12 cells (the batch size fixed: a searched one would be a third axis): more than a
    # process runs (10), so the walk goes on in a fresh process, which must pick it up.
    widths, dropouts = [32, 64, 128, 256], [0.0, 0.2, 0.4]
    spec = RunSpec(dataset="mnist_sample", validation=100, limit=200, model="mlp", search="grid",
                   trials=trials, epochs=1, batch_size=64, full_eval=False, csv_log=False,
                   overrides={"num_layers": 1, "units": widths, "dropout": dropouts,
                              "l1": 0.0, "l2": 0.0, "batch_norm": False, "activation": "relu",
                              "kernel_initializer": "he_normal", "optimizer": "adam",
                              "learning_rate": 1e-3})
    result = engine.run(spec, tmp_path / "run")
    cells = [(t["hyperparameters"]["units_0"], t["hyperparameters"]["dropout_0"]) for t in result.trials]
    assert len(set(cells)) == len(cells)  # none twice
    grid = [(w, d) for w in widths for d in dropouts]
    if trials is None:
        assert sorted(cells) == grid
    else:
        assert len(cells) == trials and set(cells) < set(grid)
    assert {t["hyperparameters"]["batch_size"] for t in result.trials} == {64}
