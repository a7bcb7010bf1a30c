"""How often the tiny hypermodel must reject a random configuration, by budget.

Usage:

    python benchmarks/tiny_rejections.py [--trials 200] [--seed 7]

The tiny family halves its widest layer until a model fits its budget, so it only
rejects configurations that are over budget even with every width at 1. This
samples configurations with keras-tuner's own RandomSearch (building nothing) and
prints, per budget, the share rejected and the longest run of consecutive
rejections, which is what keras-tuner's `max_consecutive_failed_trials` (default 3)
is compared with.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import warnings

import keras_tuner as kt

from kerasmnist.hypermodels import TinyHyperModel


class ArchitectureOnly(kt.RandomSearch):
    """Samples and resolves architectures; trains and builds nothing."""

    def run_trial(self, trial, *args, **kwargs):
        self.hypermodel.architecture(trial.hyperparameters)
        return 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    print(f"{'budget':>8s} {'rejected':>10s} {'share':>6s} {'longest run':>12s}")
    for budget in (50, 100, 150, 300, 1000, 10_000):
        hypermodel = TinyHyperModel(max_params=budget)
        tuner = ArchitectureOnly(
            hypermodel, objective=kt.Objective("score", "max"), max_trials=args.trials,
            seed=args.seed, max_consecutive_failed_trials=args.trials + 1,
            directory=tempfile.mkdtemp(), project_name="tiny",
        )
        # keras-tuner prints a traceback for every failed trial: keep the table readable.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            tuner.search(verbose=0)
        run = longest = 0
        for trial in tuner.oracle.trials.values():
            run = run + 1 if trial.status == "FAILED" else 0
            longest = max(longest, run)
        total = len(tuner.oracle.trials)
        print(f"{budget:8d} {hypermodel.rejected:5d}/{total:<4d} {hypermodel.rejected / total:6.0%} "
              f"{longest:12d}")


if __name__ == "__main__":
    main()
