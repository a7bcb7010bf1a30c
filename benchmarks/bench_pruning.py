"""What trial pruning saves, and what it costs in accuracy: a random search with and without it.

For each seed, a random search of the MLP hypermodel (by default: full MNIST,
validation 5,000, 30 trials of up to 10 epochs) runs without pruning (the
baseline), and then with each pruner (`--prune median`, `--prune halving`, with
the defaults of `RunSpec`). For each it prints the epochs trained, the CPU time
(of the whole search process, start-up included, and of the epochs alone, as
the event log records it), the best validation accuracy, and the test accuracy
of the model the search chose (the best trial's checkpoint, the test set used
once), with ratios against the baseline of the same seed, then the medians over
the seeds and whether the target is met: a pruner within 0.2 points of the
unpruned best validation accuracy with at most 40% of its epochs.

    python benchmarks/bench_pruning.py [--seeds 0 1 2] [--trials 30] [--epochs 10]
        [--limit N] [--no-full-eval] [--replay [--check-replay SEED...]]

`--replay` runs only the unpruned searches, for real, and derives the pruned
ones from their curves (`kerasmnist.pruning.replay`): a random search proposes
the same trials whatever their results, and each trial is seeded by its own id,
so a pruned search trains the same first epochs as the unpruned one (exactly,
with `--deterministic`, which this benchmark sets). Its CPU time is then the
CPU time of the epochs it keeps. `--check-replay SEED...` runs those seeds'
pruned searches for real as well and says whether each agrees with its replay
(the medians are the replays').
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PRUNERS = ("median", "halving")
TARGET_POINTS = 0.2
TARGET_EPOCHS = 0.40


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--validation", type=int, default=5000)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--limit", type=int, help="train on the first LIMIT training examples only")
    parser.add_argument("--no-full-eval", action="store_true",
                        help="skip the full training-set evaluation after each epoch")
    parser.add_argument("--replay", action="store_true",
                        help="run only the unpruned searches; derive the pruned ones from their curves")
    parser.add_argument("--check-replay", type=int, nargs="*", default=[], metavar="SEED",
                        help="with --replay, also run the pruned searches of these seeds and compare")
    parser.add_argument("--runs-dir", help="keep the run directories here (default: a temporary one)")
    parser.add_argument("--evaluate", nargs=2, metavar=("RUN", "TRIAL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.evaluate:
        print(json.dumps({"test_accuracy": _test_accuracy(Path(args.evaluate[0]), args.evaluate[1])}))
        return
    runs_dir = Path(args.runs_dir or tempfile.mkdtemp(prefix="bench-pruning-"))
    print(f"{args.dataset}, validation {args.validation}, limit {args.limit or 'none'}, random search of "
          f"mlp, {args.trials} trials of up to {args.epochs} epochs, full eval "
          f"{'off' if args.no_full_eval else 'on'}; seeds {args.seeds}; "
          f"{'pruned searches replayed from the unpruned curves' if args.replay else 'every search run'}; "
          f"runs in {runs_dir}", flush=True)
    rows: list[dict[str, Any]] = []
    for seed in args.seeds:
        base = _search(args, runs_dir, seed, "none")
        rows.append(base)
        _print_row(base, base)
        for kind in PRUNERS:
            if args.replay:
                row = _replayed(args, base, kind)
                if seed in args.check_replay:
                    real = _search(args, runs_dir, seed, kind)
                    row["agrees"] = (real["trained"] == row["trained"] and real["chosen"] == row["chosen"])
                    _print_row(real, base)
            else:
                row = _search(args, runs_dir, seed, kind)
            rows.append(row)
            _print_row(row, base)
    _print_medians(rows, args.seeds)


def _search(args: argparse.Namespace, runs_dir: Path, seed: int, prune: str) -> dict[str, Any]:
    """Runs one search in a fresh process; returns its figures."""
    run_dir = runs_dir / f"seed{seed}-{prune}"
    command = [sys.executable, "-m", "kerasmnist.cli", "search", "--dataset", args.dataset,
               "--validation", str(args.validation), "--model", "mlp", "--search", "random",
               "--trials", str(args.trials), "--epochs", str(args.epochs), "--seed", str(seed),
               "--prune", prune, "--no-csv", "--deterministic", "--trials-per-process", "0",
               "--run-dir", str(run_dir), "--json", "--quiet"]
    if args.limit:
        command += ["--limit", str(args.limit)]
    if args.no_full_eval:
        command += ["--no-full-eval"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout)
    from kerasmnist.runs.rundir import run_state

    state = run_state(run_dir)
    trials = [state.trials[key] for key in sorted(state.trials)]
    return {
        "seed": seed, "prune": prune, "run_dir": run_dir, "how": "run",
        "trained": [len(t.epochs) for t in trials],
        "curves": [t.history(state.objective) for t in trials],
        "cpu_epochs": [[e.get("cpu_seconds") or 0.0 for e in t.epochs] for t in trials],
        "ids": [t.trial_id for t in trials],
        "pruned": sum(str(t.status) == "PRUNED" for t in trials),
        "best_val": max(t.score for t in trials if t.score is not None),
        "chosen": result["best_trial"], "test_accuracy": result["test_accuracy"],
        "cpu_process": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "wall": wall,
    }


def _replayed(args: argparse.Namespace, base: dict[str, Any], kind: str) -> dict[str, Any]:
    """The pruned search `kind` as the unpruned search's curves tell it."""
    from kerasmnist.pruning import make_rule, replay
    from kerasmnist.runs.spec import RunSpec

    defaults = RunSpec()
    rule = make_rule(kind, warmup_epochs=defaults.prune_warmup_epochs,
                     warmup_trials=defaults.prune_warmup_trials, min_epochs=defaults.prune_min_epochs,
                     factor=defaults.prune_factor)
    assert rule is not None
    trained = replay(base["curves"], rule, direction="max", max_epochs=args.epochs)
    best: tuple[float, str] | None = None
    best_any: tuple[float, str] | None = None
    for trial_id, curve, epochs in zip(base["ids"], base["curves"], trained, strict=True):
        values = [v for v in curve[:epochs] if v is not None]
        if not values:
            continue
        score = (max(values), trial_id)
        best_any = max(best_any, score) if best_any else score
        if epochs == len(curve):  # completed, not pruned
            best = max(best, score) if best else score
    chosen = (best or best_any or (float("nan"), ""))[1]
    if chosen == base["chosen"]:
        test_accuracy = base["test_accuracy"]
    else:
        done = subprocess.run([sys.executable, __file__, "--evaluate", str(base["run_dir"]), chosen],
                              capture_output=True, text=True, check=True)
        test_accuracy = json.loads(done.stdout.strip().splitlines()[-1])["test_accuracy"]
    kept = [cpu[:n] for cpu, n in zip(base["cpu_epochs"], trained, strict=True)]
    return {
        "seed": base["seed"], "prune": kind, "run_dir": base["run_dir"], "how": "replay",
        "trained": trained, "cpu_epochs": kept,
        "pruned": sum(n < len(c) for n, c in zip(trained, base["curves"], strict=True)),
        "best_val": (best_any or (float("nan"), ""))[0], "chosen": chosen, "test_accuracy": test_accuracy,
        "cpu_process": None, "wall": None,
    }


