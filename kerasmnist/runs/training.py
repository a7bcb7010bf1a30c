"""Training in a run: the data, replicates, random restarts, distillation, trial callbacks, checkpoints.

The run engine (`kerasmnist.runs.engine`) calls `train_replicates` for a plain
run and for a search's retrained best model; the search (`kerasmnist.runs.search`)
gives each trial `trial_callbacks`. Every replicate ends with a `result.json`
beside its model, so that a resumed run keeps the replicates already trained.

A trial, and a replicate without a teacher or random restarts, checkpoints its
training after each epoch in `checkpoints/trial_<id>/` (`with_checkpoint`, an
`EpochCheckpoint`), so that a resumed run goes on from the last finished epoch
of the one it interrupted; the checkpoint is deleted once the trial has ended.
A preset's recipe with a teacher or with random restarts starts an
interrupted replicate over: neither the teacher nor the restarts are
checkpointed.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
import shutil
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import keras
import keras_tuner as kt
import numpy as np

from kerasmnist import presets
from kerasmnist.budget import ParamBudget
from kerasmnist.callbacks import EpochCheckpoint, EventLogger, FullEvalMetrics
from kerasmnist.callbacks.epoch_checkpoint import CheckpointInfo, read_checkpoint
from kerasmnist.datasets import Dataset, load_dataset
from kerasmnist.distillation import Distiller
from kerasmnist.errors import CheckpointError, KerasMnistError, RunError, TrialFailed
from kerasmnist.events import EventWriter
from kerasmnist.fileio import atomic_path, atomic_write_json, atomic_write_text
from kerasmnist.hypermodels import MnistHyperModel, build_hypermodel
from kerasmnist.recipes import recipe
from kerasmnist.runs.processes import rss_mb
from kerasmnist.runs.spec import RunSpec

__all__ = ["CHECKPOINTS_DIR", "NanCheck", "ParamsRecorder", "batch_size_of", "better", "checkpoint_dir",
           "fit_data", "history_score", "hypermodel", "load_data", "merged_train_validation",
           "plain_builder", "plain_hyperparameters", "read_resume", "remove_checkpoint", "resumed_from",
           "seed_everything", "seed_trial", "trial_seed", "trial_callbacks", "train_replicates",
           "trim_csv_log", "with_checkpoint"]

Models = dict[str, tuple[keras.Model, float]]
"""Trained models by trial id, each with its score."""


# -- seeds ---------------------------------------------------------------------------------


def seed_everything(spec: RunSpec) -> None:
    """Seeds Python, NumPy and the backend with the run's seed; with `spec.deterministic`, op determinism.

    Op determinism (TensorFlow's `enable_op_determinism`, PyTorch's deterministic
    algorithms) makes a run bit-for-bit repeatable on one machine, at a cost in
    speed (benchmarks/bench_determinism.py). Without it, the same seeds give the
    same trials up to the float noise of multithreaded kernels.
    """
    keras.utils.set_random_seed(spec.seed)
    if spec.deterministic:
        backend = keras.backend.backend()
        if backend == "tensorflow":
            import tensorflow as tf

            tf.config.experimental.enable_op_determinism()
        elif backend == "torch":
            import torch

            torch.use_deterministic_algorithms(True)
        # JAX's CPU kernels are deterministic already.


def trial_seed(seed: int, trial_id: str) -> int:
    """The seed of a search's trial: a function of the run's seed and the trial's id alone.

    So a trial draws the same initial weights, shuffles and dropout masks whichever
    process runs it, after whatever other trials: in one process, in fresh
    processes, resumed after a kill, or on a distributed worker.

    Example:

    >>> trial_seed(0, "03") == trial_seed(0, "03") != trial_seed(1, "03")
    True
    """
    entropy = [seed, *trial_id.encode()]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


def seed_trial(spec: RunSpec, trial_id: str) -> None:
    """Seeds Python, NumPy and the backend for one trial (`trial_seed`)."""
    keras.utils.set_random_seed(trial_seed(spec.seed, trial_id))


# -- data ----------------------------------------------------------------------------------


def load_data(spec: RunSpec) -> Dataset:
    """The spec's data set, split, with its training set cut to `spec.limit`."""
    data = load_dataset(spec.dataset, validation=spec.validation, seed=spec.seed)
    if spec.limit is not None and spec.limit < len(data.y_train):
        data.x_train, data.y_train = data.x_train[:spec.limit], data.y_train[:spec.limit]
    return data


