"""`kerasmnist report RUN [-o FILE]`: a run as one self-contained HTML file."""

from __future__ import annotations

import argparse
from pathlib import Path

from kerasmnist.cli.common import EXIT_OK, add_json_flag, emit_json
from kerasmnist.errors import UsageError
from kerasmnist.report import REPORT_FILE, write_report

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `report`."""
    report = subparsers.add_parser(
        "report", help="write a run's report: one HTML file for a browser, a phone or paper",
        description="Write one self-contained HTML file (no network, images inline) with the run's "
                    "spec, results, leaderboard, curves, confusion matrix, misclassified test images, "
                    "hyperparameter importance, parallel coordinates and, for searches, the front. "
                    "Plots need matplotlib (pip install \"kerasmnist[plots]\"); without it the "
                    "report says so in their place.")
    report.add_argument("run_dir", metavar="RUN", help="the run directory")
    report.add_argument("-o", "--output", metavar="FILE",
                        help=f"the HTML file to write (default: RUN/{REPORT_FILE})")
    add_json_flag(report)
    report.set_defaults(func=_report_command)


def _report_command(args: argparse.Namespace) -> int:
    output = Path(args.output) if args.output else Path(args.run_dir) / REPORT_FILE
    if output.is_dir():
        raise UsageError("output", f"Invalid value for argument `--output`. Expected an HTML file to "
                                   f"write. Received: {str(output)!r}, which is a directory")
    try:
        path = write_report(args.run_dir, output)
    except OSError as error:
        raise UsageError("output", f"Invalid value for argument `--output`. Expected an HTML file that "
                                   f"can be written. Received: {str(output)!r}, which cannot be "
                                   f"written: {error.strerror or error}") from None
    if args.json:
        emit_json({"run_dir": args.run_dir, "report": str(path), "bytes": path.stat().st_size})
    else:
        print(path)
    return EXIT_OK
