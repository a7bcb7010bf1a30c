"""Every contact of the run engine with keras-tuner: tuners, trials, the oracle's repair.

A search's tuner is one of keras-tuner's four, with `SearchMixin` adding
kerasmnist's callbacks and trial events through keras-tuner's documented hooks
(`on_trial_begin`, `run_trial`, `on_trial_end`); what the hooks need travels in
one `SearchContext`.

A few things have no public keras-tuner API: writing its JSON files atomically,
keeping a failed trial's traceback off the terminal, telling a distributed chief
from a worker, repairing an oracle that a hard kill left inconsistent, and
letting an interrupted trial go on from its checkpoint (keras-tuner's
`_build_and_fit_model` hook, its `SaveBestEpoch`'s best value). The
private names they use are listed in `PRIVATE_NAMES` and checked by
`check_keras_tuner()` before a tuner is made, so that a keras-tuner release
without one fails loudly, naming it, instead of silently skipping a repair.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import json
import math
import os
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import keras
import keras_tuner as kt
from keras_tuner.src import config as kt_config  # private: see PRIVATE_NAMES
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.distribute import oracle_client as kt_oracle_client
from keras_tuner.src.distribute import utils as kt_distribute
from keras_tuner.src.engine import tuner_utils as kt_tuner_utils
from keras_tuner.src.tuners import gridsearch as kt_gridsearch

from kerasmnist.callbacks import Pruner
from kerasmnist.callbacks.epoch_checkpoint import CheckpointInfo
from kerasmnist.callbacks.pruner import LogCurves
from kerasmnist.datasets import Dataset
from kerasmnist.errors import InvalidArgumentError, KerasTunerMismatchError, RunError
from kerasmnist.events import EventWriter
from kerasmnist.fileio import atomic_write_text
from kerasmnist.pruning import make_rule
from kerasmnist.runs import hparams
from kerasmnist.runs.processes import rss_mb
from kerasmnist.runs.rundir import EVENTS_FILE, SPEC_FILE, run_state, trial_table
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.training import (
    ParamsRecorder,
    checkpoint_dir,
    fit_data,
    hypermodel,
    read_resume,
    remove_checkpoint,
    resumed_from,
    seed_trial,
    trial_callbacks,
    with_checkpoint,
)

__all__ = ["CHIEF_TIMEOUT_VARIABLE", "DEFAULT_CHIEF_TIMEOUT", "PRIVATE_NAMES", "TUNERS", "TUNER_PROJECT",
           "MoreTrials", "SearchContext", "SearchMixin", "TimeUp", "best_epochs", "best_trial",
           "check_keras_tuner", "chief_timeout", "is_chief", "is_distributed", "oracle_seed",
           "make_tuner", "run_search"]

TUNER_PROJECT = "search"
"""keras-tuner's project directory inside a run directory."""

PRIVATE_NAMES = (
    ("keras_tuner.src.utils", "save_json"),
    ("keras_tuner.src.config", "DEBUG"),
    ("keras_tuner.src.distribute.utils", "has_chief_oracle"),
    ("keras_tuner.src.distribute.utils", "is_chief_oracle"),
    ("keras_tuner.src.distribute.oracle_client", "TIMEOUT"),
    ("keras_tuner.src.engine.base_tuner", "BaseTuner._get_tuner_fname"),
    ("keras_tuner.src.engine.oracle", "Oracle()._retry_queue"),
    ("keras_tuner.src.engine.oracle", "Oracle().ongoing_trials"),
    ("keras_tuner.src.engine.oracle", "Oracle().end_order"),
    ("keras_tuner.src.tuners.gridsearch", "LinkedList"),
    ("keras_tuner.src.tuners.gridsearch", "GridSearchOracle._compare"),
    ("keras_tuner.src.tuners.gridsearch", "GridSearchOracle()._ordered_ids"),
    ("keras_tuner.src.tuners.gridsearch", "GridSearchOracle()._populate_next"),
    ("keras_tuner.src.engine.tuner", "Tuner._build_and_fit_model"),
    ("keras_tuner.src.engine.tuner", "Tuner._configure_tensorboard_dir"),
    ("keras_tuner.src.engine.tuner", "Tuner._get_checkpoint_fname"),
    ("keras_tuner.src.engine.tuner_utils", "SaveBestEpoch"),
    ("keras_tuner.src.engine.tuner_utils", "TunerCallback"),
)
"""The keras-tuner names without a public API that the run engine uses: `(module, name)`,
where `Oracle()` in a name stands for an instance of the class."""

