"""The run engine: `run(spec, run_dir)` trains or searches, durably.

A run lives in a directory, which holds everything needed to follow it, resume it
and use what it produced:

    spec.toml                  the RunSpec (written first, read by resume)
    events.jsonl               the event log (kerasmnist.events), appended live
    search/                    keras-tuner's project: oracle, trials, checkpoints
    replicates/r0/ ...         each plain-training (or retrained) model and result
    logs/<trial>.csv           each trial's epochs (CSVLogger), when asked
    tensorboard/               TensorBoard logs, when asked
    results.json               everything measured, for scripts
    results.txt                the train / validation / test table and trials
    confusion.txt              the test confusion matrix and top confusions
    best_model.keras           the best model
    best_hyperparameters.json  its hyperparameters

Running again on the same directory resumes: completed trials and replicates are
kept, an interrupted one is restarted. Every file is written to a temporary name
and renamed (keras-tuner's own JSON files included), and the event log is only
ever appended, so a run killed at any moment, even with SIGKILL, leaves a
directory that resumes and a log that reads. The test set is evaluated once, at
the end, on the chosen model (and on each replicate, for their statistics).

TensorFlow keeps a few MiB of every model a process has built, so a long search
would grow without end in one process: `run` runs `trials_per_process` trials
itself, then continues the search in fresh child processes (`kerasmnist worker
--max-trials`), each running as many; resuming makes the hand-over lossless.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import math
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

# The presets' layer and loss, registered so that saved models load:
from kerasmnist import layers, losses  # noqa: F401
from kerasmnist.datasets import Dataset, load_dataset
from kerasmnist.errors import InvalidArgumentError, KerasMnistError
from kerasmnist.events import EventTail, EventWriter
from kerasmnist.fileio import atomic_path, atomic_write_json, atomic_write_text
from kerasmnist.runs.rundir import (
    EVENTS_FILE,
    MODEL_FILE,
    RESULTS_FILE,
    SPEC_FILE,
    RunBusyError,
    RunLock,
    load_spec,
    trial_table,
)
from kerasmnist.runs.spec import RunSpec

__all__ = ["RunBusyError", "RunError", "RunResult", "TrialFailed", "prepare_run_dir", "resume", "run",
           "run_distributed", "search_worker"]

TUNER_PROJECT = "search"
DEFAULT_TRIALS_PER_PROCESS = 10
EXIT_MORE_TRIALS = 75
"""Exit status of a search process that ran its share of trials and left the rest."""
EXIT_TIME_UP = 76
"""Exit status of a search process that stopped at the search's time limit."""

Listener = Callable[[dict[str, Any]], None]


class RunError(KerasMnistError, RuntimeError):
    """A run that could not produce a model (every trial failed, say)."""


@dataclass
class RunResult:
    """What a run produced. `to_dict()` is the content of `results.json`.

    Attributes:
        run_dir: The run directory.
        spec: The run's spec.
        splits: Loss, accuracy and error rate % of the final model per split.
        params: The final model's weight count.
        best_trial: The id of the best trial (or replicate).
        best_hyperparameters: Its hyperparameters.
        trials: Every trial: id, status, score, params, hyperparameters.
        replicates: Test accuracy of each replicate with mean and standard
            deviation, or `None` for a single model.
        class_names: The data set's class names.
        confusion: The test confusion matrix (counts; rows true).
        top_confusions: The largest off-diagonal cells, `(true, predicted, count)`.
        seconds: Wall time of this session of the run.
        trained_on_validation: Whether the final model was retrained on the
            validation set too (`best_model = "retrain"`), so that its
            validation figures are not held-out measures.
        time_limit_reached: Whether the search stopped at `max_minutes` with
            trials left.
    """

    run_dir: Path
    spec: RunSpec
    splits: list[dict[str, Any]]
    params: int
    best_trial: str
    best_hyperparameters: dict[str, Any]
    trials: list[dict[str, Any]]
    replicates: dict[str, Any] | None
    class_names: list[str]
    confusion: np.ndarray
    top_confusions: list[tuple[str, str, int]]
    seconds: float
    trained_on_validation: bool = False
    time_limit_reached: bool = False
    status: str = "finished"

    @property
    def test_accuracy(self) -> float:
        """The final model's accuracy on the test set."""
        return float(next(s["accuracy"] for s in self.splits if s["split"] == "test"))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["run_dir"] = str(self.run_dir)
        values["spec"] = self.spec.to_dict()
        values["confusion"] = self.confusion.tolist()
        values["test_accuracy"] = self.test_accuracy
        values["top_confusions"] = [list(t) for t in self.top_confusions]
        return values


# -- public entry points ---------------------------------------------------------------


