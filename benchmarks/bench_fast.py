"""Time to accuracy of the fast presets: test accuracy against the training's CPU time.

Runs the documented command of a fast preset once per seed, each in a fresh
process:

    kerasmnist train --dataset DATASET --model PRESET --validation 5000 --seed S [--no-full-eval]

and reads back what the command printed and recorded: the replicate's training
CPU time (user and system of its fit, start-up, loading and test excluded:
`trial_ended`'s `training_cpu_seconds`), its wall time, and the test accuracy. The
process's whole CPU time (start-up, imports and the data's loading included) is
shown beside it. The baseline, measured in the same run: one epoch of Keras's
"simple MNIST convnet" (`keras_convnet`, 99.2% after 15 epochs) on the same data,
also from the command line, so that the ratio says how many of its epochs the
fast preset's training costs, whatever the machine's speed that day.

    python benchmarks/bench_fast.py [--preset mnist_fast] [--dataset mnist] [--seeds 0,1,2]
        [--full-eval] [--target 0.99] [--budget 60]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from kerasmnist.runs.rundir import run_state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist_fast")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--full-eval", action="store_true",
                        help="keep the full evaluation of the training set after each epoch "
                             "(counted in the training's CPU time)")
    parser.add_argument("--target", type=float, default=0.99, help="the accuracy to reach")
    parser.add_argument("--budget", type=float, default=60.0, help="training CPU-seconds allowed")
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    flags = [] if args.full_eval else ["--no-full-eval"]
    with tempfile.TemporaryDirectory() as tmp:
        base = train(Path(tmp) / "baseline", ["--dataset", args.dataset, "--model", "keras_convnet",
                                              "--epochs", "1", "--validation", "5000", "--no-full-eval"])
        print(f"baseline: keras_convnet, 1 epoch: {base['cpu']:.1f} training CPU-s "
              f"({base['wall']:.1f} s), test {base['test']:.2%}")
        rows = []
        for seed in seeds:
            rows.append(train(Path(tmp) / f"seed{seed}",
                              ["--dataset", args.dataset, "--model", args.preset, "--validation", "5000",
                               "--seed", str(seed), *flags]))
            r = rows[-1]
            print(f"seed {seed}: test {r['test']:.2%}, training {r['cpu']:.1f} CPU-s ({r['wall']:.1f} s, "
                  f"{r['cpu'] / base['cpu']:.2f}x the baseline epoch), process {r['process_cpu']:.1f} CPU-s",
                  flush=True)
    test = statistics.median(r["test"] for r in rows)
    cpu = statistics.median(r["cpu"] for r in rows)
    print("\n| seed | test accuracy | training CPU-s | wall s | x baseline epoch | process CPU-s |")
    print("|---|---|---|---|---|---|")
    for seed, r in zip(seeds, rows, strict=True):
        print(f"| {seed} | {r['test']:.2%} | {r['cpu']:.1f} | {r['wall']:.1f} | "
              f"{r['cpu'] / base['cpu']:.2f} | {r['process_cpu']:.1f} |")
    met = test >= args.target and max(r["cpu"] for r in rows) <= args.budget
    print(f"| median | {test:.2%} | {cpu:.1f} | | {cpu / base['cpu']:.2f} | |")
    print(f"\n{args.preset}: median {test:.2%} (target {args.target:.1%}), median training "
          f"{cpu:.1f} CPU-s, most {max(r['cpu'] for r in rows):.1f} (budget {args.budget:.0f}): "
          + ("met" if met else "NOT met"))


def train(run_dir: Path, flags: list[str]) -> dict[str, float]:
    """One `kerasmnist train` in a fresh process: its replicate's training time, test accuracy
    and the process's CPU time."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-m", "kerasmnist.cli", "train", "--run-dir", str(run_dir),
                    "--quiet", *flags], check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    results = json.loads((run_dir / "results.json").read_text())
    trial = run_state(run_dir).trials["r0"]
    test = next(s["accuracy"] for s in results["splits"] if s["split"] == "test")
    return {"cpu": trial.training_cpu_seconds, "wall": trial.training_seconds, "test": test,
            "process_cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)}


if __name__ == "__main__":
    main()
