"""The parameter-budget challenge: the most accurate MNIST model within N weights.

    python examples/tiny_model.py --budget 150 --target 0.80 [--dataset mnist] [--minutes 20]

Searches kerasmnist's tiny hypermodel (`kerasmnist.TinyHyperModel`: average
pooling, up to three small convolutions, plain or separable, pooled after each
or stacked, a pooling head, an optional dense layer; every model it builds fits
the budget; trained with Adam at a learning rate of 0.002 to 0.03; under 300
weights, only flatten heads after strong max or average pooling)
with Bayesian optimisation, validation carved from the training set, and a live
leaderboard. When the time is up it
prints the best model's per-layer weight table, its test accuracy (the test set
is used once, at the end) and whether it met the target, beside the published
reference models of 7,850, 260 and 142 weights, retrained here the same way.
Exit status: 0 when the target was met, 1 when not, 2 for bad arguments.

    python examples/tiny_model.py --budgets 150,500,1000,2000 [--minutes 60]

The budget ladder: one search spends its trials across several budgets (each
trial draws one, the tiny space's `budget` hyperparameter, and its model fits
it), then, training nothing more, reports for each budget the best trial with at
most that many weights (`kerasmnist.pareto.best_under`: a trial of a larger
budget whose model came out smaller counts too), each such model reloaded from
its checkpoint and measured once on the test set; then the accuracy-versus-weights front of the whole search
(`kerasmnist.pareto.pareto_front`), as a table and as `front.png` in the run
directory. `--target` and the reference models play no part. Exit status: 0
when the search produced a model under every budget, 1 when not, 2 for bad
arguments (`--budget` with `--budgets`, say).

`--quick` runs a token search on the bundled sample in well under a minute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

SMALL_BUDGET = 300
# Under ~300 weights a global-pooling head sees too few channels and a hidden dense
# layer too few units: in a 34-trial search at 150 weights such models stayed at
# 10-40% validation accuracy. There the search keeps to convolutions, strong
# pooling and a flatten head, the shape of the classic 142-weight model and of
# the tiny_150 preset (three stacked convolutions of 2 filters).
SMALL_ARCHITECTURES = {"head": "flatten", "dense_units": 0, "conv_layers": (1, 3),
                       "input_pool": [2, 3, 4], "pool_size": [3, 4, 5, 7]}
# --quick fixes the classic shape, so that its token search always has a model to train.
QUICK_ARCHITECTURE = {"input_pool": 2, "conv_layers": 1, "kernel_size": 5, "pool_size": 7}

REFERENCES = [  # preset, published test accuracy, where
    ("logistic_regression", 0.9265, "softmax regression"),
    ("avgpool5_dense", 0.826, "5x5 average pooling, dense"),
    ("conv2_maxpool9", 0.8525, "2 filters 5x5, 9x9 max pooling, dense"),
]


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.budgets:
        return ladder(args)
    args.budget = 150 if args.budget is None else args.budget
    from rich.table import Table

    from kerasmnist.backend import load_backend
    from kerasmnist.cli.common import console as make_console

    load_backend()
    import keras

    from kerasmnist import RunSpec, check_budget, run

    console = make_console()
    quick = args.quick
    common = _common(args)
    spec = RunSpec(**common, model="tiny", search=args.search, max_params=args.budget,
                   overrides=_overrides(args, [args.budget]), **_search_size(args, 2))
    run_dir = Path(args.run_dir or f"runs/tiny-{spec.dataset}-{args.budget}-seed{args.seed}")
    console.print(f"Searching tiny models of at most {args.budget:,} weights on {spec.dataset} "
                  f"for up to {args.minutes:g} minutes; run directory {run_dir}")
    board = Leaderboard(console)
    result = run(spec, run_dir, listeners=[board])

    model = keras.saving.load_model(run_dir / "best_model.keras")
    console.print(f"\nBest model: trial {result.best_trial}\n"
                  f"{check_budget(model, args.budget).table()}\n")
    table = Table(title=f"Test accuracy on {spec.dataset} (test set used once, at the end)")
    for column in ("model", "weights", "test accuracy", "published"):
        table.add_column(column, justify="left" if column == "model" else "right")
    table.add_row(f"tiny search, best of {len(result.trials)} trials", f"{result.params:,}",
                  f"{result.test_accuracy:.4f}", "")
    if not args.no_references:
        for preset, published, description in REFERENCES:
            reference = run(RunSpec(**common, model=preset, epochs=1 if quick else args.epochs),
                            run_dir / "references" / preset)
            table.add_row(f"{preset} ({description})", f"{reference.params:,}",
                          f"{reference.test_accuracy:.4f}", f"{published:.4f}")
    console.print(table)
    met = result.test_accuracy >= args.target and result.params <= args.budget
    verdict = "met" if met else "missed"
    console.print(f"Target {args.target:.2%} with at most {args.budget:,} weights: {verdict} "
                  f"({result.test_accuracy:.2%} with {result.params:,} weights).")
    return 0 if met else 1


def ladder(args: argparse.Namespace) -> int:
    """The budget ladder: one search over every budget, then the best model under each."""
    from rich.table import Table

    from kerasmnist.backend import load_backend
    from kerasmnist.cli.common import console as make_console

    load_backend()
    from kerasmnist import RunSpec, run
    from kerasmnist.evaluation import evaluate_splits
    from kerasmnist.pareto import best_under, front_trials, pareto_front
    from kerasmnist.plots import plot_front
    from kerasmnist.runs.checkpoints import load_trial_model
    from kerasmnist.runs.training import load_data

    console = make_console()
    budgets = args.budgets
    spec = RunSpec(**_common(args), model="tiny", search=args.search, max_params=budgets[-1],
                   overrides={**_overrides(args, budgets), "budget": budgets},
                   **_search_size(args, 2 * len(budgets)))
    run_dir = Path(args.run_dir or f"runs/tiny-{spec.dataset}-ladder-{'_'.join(map(str, budgets))}"
                                   f"-seed{args.seed}")
    console.print(f"Searching tiny models under each of {', '.join(f'{b:,}' for b in budgets)} weights "
                  f"on {spec.dataset} for up to {args.minutes:g} minutes; run directory {run_dir}")
    result = run(spec, run_dir, listeners=[Leaderboard(console)])

    trials, objective = front_trials(run_dir)  # the trials that count: completed or pruned, scored
    picks = best_under(trials, budgets, direction=spec.direction)
    # Each reported model meets the test set once: the run measured its best trial's already.
    test = {result.best_trial: result.test_accuracy}
    data = None
    for trial in picks.values():
        if trial is not None and trial.trial_id not in test:
            data = data or load_data(spec)  # the run's own split
            model = load_trial_model(run_dir, trial.trial_id, data=data)
            test[trial.trial_id] = evaluate_splits(model, data, splits=("test",))["test"].accuracy

    table = Table(title=f"Best model under each budget ({len(trials)} trials; test set used once per model)")
    for column in ("budget", "trial", "tier", "weights", objective, "test accuracy"):
        table.add_column(column, justify="right")
    for budget, trial in picks.items():
        if trial is None:
            table.add_row(f"{budget:,}", "none", "", "", "", "")
        else:
            table.add_row(f"{budget:,}", trial.trial_id, _tier(trial), f"{trial.params:,}",
                          f"{trial.score:.4f}", f"{test[trial.trial_id]:.4f}")
    console.print(table)
    front = Table(title=f"Front: the trials no other beats on both weights and {objective}")
    for column in ("trial", "tier", "weights", objective):
        front.add_column(column, justify="right")
    for trial in pareto_front(trials, direction=spec.direction):
        front.add_row(trial.trial_id, _tier(trial), f"{trial.params:,}", f"{trial.score:.4f}")
    console.print(front)
    png = plot_front(trials, run_dir / "front.png", direction=spec.direction, budgets=budgets,
                     objective=objective, title=f"Tiny models on {spec.dataset}")
    console.print(f"Front plot: {png}")
    missed = [budget for budget, trial in picks.items() if trial is None]
    if missed:
        console.print(f"No model under {', '.join(f'{b:,}' for b in missed)} weights.")
    return 1 if missed else 0


def _common(args: argparse.Namespace) -> dict[str, Any]:
    """The spec fields of the search and of the reference models."""
    quick = args.quick
    return {"dataset": f"{args.dataset}_sample" if quick else args.dataset,
            "validation": 200 if quick else args.validation, "seed": args.seed,
            "limit": 1000 if quick else None, "csv_log": False}


def _overrides(args: argparse.Namespace, budgets: list[int]) -> dict[str, Any]:
    """The search's overrides for models within `budgets` (one search may cover several)."""
    # The architecture is searched; training is narrowed to what works for tiny models, so
    # that the search's trials go to architectures rather than to hopeless learning rates.
    overrides: dict[str, Any] = {"optimizer": "adam", "learning_rate": (2e-3, 3e-2),
                                 "batch_size": [32, 64, 128]}
    # The small-model restrictions hold for the whole space, so they apply only when every
    # budget is small: a ladder reaching above SMALL_BUDGET searches its small budgets
    # unrestricted too, and Bayesian optimisation learns from the `budget` hyperparameter
    # which heads pay under which budget.
    if max(budgets) <= SMALL_BUDGET:
        overrides.update(SMALL_ARCHITECTURES)
    if args.quick:
        overrides.update(QUICK_ARCHITECTURE)
    return overrides