def run(
    spec: RunSpec,
    run_dir: str | os.PathLike[str],
    *,
    listeners: Sequence[Listener] = (),
    verbose: int = 0,
    trials_per_process: int | None = DEFAULT_TRIALS_PER_PROCESS,
) -> RunResult:
    """Runs a spec in a run directory, resuming what an earlier start left there.

    Args:
        spec: What to run.
        run_dir: The run directory; created if needed. If it already holds a
            run, `spec` must be the same (use `resume` to continue one without
            restating it).
        listeners: Callables given each event as it is written. Defaults to none.
        verbose: Keras's and keras-tuner's own verbosity. Defaults to `0`.
        trials_per_process: A search runs this many trials in this process, then
            goes on in fresh child processes of as many trials each, so memory
            stays flat however long it runs (TensorFlow keeps a few MiB of every
            model it has built until its process ends). `None` runs every trial
            here. Defaults to `10`.

    Returns:
        A `RunResult`, also written to `results.json`.

    Raises:
        InvalidArgumentError: `run_dir` holds a run with a different spec.
        RunBusyError: Another process is running `run_dir`.
        RunError: No trial or replicate completed.
        KeyboardInterrupt: The run was interrupted (recorded as
            `run_interrupted`; running it again resumes).
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir):
        resumed = _write_or_check_spec(spec, run_dir)
        events = EventWriter(run_dir / EVENTS_FILE, listeners=listeners)
        started = time.perf_counter()
        try:
            events.run_started(spec.to_dict(), plan=_plan(spec), resumed=resumed)
            deadline = time.time() + 60 * spec.max_minutes if spec.max_minutes else None
            with _interrupt_on_sigterm():
                result = _run(spec, run_dir, events, verbose, trials_per_process, deadline)
            result.seconds = time.perf_counter() - started
            _write_results(result)
            events.run_ended(_summary(result))
            return result
        except KeyboardInterrupt:
            events.run_interrupted("interrupted")
            raise
        except BaseException as error:
            events.run_failed(error)
            raise
        finally:
            events.close()


def resume(
    run_dir: str | os.PathLike[str],
    *,
    listeners: Sequence[Listener] = (),
    verbose: int = 0,
    trials_per_process: int | None = DEFAULT_TRIALS_PER_PROCESS,
) -> RunResult:
    """Continues the run in `run_dir` from its `spec.toml`; see `run`.

    Raises:
        InvalidArgumentError: `run_dir` holds no run.
    """
    return run(load_spec(run_dir), run_dir, listeners=listeners, verbose=verbose,
               trials_per_process=trials_per_process)


def search_worker(
    run_dir: str | os.PathLike[str],
    *,
    max_trials: int | None = None,
    deadline: float | None = None,
    verbose: int = 0,
) -> str:
    """Runs trials of a run directory's search in this process.

    With keras-tuner's environment variables set, this is one process of a
    distributed search: `KERASTUNER_TUNER_ID` (`chief` for the oracle, any
    other id for a worker), `KERASTUNER_ORACLE_IP` and `KERASTUNER_ORACLE_PORT`.
    The chief serves trials until the search is done; each worker runs trials
    and appends their events to the run directory's log, which must be shared
    with the chief. Without them, it continues the search alone (as `run` does
    in child processes). Either way, `resume(run_dir)` then gathers the results
    and evaluates the best model.

    Args:
        run_dir: The run directory.
        max_trials: Stop after this many trials (local mode only). Defaults to
            `None` (until the search is done).
        deadline: Start no trial after this Unix time (local mode only).
            Defaults to `None`.
        verbose: Keras's and keras-tuner's own verbosity. Defaults to `0`.

    Returns:
        `"done"` when the search is done, `"more"` when it stopped after
        `max_trials` with trials left, `"time"` when it stopped at `deadline`.

    Raises:
        InvalidArgumentError: No run spec in `run_dir`, a spec without a search,
            or only some of the environment variables are set.
    """
    names = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
    missing = [v for v in names if not os.environ.get(v)]
    if 0 < len(missing) < len(names):
        raise InvalidArgumentError(f"A distributed search process needs the environment "
                                   f"variables {list(names)}; {missing} are not set")
    run_dir = Path(run_dir)
    spec = load_spec(run_dir)
    if spec.search == "none":
        raise InvalidArgumentError("Invalid run spec: field `search`: a search process needs a "
                                   "search, found 'none'")
    events = EventWriter(run_dir / EVENTS_FILE)
    try:
        data = _load_data(spec)
        local = not _distributed()
        tuner = _make_tuner(spec, data, run_dir, events, max_here=max_trials if local else None,
                            deadline=deadline if local else None)
        try:
            _search(tuner, spec, data, verbose)
        except _MoreTrials:
            return "more"
        except _TimeUp:
            return "time"
        return "done"
    finally:
        events.close()


def prepare_run_dir(spec: RunSpec, run_dir: str | os.PathLike[str]) -> bool:
    """Writes `spec.toml` into a new run directory, or checks the one there.

    Returns:
        Whether the directory already held this run (so running it resumes).

    Raises:
        InvalidArgumentError: The directory holds a run with a different spec.
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return _write_or_check_spec(spec, run_dir)


