"""`kerasmnist train`, `search`, `resume`, `runs` and `worker`: runs from the command line."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table

from kerasmnist.cli import readout
from kerasmnist.cli.common import (
    EXIT_FAILED,
    EXIT_OK,
    add_json_flag,
    console,
    emit_json,
    save_plot,
)
from kerasmnist.cli.data import validation_size
from kerasmnist.cli.progress import RunProgress
from kerasmnist.errors import InvalidArgumentError, RunError, SpecError, UsageError
from kerasmnist.evaluation import confusion_heatmap
from kerasmnist.importance import Importance, RunImportance, importance_of, share_bar
from kerasmnist.pareto import FrontTrial, best_under, front_trials, pareto_front, parse_budgets, spec_budgets
from kerasmnist.runs import engine
from kerasmnist.runs.prepare import DEFAULT_RUNS_DIR, differing_fields, new_run_dir, usable_dir
from kerasmnist.runs.processes import EXIT_STATUS
from kerasmnist.runs.rundir import (
    EVENTS_FILE,
    SPEC_FILE,
    list_runs,
    load_spec,
    read_results,
    run_info,
    run_state,
)
from kerasmnist.runs.spec import (
    BEST_MODEL_CHOICES,
    PRUNERS,
    SEARCH_KINDS,
    RunSpec,
    objective_direction,
    parse_override,
)
from kerasmnist.runs.state import RunState, Spend
from kerasmnist.runs.trials import (
    TrialState,
    rank_trials,
    short_value,
    training_time_text,
    varying_hyperparameters,
)

__all__ = ["register", "spec_from_args"]

EXIT_INTERRUPTED = 130

# Flags that set a spec field of the same name (dest -> field).
_SPEC_FLAGS = ("dataset", "validation", "model", "search", "trials", "epochs", "batch_size",
               "early_stopping", "max_params", "seed", "replicates", "executions_per_trial",
               "best_model", "objective", "limit", "hyperband_factor", "max_failed_trials",
               "max_minutes", "full_eval", "csv_log", "tensorboard", "deterministic", "prune",
               "prune_warmup_epochs", "prune_warmup_trials", "prune_min_epochs", "prune_factor")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `train`, `search`, `resume`, `runs` and `worker`."""
    train = subparsers.add_parser(
        "train", help="train one configuration (a preset, or a hypermodel's defaults)",
        description="Train one model and evaluate it. With no options: an MLP on the bundled "
                    "MNIST sample, offline.")
    _add_spec_flags(train, search=False)
    train.set_defaults(func=_run_command, search_command=False)

    search = subparsers.add_parser(
        "search", help="search a hypermodel's space with keras-tuner",
        description="Search hyperparameters with keras-tuner, then evaluate the best model.")
    _add_spec_flags(search, search=True)
    search.add_argument("--workers", type=int, default=None, metavar="N",
                        help="run the search with keras-tuner's distributed mode: a chief and N "
                             "worker processes on this machine")
    search.set_defaults(func=_run_command, search_command=True)

    resume = subparsers.add_parser("resume", help="continue an interrupted run",
                                   description="Continue a run from its directory: completed "
                                               "trials are kept, an interrupted one is restarted.")
    resume.add_argument("run_dir", help="the run directory")
    _add_output_flags(resume)
    resume.set_defaults(func=_resume_command)

    runs = subparsers.add_parser("runs", help="list and show runs")
    runs_sub = runs.add_subparsers(dest="runs_command", metavar="COMMAND", required=True)
    listing = runs_sub.add_parser("list", help="the runs in a runs directory, newest first")
    listing.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                         help=f"where runs are (default: ./{DEFAULT_RUNS_DIR})")
    add_json_flag(listing)
    listing.set_defaults(func=_list_command)
    show = runs_sub.add_parser("show", help="one run: status, trials, results")
    show.add_argument("run_dir", help="the run directory")
    add_json_flag(show)
    show.set_defaults(func=_show_command)
    pareto = runs_sub.add_parser(
        "pareto", help="the accuracy-versus-weights front of one or several runs",
        description="The trials no other trial beats on both weights and score (completed "
                    "and pruned trials, of runs with the same objective), fewest weights first.")
    pareto.add_argument("run_dirs", nargs="+", metavar="RUN", help="a run directory")
    pareto.add_argument("--budgets", metavar="N,N,...",
                        help="weight budgets (150,500): also the best trial under each (default: "
                             "the runs' max_params and `budget` override)")
    pareto.add_argument("--plot", metavar="FILE.png",
                        help="also draw every trial and the front in a PNG (needs matplotlib)")
    add_json_flag(pareto)
    pareto.set_defaults(func=_pareto_command)
    readout.register(runs_sub)  # export, compare

    worker = subparsers.add_parser(
        "worker", help="one process of a distributed search (chief or worker)",
        description="Run one process of a distributed search on a run directory made by "
                    "`kerasmnist search`. The role comes from KERASTUNER_TUNER_ID ('chief' "
                    "serves trials, any other id runs them), KERASTUNER_ORACLE_IP and "
                    "KERASTUNER_ORACLE_PORT.")
    worker.add_argument("run_dir", help="the run directory (shared with the chief)")
    worker.add_argument("--max-trials", type=int, default=None, metavar="N",
                        help="without the variables (continuing a search alone): stop after N "
                             "trials, with exit status 75 if trials are left")
    worker.add_argument("--deadline", type=float, default=None, metavar="UNIX_TIME",
                        help="without the variables: start no trial after this time (exit 76)")
    worker.set_defaults(func=_worker_command)


