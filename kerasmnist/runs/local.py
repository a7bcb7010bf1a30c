"""The Keras work of a run in this process: replicates, a search's trials here, the result.

The run engine (`kerasmnist.runs.engine`) holds the flow and imports this module
(and so Keras and TensorFlow) only once this process has Keras work to do: a
parent whose search goes on in child processes holds no TensorFlow while they
train. The work itself is done by `training` (replicates, restarts,
distillation), `search` (keras-tuner) and `results` (the end of a run).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import keras

# The presets' layer and loss, registered so that saved models load:
from kerasmnist import layers, losses  # noqa: F401
from kerasmnist.events import EventWriter
from kerasmnist.runs import search, training
from kerasmnist.runs.results import RunResult, finish, write_results
from kerasmnist.runs.spec import RunSpec

__all__ = ["run_here", "search_here", "write_results"]


def run_here(
    spec: RunSpec,
    run_dir: Path,
    events: EventWriter,
    verbose: int,
    *,
    trials_per_process: int | None,
    deadline: float | None,
    time_up: bool,
    in_children: Callable[[], bool],
) -> RunResult:
    """Trains a run's replicates, or runs what is left of its search here and finishes it.

    Args:
        spec: The run's (resolved) spec.
        run_dir: The run directory.
        events: The run's event log.
        verbose: Keras's and keras-tuner's own verbosity.
        trials_per_process: Trials this process runs before handing the rest
            to `in_children`, or `None` for all.
        deadline: Unix time after which no trial starts, or `None`.
        time_up: Whether the search already stopped at its time limit (in
            children): no trial runs here.
        in_children: Runs the rest of the search in child processes; returns
            whether they stopped at the time limit.

    Returns:
        The run's result, not yet written.
    """
    training.seed_everything(spec)
    data = training.load_data(spec)
    if spec.search == "none":
        best_hp = training.plain_hyperparameters(spec, data)
        models = training.train_replicates(spec, data, run_dir / "replicates", events, verbose,
                                           build=training.plain_builder(spec, data), hyperparameters=best_hp)
        return finish(spec, run_dir, data, models, best_hp, events)
    tuner = search.make_tuner(search.SearchContext(spec, data, run_dir, events, max_here=trials_per_process,
                                                   deadline=deadline))
    try:
        if not time_up:
            search.run_search(tuner, spec, data, verbose)
    except search.TimeUp:
        time_up = True
    except search.MoreTrials:  # more trials than planned here (a grid of unknown size): the rest in children
        del tuner
        keras.backend.clear_session()
        time_up = in_children()
        tuner = search.make_tuner(search.SearchContext(spec, data, run_dir, events))  # reloads the search
        if not time_up:
            search.run_search(tuner, spec, data, verbose)
    best = search.best_trial(tuner, run_dir)
    best_hp = dict(best.hyperparameters.values)
    if spec.best_model == "checkpoint":
        models = {best.trial_id: (tuner.load_model(best), best.score)}
    else:
        retrain = spec.replace(epochs=search.best_epochs(best, spec), early_stopping=None)
        models = training.train_replicates(
            retrain, training.merged_train_validation(data), run_dir / "final", events, verbose,
            build=lambda: search.build_best(tuner, best), hyperparameters=best_hp, prefix="final_r")
    result = finish(spec, run_dir, data, models, best_hp, events)
    result.trained_on_validation = spec.best_model == "retrain"
    result.time_limit_reached = time_up
    return result


def search_here(
    spec: RunSpec,
    run_dir: Path,
    events: EventWriter,
    verbose: int,
    *,
    max_trials: int | None,
    deadline: float | None,
) -> str:
    """Runs trials of a run's search in this process (see `engine.search_worker`).

    Returns:
        `"done"`, `"more"` (stopped after `max_trials` with trials left) or
        `"time"` (stopped at `deadline`).
    """
    training.seed_everything(spec)
    data = training.load_data(spec)
    context = search.SearchContext(spec, data, run_dir, events, max_here=max_trials, deadline=deadline)
    try:
        search.run_search(search.make_tuner(context), spec, data, verbose)
    except search.MoreTrials:
        return "more"
    except search.TimeUp:
        return "time"
    return "done"