def run_distributed(
    spec: RunSpec,
    run_dir: str | os.PathLike[str],
    *,
    workers: int,
    listeners: Sequence[Listener] = (),
    port: int | None = None,
    poll_interval: float = 0.5,
) -> RunResult:
    """Runs a search with keras-tuner's distributed mode on this machine.

    Starts a chief process (the oracle) and `workers` worker processes on
    127.0.0.1, which append their events to the run directory's log; passes
    each new event to `listeners`; when every worker is done, stops the chief
    and finishes the run in this process (best model, test evaluation, files),
    as `resume` would. Running it again on the same directory resumes.

    Args:
        spec: A spec with a search.
        run_dir: The run directory.
        workers: Number of worker processes, at least 1.
        listeners: Callables given each event. Defaults to none.
        port: The chief's port. Defaults to `None` (a free one).
        poll_interval: Seconds between checks of the log and the processes.

    Raises:
        InvalidArgumentError: `workers` below 1, or a spec without a search.
        RunError: A worker process failed; the end of its output is in the
            message.
    """
    import socket
    import subprocess

    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgumentError(
            f"Invalid value for argument `workers`. Expected an integer >= 1. Received: {workers!r}")
    if spec.search == "none":
        raise InvalidArgumentError("Invalid run spec: field `search`: a distributed run needs a "
                                   "search, found 'none'")
    run_dir = Path(run_dir)
    prepare_run_dir(spec, run_dir)
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    logs = run_dir / "workers"
    logs.mkdir(exist_ok=True)
    tail = EventTail(run_dir / EVENTS_FILE)
    tail.poll()  # listeners get only what this call adds
    processes: dict[str, subprocess.Popen[bytes]] = {}
    with RunLock(run_dir):
        with EventWriter(run_dir / EVENTS_FILE) as events:
            events.run_started(spec.to_dict(), plan=_plan(spec), resumed=True, workers=workers)
        try:
            for tuner_id in ["chief", *(f"worker{i}" for i in range(workers))]:
                env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id,
                       "KERASTUNER_ORACLE_IP": "127.0.0.1", "KERASTUNER_ORACLE_PORT": str(port)}
                with open(logs / f"{tuner_id}.log", "wb") as log:
                    processes[tuner_id] = subprocess.Popen(
                        [sys.executable, "-m", "kerasmnist.cli", "worker", str(run_dir)],
                        env=env, stdout=log, stderr=subprocess.STDOUT)
            workers_left = [p for name, p in processes.items() if name != "chief"]
            while any(p.poll() is None for p in workers_left) and processes["chief"].poll() is None:
                _relay(tail, listeners)
                time.sleep(poll_interval)
            for p in workers_left:
                p.wait()
            _relay(tail, listeners)
        finally:
            for p in processes.values():  # the chief serves for ever; stop it (or all, on error)
                if p.poll() is None:
                    p.terminate()
            for p in processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(timeout=30)
    failed = {name: p.returncode for name, p in processes.items()
              if name != "chief" and p.returncode != 0}
    if failed:
        name = next(iter(failed))
        output = (logs / f"{name}.log").read_text(errors="replace").strip().splitlines()[-5:]
        raise RunError(f"Distributed search process(es) {sorted(failed)} failed (exit status "
                       f"{failed[name]}); the end of {name}'s output:\n" + "\n".join(output))
    return run(spec, run_dir, listeners=listeners)


# -- the run ---------------------------------------------------------------------------


def _run(
    spec: RunSpec,
    run_dir: Path,
    events: EventWriter,
    verbose: int,
    trials_per_process: int | None,
    deadline: float | None,
) -> RunResult:
    keras.utils.set_random_seed(spec.seed)
    data = _load_data(spec)
    time_up = False
    if spec.search == "none":
        best_hp = _plain_hyperparameters(spec, data)
        models = _train_replicates(spec, data, run_dir / "replicates", events, verbose,
                                   build=_plain_builder(spec, data), hyperparameters=best_hp,
                                   fit_data=_fit_data(data))
    else:
        tuner = _make_tuner(spec, data, run_dir, events, max_here=trials_per_process,
                            deadline=deadline)
        try:
            _search(tuner, spec, data, verbose)
        except _TimeUp:
            time_up = True
        except _MoreTrials:
            del tuner
            keras.backend.clear_session()
            time_up = _continue_in_children(run_dir, trials_per_process, events.listeners,
                                            deadline)
            tuner = _make_tuner(spec, data, run_dir, events)  # reloads the search
            if not time_up:
                _search(tuner, spec, data, verbose)
        best_trial = _best_trial(tuner, run_dir)
        best_hp = dict(best_trial.hyperparameters.values)
        if spec.best_model == "checkpoint":
            model = tuner.load_model(best_trial)
            models = {best_trial.trial_id: (model, best_trial.score)}
        else:
            epochs = _best_epochs(best_trial, spec)
            merged = _merged_train_validation(data)
            retrain_spec = spec.replace(epochs=epochs, early_stopping=None)

            def build() -> keras.Model:
                return tuner.hypermodel.build(best_trial.hyperparameters)

            models = _train_replicates(retrain_spec, merged, run_dir / "final", events, verbose,
                                       build=build, hyperparameters=best_hp,
                                       fit_data=_fit_data(merged), prefix="final_r")
    result = _finish(spec, run_dir, data, models, best_hp, events)
    result.trained_on_validation = spec.search != "none" and spec.best_model == "retrain"
    result.time_limit_reached = time_up
    return result


def _load_data(spec: RunSpec) -> Dataset:
    data = load_dataset(spec.dataset, validation=spec.validation, seed=spec.seed)
    if spec.limit is not None and spec.limit < len(data.y_train):
        data.x_train, data.y_train = data.x_train[:spec.limit], data.y_train[:spec.limit]
    return data


def _fit_data(data: Dataset) -> dict[str, Any]:
    x, y = data.arrays("train")
    kwargs: dict[str, Any] = {"x": x, "y": y}
    if len(data.y_val):
        kwargs["validation_data"] = data.arrays("validation")
    return kwargs


def _merged_train_validation(data: Dataset) -> Dataset:
    return Dataset(data.name, data.class_names,
                   np.concatenate([data.x_train, data.x_val]),
                   np.concatenate([data.y_train, data.y_val]),
                   data.x_val[:0], data.y_val[:0], data.x_test, data.y_test, data.files)