def _add_spec_flags(parser: argparse.ArgumentParser, *, search: bool) -> None:
    spec = parser.add_argument_group("run spec (flags override --config)")
    spec.add_argument("--config", metavar="TOML", help="read the spec from a TOML file")
    spec.add_argument("--dataset", help="data set name (default: mnist_sample, bundled)")
    spec.add_argument("--validation", type=validation_size,
                      help="validation examples carved from training: a count or a fraction "
                           "(default: 0.1)")
    spec.add_argument("--model", help="hypermodel kind (mlp, cnn, tiny) or preset name "
                                      "(default: mlp)")
    spec.add_argument("--set", dest="overrides", action="append", default=[], metavar="NAME=VALUE",
                      help="hyperparameter override: a value fixes it, [a, b] restricts it, "
                           "low..high narrows it (repeatable)")
    if search:
        spec.add_argument("--search", choices=[k for k in SEARCH_KINDS if k != "none"],
                          help="the tuner (default: random)")
        spec.add_argument("--trials", type=int,
                          help="most trials (default: 10; a grid search walks the whole grid)")
        spec.add_argument("--executions-per-trial", type=int, help="models per trial (default: 1)")
        spec.add_argument("--best-model", choices=BEST_MODEL_CHOICES,
                          help="the best trial's checkpoint, or a retrain on train+validation "
                               "with its hyperparameters (default: checkpoint)")
        spec.add_argument("--hyperband-factor", type=int, help="Hyperband's factor (default: 3)")
        spec.add_argument("--max-failed-trials", type=int,
                          help="stop after this many failed trials in a row (default: 10)")
        spec.add_argument("--max-minutes", type=float,
                          help="start no new trial after this many minutes")
        spec.add_argument("--prune", choices=PRUNERS,
                          help="stop hopeless trials early: median (worse than the completed "
                               "trials' median at the same epoch) or halving (asynchronous "
                               "successive halving); random, grid and Bayesian searches "
                               f"(default: {RunSpec.prune})")
        spec.add_argument("--prune-warmup-epochs", type=int, metavar="N",
                          help="median: epochs a trial trains before it can be pruned "
                               f"(default: {RunSpec.prune_warmup_epochs})")
        spec.add_argument("--prune-warmup-trials", type=int, metavar="N",
                          help="median: trials that complete before any is pruned "
                               f"(default: {RunSpec.prune_warmup_trials})")
        spec.add_argument("--prune-min-epochs", type=int, metavar="N",
                          help="halving: the first rung's epochs "
                               f"(default: {RunSpec.prune_min_epochs})")
        spec.add_argument("--prune-factor", type=int, metavar="N",
                          help="halving: keep the best 1/N at each rung "
                               f"(default: {RunSpec.prune_factor})")
    spec.add_argument("--epochs", type=int,
                      help="epochs per trial; Hyperband's most (default: 5; a preset's recipe)")
    spec.add_argument("--batch-size", type=int,
                      help="batch size (default: the hypermodel's, 128; a preset's recipe)")
    spec.add_argument("--early-stopping", type=int, metavar="PATIENCE",
                      help="stop a trial after PATIENCE epochs without improvement")
    spec.add_argument("--max-params", type=int, help="parameter budget")
    spec.add_argument("--seed", type=int, help="seed (default: 0)")
    spec.add_argument("--replicates", type=int,
                      help="models trained for the final configuration, with mean and std")
    spec.add_argument("--objective", help="val_accuracy (default), val_loss, train_accuracy, "
                                          "train_loss")
    spec.add_argument("--limit", type=int, help="train on the first LIMIT training examples only")
    spec.add_argument("--no-full-eval", dest="full_eval", action="store_const", const=False,
                      help="skip the full training-set evaluation after each epoch")
    spec.add_argument("--no-csv", dest="csv_log", action="store_const", const=False,
                      help="do not write logs/<trial>.csv")
    spec.add_argument("--tensorboard", action="store_const", const=True,
                      help="write TensorBoard logs (a search: also its HParams dashboard)")
    spec.add_argument("--deterministic", action="store_const", const=True,
                      help="Keras/TensorFlow op determinism for bit-for-bit runs; slower")
    where = parser.add_argument_group("where")
    where.add_argument("--run-dir", help="the run directory (default: RUNS_DIR/<time>-<dataset>-"
                                         "<model>[-<search>])")
    where.add_argument("--runs-dir", default=DEFAULT_RUNS_DIR,
                       help=f"where new run directories go (default: ./{DEFAULT_RUNS_DIR})")
    _add_output_flags(parser)


