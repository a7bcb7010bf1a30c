"""`kerasmnist runs export` and `kerasmnist runs compare`: a run's trials as a file, runs side by side.

Thin faces of `kerasmnist.runs.export` and `kerasmnist.runs.compare`;
`kerasmnist.cli.runs` registers them under `kerasmnist runs`.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from rich.table import Table
from rich.text import Text

from kerasmnist.cli.common import EXIT_FAILED, EXIT_OK, add_json_flag, console, emit_json, save_plot
from kerasmnist.errors import InvalidArgumentError, UsageError
from kerasmnist.runs.compare import Comparison, compare_runs
from kerasmnist.runs.export import EXPORT_FORMATS, format_for_path, format_rows, trial_rows, write_rows
from kerasmnist.runs.rundir import read_run
from kerasmnist.runs.state import duration_text
from kerasmnist.runs.trials import TrialState, short_value, varying_hyperparameters
from kerasmnist.textchart import MARKS, PALETTE, Series, braille_chart

__all__ = ["register"]

_CHART_WIDTH = 100
_CHART_HEIGHT = 14


def register(runs_sub: argparse._SubParsersAction) -> None:
    """Adds `export` and `compare` to `kerasmnist runs`'s subcommands."""
    export = runs_sub.add_parser(
        "export", help="a run's trials as CSV, JSON or a Markdown table",
        description="One row per trial, best first: status, score, the epoch it was best at, every "
                    "logged metric at that epoch and at the last, weights, epochs, seconds and each "
                    "hyperparameter.")
    export.add_argument("run_dir", metavar="RUN", help="the run directory")
    export.add_argument("--format", choices=EXPORT_FORMATS, default=None,
                        help="the format (default: from -o's suffix, .csv, .json or .md; csv "
                             "without -o or a suffix)")
    export.add_argument("-o", "--output", metavar="FILE",
                        help="write to FILE (atomically) instead of standard output")
    export.set_defaults(func=_export_command)

    compare = runs_sub.add_parser(
        "compare", help="the best trial of several runs side by side",
        description="Each run's best trial (score, test accuracy, weights, time), the spec fields "
                    "that differ between the runs, and the best trials' curves overlaid.")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN", help="a run directory (two or more)")
    compare.add_argument("--metric", metavar="M",
                         help="the logged metric of the curves (default: the first run's objective)")
    compare.add_argument("--plot", metavar="FILE.png",
                         help="also draw the curves in a PNG (needs matplotlib)")
    add_json_flag(compare)
    compare.set_defaults(func=_compare_command)


def _export_command(args: argparse.Namespace) -> int:
    fmt = args.format
    if fmt is None and args.output is not None:
        try:
            fmt = format_for_path(args.output)
        except InvalidArgumentError:
            raise UsageError("output", f"Invalid value for argument `--output`. Expected a file ending "
                                       f"in .csv, .json or .md (or no suffix, for CSV), or a --format. "
                                       f"Received: {args.output!r}") from None
    rows = _rows(args.run_dir)
    if args.output is None:
        sys.stdout.write(format_rows(rows, fmt or "csv"))
        return EXIT_OK
    try:
        write_rows(rows, args.output, fmt)
    except OSError as error:
        raise UsageError("output", f"Invalid value for argument `--output`. Expected a file that can be "
                                   f"written. Received: {args.output!r}, which cannot be written: "
                                   f"{error.strerror or error}") from None
    console(stderr=True).print(f"Saved {len(rows)} trial{'s' if len(rows) != 1 else ''} in {args.output}")
    return EXIT_OK


def _rows(run_dir: str) -> list[dict[str, Any]]:
    """`trial_rows` of a run directory; one without a run is a usage mistake naming `RUN`."""
    try:
        state, _ = read_run(run_dir, argument="RUN")
    except InvalidArgumentError as error:
        raise UsageError("run_dir", str(error)) from None
    return trial_rows(state)