def _plan(spec: RunSpec) -> dict[str, Any]:
    if spec.search == "none":
        return {"trials": spec.replicates, "epochs": spec.epochs}
    if spec.search == "hyperband":
        return {"trials": _hyperband_trials(spec.epochs, spec.hyperband_factor),
                "epochs": spec.epochs}
    return {"trials": spec.trials, "epochs": spec.epochs}


def _hyperband_trials(max_epochs: int, factor: int) -> int:
    """How many trials keras-tuner's Hyperband runs in one iteration (its oracle's formulas)."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(end_size / (b + 1) * factor ** (b - r))
               for b in range(brackets) for r in range(b + 1))


# -- plain training and replicates -------------------------------------------------------


def _plain_builder(spec: RunSpec, data: Dataset) -> Callable[[], keras.Model]:
    def build() -> keras.Model:
        if spec.is_preset:
            from kerasmnist import presets

            batch_size = _batch_size(spec, {"preset": spec.model})
            return presets.build(spec.model, input_shape=(math.prod(data.image_shape),),
                                 num_classes=data.num_classes, epochs=spec.epochs,
                                 steps_per_epoch=math.ceil(len(data.y_train) / batch_size),
                                 augment=_teacher_of(spec) is None)
        return _hypermodel(spec, data).build(kt.HyperParameters())
    return build


def _plain_hyperparameters(spec: RunSpec, data: Dataset) -> dict[str, Any]:
    if spec.is_preset:
        return {"preset": spec.model}
    hp = kt.HyperParameters()
    _hypermodel(spec, data, budget=False).build(hp)  # the budget is checked when training
    return dict(hp.values)


def _hypermodel(spec: RunSpec, data: Dataset, *, budget: bool = True) -> Any:
    from kerasmnist.hypermodels import build_hypermodel

    return build_hypermodel(spec.model, dataset=data,
                            max_params=spec.max_params if budget else None, **dict(spec.overrides))


def _train_replicates(
    spec: RunSpec,
    data: Dataset,
    directory: Path,
    events: EventWriter,
    verbose: int,
    *,
    build: Callable[[], keras.Model],
    hyperparameters: dict[str, Any],
    fit_data: dict[str, Any],
    prefix: str = "r",
) -> dict[str, tuple[keras.Model, float]]:
    """Trains `spec.replicates` models, keeping those an earlier start finished."""
    import json

    from kerasmnist.budget import ParamBudget

    models: dict[str, tuple[keras.Model, float]] = {}
    failures: list[str] = []
    for i in range(spec.replicates):
        trial_id = f"{prefix}{i}"
        trial_dir = directory / trial_id
        done = trial_dir / "result.json"
        if done.is_file():
            result = json.loads(done.read_text(encoding="utf-8"))
            if result["status"] == "COMPLETED":
                models[trial_id] = (keras.saving.load_model(trial_dir / "model.keras"),
                                    result["score"])
            else:
                failures.append(f"{trial_id}: {result.get('message')}")
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(spec.seed + i)
        hp = hyperparameters
        events.trial_started(trial_id, hp, worker=_worker_id(), replicate=i)
        status, score, message, params = "COMPLETED", None, None, None
        try:
            model = build()
            params = model.count_params()
            if spec.max_params is not None:
                ParamBudget(spec.max_params).enforce(model)
            teacher = _teacher_of(spec)
            prepare = (_distillation(spec.model, teacher, data, fit_data, events, trial_id,
                                     verbose) if teacher is not None else _unchanged)
            model = prepare(model)
            model, initial_epoch, score = _best_start(
                spec, model, build, prepare, fit_data, _batch_size(spec, hp), events, trial_id,
                spec.seed + i, verbose)
            if initial_epoch < spec.epochs:
                callbacks = _trial_callbacks(spec, data, events, directory.parent, trial_id)
                history = model.fit(**fit_data, epochs=spec.epochs, initial_epoch=initial_epoch,
                                    batch_size=_batch_size(spec, hp),
                                    callbacks=callbacks, verbose=verbose)
                score = _history_score(history.history, spec)
            model = getattr(model, "student", model)  # a Distiller keeps only its student
        except KerasMnistError as error:  # TrialFailed, ParamBudgetExceeded
            status, message = "FAILED", str(error).splitlines()[0]
            params = getattr(getattr(error, "report", None), "params", params)
        if status == "COMPLETED":
            with atomic_path(trial_dir / "model.keras") as tmp:
                model.save(tmp)
            models[trial_id] = (model, float(score) if score is not None else float("nan"))
        else:
            failures.append(f"{trial_id}: {message}")
        atomic_write_json(done, {"status": status, "score": score, "message": message,
                                 "params": params, "hyperparameters": hp})
        events.trial_ended(trial_id, status=status, score=score, params=params,
                           worker=_worker_id(), message=message, rss_mb=_rss_mb())
    if not models:
        raise RunError("No model completed training: " + "; ".join(failures))
    return models


def _teacher_of(spec: RunSpec) -> str | None:
    """The preset a plain preset run distils from (its recipe's `teacher`), if any."""
    if spec.search != "none" or not spec.is_preset:
        return None
    from kerasmnist.recipes import recipe

    return recipe(spec.model).teacher


def _unchanged(model: keras.Model) -> keras.Model:
    return model


def _distillation(
    name: str, teacher: str, data: Dataset, fit_data: dict[str, Any],
    events: EventWriter, trial_id: str, verbose: int,
) -> Callable[[keras.Model], keras.Model]:
    """Trains the `teacher` preset with its recipe on the same data; returns the function
    that wraps a student (preset `name`) in a compiled `Distiller` from that teacher, with
    the student's optimizer and loss and the temperature, alpha and shift of its recipe."""
    from kerasmnist import presets
    from kerasmnist.distillation import Distiller
    from kerasmnist.recipes import recipe

    own = recipe(teacher)
    started = time.monotonic()
    teacher_model = presets.build(
        teacher, input_shape=(math.prod(data.image_shape),), num_classes=data.num_classes,
        steps_per_epoch=math.ceil(len(data.y_train) / own.batch_size))
    history = teacher_model.fit(**fit_data, epochs=own.epochs, batch_size=own.batch_size,
                                callbacks=[_NanCheck()], verbose=verbose)
    logs = {key: values[-1] for key, values in history.history.items()}
    events.write("teacher_trained", trial_id=trial_id, teacher=teacher,
                 params=teacher_model.count_params(), epochs=own.epochs, logs=logs,
                 seconds=round(time.monotonic() - started, 3))
    mine = recipe(name)

    def distil(student: keras.Model) -> keras.Model:
        distiller = Distiller(student, teacher_model, temperature=mine.temperature,
                              alpha=mine.alpha, shift=mine.shift,
                              name=f"{student.name}_distiller")
        distiller.compile(optimizer=student.optimizer, loss=student.loss, metrics=["accuracy"])
        return distiller
    return distil


def _best_start(
    spec: RunSpec, first: keras.Model, build: Callable[[], keras.Model],
    prepare: Callable[[keras.Model], keras.Model], fit_data: dict[str, Any], batch_size: int,
    events: EventWriter, trial_id: str, seed: int, verbose: int,
) -> tuple[keras.Model, int, float | None]:
    """A plain preset run's random restarts (its recipe's `restarts`).

    Trains `first` and `restarts - 1` more models, each `prepare(build())` after seeding
    with `[seed, k]`, for `restart_epochs` epochs (at most the run's), keeps the best by
    the run's objective and drops the others. A `train_` objective is read from the
    training metrics Keras logs, as the restarts have no full evaluation. Returns the
    model, the epochs it has trained and its score; without restarts, `first`, 0, None.
    """
    if spec.search != "none" or not spec.is_preset:
        return first, 0, None
    from kerasmnist.recipes import recipe

    own = recipe(spec.model)
    if own.restarts == 1:
        return first, 0, None
    epochs = min(own.restart_epochs, spec.epochs)
    objective = spec.objective.removeprefix("train_")
    sign = -1.0 if spec.direction == "min" else 1.0
    best: tuple[float | None, int, keras.Model] | None = None
    failures = []
    for k in range(own.restarts):
        if k:
            keras.utils.set_random_seed(int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))
        model = prepare(build()) if k else first
        try:
            history = model.fit(**fit_data, epochs=epochs, batch_size=batch_size,
                                callbacks=[_NanCheck()], verbose=verbose).history
        except TrialFailed as error:
            failures.append(f"restart {k}: {error}")
            events.write("restart_ended", trial_id=trial_id, restart=k, epochs=epochs,
                         objective=objective, score=None, message=str(error))
            continue
        score = _history_score(history, spec, objective)
        events.write("restart_ended", trial_id=trial_id, restart=k, epochs=epochs,
                     objective=objective, score=score)
        if best is None or _finite(score, sign) * sign > _finite(best[0], sign) * sign:
            best = (score, k, model)
    if best is None:
        raise TrialFailed("every restart failed: " + "; ".join(failures))
    events.write("restart_chosen", trial_id=trial_id, restart=best[1], epochs=epochs,
                 objective=objective, score=best[0])
    return best[2], epochs, best[0]