def _add_output_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--trials-per-process", type=int, default=10, metavar="N",
                        help="run a search's trials N at a time in fresh processes, so memory "
                             "stays flat (0: all in this process; default: 10)")
    add_json_flag(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--verbose", action="store_true",
                        help="also show Keras's and keras-tuner's own output")


def spec_from_args(args: argparse.Namespace) -> RunSpec:
    """Builds the spec: `--config`'s file (or the defaults), then each flag given, resolved
    (`RunSpec.resolved()`: a preset's recipe fills in what no flag set).

    Everything is checked here, overrides included, without Keras.

    Raises:
        InvalidArgumentError: An invalid field or override (`SpecError`, naming
            it), or a `--config` that cannot be read as TOML (`UsageError`).
    """
    values: dict[str, Any] = {}
    if getattr(args, "config", None):
        config = _read_config(args.config)
        values = {**config.to_dict(), "overrides": dict(config.overrides)}  # ranges stay tuples
    for name in _SPEC_FLAGS:
        value = getattr(args, name, None)
        if value is not None:
            values[name] = value
    if args.search_command:
        values.setdefault("search", "random")
    elif values.get("search", "none") != "none":
        raise InvalidArgumentError(
            f"`kerasmnist train` trains one configuration, but the spec sets search = "
            f"{values['search']!r}; use `kerasmnist search`")
    overrides = dict(values.get("overrides", {}))
    for text in args.overrides:
        name, value = _parsed_override(text)
        overrides[name] = value
    values["overrides"] = overrides
    return RunSpec.from_dict(values, source=args.config).resolved()


