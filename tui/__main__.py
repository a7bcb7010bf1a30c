"""`kerasmnist-tui` (or `python -m kerasmnist_tui`): the terminal UI."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the app; returns the exit status."""
    from kerasmnist import __version__

    parser = argparse.ArgumentParser(
        prog="kerasmnist-tui",
        description="Launch kerasmnist runs and follow them live: progress, tables, curves, "
                    "confusion matrices and misclassified images.")
    parser.add_argument("--runs-dir", default="runs", metavar="DIR",
                        help="where run directories are, and new ones go (default: ./runs)")
    parser.add_argument("--version", action="version", version=f"kerasmnist-tui {__version__}")
    args = parser.parse_args(argv)
    from kerasmnist_tui.app import KerasMnistApp

    KerasMnistApp(args.runs_dir).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