def _batch_size(spec: RunSpec, hyperparameters: Mapping[str, Any]) -> int:
    """The spec's batch size, else the preset recipe's or the hypermodel's."""
    if spec.batch_size:
        return spec.batch_size
    if "preset" in hyperparameters:
        from kerasmnist.recipes import recipe

        return recipe(hyperparameters["preset"]).batch_size
    return int(hyperparameters.get("batch_size", 128))


def _history_score(history: Mapping[str, list[float]], spec: RunSpec,
                   key: str | None = None) -> float | None:
    """The best of the run's objective (or of the metric `key`) in a fit's history."""
    values = [v for v in history.get(key or spec.objective, [])
              if v is not None and math.isfinite(v)]
    if not values:
        return None
    return float(min(values) if spec.direction == "min" else max(values))


# -- searches ----------------------------------------------------------------------------


class TrialFailed(KerasMnistError, kt.errors.FailedTrialError):
    """A trial that cannot give a result (its loss became NaN, say); the search goes on."""


def _trial_callbacks(
    spec: RunSpec, data: Dataset, events: EventWriter, run_dir: Path, trial_id: str
) -> list[keras.callbacks.Callback]:
    """FullEvalMetrics first, then the NaN check, early stopping, logs, the event log."""
    from kerasmnist.callbacks import EventLogger, FullEvalMetrics

    callbacks: list[keras.callbacks.Callback] = []
    if spec.full_eval:
        sets = ("train", "validation") if len(data.y_val) else ("train",)
        callbacks.append(FullEvalMetrics(data, sets=sets, confusion=sets[-1], events=events,
                                         trial_id=trial_id))
    callbacks.append(_NanCheck())
    if spec.early_stopping is not None:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=spec.objective, mode=spec.direction, patience=spec.early_stopping,
            restore_best_weights=True))
    if spec.csv_log:
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / "logs" / f"{trial_id}.csv")))
    if spec.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard" / trial_id)))
    callbacks.append(EventLogger(events, trial_id=trial_id))
    return callbacks