def fit_data(data: Dataset) -> dict[str, Any]:
    """`fit`'s `x`, `y` and (when there is one) `validation_data`, flat."""
    x, y = data.arrays("train")
    kwargs: dict[str, Any] = {"x": x, "y": y}
    if len(data.y_val):
        kwargs["validation_data"] = data.arrays("validation")
    return kwargs


def merged_train_validation(data: Dataset) -> Dataset:
    """The data set with its validation examples moved into training (for a retrain)."""
    return Dataset(data.name, data.class_names,
                   np.concatenate([data.x_train, data.x_val]),
                   np.concatenate([data.y_train, data.y_val]),
                   data.x_val[:0], data.y_val[:0], data.x_test, data.y_test, data.files)


# -- models ----------------------------------------------------------------------------------


def hypermodel(spec: RunSpec, data: Dataset, *, budget: bool = True) -> MnistHyperModel:
    """The spec's hypermodel, with its overrides (and its budget, unless `budget=False`).

    A spec's batch size fixes the hypermodel's `batch_size` entry, so that the
    trials' recorded values are the batch size they trained with.
    """
    overrides = dict(spec.overrides)
    if spec.batch_size is not None:
        overrides["batch_size"] = spec.batch_size
    return build_hypermodel(spec.model, dataset=data, max_params=spec.max_params if budget else None,
                            **overrides)


def plain_builder(spec: RunSpec, data: Dataset) -> Callable[[], keras.Model]:
    """Builds a plain run's model: the preset, or the hypermodel's defaults with the overrides."""
    def build() -> keras.Model:
        if spec.is_preset:
            return presets.build(spec.model, input_shape=(math.prod(data.image_shape),),
                                 num_classes=data.num_classes, epochs=spec.epoch_count,
                                 steps_per_epoch=math.ceil(len(data.y_train) / batch_size_of(spec, {})),
                                 augment=_teacher_of(spec) is None)
        return hypermodel(spec, data).build(kt.HyperParameters())
    return build


def plain_hyperparameters(spec: RunSpec, data: Dataset) -> dict[str, Any]:
    """A plain run's hyperparameters: `{"preset": name}`, or the hypermodel's values."""
    if spec.is_preset:
        return {"preset": spec.model}
    hp = kt.HyperParameters()
    hypermodel(spec, data, budget=False).build(hp)  # the budget is checked when training
    return dict(hp.values)


def batch_size_of(spec: RunSpec, hyperparameters: Mapping[str, Any]) -> int:
    """The batch size a model trains with: the resolved spec's (a preset's recipe's, see
    `RunSpec.resolved`), else its `batch_size` hyperparameter, else 128 (the hypermodels')."""
    return spec.batch_size or int(hyperparameters.get("batch_size", 128))


# -- replicates ------------------------------------------------------------------------------


def train_replicates(
    spec: RunSpec,
    data: Dataset,
    directory: Path,
    events: EventWriter,
    verbose: int,
    *,
    build: Callable[[], keras.Model],
    hyperparameters: dict[str, Any],
    prefix: str = "r",
) -> Models:
    """Trains `spec.replicates` models (seeds `seed`, `seed + 1`, ...) in `directory`.

    Replicates that an earlier start finished are loaded, not trained again.

    Raises:
        RunError: No replicate completed; the message lists why each failed.
    """
    fit = fit_data(data)
    models: Models = {}
    failures: list[str] = []
    for i in range(spec.replicates):
        trial_id = f"{prefix}{i}"
        trial_dir = directory / trial_id
        done = trial_dir / "result.json"
        if done.is_file():
            remove_checkpoint(directory.parent, trial_id)  # a kill came after the result, before this
            result = json.loads(done.read_text(encoding="utf-8"))
            if result["status"] == "COMPLETED":
                models[trial_id] = (keras.saving.load_model(trial_dir / "model.keras"), result["score"])
            else:
                failures.append(f"{trial_id}: {result.get('message')}")
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(spec.seed + i)
        hp = hyperparameters
        resume = read_resume(directory.parent, trial_id) if _checkpointed(spec) else None
        events.trial_started(trial_id, hp, worker=worker_id(), replicate=i, **resumed_from(resume))
        status, score, message, params = "COMPLETED", None, None, None
        spent: dict[str, float] = {}
        try:
            model = build()
            params = model.count_params()
            if spec.max_params is not None:
                ParamBudget(spec.max_params).enforce(model)
            cpu, wall = time.process_time(), time.perf_counter()
            model, score = _train_one(spec, data, fit, model, build, events, trial_id, spec.seed + i,
                                      verbose, batch_size_of(spec, hp), directory.parent, resume)
            spent = {"training_cpu_seconds": round(time.process_time() - cpu, 3),
                     "training_seconds": round(time.perf_counter() - wall, 3)}
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
        remove_checkpoint(directory.parent, trial_id)
        events.trial_ended(trial_id, status=status, score=score, params=params,
                           worker=worker_id(), message=message, rss_mb=rss_mb(), **spent)
    if not models:
        raise RunError("No model completed training: " + "; ".join(failures))
    return models