def _read_config(path: str) -> RunSpec:
    """`--config`'s spec; a file that is missing, unreadable, not UTF-8 or not TOML is a `UsageError`."""
    def refused(found: str) -> UsageError:
        return UsageError("config", f"Invalid value for argument `--config`. Expected a TOML file "
                                    f"(UTF-8 text). Received: {path!r}, {found}")

    if not Path(path).is_file():
        raise refused("which is not a file" if Path(path).exists() else "which does not exist")
    try:
        return RunSpec.from_toml(path)
    except SpecError as error:
        if error.field != "(file)":
            raise
        raise refused(f"which is {error.detail}") from None
    except OSError as error:
        raise refused(f"which cannot be read: {error.strerror or error}") from None


def _parsed_override(text: str) -> tuple[str, Any]:
    try:
        return parse_override(text)
    except InvalidArgumentError as error:
        raise UsageError("overrides", str(error)) from None


def _usable_dir(path: Path, field: str, flag: str) -> Path:
    """`runs.prepare.usable_dir`, its refusal a `UsageError` naming the flag."""
    try:
        return usable_dir(path, argument=flag)
    except InvalidArgumentError as error:
        raise UsageError(field, str(error)) from None


def _run_command(args: argparse.Namespace) -> int:
    spec = spec_from_args(args)  # before Keras loads: a mistake is refused at once
    if args.run_dir:
        run_dir = _usable_dir(Path(args.run_dir), "run_dir", "--run-dir")
        changed = differing_fields(spec, run_dir)
        if changed:
            raise UsageError("run_dir", f"Invalid value for argument `--run-dir`. {str(run_dir)!r} holds a "
                                        f"run with a different spec (fields {changed} differ); resume it "
                                        f"(`kerasmnist resume {run_dir}`), or use a new directory")
    else:
        run_dir = new_run_dir(_usable_dir(Path(args.runs_dir), "runs_dir", "--runs-dir"), spec)
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 1:
        raise UsageError("workers", f"Invalid value for argument `--workers`. Expected an integer "
                                    f">= 1. Received: {workers}")
    return _execute(args, run_dir, spec, workers=workers)


def _resume_command(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir)
    if not (run_dir / SPEC_FILE).is_file():
        raise UsageError("run_dir", f"Invalid value for argument `run_dir`. Expected a run directory "
                                    f"holding {SPEC_FILE}. Received: {args.run_dir!r}, which has none")
    spec = load_spec(run_dir)  # its overrides checked, before Keras loads
    return _execute(args, run_dir, spec, workers=None)


def _execute(args: argparse.Namespace, run_dir: Path, spec: RunSpec, *, workers: int | None) -> int:
    # The engine loads Keras only when this process has Keras work to do: a parent whose
    # search runs in child processes holds no TensorFlow while they train.
    err = console(stderr=True)
    done = run_info(run_dir).trials_done if (run_dir / "spec.toml").is_file() else 0
    if not args.json:
        err.print(f"Run directory: {run_dir}")
    try:
        with _progress(args, err, done) as listeners, _stdout_to_stderr(args.json):
            if workers:
                result = engine.run_distributed(spec, run_dir, workers=workers, listeners=listeners)
            else:
                result = engine.run(spec, run_dir, listeners=listeners,
                                    verbose=1 if args.verbose else 0,
                                    trials_per_process=args.trials_per_process or None)
    except KeyboardInterrupt:
        # The run is recorded as interrupted; a second signal (one delivered late, while
        # TensorFlow held the interpreter) must not kill the process before it reports.
        # The handler is put back after: left ignored, it would be inherited by every
        # process a caller of `main()` starts later, which then could not be stopped.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            message = f"Interrupted. Continue with: kerasmnist resume {run_dir}"
            if args.json:
                emit_json({"status": "interrupted", "run_dir": str(run_dir), "message": message})
            else:
                err.print(message)
        finally:
            signal.signal(signal.SIGINT, previous)
        return EXIT_INTERRUPTED
    except RunError as error:
        if args.json:
            emit_json({"status": "failed", "run_dir": str(run_dir), "error": str(error)})
        else:
            err.print(f"Run failed: {error}")
        return EXIT_FAILED
    if args.json:
        emit_json(result.to_dict())
    else:
        _print_results(result.to_dict())
    return EXIT_OK