def _search_size(args: argparse.Namespace, quick_trials: int) -> dict[str, Any]:
    """The spec fields that size the search: trials, epochs, early stopping, time."""
    quick = args.quick
    return {"trials": quick_trials if quick else args.trials, "epochs": 1 if quick else args.epochs,
            "early_stopping": None if quick else 3, "max_minutes": args.minutes, "max_failed_trials": 50}


def _tier(trial: Any) -> str:
    """The budget a trial drew (its `budget` hyperparameter), as text."""
    tier = trial.hyperparameters.get("budget")
    return f"{tier:,}" if isinstance(tier, int) else ""


class Leaderboard:
    """An event listener that prints each trial and the best so far, by validation accuracy.

    A trial that drew a budget (the tiny space's `budget`, in a ladder) is shown with it.
    """

    def __init__(self, console: Any, *, size: int = 5) -> None:
        self.console = console
        self.size = size
        self.trials: list[tuple[float, int, str]] = []
        self.tiers: dict[str, int] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        if event["event"] == "trial_started" and "budget" in (event.get("hyperparameters") or {}):
            self.tiers[event["trial_id"]] = event["hyperparameters"]["budget"]
        if event["event"] != "trial_ended":
            return
        trial_id = event["trial_id"]
        name = f"trial {trial_id}" + (f" (budget {self.tiers[trial_id]:,})" if trial_id in self.tiers else "")
        if event.get("score") is None:
            self.console.print(f"{name}: {event['status']} ({event.get('message') or 'no score'})")
            return
        self.trials.append((event["score"], event.get("params") or 0, trial_id))
        self.trials.sort(key=lambda t: (-t[0], t[1]))
        top = "  ".join(f"{score:.4f}/{params:,}w (trial {trial})"
                        for score, params, trial in self.trials[:self.size])
        self.console.print(f"{name}: val_accuracy {event['score']:.4f} with "
                           f"{event.get('params') or 0:,} weights | best: {top}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = parser.add_mutually_exclusive_group()
    # No default here: argparse takes an explicit `--budget 150` for the default and would
    # let it pass beside --budgets; main() fills in 150.
    budget.add_argument("--budget", type=int, help="most weights (default: 150)")
    budget.add_argument("--budgets", type=_budget_list, metavar="N,N,...",
                        help="a budget ladder: one search, the best model under each budget")
    parser.add_argument("--target", type=float, default=0.80,
                        help="test accuracy to reach, as a fraction (default: 0.80)")
    parser.add_argument("--dataset", default="mnist", help="data set (default: mnist)")
    parser.add_argument("--minutes", type=float, default=20.0,
                        help="search time; the trial under way finishes (default: 20)")
    parser.add_argument("--trials", type=int, default=200, help="most trials (default: 200)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs per model (default: 10)")
    parser.add_argument("--validation", type=int, default=5000,
                        help="validation examples carved from training (default: 5000)")
    parser.add_argument("--search", choices=["bayesian", "random", "hyperband"], default="bayesian")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run-dir", help="run directory (default: runs/tiny-<dataset>-<budget>-seed<seed>)")
    parser.add_argument("--no-references", action="store_true",
                        help="skip retraining the 7,850-, 260- and 142-weight reference models")
    parser.add_argument("--quick", action="store_true",
                        help="a token search on the bundled sample, for tests")
    return parser


def _budget_list(text: str) -> list[int]:
    """`--budgets`, as `kerasmnist.pareto.parse_budgets` reads it, for argparse."""
    from kerasmnist.errors import InvalidArgumentError
    from kerasmnist.pareto import parse_budgets

    try:
        return parse_budgets(text, name="--budgets")
    except InvalidArgumentError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


if __name__ == "__main__":
    sys.exit(main())