def _train_one(
    spec: RunSpec, data: Dataset, fit: dict[str, Any], model: keras.Model,
    build: Callable[[], keras.Model], events: EventWriter, trial_id: str, seed: int, verbose: int,
    batch_size: int, run_dir: Path, resume: CheckpointInfo | None = None,
) -> tuple[keras.Model, float | None]:
    """One replicate: its teacher and restarts (a preset's recipe's), then its epochs (going on
    from `resume`, the checkpoint of an interrupted start, when it has neither)."""
    teacher = _teacher_of(spec)
    prepare = (_distillation(spec.model, teacher, data, fit, events, trial_id, verbose)
               if teacher is not None else _unchanged)
    model = prepare(model)
    model, initial_epoch, score = _best_start(spec, model, build, prepare, fit, batch_size, events,
                                              trial_id, seed, verbose)
    if initial_epoch < spec.epoch_count:
        callbacks = trial_callbacks(spec, data, events, run_dir, trial_id)
        if _checkpointed(spec):
            callbacks = with_checkpoint(callbacks, checkpoint_dir(run_dir, trial_id), resume)
        history = model.fit(**fit, epochs=spec.epoch_count, initial_epoch=initial_epoch,
                            batch_size=batch_size, callbacks=callbacks, verbose=verbose)
        score = history_score(history.history, spec)
    return getattr(model, "student", model), score  # a Distiller keeps only its student


def _checkpointed(spec: RunSpec) -> bool:
    """Whether a replicate checkpoints its epochs: unless its preset's recipe has a teacher or restarts."""
    return _teacher_of(spec) is None and (spec.search != "none" or not spec.is_preset
                                          or recipe(spec.model).restarts == 1)


def _teacher_of(spec: RunSpec) -> str | None:
    """The preset a plain preset run distils from (its recipe's `teacher`), if any."""
    if spec.search != "none" or not spec.is_preset:
        return None
    return recipe(spec.model).teacher


def _unchanged(model: keras.Model) -> keras.Model:
    return model


def _distillation(
    name: str, teacher: str, data: Dataset, fit: dict[str, Any],
    events: EventWriter, trial_id: str, verbose: int,
) -> Callable[[keras.Model], keras.Model]:
    """Trains the `teacher` preset on the same data, with the student's recipe's
    `teacher_recipe` or else its own; returns the function that wraps a student (preset
    `name`) in a compiled `Distiller` from that teacher, with the student's optimizer and
    loss and the temperature, alpha and shift of its recipe."""
    mine = recipe(name)
    own = mine.teacher_recipe or recipe(teacher)
    started = time.monotonic()
    teacher_model = presets.build(
        teacher, input_shape=(math.prod(data.image_shape),), num_classes=data.num_classes,
        steps_per_epoch=math.ceil(len(data.y_train) / own.batch_size), recipe=own)
    history = teacher_model.fit(**fit, epochs=own.epochs, batch_size=own.batch_size,
                                callbacks=[NanCheck()], verbose=verbose)
    logs = {key: values[-1] for key, values in history.history.items()}
    events.teacher_trained(trial_id, teacher=teacher, params=teacher_model.count_params(),
                           epochs=own.epochs, logs=logs, seconds=round(time.monotonic() - started, 3))

    def distil(student: keras.Model) -> keras.Model:
        distiller = Distiller(student, teacher_model, temperature=mine.temperature,
                              alpha=mine.alpha, shift=mine.shift, name=f"{student.name}_distiller")
        distiller.compile(optimizer=student.optimizer, loss=student.loss, metrics=["accuracy"])
        return distiller
    return distil