@contextlib.contextmanager
def _progress(args: argparse.Namespace, err: Any, done: int) -> Iterator[list[Any]]:
    if args.quiet:
        yield []
        return
    with RunProgress(err, trials_done=done) as progress:
        yield [progress]


@contextlib.contextmanager
def _stdout_to_stderr(active: bool) -> Iterator[None]:
    """Keeps standard output for the one JSON document: the libraries' prints go to stderr."""
    if not active:
        yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _print_results(result: dict[str, Any], importance: RunImportance | None = None) -> None:
    out = console()
    spec = result["spec"]
    table = Table(title=f"{spec['dataset']}: {spec['model']}, best {result['best_trial']} "
                        f"({result['params']:,} weights)")
    for column in ("split", "examples", "loss", "accuracy", "error %"):
        table.add_column(column, justify="left" if column == "split" else "right")
    for s in result["splits"]:  # a loss that was NaN is null
        table.add_row(s["split"], f"{s['examples']:,}", _fixed(s["loss"], 4), _fixed(s["accuracy"], 4),
                      _fixed(s["error_rate"], 2))
    out.print(table)
    if result.get("replicates"):
        reps = result["replicates"]
        out.print(f"Test accuracy over {len(reps['values'])} replicates: "
                  f"{reps['mean']:.4f} ± {reps['std']:.4f}"
                  + (f", median {reps['median']:.4f}" if "median" in reps else "")
                  + " (" + ", ".join(f"{v:.4f}" for v in reps["values"].values()) + ")")
    training = training_time_text(TrialState.from_dict(t) for t in result["trials"])
    if training is not None:
        out.print(training)
    if len(result["trials"]) > 1:
        out.print(_trials_table(result["trials"], spec["objective"]))
    if result.get("spend") and spec.get("search", "none") != "none":
        out.print("Search spent: " + Spend(**result["spend"]).describe())
    if importance is not None:
        _print_importance(importance)
    out.print(confusion_heatmap(np.asarray(result["confusion"]), result["class_names"],
                                title="Test confusion matrix (rows true, columns predicted)"))
    if result["top_confusions"]:
        out.print("Top confusions: " + ", ".join(f"{t} -> {p}: {n}"
                                                 for t, p, n in result["top_confusions"]))
    out.print(f"Saved in {result['run_dir']}")


def _print_importance(found: RunImportance) -> None:
    """The importance table, or one line saying why there is none."""
    if found.importance is None:
        console().print(f"Importance: none, {found.reason}")
    else:
        console().print(_importance_table(found.importance))


def _importance_table(importance: Importance, *, limit: int = 12) -> Table:
    """Each hyperparameter's share of the objective's variation, best first."""
    shares = list(importance.shares.items())
    table = Table(title=f"Importance for {importance.objective}: {importance.method}, "
                        f"{importance.trials} trials"
                        + (f" (best {limit} of {len(shares)})" if len(shares) > limit else ""))
    for column in ("hyperparameter", "share", ""):
        table.add_column(column, justify="right" if column == "share" else "left")
    for name, share in shares[:limit]:
        table.add_row(name, f"{100 * share:.1f}%", share_bar(share))
    return table


