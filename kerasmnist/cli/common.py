"""What the subcommands share: output as text or JSON, errors, exit codes."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import warnings
from typing import Any

from rich.console import Console

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "add_json_flag", "console", "emit_json",
           "load_backend", "quiet_backend", "report_error"]

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
    """Prints an error: as `{"error": ...}` with `--json`, else on standard error."""
    if getattr(args, "json", False):
        emit_json({"error": str(error), "error_type": type(error).__name__})
    else:
        print(f"kerasmnist: error: {error}", file=sys.stderr)


def quiet_backend(verbose: bool = False) -> None:
    """Silences TensorFlow's and Keras's chatter, unless `verbose` or the user chose a level.

    Call it before Keras is imported: TensorFlow reads `TF_CPP_MIN_LOG_LEVEL`
    when it loads.
    """
    if verbose:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Loading a checkpoint into a model whose optimizer has not yet been built.
    warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")


def load_backend(verbose: bool = False) -> None:
    """Imports Keras and its backend with TensorFlow's start-up lines on stderr hidden.

    TensorFlow's C++ layer prints them before any log level applies, so file
    descriptor 2 points to the null device while it loads. An import error is
    still raised (and shown) once standard error is back.
    """
    quiet_backend(verbose)
    if verbose or "keras" in sys.modules:
        import keras  # noqa: F401
        return
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