class _NanCheck(keras.callbacks.Callback):
    """Fails the trial when the epoch's loss is not finite (keras-tuner goes on)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrialFailed(f"the training loss became {float(loss)} at epoch {epoch + 1}")


def _make_tuner(
    spec: RunSpec,
    data: Dataset,
    run_dir: Path,
    events: EventWriter,
    *,
    max_here: int | None = None,
    deadline: float | None = None,
) -> kt.Tuner:
    bases = {"random": kt.RandomSearch, "grid": kt.GridSearch, "hyperband": kt.Hyperband,
             "bayesian": kt.BayesianOptimization}
    cls = type(f"Kerasmnist{bases[spec.search].__name__}", (_TunerMixin, bases[spec.search]), {})
    kwargs: dict[str, Any] = {
        "hypermodel": _hypermodel(spec, data),
        "objective": kt.Objective(spec.objective, spec.direction),
        "seed": spec.seed,
        "executions_per_trial": spec.executions_per_trial,
        "directory": str(run_dir),
        "project_name": TUNER_PROJECT,
        "overwrite": False,
        "max_retries_per_trial": 0,
        "max_consecutive_failed_trials": spec.max_failed_trials,
    }
    if spec.search == "hyperband":
        kwargs.update(max_epochs=spec.epochs, factor=spec.hyperband_factor, hyperband_iterations=1)
    else:
        kwargs["max_trials"] = spec.trials
    with _tuner_io(), contextlib.redirect_stdout(sys.stderr):
        tuner = cls(kerasmnist_context=(spec, data, run_dir, events, max_here, deadline), **kwargs)
        oracle_file = run_dir / TUNER_PROJECT / "oracle.json"
        if not Path(tuner._get_tuner_fname()).exists() and oracle_file.exists() and (
                not _distributed() or _is_chief()):
            # keras-tuner reloads the oracle only with the tuner's own file, named by tuner
            # id; a search that a distributed chief (or a kill before the first save)
            # left behind has the oracle's file alone.
            tuner.oracle.reload()
    _repair_oracle(tuner.oracle)
    return tuner


def _distributed() -> bool:
    return bool(os.environ.get("KERASTUNER_ORACLE_IP"))


def _is_chief() -> bool:
    return "chief" in os.environ.get("KERASTUNER_TUNER_ID", "")


def _search(tuner: kt.Tuner, spec: RunSpec, data: Dataset, verbose: int) -> None:
    fit = _fit_data(data)
    kwargs: dict[str, Any] = {"epochs": spec.epochs, "verbose": verbose}
    if "validation_data" in fit:
        kwargs["validation_data"] = fit["validation_data"]
    if spec.batch_size is not None:
        kwargs["batch_size"] = spec.batch_size
    with _tuner_io():  # quiet at verbose=0: listeners may print on standard output
        tuner.search(fit["x"], fit["y"], **kwargs)


class _TunerMixin:
    """Adds kerasmnist's callbacks and trial events to a keras-tuner tuner."""

    def __init__(self, *args: Any, kerasmnist_context: tuple[Any, ...], **kwargs: Any) -> None:
        (self._km_spec, self._km_data, self._km_dir, self._km_events,
         self._km_max_here, self._km_deadline) = kerasmnist_context
        self._km_params: dict[str, int] = {}
        self._km_done_here = 0
        super().__init__(*args, **kwargs)

    def on_trial_begin(self, trial: Any) -> None:
        super().on_trial_begin(trial)  # type: ignore[misc]
        self._km_events.trial_started(trial.trial_id, trial.hyperparameters.values,
                                      worker=self.tuner_id)  # type: ignore[attr-defined]

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        callbacks = _trial_callbacks(self._km_spec, self._km_data, self._km_events, self._km_dir,
                                     trial.trial_id)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []), *callbacks,
                               _ParamsRecorder(self._km_params, trial.trial_id)]
        return super().run_trial(trial, *args, **kwargs)  # type: ignore[misc]

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)  # type: ignore[misc]
        ended = self.oracle.get_trial(trial.trial_id)  # type: ignore[attr-defined]
        message = _last_line(ended.message)
        self._km_events.trial_ended(
            trial.trial_id, status=str(ended.status), score=ended.score,
            params=self._km_params.get(trial.trial_id), worker=self.tuner_id,  # type: ignore[attr-defined]
            message=message, rss_mb=_rss_mb())
        self._km_done_here += 1
        if self._km_deadline is not None and time.time() >= self._km_deadline:
            raise _TimeUp
        if self._km_max_here and self._km_done_here >= self._km_max_here:
            trials = getattr(self.oracle, "trials", {})  # type: ignore[attr-defined]
            if self._km_spec.search == "hyperband" or len(trials) < self._km_spec.trials:
                raise _MoreTrials


class _TimeUp(BaseException):
    """The search's time limit has passed: no new trial starts."""


class _MoreTrials(BaseException):
    """This process has run its share of a search's trials; a fresh one goes on.

    A BaseException, so that keras-tuner's search loop lets it through.
    """


