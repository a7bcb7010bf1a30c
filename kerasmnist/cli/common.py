"""What the subcommands share: the parser, output as text or JSON, errors, exit codes.

Every usage mistake ends the same way, whoever finds it (argparse, the run-spec
checks or a subcommand): exit status 2 and one line on standard error naming
the argument, what was expected and what was found, or, with `--json`, one
`kerasmnist.errors.error_details` document on standard output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from rich.console import Console

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "Parser", "add_json_flag", "console", "emit_json",
           "report_error", "save_plot"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """An `ArgumentParser` whose errors are one line, or a JSON document with `--json`.

    argparse's own mistakes (`--seed abc`, an unknown choice, a missing
    argument) still leave by `SystemExit(2)`, but print no usage: one line
    `PROG: error: MESSAGE` on standard error or, when the arguments hold
    `--json`, the `error_details` of a `UsageError` (its field the argument's
    destination name, `"seed"` for `--seed`) on standard output. Sub-parsers
    made by `add_subparsers` are of this class too.
    """

    _wants_json = False

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        self._wants_json = "--json" in (sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Reports a usage mistake in one line (or as JSON) and exits with status 2."""
        from kerasmnist.errors import UsageError

        if self._wants_json:
            from kerasmnist.errors import error_details

            emit_json(error_details(UsageError(self._field(), message)))
            sys.exit(EXIT_USAGE)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")

    def _field(self) -> str | None:
        """The destination of the argument argparse is refusing (while it handles the error)."""
        caught = sys.exc_info()[1]
        name = getattr(caught, "argument_name", None) if isinstance(caught, argparse.ArgumentError) else None
        for action in self._actions:
            if name is not None and name in ("/".join(action.option_strings), action.metavar, action.dest):
                return action.dest
        return None


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


def save_plot(args: argparse.Namespace, draw: Callable[[], object]) -> bool:
    """Draws `--plot` (`args.plot`) with `draw`, a `kerasmnist.plots` call.

    Returns:
        `True` when it is written; `False` when matplotlib is missing, after
        printing the error (which says how to install it).

    Raises:
        UsageError: `--plot` cannot be written.
    """
    from kerasmnist.errors import UsageError

    try:
        draw()
    except ImportError as error:
        report_error(error, args)
        return False
    except OSError as error:
        raise UsageError("plot", f"Invalid value for argument `--plot`. Expected a PNG file that can "
                                 f"be written. Received: {args.plot!r}, which cannot be written: "
                                 f"{error.strerror or error}") from None
    return True
