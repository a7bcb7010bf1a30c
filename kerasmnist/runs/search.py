"""Every contact of the run engine with keras-tuner: tuners, trials, the oracle's repair.

A search's tuner is one of keras-tuner's four, with `SearchMixin` adding
kerasmnist's callbacks and trial events through keras-tuner's documented hooks
(`on_trial_begin`, `run_trial`, `on_trial_end`); what the hooks need travels in
one `SearchContext`.

A few things have no public keras-tuner API: writing its JSON files atomically,
keeping a failed trial's traceback off the terminal, telling a distributed chief
from a worker, and repairing an oracle that a hard kill left inconsistent. The
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
from keras_tuner.src.tuners import gridsearch as kt_gridsearch

from kerasmnist.datasets import Dataset
from kerasmnist.errors import InvalidArgumentError, KerasTunerMismatchError, RunError
from kerasmnist.events import EventWriter
from kerasmnist.fileio import atomic_write_text
from kerasmnist.runs.processes import rss_mb
from kerasmnist.runs.rundir import EVENTS_FILE, SPEC_FILE, run_state, trial_table
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.training import ParamsRecorder, fit_data, hypermodel, seed_trial, trial_callbacks

__all__ = ["CHIEF_TIMEOUT_VARIABLE", "DEFAULT_CHIEF_TIMEOUT", "PRIVATE_NAMES", "TUNERS", "TUNER_PROJECT",
           "MoreTrials", "SearchContext", "SearchMixin", "TimeUp", "best_epochs", "best_trial",
           "check_keras_tuner", "chief_timeout", "is_chief", "is_distributed",
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
            owner = owner(objective="val_accuracy", max_trials=1)  # an oracle's arguments
    return True


def is_distributed() -> bool:
    """Whether this process is part of a keras-tuner distributed search (its variables set)."""
    return bool(kt_distribute.has_chief_oracle())


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
    """

    spec: RunSpec
    data: Dataset
    run_dir: Path
    events: EventWriter
    max_here: int | None = None
    deadline: float | None = None
    params: dict[str, int] = field(default_factory=dict)
    done_here: int = 0


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
        self.context.events.trial_started(trial.trial_id, trial.hyperparameters.values,
                                          worker=self.tuner_id)

    def run_trial(self, trial: Any, *args: Any, **kwargs: Any) -> Any:
        c = self.context
        seed_trial(c.spec, trial.trial_id)
        kwargs["callbacks"] = [*kwargs.get("callbacks", []),
                               *trial_callbacks(c.spec, c.data, c.events, c.run_dir, trial.trial_id),
                               ParamsRecorder(c.params, trial.trial_id)]
        return super().run_trial(trial, *args, **kwargs)

    def on_trial_end(self, trial: Any) -> None:
        super().on_trial_end(trial)
        c = self.context
        ended = self.oracle.get_trial(trial.trial_id)
        c.events.trial_ended(trial.trial_id, status=str(ended.status), score=ended.score,
                             params=c.params.get(trial.trial_id), worker=self.tuner_id,
                             message=_error_line(ended.message), rss_mb=rss_mb())
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
        "seed": spec.seed,
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
    return tuner


def run_search(tuner: SearchMixin, spec: RunSpec, data: Dataset, verbose: int) -> None:
    """Runs the tuner's search on the data set (with `MoreTrials` and `TimeUp` let through)."""
    fit = fit_data(data)
    kwargs: dict[str, Any] = {"epochs": spec.epoch_count, "verbose": verbose}
    if "validation_data" in fit:
        kwargs["validation_data"] = fit["validation_data"]
    if spec.batch_size is not None:
        kwargs["batch_size"] = spec.batch_size
    with _tuner_io(), _chief_errors():  # quiet at verbose=0: listeners may print on standard output
        tuner.search(fit["x"], fit["y"], **kwargs)


def best_trial(tuner: SearchMixin, run_dir: Path) -> Any:
    """The search's best trial.

    Raises:
        RunError: No trial has a finite score; the message lists the last failures.
    """
    best = tuner.oracle.get_best_trials(1)
    if not best or best[0].score is None or not math.isfinite(best[0].score):
        failures = [f"trial {t['trial_id']}: {t['message']}" for t in trial_table(run_dir / EVENTS_FILE)
                    if t["status"] != "COMPLETED"]
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