def _compare_command(args: argparse.Namespace) -> int:
    if len(args.run_dirs) < 2:
        raise UsageError("run_dirs", f"Invalid value for argument `RUN`. Expected two or more run "
                                     f"directories. Received: {args.run_dirs!r}")
    comparison = compare_runs(args.run_dirs, metric=args.metric)
    if args.plot:
        from kerasmnist.plots import plot_compare

        if not save_plot(args, lambda: plot_compare(comparison.curves(), args.plot, metric=comparison.metric,
                                                    title=f"{comparison.metric} of each run's best trial")):
            return EXIT_FAILED
    if args.json:
        emit_json({**comparison.to_dict(), "plot": args.plot})
        return EXIT_OK
    out = console()
    if comparison.note:
        out.print(f"Note: {comparison.note}")
    out.print(_best_table(comparison))
    if comparison.differences:
        out.print(_differences_table(comparison))
    else:
        out.print("The runs' specs are the same.")
    out.print(_chart(comparison, min(out.width, _CHART_WIDTH), _CHART_HEIGHT))
    if args.plot:
        out.print(f"Plot saved in {args.plot}")
    return EXIT_OK


def _chart(comparison: Comparison, width: int, height: int) -> Text:
    """The best trials' curves overlaid: a colour and a mark per run, and a legend.

    Returns:
        A Rich `Text` (`kerasmnist.textchart.braille_chart`).
    """
    series = [Series(run.label, list(run.curve), PALETTE[k % len(PALETTE)], MARKS[k % len(MARKS)])
              for k, run in enumerate(comparison.runs)]
    return braille_chart(series, width, height, title=f"{comparison.metric} of each run's best trial")


def _best_table(comparison: Comparison, *, max_hyperparameters: int = 12) -> Table:
    """A column per run, a row per fact of its best trial (score, test accuracy, weights,
    time), then a row per hyperparameter that differs between the best trials."""
    runs = comparison.runs
    varying = varying_hyperparameters(TrialState(r.trial_id, dict(r.hyperparameters))
                                      for r in runs)[:max_hyperparameters]
    table = Table(title="Best trial of each run")
    table.add_column("")
    for run in runs:
        table.add_column(run.label, justify="right")
    rows: list[tuple[str, list[str]]] = [
        ("status", [str(r.status) for r in runs]),
        *((("objective", [r.objective for r in runs]),) if not comparison.comparable else ()),
        ("trial", [r.trial_id if r.trial_status == "COMPLETED" else f"{r.trial_id} ({r.trial_status})"
                   for r in runs]),
        (runs[0].objective if comparison.comparable else "score", [f"{r.score:.4f}" for r in runs]),
        ("best epoch", ["" if r.best_epoch is None else str(r.best_epoch) for r in runs]),
        ("epochs", [str(r.epochs) for r in runs]),
        ("test accuracy", ["" if r.test_accuracy is None else f"{r.test_accuracy:.4f}" for r in runs]),
        ("weights", ["" if r.params is None else f"{r.params:,}" for r in runs]),
        ("trial time", [duration_text(r.seconds) for r in runs]),
        ("run time", [duration_text(r.run_seconds) for r in runs]),
        *((name, [short_value(r.hyperparameters.get(name)) for r in runs]) for name in varying),
    ]
    for i, (name, cells) in enumerate(rows):
        table.add_row(name, *cells, end_section=i == len(rows) - len(varying) - 1 and bool(varying))
    return table


def _differences_table(comparison: Comparison) -> Table:
    """A row per spec field that differs, a column per run."""
    table = Table(title="Spec differences")
    table.add_column("field")
    for run in comparison.runs:
        table.add_column(run.label)
    for name, values in comparison.differences.items():
        table.add_row(name, *(_spec_value(value) for value in values))
    return table


def _spec_value(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k}={_spec_value(v)}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_spec_value(v) for v in value) + "]"
    return "none" if value is None else str(value)