def _continue_in_children(run_dir: Path, trials_per_process: int | None,
                          listeners: Sequence[Listener], deadline: float | None) -> bool:
    """Runs the rest of a search in fresh processes, `trials_per_process` trials each.

    Returns:
        Whether the search stopped at its time limit (`deadline`).
    """
    import subprocess

    tail = EventTail(run_dir / EVENTS_FILE)
    tail.poll()  # the listeners have seen everything so far
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    logs = run_dir / "workers"
    logs.mkdir(exist_ok=True)
    number = 0
    while True:  # one process after another, until one ends the search
        number += 1
        command = [sys.executable, "-m", "kerasmnist.cli", "worker", str(run_dir)]
        if trials_per_process:
            command += ["--max-trials", str(trials_per_process)]
        if deadline is not None:
            command += ["--deadline", repr(deadline)]
        log_path = logs / f"continue-{number}.log"
        with open(log_path, "wb") as log:
            child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while child.poll() is None:
                _relay(tail, listeners)
                time.sleep(0.2)
        except BaseException:
            child.send_signal(signal.SIGINT)  # it leaves its trial to be restarted
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=30)
            if child.poll() is None:
                child.kill()
            raise
        _relay(tail, listeners)
        if child.returncode == 0:
            return False
        if child.returncode == EXIT_TIME_UP:
            return True
        if child.returncode != EXIT_MORE_TRIALS:
            output = log_path.read_text(errors="replace").strip().splitlines()[-5:]
            raise RunError(f"The search process failed (exit status {child.returncode}); the end "
                           f"of its output ({log_path}):\n" + "\n".join(output))


def _relay(tail: EventTail, listeners: Sequence[Listener]) -> None:
    for event in tail.poll():
        for listener in listeners:
            listener(event)


class _ParamsRecorder(keras.callbacks.Callback):
    """Records the weight count of each trial's model in a shared mapping."""

    def __init__(self, counts: dict[str, int], trial_id: str) -> None:
        super().__init__()
        self.counts = counts  # not `params`: Keras sets that to fit's settings
        self.trial_id = trial_id

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.counts[self.trial_id] = int(self.model.count_params())

    def __deepcopy__(self, memo: dict[int, Any]) -> _ParamsRecorder:
        clone = copy.copy(self)  # shares the mapping
        memo[id(self)] = clone
        return clone


def _repair_oracle(oracle: Any) -> None:
    """Makes a reloaded oracle consistent with its trial files after a hard kill.

    keras-tuner writes a trial's file and then the oracle's; a kill between the
    two leaves a trial that is running in its file but unknown to the oracle
    (it would never run again), or one completed in its file but still
    queued for a retry (it would run twice).
    """
    if not hasattr(oracle, "_retry_queue"):
        return  # a client of a distributed chief: the chief repairs its own oracle
    queued = set(oracle._retry_queue)
    ongoing = {t.trial_id for t in oracle.ongoing_trials.values()}
    for trial_id, trial in oracle.trials.items():
        status = str(trial.status)
        if status in ("RUNNING", "IDLE") and trial_id not in queued and trial_id not in ongoing:
            oracle._retry_queue.append(trial_id)
        elif status in ("COMPLETED", "FAILED") and trial_id in queued:
            oracle._retry_queue.remove(trial_id)
            if trial_id not in oracle.end_order:
                oracle.end_order.append(trial_id)


@contextlib.contextmanager
def _tuner_io() -> Iterator[None]:
    """Makes keras-tuner write its JSON files (oracle, trials, tuner) atomically.

    It also stops keras-tuner from printing each failed trial's traceback (its
    `config.DEBUG`): the trial keeps it, and the event log records its error.
    """
    from keras_tuner.src import config as kt_config
    from keras_tuner.src import utils as kt_utils

    original, debug = kt_utils.save_json, kt_config.DEBUG

    def save_json(path: str, obj: Any) -> str:
        import json

        text = json.dumps(obj)
        atomic_write_text(path, text)
        return text

    kt_utils.save_json, kt_config.DEBUG = save_json, False
    try:
        yield
    finally:
        kt_utils.save_json, kt_config.DEBUG = original, debug


def _last_line(message: str | None) -> str | None:
    """The error of a trial's traceback: the exception's first line, without its class path."""
    if not message or not message.strip():
        return None
    lines = message.strip().splitlines()
    for line in reversed(lines):
        match = re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|Exceeded|Trial): (.*)$", line)
        if match:
            return match.group(2)
    return lines[-1]


def _best_trial(tuner: kt.Tuner, run_dir: Path) -> Any:
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None or not math.isfinite(best[0].score):
        failures = [f"trial {t['trial_id']}: {t['message']}" for t in trial_table(run_dir / EVENTS_FILE)
                    if t["status"] != "COMPLETED"]
        raise RunError("No trial completed with a score. " + "; ".join(failures[-5:]))
    return best[0]


def _best_epochs(trial: Any, spec: RunSpec) -> int:
    """Epochs to retrain for: Hyperband's budget of the trial, or its best epoch."""
    values = trial.hyperparameters.values
    if "tuner/epochs" in values:
        return int(values["tuner/epochs"])
    best_step = getattr(trial, "best_step", None)
    if spec.early_stopping is not None and best_step is not None:
        return int(best_step) + 1
    return spec.epochs


# -- the end of a run --------------------------------------------------------------------