def _best_start(
    spec: RunSpec, first: keras.Model, build: Callable[[], keras.Model],
    prepare: Callable[[keras.Model], keras.Model], fit: dict[str, Any], batch_size: int,
    events: EventWriter, trial_id: str, seed: int, verbose: int,
) -> tuple[keras.Model, int, float | None]:
    """A plain preset run's random restarts (its recipe's `restarts`).

    Trains `first` and `restarts - 1` more models, each `prepare(build())` after seeding
    with `[seed, k]`, for `restart_epochs` epochs (at most the run's), keeps the best by
    the run's objective and drops the others. A `train_` objective is read from the
    training metrics Keras logs, as the restarts have no full evaluation. Returns the
    model, the epochs it has trained and its score; without restarts, `first`, 0, None.
    """
    if spec.search != "none" or not spec.is_preset or recipe(spec.model).restarts == 1:
        return first, 0, None
    own = recipe(spec.model)
    epochs = min(own.restart_epochs, spec.epoch_count)
    objective = spec.objective.removeprefix("train_")
    best: tuple[float | None, int, keras.Model] | None = None
    failures = []
    for k in range(own.restarts):
        if k:
            keras.utils.set_random_seed(int(np.random.SeedSequence([seed, k]).generate_state(1)[0]))
        model = prepare(build()) if k else first
        try:
            history = model.fit(**fit, epochs=epochs, batch_size=batch_size,
                                callbacks=[NanCheck()], verbose=verbose).history
        except TrialFailed as error:
            failures.append(f"restart {k}: {error}")
            events.restart_ended(trial_id, restart=k, epochs=epochs, objective=objective, score=None,
                                 message=str(error))
            continue
        score = history_score(history, spec, objective)
        events.restart_ended(trial_id, restart=k, epochs=epochs, objective=objective, score=score)
        if best is None or better(score, best[0], spec.direction):
            best = (score, k, model)
    if best is None:
        raise TrialFailed("every restart failed: " + "; ".join(failures))
    events.restart_chosen(trial_id, restart=best[1], epochs=epochs, objective=objective, score=best[0])
    return best[2], epochs, best[0]


def better(score: float | None, than: float | None, direction: str) -> bool:
    """Whether `score` beats `than` in `direction` (`"min"` or `"max"`); a missing or
    non-finite score beats nothing and loses to anything."""
    if score is None or not math.isfinite(score):
        return False
    if than is None or not math.isfinite(than):
        return True
    return score < than if direction == "min" else score > than


def history_score(history: Mapping[str, list[float]], spec: RunSpec, key: str | None = None) -> float | None:
    """The best of the run's objective (or of the metric `key`) in a fit's history."""
    values = [v for v in history.get(key or spec.objective, []) if v is not None and math.isfinite(v)]
    if not values:
        return None
    return float(min(values) if spec.direction == "min" else max(values))


# -- callbacks -------------------------------------------------------------------------------


def trial_callbacks(
    spec: RunSpec, data: Dataset, events: EventWriter, run_dir: Path, trial_id: str
) -> list[keras.callbacks.Callback]:
    """FullEvalMetrics first, then the NaN check, early stopping, logs, the event log."""
    callbacks: list[keras.callbacks.Callback] = []
    if spec.full_eval:
        sets = ("train", "validation") if len(data.y_val) else ("train",)
        callbacks.append(FullEvalMetrics(data, sets=sets, confusion=sets[-1], events=events,
                                         trial_id=trial_id))
    callbacks.append(NanCheck())
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


# -- checkpoints -----------------------------------------------------------------------------

CHECKPOINTS_DIR = "checkpoints"
"""The run directory's folder of the checkpoints of the trials (and replicates) in progress."""


def checkpoint_dir(run_dir: Path, trial_id: str) -> Path:
    """Where a trial's (or replicate's) `EpochCheckpoint` lives: `checkpoints/trial_<id>/`."""
    return run_dir / CHECKPOINTS_DIR / f"trial_{trial_id}"


def read_resume(run_dir: Path, trial_id: str) -> CheckpointInfo | None:
    """What the checkpoint of an interrupted trial holds, or `None` when the trial starts afresh.

    A checkpoint that cannot be read (the run never leaves one: its writes are
    atomic) is deleted, with a warning, and the trial starts over.
    """
    try:
        return read_checkpoint(checkpoint_dir(run_dir, trial_id))
    except CheckpointError as error:
        warnings.warn(f"{error}; trial {trial_id} starts over", stacklevel=2)
        remove_checkpoint(run_dir, trial_id)
        return None