def _test_accuracy(run_dir: Path, trial_id: str) -> float:
    """The test accuracy of a trial's checkpoint (its best epoch), in this process."""
    from kerasmnist.backend import load_backend

    load_backend()
    import numpy as np

    from kerasmnist.evaluation import model_inputs
    from kerasmnist.runs.checkpoints import load_trial_model
    from kerasmnist.runs.rundir import load_spec
    from kerasmnist.runs.training import load_data

    data = load_data(load_spec(run_dir))
    model = load_trial_model(run_dir, trial_id, data=data)
    x, y = data.arrays("test")
    predicted = np.argmax(model.predict(model_inputs(model, x), batch_size=1024, verbose=0), axis=1)
    return float(np.mean(predicted == y))


def _epochs(row: dict[str, Any]) -> int:
    return sum(row["trained"])


def _cpu(row: dict[str, Any]) -> float:
    return sum(sum(cpu) for cpu in row["cpu_epochs"])


def _print_row(row: dict[str, Any], base: dict[str, Any]) -> None:
    process = f"{row['cpu_process']:7.0f}" if row["cpu_process"] is not None else "      -"
    print(f"seed {row['seed']} {row['prune']:>7} ({row['how']:>6}): {_epochs(row):4d} epochs "
          f"({_epochs(row) / _epochs(base):5.1%}), {row['pruned']:2d} pruned; CPU-s epochs {_cpu(row):7.0f} "
          f"({_cpu(row) / _cpu(base):5.1%}), process {process}; best val {row['best_val']:.4f} "
          f"({(row['best_val'] - base['best_val']) * 100:+.2f} points); chosen trial {row['chosen']}, "
          f"test {row['test_accuracy']:.4f}"
          + (f"; replay agrees: {row['agrees']}" if "agrees" in row else ""), flush=True)


def _print_medians(rows: list[dict[str, Any]], seeds: list[int]) -> None:
    base = {row["seed"]: row for row in rows if row["prune"] == "none"}
    print(f"\nMedians over seeds {seeds}:")
    for kind in ("none", *PRUNERS):
        mine = [row for row in rows if row["prune"] == kind]
        share = statistics.median(_epochs(r) / _epochs(base[r["seed"]]) for r in mine)
        cpu = statistics.median(_cpu(r) / _cpu(base[r["seed"]]) for r in mine)
        points = statistics.median((r["best_val"] - base[r["seed"]]["best_val"]) * 100 for r in mine)
        test = statistics.median(r["test_accuracy"] for r in mine)
        line = (f"{kind:>7}: epochs {share:5.1%} of unpruned, epoch CPU {cpu:5.1%}, best val "
                f"{points:+.2f} points, chosen model's test accuracy {test:.4f}")
        if kind != "none":
            met = points >= -TARGET_POINTS and share <= TARGET_EPOCHS
            line += f"; target (>= -{TARGET_POINTS} points, <= {TARGET_EPOCHS:.0%} epochs): " + (
                "met" if met else "NOT met")
        print(line)


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    main()