def _finish(
    spec: RunSpec,
    run_dir: Path,
    data: Dataset,
    models: Mapping[str, tuple[keras.Model, float]],
    best_hp: dict[str, Any],
    events: EventWriter,
) -> RunResult:
    from kerasmnist.evaluation import Replicates, confusion_matrix, evaluate_splits, top_confusions

    sign = -1.0 if spec.direction == "min" else 1.0
    best_id = max(models, key=lambda k: sign * _finite(models[k][1], sign))
    model = models[best_id][0]
    table = evaluate_splits(model, data)
    x_test, y_test = data.arrays("test")
    x_test = x_test.reshape((len(x_test), *model.input_shape[1:]))
    scores = model.predict(x_test, batch_size=1024, verbose=0)
    cm = confusion_matrix(y_test, scores, data.num_classes)
    names = list(data.class_names)
    events.confusion(cm, names, split="test", trial_id=best_id)
    stats = None
    if len(models) > 1:
        accuracies = {k: _test_accuracy(m, x_test, y_test) for k, (m, _) in models.items()}
        reps = Replicates(tuple(range(len(accuracies))), tuple(accuracies.values()))
        stats = {"metric": "test_accuracy", "values": accuracies, "mean": reps.mean,
                 "std": reps.std, "median": float(np.median(list(accuracies.values())))}
    with atomic_path(run_dir / MODEL_FILE) as tmp:
        model.save(tmp)
    atomic_write_json(run_dir / "best_hyperparameters.json", best_hp)
    return RunResult(
        run_dir=run_dir,
        spec=spec,
        splits=[{"split": r.split, "examples": r.examples, "loss": r.loss, "accuracy": r.accuracy,
                 "error_rate": r.error_rate} for r in table.results],
        params=int(model.count_params()),
        best_trial=best_id,
        best_hyperparameters=best_hp,
        trials=trial_table(run_dir / EVENTS_FILE),
        replicates=stats,
        class_names=names,
        confusion=cm,
        top_confusions=top_confusions(cm, names),
        seconds=0.0,
    )


def _finite(value: float | None, sign: float) -> float:
    return value if value is not None and math.isfinite(value) else -sign * math.inf


def _test_accuracy(model: keras.Model, x: np.ndarray, y: np.ndarray) -> float:
    scores = model.predict(x, batch_size=1024, verbose=0)
    return float(np.mean(np.argmax(scores, axis=1) == y))


def _write_results(result: RunResult) -> None:
    from tabulate import tabulate

    from kerasmnist.evaluation import confusion_text

    run_dir = result.run_dir
    atomic_write_json(run_dir / RESULTS_FILE, result.to_dict())
    rows = [(s["split"], s["examples"], f"{s['loss']:.4f}", f"{s['accuracy']:.4f}",
             f"{s['error_rate']:.2f}") for s in result.splits]
    text = [f"Best: {result.best_trial} ({result.params:,} weights)", "",
            tabulate(rows, headers=["split", "examples", "loss", "accuracy", "error %"]), ""]
    if result.trained_on_validation:
        text += ["(retrained on training and validation data: validation is not held out)", ""]
    if result.time_limit_reached:
        text += [f"(the search stopped at its time limit of {result.spec.max_minutes} minutes)", ""]
    if result.replicates:
        reps = result.replicates
        text += [f"Test accuracy over {len(reps['values'])} replicates: "
                 + f"{reps['mean']:.4f} +/- {reps['std']:.4f}, median {reps['median']:.4f}", ""]
    sign = 1.0 if result.spec.direction == "max" else -1.0
    ranked = sorted(result.trials, key=lambda t: (t["score"] is None, -sign * (t["score"] or 0.0)))
    trial_rows = [(t["trial_id"], t["status"], "" if t["score"] is None else f"{t['score']:.4f}",
                   t["params"] or "") for t in ranked]
    text += [tabulate(trial_rows, headers=["trial", "status", result.spec.objective, "weights"])]
    atomic_write_text(run_dir / "results.txt", "\n".join(text) + "\n")
    confusion = [confusion_text(result.confusion, result.class_names), "",
                 "Top confusions (true -> predicted: count):"]
    confusion += [f"  {t} -> {p}: {n}" for t, p, n in result.top_confusions]
    atomic_write_text(run_dir / "confusion.txt", "\n".join(confusion) + "\n")


def _summary(result: RunResult) -> dict[str, Any]:
    return {"test_accuracy": result.test_accuracy, "splits": result.splits,
            "params": result.params, "best_trial": result.best_trial,
            "best_hyperparameters": result.best_hyperparameters,
            "replicates": result.replicates, "seconds": result.seconds}


# -- process helpers ---------------------------------------------------------------------


def _write_or_check_spec(spec: RunSpec, run_dir: Path) -> bool:
    """Writes `spec.toml`, or checks it against the one there; returns whether resuming."""
    path = run_dir / SPEC_FILE
    if path.is_file():
        existing = RunSpec.from_toml(path)
        if existing != spec:
            changed = [f.name for f in dataclasses.fields(spec)
                       if getattr(spec, f.name) != getattr(existing, f.name)]
            raise InvalidArgumentError(
                f"Invalid value for argument `run_dir`. {str(run_dir)!r} holds a run with a "
                f"different spec (fields {changed} differ); resume it, or use a new directory")
        return True
    atomic_write_text(path, spec.to_toml())
    return False


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Turns SIGTERM into KeyboardInterrupt (in the main thread), for a graceful stop."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _worker_id() -> str:
    return os.environ.get("KERASTUNER_TUNER_ID", "tuner0")


def _rss_mb() -> float | None:
    """The process's resident memory now, in MiB (Linux), or `None`."""
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            pages = int(stream.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError, AttributeError):
        return None