def resumed_from(resume: CheckpointInfo | None) -> dict[str, Any]:
    """The fields a `trial_started` event adds for a trial that goes on from a checkpoint:
    `initial_epoch`, the first epoch it trains (none for a trial that starts afresh)."""
    return {} if resume is None else {"initial_epoch": resume.epoch}


def remove_checkpoint(run_dir: Path, trial_id: str) -> None:
    """Deletes a trial's checkpoint (once it has ended), and the checkpoints' folder once empty."""
    shutil.rmtree(checkpoint_dir(run_dir, trial_id), ignore_errors=True)
    with contextlib.suppress(OSError):
        (run_dir / CHECKPOINTS_DIR).rmdir()


def with_checkpoint(
    callbacks: Sequence[keras.callbacks.Callback],
    directory: Path,
    resume: CheckpointInfo | None,
    *,
    monitor: str | None = None,
    mode: str = "max",
    best_path: str | os.PathLike[str] | None = None,
) -> list[keras.callbacks.Callback]:
    """A fit's callbacks with an `EpochCheckpoint` in `directory` after them, going on from `resume`.

    The checkpoint keeps the state of the list's `EarlyStopping`s. Going on from
    `resume`, a `CSVLogger` appends to its log, from which the rows of the
    epochs to train again (`resume.epoch` and later: logged after the
    checkpoint, before a kill) are dropped first, so that each epoch has one row.

    Args:
        callbacks: The fit's callbacks (`trial_callbacks`).
        directory: The checkpoint's directory (`checkpoint_dir`).
        resume: The checkpoint found there (`read_resume`), or `None`.
        monitor, mode, best_path: See `EpochCheckpoint`.
    """
    if resume is not None:
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.CSVLogger):
                trim_csv_log(callback.filename, resume.epoch, sep=callback.sep)
                callback.append = True
    keep = [callback for callback in callbacks if isinstance(callback, keras.callbacks.EarlyStopping)]
    checkpoint = EpochCheckpoint(directory, monitor=monitor, mode=mode, best_path=best_path, keep=keep)
    return [*callbacks, checkpoint]


def trim_csv_log(path: str | os.PathLike[str], epoch: int, *, sep: str = ",") -> None:
    r"""Drops the rows of epochs `epoch` and later from a `CSVLogger`'s file, atomically.

    The header stays; a row cut short by a kill (no line end) goes too. A
    missing file is left missing.

    Example:

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = path.write_text("epoch,loss\r\n0,0.9\r\n1,0.5\r\n2,0.4\r\n3,0.")
    >>> trim_csv_log(path, 2)
    >>> path.read_text().split()
    ['epoch,loss', '0,0.9', '1,0.5']
    """
    try:
        with open(path, encoding="utf-8", newline="") as stream:  # keeps CSVLogger's \r\n
            lines = stream.read().splitlines(keepends=True)
    except FileNotFoundError:
        return

    def kept(line: str) -> bool:
        number = line.split(sep, 1)[0].strip()
        return line.endswith("\n") and number.isdigit() and int(number) < epoch

    header = lines[:1] if lines and lines[0].endswith("\n") else []
    atomic_write_text(path, "".join(header + [line for line in lines[1:] if kept(line)]))


class NanCheck(keras.callbacks.Callback):
    """Fails the trial when the epoch's loss is not finite (keras-tuner goes on)."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrialFailed(f"the training loss became {float(loss)} at epoch {epoch + 1}")


class ParamsRecorder(keras.callbacks.Callback):
    """Records the weight count of each trial's model in a shared mapping."""

    def __init__(self, counts: dict[str, int], trial_id: str) -> None:
        super().__init__()
        self.counts = counts  # not `params`: Keras sets that to fit's settings
        self.trial_id = trial_id

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.counts[self.trial_id] = int(self.model.count_params())

    def __deepcopy__(self, memo: dict[int, Any]) -> ParamsRecorder:
        clone = copy.copy(self)  # shares the mapping
        memo[id(self)] = clone
        return clone


# -- the process -----------------------------------------------------------------------------


def worker_id() -> str:
    """The id of this process in a search: keras-tuner's `KERASTUNER_TUNER_ID`, else `tuner0`."""
    return os.environ.get("KERASTUNER_TUNER_ID", "tuner0")