CHIEF_TIMEOUT_VARIABLE = "KERASMNIST_CHIEF_TIMEOUT"
"""The environment variable setting `chief_timeout()`, in seconds."""
DEFAULT_CHIEF_TIMEOUT = 300.0
"""Seconds a distributed worker waits for its chief to answer (keras-tuner's own: an hour per call)."""


class TimeUp(BaseException):
    """The search's time limit has passed: no new trial starts."""


class MoreTrials(BaseException):
    """This process has run its share of a search's trials; a fresh one goes on.

    A BaseException, so that keras-tuner's search loop lets it through.
    """


@functools.cache
def check_keras_tuner() -> None:
    """Checks that the installed keras-tuner has every name in `PRIVATE_NAMES`.

    Raises:
        KerasTunerMismatchError: One is missing; the message names it and the
            installed version.
    """
    for module, name in PRIVATE_NAMES:
        if not _has_name(module, name):
            raise KerasTunerMismatchError(
                f"The installed keras-tuner {kt.__version__} lacks `{module}.{name}`, which kerasmnist's "
                f"run engine uses (kerasmnist.runs.search.PRIVATE_NAMES); install keras-tuner 1.4")


def _has_name(module: str, name: str) -> bool:
    try:
        owner: Any = importlib.import_module(module)
    except ImportError:
        return False
    for part in name.split("."):
        instance = part.endswith("()")
        part = part.removesuffix("()")
        if not hasattr(owner, part):
            return False
        owner = getattr(owner, part)
        if instance:
            # An oracle's arguments; a seed, or keras-tuner draws one from the global random state.
            owner = owner(objective="val_accuracy", max_trials=1, seed=1)
    return True


def is_distributed() -> bool:
    """Whether this process is part of a keras-tuner distributed search (its variables set)."""
    return bool(kt_distribute.has_chief_oracle())


_SEED_ZERO = 7962
"""The oracle seed of a search of seed 0: what keras-tuner drew for it in a fresh process."""


def oracle_seed(seed: int) -> int:
    """The seed keras-tuner's oracle gets for a run's seed.

    keras-tuner takes a seed of 0 for none and draws one from Python's global
    random state (`seed or random.randint(1, 10000)`), so a search of seed 0 (the
    default) proposed whatever trials the process's history left that state to.
    In a fresh process, after `seed_everything` and `check_keras_tuner`'s probes
    (which then drew numbers too), the draw was always `_SEED_ZERO`: seed 0 gets
    it, so searches of seed 0 propose the trials they proposed in fresh
    processes (every published figure's), now wherever they run. Any other seed
    is kept.

    Example:

    >>> oracle_seed(0) == _SEED_ZERO, oracle_seed(7)
    (True, 7)
    """
    return seed if seed else _SEED_ZERO


def is_chief() -> bool:
    """Whether this process is a distributed search's chief (the oracle's server)."""
    return bool(kt_distribute.is_chief_oracle())