def _trials_table(trials: list[dict[str, Any]], objective: str, *, limit: int = 15,
                  max_columns: int = 5) -> Table:
    """The best trials first, with the hyperparameters that differ between trials.

    `trials` are in `trial_table`'s form, as a run's results also hold them.
    """
    states = [TrialState.from_dict(t) for t in trials]
    varying = varying_hyperparameters(states)[:max_columns]
    table = Table(title=f"Trials by {objective}" + (f" (best {limit} of {len(states)})"
                                                    if len(states) > limit else ""))
    for column in ("trial", "status", objective, "weights", *varying):
        table.add_column(column, justify="left" if column in ("trial", "status") else "right")
    for t in rank_trials(states, objective)[:limit]:
        table.add_row(t.trial_id, str(t.status), "" if t.score is None else f"{t.score:.4f}",
                      "" if t.params is None else f"{t.params:,}",
                      *(short_value(t.hyperparameters.get(name)) for name in varying))
    return table


def _list_command(args: argparse.Namespace) -> int:
    infos = list_runs(args.runs_dir)
    if args.json:
        emit_json({"runs_dir": args.runs_dir, "runs": [i.to_dict() for i in infos]})
        return EXIT_OK
    out = console()
    if not infos:
        out.print(f"No runs in {args.runs_dir}")
        return EXIT_OK
    problems = any(info.problem or info.note for info in infos)
    table = Table(title=f"Runs in {args.runs_dir}")
    for column in ("run", "status", "dataset", "model", "search", "trials", "best", "test acc",
                   "started", *(("problem",) if problems else ())):
        table.add_column(column, justify="right" if column in ("trials", "best", "test acc")
                         else "left")
    for info in infos:
        spec = info.spec
        planned = f"/{info.trials_planned}" if info.trials_planned else ""
        table.add_row(
            info.path.name, str(info.status), spec.dataset if spec else "?", spec.model if spec else "?",
            spec.search if spec else "?", f"{info.trials_done}{planned}",
            "" if info.best_score is None else f"{info.best_score:.4f}",
            "" if info.test_accuracy is None else f"{info.test_accuracy:.4f}",
            _when(info.started), *((info.problem or info.note or "",) if problems else ()))
    out.print(table)
    return EXIT_OK


def _show_command(args: argparse.Namespace) -> int:
    state: RunState | None
    try:
        state = run_state(args.run_dir)
    except OSError:
        state = None  # run_info reads the log again, and says why it cannot
    info = run_info(args.run_dir, state=state)
    if info.problem is not None or state is None:
        return _damaged(args, info.problem or f"{EVENTS_FILE}: cannot be read")
    try:
        results = read_results(args.run_dir)
    except ValueError as error:  # changed since run_info read it
        return _damaged(args, str(error))
    trials = state.trial_table()
    found = importance_of(state)  # a running search's too: from the trials done so far
    if args.json:
        emit_json({**info.to_dict(), "trials": trials, "spend": state.spend().to_dict(),
                   "results": results,
                   "importance": None if found.importance is None else found.importance.to_dict(),
                   "importance_reason": found.reason})
        return EXIT_OK
    out = console()
    spec = info.spec
    out.print(f"Run {info.path}: {info.status}, started {_when(info.started)}, "
              f"{info.trials_done}{'/' + str(info.trials_planned) if info.trials_planned else ''} "
              f"trials done")
    if info.note:
        out.print(f"Note: {info.note}")
    if spec is not None:
        out.print(spec.to_toml().strip())
    if info.error:
        out.print(f"Error:\n{info.error}")
    searched = spec is not None and spec.search != "none"
    if results is not None:
        _print_results(results, found if searched else None)
    elif trials and spec is not None:
        out.print(_trials_table(trials, spec.objective))
        out.print("Spent so far: " + state.spend().describe())
        if searched:
            _print_importance(found)
    return EXIT_OK


def _damaged(args: argparse.Namespace, problem: str) -> int:
    """Reports a run that cannot be read: one line on standard error, or a JSON document."""
    message = f"The run {args.run_dir} is damaged: {problem}"
    if args.json:
        emit_json({"error": message, "status": "damaged", "path": args.run_dir, "problem": problem})
    else:
        print(f"kerasmnist: error: {message}", file=sys.stderr)
    return EXIT_FAILED


