"""The run engine: `run(spec, run_dir)` trains or searches, durably.

A run lives in a directory, which holds everything needed to follow it, resume it
and use what it produced:

    spec.toml                  the RunSpec (written first, read by resume)
    events.jsonl               the event log (kerasmnist.events), appended live
    search/                    keras-tuner's project: oracle, trials, checkpoints
    replicates/r0/ ...         each plain-training (or retrained) model and result
    checkpoints/trial_<id>/    the training state of each trial (or replicate) in progress,
                               after its last finished epoch; deleted when it ends
    logs/<trial>.csv           each trial's epochs (CSVLogger), when asked
    tensorboard/               TensorBoard logs, when asked (a search's HParams too)
    results.json               everything measured, for scripts
    results.txt                the train / validation / test table and trials
    confusion.txt              the test confusion matrix and top confusions
    best_model.keras           the best model
    best_hyperparameters.json  its hyperparameters

Running again on the same directory resumes: completed trials and replicates are
kept, an interrupted one goes on from its last finished epoch (its checkpoint:
weights, optimizer and random state, early stopping's count; one of several
executions per trial, or a replicate with a teacher or random restarts, starts
over). Every file is written to a temporary name and renamed (keras-tuner's own
JSON files included), and the event log is only ever appended, so a run killed
at any moment, even with SIGKILL, leaves a directory that resumes and a log that
reads. The test set is evaluated once, at
the end, on the chosen model (and on each replicate, for their statistics).

TensorFlow keeps a few MiB of every model a process has built, so a long search
would grow without end in one process: a search of more than
`trials_per_process` trials runs them in fresh child processes
(`kerasmnist.runs.processes`) of as many trials each; resuming makes each
hand-over lossless.

This module holds the flow and imports no Keras: the Keras work is in `local`
(replicates, a search's trials here, the result), imported only once this
process has such work, so that a parent holds no TensorFlow while its children
train. `processes` runs the children and workers, `prepare` the run directory.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from kerasmnist.backend import load_backend
from kerasmnist.errors import InvalidArgumentError, RunBusyError, RunError, SpecError
from kerasmnist.events import EventWriter
from kerasmnist.runs import processes
from kerasmnist.runs.prepare import prepare_run_dir
from kerasmnist.runs.processes import EXIT_MORE_TRIALS, EXIT_TIME_UP, Listener
from kerasmnist.runs.rundir import EVENTS_FILE, RunLock, load_spec, run_state
from kerasmnist.runs.spec import RunSpec

if TYPE_CHECKING:
    from kerasmnist.runs.results import RunResult

__all__ = ["DEFAULT_TRIALS_PER_PROCESS", "EXIT_MORE_TRIALS", "EXIT_TIME_UP", "RunBusyError", "RunError",
           "RunResult", "hyperband_trials", "prepare_run_dir", "resume", "run", "run_distributed",
           "search_worker"]

DEFAULT_TRIALS_PER_PROCESS = 10


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

    The spec is resolved first (`RunSpec.resolved()`: a preset's recipe fills in
    its epochs and batch size), and `spec.toml` records the resolved spec.

    Args:
        spec: What to run.
        run_dir: The run directory; created if needed. If it already holds a
            run, `spec` must resolve to the same spec (use `resume` to continue
            one without restating it).
        listeners: Callables given each event as it is written. Defaults to none.
        verbose: Keras's and keras-tuner's own verbosity. Defaults to `0`.
        trials_per_process: A search of more trials than this runs them in fresh
            child processes of this many trials each, so memory stays flat
            however long it runs (TensorFlow keeps a few MiB of every model it
            has built until its process ends), and this process builds no model
            while they train. `None` runs every trial here. Defaults to `10`.

    Returns:
        A `RunResult`, also written to `results.json`.

    Raises:
        InvalidArgumentError: `run_dir` holds a run with a different spec.
        RunBusyError: Another process is running `run_dir`.
        RunError: No trial or replicate completed.
        KeyboardInterrupt: The run was interrupted (recorded as
            `run_interrupted`; running it again resumes).

    Example:

    >>> import kerasmnist as km  # doctest: +SKIP
    >>> result = km.run(km.RunSpec(model="mnist_cnn"), "runs/cnn")  # doctest: +SKIP
    >>> result.spec.epochs  # the recipe's  # doctest: +SKIP
    15
    """
    spec = spec.resolved()
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    with RunLock(run_dir) as lock:
        resumed = prepare_run_dir(spec, run_dir)
        events = EventWriter(run_dir / EVENTS_FILE, listeners=listeners)
        started = time.perf_counter()
        try:
            events.run_started(spec.to_dict(), plan=_plan(spec), resumed=resumed)
            deadline = time.time() + 60 * spec.max_minutes if spec.max_minutes else None

            def in_children() -> bool:  # whether the children stopped at the time limit
                return processes.continue_in_children(run_dir, trials_per_process, events.listeners, deadline,
                                                      lock)

            with _interrupt_on_sigterm():
                time_up = False
                if spec.search != "none" and _hand_over(spec, run_dir, trials_per_process):
                    time_up = in_children()  # every trial in children: nothing of Keras here meanwhile
                local = _local(verbose)
                result = local.run_here(spec, run_dir, events, verbose, trials_per_process=trials_per_process,
                                        deadline=deadline, time_up=time_up, in_children=in_children)
            result.seconds = time.perf_counter() - started
            local.write_results(result)
            events.run_ended(result.summary())
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
        SpecError: Its spec is invalid (the error names the field).
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
        `max_trials` with trials left, `"time"` when it stopped at `deadline`
        (`kerasmnist.runs.processes.EXIT_STATUS` maps them to exit statuses).

    Raises:
        InvalidArgumentError: No run spec in `run_dir`, a spec without a search,
            or only some of the environment variables are set.
        RunBusyError: Another process runs `run_dir` (a search process holds the
            run's lock: the one its parent handed down, else its own).
    """
    names = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")
    missing = [v for v in names if not os.environ.get(v)]
    if 0 < len(missing) < len(names):
        raise InvalidArgumentError(f"A distributed search process needs the environment "
                                   f"variables {list(names)}; {missing} are not set")
    run_dir = Path(run_dir)
    spec = load_spec(run_dir)
    if spec.search == "none":
        raise SpecError("search", "a search process needs a search, found 'none'")
    local = len(missing) == len(names)  # none set: continuing a search alone
    # Whatever writes the directory holds its lock: the one a parent handed down, else
    # the run's (alone) or a share of it (one of a distributed search's processes).
    lock = processes.inherited_lock(run_dir) or RunLock(run_dir, shared=not local)
    with lock, EventWriter(run_dir / EVENTS_FILE) as events:
        return _local(verbose).search_here(spec, run_dir, events, verbose,
                                           max_trials=max_trials if local else None,
                                           deadline=deadline if local else None)


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
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidArgumentError(
            f"Invalid value for argument `workers`. Expected an integer >= 1. Received: {workers!r}")
    if spec.search == "none":
        raise SpecError("search", "a distributed run needs a search, found 'none'")
    spec = spec.resolved()
    run_dir = Path(run_dir)
    prepare_run_dir(spec, run_dir)
    if port is None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    with RunLock(run_dir) as lock:
        with EventWriter(run_dir / EVENTS_FILE) as events:
            events.run_started(spec.to_dict(), plan=_plan(spec), resumed=True, workers=workers)
        processes.run_workers(run_dir, workers, port, listeners, poll_interval=poll_interval, lock=lock)
    return run(spec, run_dir, listeners=listeners)


# -- the run ---------------------------------------------------------------------------


def _local(verbose: int) -> ModuleType:
    """`kerasmnist.runs.local`, the run's Keras work, imported only when this process has some."""
    load_backend(verbose=verbose > 0)  # hides TensorFlow's start-up lines
    from kerasmnist.runs import local  # imports Keras and TensorFlow

    return local


def hyperband_trials(max_epochs: int, factor: int) -> int:
    """How many trials keras-tuner's Hyperband runs in one iteration (its oracle's formulas)."""
    brackets, epochs = 0, float(max_epochs)
    while epochs >= 1:
        epochs /= factor
        brackets += 1
    end_size = math.ceil(1 + math.log(max_epochs, factor))
    return sum(math.ceil(end_size / (b + 1) * factor ** (b - r))
               for b in range(brackets) for r in range(b + 1))


def _hand_over(spec: RunSpec, run_dir: Path, trials_per_process: int | None) -> bool:
    """Whether a search's remaining trials are more than one process runs (or their number is unknown)."""
    if not trials_per_process:
        return False
    planned = _plan(spec)["trials"]
    if planned is None:  # a grid search walking the whole grid
        return True
    return planned - run_state(run_dir).trials_done > trials_per_process


def _plan(spec: RunSpec) -> dict[str, Any]:
    """What a run expects to run: trials (or replicates) and epochs each."""
    trials: int | None
    if spec.search == "none":
        trials = spec.replicates
    elif spec.search == "hyperband":
        trials = hyperband_trials(spec.epoch_count, spec.hyperband_factor)
    else:
        trials = spec.trials  # None: a grid search walks the whole grid, of a size known once built
    return {"trials": trials, "epochs": spec.epoch_count}


@contextlib.contextmanager
def _interrupt_on_sigterm() -> Iterator[None]:
    """Turns SIGTERM into KeyboardInterrupt (in the main thread), for a graceful stop."""
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


def __getattr__(name: str) -> Any:
    if name == "RunResult":  # lives with the Keras work; imported on demand
        from kerasmnist.runs.results import RunResult

        return RunResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