def chief_timeout() -> float:
    """Seconds a distributed worker waits for each answer of its chief before giving up.

    `$KERASMNIST_CHIEF_TIMEOUT` if set, else `DEFAULT_CHIEF_TIMEOUT`: long enough
    for a chief started after its workers to come up, short enough that a worker
    whose chief died ends with an error instead of waiting an hour per request.

    Raises:
        InvalidArgumentError: The variable is not a positive number.
    """
    text = os.environ.get(CHIEF_TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_CHIEF_TIMEOUT
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not seconds > 0 or not math.isfinite(seconds):
        raise InvalidArgumentError(f"Invalid value for the environment variable {CHIEF_TIMEOUT_VARIABLE}. "
                                   f"Expected a positive number of seconds. Received: {text!r}")
    return seconds


@contextlib.contextmanager
def _chief_errors() -> Iterator[None]:
    """Turns a distributed worker's failed request to its chief into a `RunError` that says so."""
    try:
        yield
    except grpc.RpcError as error:
        address = f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"
        code = error.code() if hasattr(error, "code") else None
        why = (f"no answer within {chief_timeout():g} s (${CHIEF_TIMEOUT_VARIABLE})"
               if code == grpc.StatusCode.DEADLINE_EXCEEDED else getattr(code, "name", type(error).__name__))
        raise RunError(f"Lost the search's chief at {address}: {why}. Restart the chief (`kerasmnist "
                       f"worker` with KERASTUNER_TUNER_ID=chief) and this worker; "
                       f"completed trials are kept") from None


@dataclass
class SearchContext:
    """What kerasmnist's tuner hooks need.

    Attributes:
        spec: The run's spec.
        data: The data set.
        run_dir: The run directory.
        events: The run's event log.
        max_here: Trials this process runs before handing over (`MoreTrials`),
            or `None`.
        deadline: Unix time after which no trial starts (`TimeUp`), or `None`.
        params: Weight count of each trial's model, by trial id.
        done_here: Trials this process has ended.
        curves: The trials' curves a pruner compares (`spec.prune`), read from
            the event log; made on first use.
        resumes: The checkpoint each starting trial goes on from, by trial id
            (from `on_trial_begin` to its fit).
        sessions: The TensorBoard HParams sessions each trial under way has
            started here, by trial id (`kerasmnist.runs.hparams`).
    """

    spec: RunSpec
    data: Dataset
    run_dir: Path
    events: EventWriter
    max_here: int | None = None
    deadline: float | None = None
    params: dict[str, int] = field(default_factory=dict)
    done_here: int = 0
    curves: LogCurves | None = None
    resumes: dict[str, CheckpointInfo] = field(default_factory=dict)
    sessions: dict[str, list[Path]] = field(default_factory=dict)

    def pruner(self, trial_id: str) -> Pruner | None:
        """The pruning callback of a trial (`spec.prune`), or `None` without pruning."""
        spec = self.spec
        rule = make_rule(spec.prune, warmup_epochs=spec.prune_warmup_epochs,
                         warmup_trials=spec.prune_warmup_trials, min_epochs=spec.prune_min_epochs,
                         factor=spec.prune_factor)
        if rule is None:
            return None
        if self.curves is None:
            self.curves = LogCurves(self.run_dir / EVENTS_FILE, spec.objective)
        return Pruner(rule, monitor=spec.objective, curves=self.curves, trial_id=trial_id)

    def pruned(self, trial_id: str) -> bool:
        """Whether this process's pruner stopped the trial."""
        return self.curves is not None and trial_id in self.curves.pruned


class SearchMixin(kt.Tuner):
    """Adds kerasmnist's callbacks and trial events to one of keras-tuner's tuners.

    Args:
        context: What the hooks need.
        *args, **kwargs: The tuner's own arguments.
    """

    def __init__(self, *args: Any, context: SearchContext, **kwargs: Any) -> None:
        self.context = context
        super().__init__(*args, **kwargs)

    def on_trial_begin(self, trial: Any) -> None:
        super().on_trial_begin(trial)
        c = self.context
        # A trial of several executions starts over: keras-tuner keeps its executions' results in memory.
        resume = read_resume(c.run_dir, trial.trial_id) if self.executions_per_trial == 1 else None
        if resume is not None:
            c.resumes[trial.trial_id] = resume
        c.events.trial_started(trial.trial_id, trial.hyperparameters.values, worker=self.tuner_id,
                               **resumed_from(resume))

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        c = self.context
        seed_trial(c.spec, trial.trial_id)
        pruner = c.pruner(trial.trial_id)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []),
                               *trial_callbacks(c.spec, c.data, c.events, c.run_dir, trial.trial_id),
                               ParamsRecorder(c.params, trial.trial_id),
                               *([pruner] if pruner is not None else [])]
        return super().run_trial(trial, *args, **kwargs)

    def _build_and_fit_model(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        """Trains the trial's model, checkpointing each epoch; goes on from an interrupted start's checkpoint.

        keras-tuner calls it with the trial's callbacks, its own (`TunerCallback`,
        `SaveBestEpoch`) last. The trial's `EpochCheckpoint` goes just before
        them: after the event log and the CSV log have the epoch (a kill between
        leaves an epoch logged twice, which the fold reads once, never one
        missing), and before `SaveBestEpoch`, whose best-epoch weights are thus
        never of an epoch the checkpoint lacks; on resume it writes them again
        when the last checkpointed epoch was the best. Going on from a
        checkpoint, `SaveBestEpoch` starts from the trial's best value so far,
        not from infinity, so that it never overwrites a better earlier epoch's
        weights with a worse epoch's.
        """
        c = self.context
        resume = c.resumes.pop(trial.trial_id, None)
        if self.executions_per_trial != 1:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        callbacks = list(kwargs.get("callbacks", []))
        theirs = (kt_tuner_utils.TunerCallback, kt_tuner_utils.SaveBestEpoch)
        at = next((i for i, cb in enumerate(callbacks) if isinstance(cb, theirs)), len(callbacks))
        for callback in callbacks[at:]:
            if isinstance(callback, kt_tuner_utils.SaveBestEpoch) and resume is not None \
                    and resume.best_value is not None:
                callback.best_value = resume.best_value
        ours = with_checkpoint(callbacks[:at], checkpoint_dir(c.run_dir, trial.trial_id), resume,
                               monitor=c.spec.objective, mode=c.spec.direction,
                               best_path=self._get_checkpoint_fname(trial.trial_id))
        kwargs["callbacks"] = [*ours, *callbacks[at:]]
        return super()._build_and_fit_model(trial, *args, **kwargs)

    def _configure_tensorboard_dir(self, callbacks: list[Any], trial: Any, execution: int = 0) -> None:
        """Points an execution's TensorBoard callback at its HParams session, and starts the session.

        Replaces keras-tuner's own hook, which nests the logs in
        `<trial>/<trial>/execution<k>`, writes the session with TensorFlow (on its
        backend only) and ends it as a success even when the trial fails: here
        `on_trial_end` ends it with the trial's status (`kerasmnist.runs.hparams`).
        """
        c = self.context
        if not c.spec.tensorboard:
            return
        session = hparams.session_dir(c.run_dir / hparams.TENSORBOARD_DIR, trial.trial_id, execution,
                                      self.executions_per_trial)
        for callback in callbacks:
            if isinstance(callback, keras.callbacks.TensorBoard):
                callback.log_dir = str(session)
        hparams.write_session_start(session, trial.trial_id, trial.hyperparameters.values)
        c.sessions.setdefault(trial.trial_id, []).append(session)

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        c = self.context
        remove_checkpoint(c.run_dir, trial.trial_id)  # once keras-tuner has recorded the end
        ended = self.oracle.get_trial(trial.trial_id)
        status = str(ended.status)
        if status == "COMPLETED" and c.pruned(trial.trial_id):
            status = "PRUNED"  # keras-tuner's oracle keeps it completed, with its best score so far
        c.events.trial_ended(trial.trial_id, status=status, score=ended.score,
                             params=c.params.get(trial.trial_id), worker=self.tuner_id,
                             message=_error_line(ended.message), rss_mb=rss_mb())
        for session in c.sessions.pop(trial.trial_id, []):
            hparams.write_session_end(session, status, score=ended.score,
                                      pruned=status == "PRUNED" if c.spec.prune != "none" else None)
        c.done_here += 1
        if c.deadline is not None and time.time() >= c.deadline:
            raise TimeUp
        if c.max_here and c.done_here >= c.max_here and self._trials_left():
            raise MoreTrials

    def _trials_left(self) -> bool:
        """Whether the search may have trials to run (only a local search asks: its oracle is here).

        Hyperband's schedule and a whole grid (`trials` unset) say so only when
        their next trial is asked for: a fresh process asks.
        """
        trials = self.context.spec.trials
        return self.context.spec.search == "hyperband" or trials is None or len(self.oracle.trials) < trials


class RandomSearch(SearchMixin, kt.RandomSearch):
    """keras-tuner's `RandomSearch` with kerasmnist's callbacks and events."""


class GridSearchOracle(kt.oracles.GridSearchOracle):
    """keras-tuner's grid oracle, whose place in the grid survives a reload.

    keras-tuner keeps the grid's order of the trials and the trials whose next
    cell is due in memory only, not in `oracle.json`; reloaded (on resume, or in
    the next process of a long search) its oracle finds no cell left and ends
    the search early (10 of 12 cells, handed over after 10). `set_state`
    rebuilds both from the trials.
    """

    def set_state(self, state: dict[str, Any]) -> None:
        super().set_state(state)

        def compare(a: str, b: str) -> int:
            values = self.trials[a].hyperparameters.values, self.trials[b].hyperparameters.values
            return int(self._compare(*values))

        order = sorted(self.trials, key=functools.cmp_to_key(compare))
        self._ordered_ids = kt_gridsearch.LinkedList()
        for trial_id in order:
            self._ordered_ids.insert(trial_id)
        # Each trial's next cell is due unless tried: the oracle skips the tried ones.
        self._populate_next = list(order)


class GridSearch(SearchMixin, kt.Tuner):
    """keras-tuner's grid search (its oracle made resumable) with kerasmnist's callbacks and events.

    Without `max_trials` it walks the whole grid.
    """

    def __init__(self, *, context: SearchContext, hypermodel: Any, objective: Any,
                 max_trials: int | None = None, seed: int | None = None, max_retries_per_trial: int = 0,
                 max_consecutive_failed_trials: int = 3, **kwargs: Any) -> None:
        oracle = GridSearchOracle(objective=objective, max_trials=max_trials, seed=seed,
                                  max_retries_per_trial=max_retries_per_trial,
                                  max_consecutive_failed_trials=max_consecutive_failed_trials)
        super().__init__(oracle, hypermodel, context=context, **kwargs)


class Hyperband(SearchMixin, kt.Hyperband):
    """keras-tuner's `Hyperband` with kerasmnist's callbacks and events."""


class BayesianOptimization(SearchMixin, kt.BayesianOptimization):
    """keras-tuner's `BayesianOptimization` with kerasmnist's callbacks and events."""


TUNERS: dict[str, type[SearchMixin]] = {"random": RandomSearch, "grid": GridSearch,
                                         "hyperband": Hyperband, "bayesian": BayesianOptimization}
"""The tuner of each `RunSpec.search` kind."""


def make_tuner(context: SearchContext) -> SearchMixin:
    """The run's tuner, reloading the search that the run directory holds.

    Raises:
        KerasTunerMismatchError: keras-tuner lacks a name the repair needs.
    """
    check_keras_tuner()
    spec, run_dir = context.spec, context.run_dir
    kwargs: dict[str, Any] = {
        "hypermodel": hypermodel(spec, context.data),
        "objective": kt.Objective(spec.objective, spec.direction),
        "seed": oracle_seed(spec.seed),
        "executions_per_trial": spec.executions_per_trial,
        "directory": str(run_dir),
        "project_name": TUNER_PROJECT,
        "overwrite": False,
        "max_retries_per_trial": 0,
        "max_consecutive_failed_trials": spec.max_failed_trials,
    }
    if spec.search == "hyperband":
        kwargs.update(max_epochs=spec.epoch_count, factor=spec.hyperband_factor, hyperband_iterations=1)
    else:
        kwargs["max_trials"] = spec.trials
    if is_distributed() and not is_chief():
        kt_oracle_client.TIMEOUT = chief_timeout()
    if not is_distributed() or is_chief():  # a worker keeps no search files
        _restore_search_files(run_dir, spec)
    with _tuner_io(), contextlib.redirect_stdout(sys.stderr), _chief_errors():
        tuner = TUNERS[spec.search](context=context, **kwargs)
        oracle_file = run_dir / TUNER_PROJECT / "oracle.json"
        if not Path(tuner._get_tuner_fname()).exists() and oracle_file.exists() and (
                not is_distributed() or is_chief()):
            # keras-tuner reloads the oracle only with the tuner's own file, named by tuner
            # id; a search that a distributed chief (or a kill before the first save)
            # left behind has the oracle's file alone.
            tuner.oracle.reload()
    if not is_distributed() or is_chief():  # a worker's oracle is the chief's client
        _repair_oracle(tuner.oracle)
        for trial_id, trial in tuner.oracle.trials.items():
            if str(trial.status) not in ("RUNNING", "IDLE"):  # a kill came after its end, before the clean-up
                remove_checkpoint(run_dir, trial_id)
    return tuner


def run_search(tuner: SearchMixin, spec: RunSpec, data: Dataset, verbose: int) -> None:
    """Runs the tuner's search on the data set (with `MoreTrials` and `TimeUp` let through)."""
    fit = fit_data(data)
    kwargs: dict[str, Any] = {"epochs": spec.epoch_count, "verbose": verbose}
    if "validation_data" in fit:
        kwargs["validation_data"] = fit["validation_data"]
    if spec.batch_size is not None:
        kwargs["batch_size"] = spec.batch_size
    if spec.tensorboard and (not is_distributed() or is_chief()):  # a worker's oracle has no space
        _write_experiment(tuner, spec, data)
    with _tuner_io(), _chief_errors():  # quiet at verbose=0: listeners may print on standard output
        tuner.search(fit["x"], fit["y"], **kwargs)


def _write_experiment(tuner: SearchMixin, spec: RunSpec, data: Dataset) -> None:
    """Writes the search's TensorBoard HParams experiment, unless it is there (`kerasmnist.runs.hparams`).

    kerasmnist's hypermodels declare their whole space (every layer's entries)
    before the first trial, so the experiment written now names them all.
    """
    logdir = tuner.context.run_dir / hparams.TENSORBOARD_DIR
    if hparams.has_experiment(logdir):
        return
    extra = ({name: (0, spec.epoch_count) for name in ("tuner/epochs", "tuner/initial_epoch", "tuner/bracket",
                                                        "tuner/round")}
             if spec.search == "hyperband" else None)
    names = hparams.metric_names(spec.objective, validation=len(data.y_val) > 0, full_eval=spec.full_eval)
    hparams.write_experiment(
        logdir, hparams.experiment_hparams(tuner.oracle.get_space().space, extra=extra),
        hparams.experiment_metrics(names, objective=spec.objective, pruning=spec.prune != "none"))


def best_trial(tuner: SearchMixin, run_dir: Path) -> Any:
    """The search's best trial: the best completed one, a pruned one only when none completed.

    keras-tuner's oracle counts a pruned trial as completed (with its best score
    so far); the event log tells them apart.

    Raises:
        RunError: No trial has a finite score; the message lists the last failures.
    """
    table = trial_table(run_dir / EVENTS_FILE)
    pruned = {t["trial_id"] for t in table if t["status"] == "PRUNED"}
    ranked = [t for t in tuner.oracle.get_best_trials(len(tuner.oracle.trials))
              if t.score is not None and math.isfinite(t.score)]
    best = [t for t in ranked if t.trial_id not in pruned] or ranked
    if not best:
        failures = [f"trial {t['trial_id']}: {t['message']}" for t in table
                    if t["status"] not in ("COMPLETED", "PRUNED")]
        raise RunError("No trial completed with a score. " + "; ".join(failures[-5:]))
    return best[0]


def best_epochs(trial: Any, spec: RunSpec) -> int:
    """Epochs to retrain the best trial for: Hyperband's budget of it, or its best epoch."""
    values = trial.hyperparameters.values
    if "tuner/epochs" in values:
        return int(values["tuner/epochs"])
    best_step = getattr(trial, "best_step", None)
    if spec.early_stopping is not None and best_step is not None:
        return int(best_step) + 1
    return spec.epoch_count


def build_best(tuner: SearchMixin, trial: Any) -> keras.Model:
    """A new, untrained model with the trial's hyperparameters."""
    return tuner.hypermodel.build(trial.hyperparameters)


def _restore_search_files(run_dir: Path, spec: RunSpec) -> None:
    """Checks keras-tuner's files before it reloads them; rebuilds a missing trial's from the event log.

    The oracle's file (`search/oracle.json`) holds what nothing else records (its
    random state, the trials' order), so a search that lost it cannot go on: the
    error names it and the way out. A trial's file (`search/trial_<id>/trial.json`)
    is rebuilt from the trial's events: its hyperparameters, and its status and
    score if it ended (else it runs again, as after any interruption).

    Raises:
        RunError: The oracle's file is missing or unreadable while the search has
            begun, or a trial's file is missing and the log never saw the trial.
    """
    project = run_dir / TUNER_PROJECT
    oracle_file = project / "oracle.json"
    way_out = (f"start the search again in a new run directory (`kerasmnist search --config "
               f"{run_dir / SPEC_FILE}`); this run's finished trials stay in its event log")
    try:
        state = json.loads(oracle_file.read_text(encoding="utf-8"))
        space = state["hyperparameters"]
        ids = {*state["start_order"], *state["end_order"], *state["retry_queue"],
               *state["ongoing_trials"].values()}
    except FileNotFoundError:
        if any(project.glob("trial_*")) or any(project.glob("tuner*.json")):
            raise RunError(f"keras-tuner's search state {oracle_file} is missing, so the search cannot "
                           f"go on; {way_out}") from None
        return  # a search that has not begun
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise RunError(f"keras-tuner's search state {oracle_file} cannot be read ({error!r}); "
                       f"{way_out}") from None
    events = run_state(run_dir)
    for trial_id in sorted(map(str, ids)):
        path = project / f"trial_{trial_id}" / "trial.json"
        if not path.exists():
            _rebuild_trial(path, trial_id, space, events.trials.get(trial_id), spec, way_out)


def _rebuild_trial(path: Path, trial_id: str, space: dict[str, Any], seen: Any, spec: RunSpec,
                   way_out: str) -> None:
    """Writes the keras-tuner file of a trial from what the event log saw of it (`seen`, a TrialState)."""
    if seen is None:
        raise RunError(f"keras-tuner's trial file {path} is missing and the event log never saw trial "
                       f"{trial_id}; {way_out}")
    hyperparameters = kt.HyperParameters.from_config(space)
    hyperparameters.values.update(seen.hyperparameters)
    status = str(seen.status) if seen.ended else "RUNNING"  # a trial that did not end runs again
    if status == "PRUNED":
        status = "COMPLETED"  # as keras-tuner's oracle knows a pruned trial
    trial = kt.engine.trial.Trial(hyperparameters, trial_id=trial_id, status=status)
    trial.score, trial.message = seen.score, seen.message
    scores = [(epoch.get("logs") or {}).get(spec.objective) for epoch in seen.epochs]
    finite = [(value, step) for step, value in enumerate(scores) if isinstance(value, (int, float))]
    if finite:
        pick = max if spec.direction == "max" else min
        trial.best_step = pick(finite)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    with _tuner_io():
        trial.save(str(path))


def _repair_oracle(oracle: Any) -> None:
    """Makes a reloaded oracle consistent with its trial files after a hard kill.

    keras-tuner writes a trial's file and then the oracle's; a kill between the
    two leaves a trial that is running in its file but unknown to the oracle
    (it would never run again), or one completed in its file but still
    queued for a retry (it would run twice).

    Raises:
        KerasTunerMismatchError: The oracle has no retry queue to repair.
    """
    if not hasattr(oracle, "_retry_queue"):
        raise KerasTunerMismatchError(
            f"Cannot repair the search's oracle ({type(oracle).__name__}): it has no `_retry_queue` "
            f"(keras-tuner {kt.__version__}); a trial interrupted by a kill could run twice or never")
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
    original, debug = kt_utils.save_json, kt_config.DEBUG

    def save_json(path: str, obj: Any) -> str:
        text = json.dumps(obj)
        atomic_write_text(path, text)
        return text

    kt_utils.save_json, kt_config.DEBUG = save_json, False
    try:
        yield
    finally:
        kt_utils.save_json, kt_config.DEBUG = original, debug


def _error_line(message: str | None) -> str | None:
    """The error of a trial's traceback: the exception's first line, without its class path."""
    if not message or not message.strip():
        return None
    lines = message.strip().splitlines()
    for line in reversed(lines):
        match = re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Failed|Exceeded|Trial): (.*)$", line)
        if match:
            return match.group(2)
    return lines[-1]
