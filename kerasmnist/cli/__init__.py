"""The `kerasmnist` command: a thin layer over the library.

Every subcommand lives in a module of this package that exposes
`register(subparsers)`; each parser it adds sets `func(args) -> int`. Exit status:
0 on success, 1 when a run (or a check such as `data verify`) failed, 2 for bad
usage, which includes invalid arguments found by the library. A usage mistake
is one line on standard error naming the argument, what was expected and what
was found, or with `--json` one JSON document on standard output
(`kerasmnist.errors.error_details`), whether argparse finds it (`Parser`) or
the library does.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kerasmnist import __version__
from kerasmnist.backend import quiet_backend
from kerasmnist.cli import data, export, models, report, runs
from kerasmnist.cli.common import EXIT_USAGE, Parser, report_error
from kerasmnist.errors import InvalidArgumentError, KerasMnistError

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """Returns the parser of the `kerasmnist` command with every subcommand."""
    parser = Parser(
        prog="kerasmnist",
        description="Train, search and evaluate Keras models on MNIST-like data.",
    )
    parser.add_argument("--version", action="version", version=f"kerasmnist {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in (data, runs, models, export, report):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    A mistake argparse finds leaves by `SystemExit(2)` (see `Parser`); every
    other usage mistake returns 2.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    quiet_backend(verbose="--verbose" in argv)  # before anything imports TensorFlow
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on bad usage, in one line (or JSON)
    try:
        return int(args.func(args))
    except InvalidArgumentError as error:
        report_error(error, args)
        return EXIT_USAGE
    except KerasMnistError as error:
        report_error(error, args)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
