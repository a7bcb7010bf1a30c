"""What the subcommands share: output as text or JSON, errors, exit codes."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from rich.console import Console

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_json_flag", "console", "emit_json",
           "report_error"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def console(stderr: bool = False) -> Console:
    """A Rich console on standard output (or error); plain when not a terminal.

    Output to a file or a pipe is 140 columns wide (unless `COLUMNS` says
    otherwise), so that wide tables stay whole in logs.
    """
    stream = sys.stderr if stderr else sys.stdout
    width = None
    if not (hasattr(stream, "isatty") and stream.isatty()) and "COLUMNS" not in os.environ:
        width = 140
    return Console(stderr=stderr, highlight=False, soft_wrap=True, width=width)


def add_json_flag(parser: argparse.ArgumentParser) -> None:
    """Adds `--json`: one JSON document on standard output instead of tables."""
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document for scripts instead of tables")


def emit_json(value: Any) -> None:
    """Prints `value` as one JSON document (non-finite numbers become null)."""
    from kerasmnist.events import jsonable

    print(json.dumps(jsonable(value), indent=2, allow_nan=False))


def report_error(error: BaseException, args: argparse.Namespace) -> None:
    """Prints an error: as `kerasmnist.errors.error_details` with `--json`, else on standard error."""
    if getattr(args, "json", False):
        from kerasmnist.errors import error_details

        emit_json(error_details(error))
    else:
        print(f"kerasmnist: error: {error}", file=sys.stderr)