def _pareto_command(args: argparse.Namespace) -> int:
    try:
        budgets = parse_budgets(args.budgets, name="--budgets") if args.budgets is not None else None
    except InvalidArgumentError as error:
        raise UsageError("budgets", str(error)) from None
    try:
        trials, objective = front_trials(args.run_dirs)
    except InvalidArgumentError as error:  # a directory without a run
        raise UsageError("run_dirs", str(error)) from None
    if budgets is None:  # those the runs' specs name
        specs = [load_spec(run_dir, check_overrides=False).to_dict() for run_dir in args.run_dirs]
        budgets = sorted({budget for spec in specs for budget in spec_budgets(spec)})
    direction = objective_direction(objective)
    front = pareto_front(trials, direction=direction)
    picks = best_under(trials, budgets, direction=direction)
    several = len(args.run_dirs) > 1
    if args.plot:
        from kerasmnist.plots import plot_front

        title = f"{objective} against weights: {', '.join(args.run_dirs)}"
        if not save_plot(args, lambda: plot_front(trials, args.plot, direction=direction, budgets=budgets,
                                                  objective=objective, title=title)):
            return EXIT_FAILED
    if args.json:
        emit_json({"runs": list(args.run_dirs), "objective": objective, "direction": direction,
                   "trials": len(trials), "front": [t.to_dict() for t in front],
                   "budgets": [{"budget": budget, "trial": None if t is None else t.to_dict()}
                               for budget, t in picks.items()],
                   "plot": args.plot})
        return EXIT_OK
    out = console()
    if not trials:
        out.print(f"No trial with a score and a weight count in {', '.join(args.run_dirs)}")
        return EXIT_OK
    out.print(_front_table(front, objective, len(trials), several=several))
    if picks:
        out.print(_budgets_table(picks, objective, several=several))
    if args.plot:
        out.print(f"Plot saved in {args.plot}")
    return EXIT_OK


def _front_table(front: list[FrontTrial], objective: str, total: int, *, several: bool,
                 max_columns: int = 6) -> Table:
    """The front, fewest weights first, with the hyperparameters that differ along it."""
    varying = varying_hyperparameters(TrialState(t.trial_id, dict(t.hyperparameters))
                                      for t in front)[:max_columns]
    table = Table(title=f"Front of {objective} against weights: {len(front)} of {total} trials")
    for column in (*(("run",) if several else ()), "trial", "weights", objective, "status", *varying):
        table.add_column(column, justify="left" if column in ("run", "trial", "status") else "right")
    for t in front:
        table.add_row(*((t.run,) if several else ()), t.trial_id, f"{t.params:,}", f"{t.score:.4f}",
                      str(t.status), *(short_value(t.hyperparameters.get(name)) for name in varying))
    return table


def _budgets_table(picks: dict[int, FrontTrial | None], objective: str, *, several: bool) -> Table:
    """The best trial under each weight budget, or "none" where no trial fits."""
    table = Table(title="Best trial under each budget")
    for column in ("budget", *(("run",) if several else ()), "trial", "weights", objective):
        table.add_column(column, justify="left" if column in ("run", "trial") else "right")
    for budget, t in picks.items():
        if t is None:
            table.add_row(f"{budget:,}", *(("",) if several else ()), "none", "", "")
        else:
            table.add_row(f"{budget:,}", *((t.run,) if several else ()), t.trial_id,
                          f"{t.params:,}", f"{t.score:.4f}")
    return table


def _worker_command(args: argparse.Namespace) -> int:
    outcome = engine.search_worker(args.run_dir, max_trials=args.max_trials, deadline=args.deadline)
    return EXIT_STATUS[outcome]


def _fixed(value: float | None, digits: int) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M")

