"""`python -m kerasmnist.runs.worker RUN_DIR`: one search process of a run.

The run layer starts it (`kerasmnist.runs.processes`) to continue a search in a
fresh process or as one process of a distributed search; `kerasmnist worker`
is the same for a user starting processes by hand. Its exit status says how it
ended (`kerasmnist.runs.processes.EXIT_STATUS`): 0 when the search is done, 75
when it ran its share of trials and left the rest, 76 at the time limit; 1 when
it failed, 2 for bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from kerasmnist.errors import InvalidArgumentError, KerasMnistError
from kerasmnist.runs.engine import search_worker  # loads Keras only when it has trials to run
from kerasmnist.runs.processes import EXIT_STATUS, bind_to_parent

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one search process on a run directory; returns the exit status."""
    parser = argparse.ArgumentParser(prog=f"python -m {__name__}",
                                     description="Run trials of a run directory's search.")
    parser.add_argument("run_dir")
    parser.add_argument("--max-trials", type=int, default=None)
    parser.add_argument("--deadline", type=float, default=None)
    args = parser.parse_args(argv)
    bind_to_parent()  # never outlive the run that started this process
    try:
        outcome = search_worker(args.run_dir, max_trials=args.max_trials, deadline=args.deadline)
    except InvalidArgumentError as error:
        print(f"kerasmnist worker: error: {error}", file=sys.stderr)
        return 2
    except KerasMnistError as error:
        print(f"kerasmnist worker: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # asked to stop: the trial under way is restarted on resume
        return 130
    return EXIT_STATUS[outcome]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
