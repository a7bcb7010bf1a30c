"""Memory across the trials of a search: does the process grow with each trial?

Runs a random search on the MNIST sample (or `--dataset`) twice: all trials in one
process (the baseline), then with the engine's default of 10 trials per process,
and prints the resident memory of the process that ran each trial, recorded at
the trial's end (the `rss_mb` of `trial_ended` events), with the growth from the
second trial to the last and the peak, and their ratios to the baseline.

    python benchmarks/bench_search_memory.py [--trials 30] [--dataset mnist_sample]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from kerasmnist.runs import RunSpec, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--dataset", default="mnist_sample")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--no-full-eval", dest="full_eval", action="store_false")
    parser.add_argument("--measure", type=int, default=None, metavar="TRIALS_PER_PROCESS",
                        help=argparse.SUPPRESS)  # one way, in a fresh process; prints JSON
    args = parser.parse_args()
    spec = RunSpec(dataset=args.dataset, search="random", trials=args.trials, epochs=args.epochs,
                   full_eval=args.full_eval,
                   overrides={"num_layers": (1, 3), "units": [32, 64, 128, 256]})
    if args.measure is not None:
        print(json.dumps(measure(spec, args.measure or None)))
        return
    print(f"{args.dataset}: random search, {args.trials} trials of {args.epochs} epoch(s), "
          f"MLPs of 1-3 layers x 32-256 units, full_eval={args.full_eval}")
    # Each way in a fresh process, so that neither starts from the other's memory.
    runs = {way: json.loads(subprocess.run(
        [sys.executable, __file__, *sys.argv[1:], "--measure", str(per_process)],
        check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        for way, per_process in [("one process (baseline)", 0), ("10 trials per process", 10)]}
    print(f"{'trial':>6}" + "".join(f"{way:>26}" for way in runs))
    for i in range(args.trials):
        print(f"{i:>6}" + "".join(f"{rss[i]:>22.1f} MiB" for rss in runs.values()))
    base_growth = runs["one process (baseline)"][-1] - runs["one process (baseline)"][1]
    base_peak = max(runs["one process (baseline)"])
    for way, rss in runs.items():
        growth, peak = rss[-1] - rss[1], max(rss)
        print(f"{way:>24}: growth from trial 2 to {len(rss)} {growth:+7.1f} MiB "
              f"({growth / base_growth:.2f}x baseline), peak {peak:7.1f} MiB "
              f"({peak / base_peak:.2f}x baseline)")


def measure(spec: RunSpec, trials_per_process: int | None) -> list[float]:
    """The RSS (MiB) at the end of each trial, in trial order."""
    rss: dict[str, float] = {}

    def record(event: dict) -> None:
        if event["event"] == "trial_ended":
            rss[event["trial_id"]] = event["rss_mb"]

    with tempfile.TemporaryDirectory() as tmp:
        engine.run(spec, Path(tmp) / "run", listeners=[record],
                   trials_per_process=trials_per_process)
    return [rss[k] for k in sorted(rss)]


if __name__ == "__main__":
    main()
