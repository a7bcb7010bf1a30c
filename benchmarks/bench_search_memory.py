"""Memory across the trials of a search: does a process grow with each trial, and what does the parent hold?

Runs a random search on the MNIST sample (or `--dataset`) twice: all trials in one
process (the baseline), then with the engine's default of 10 trials per process
(every trial in fresh child processes). For each trial it prints the resident
memory of the process that ran it, recorded at the trial's end (the `rss_mb` of
`trial_ended` events), and, for the second way, the memory of the parent at the
same moment, while it waits for its children; then the growth from the second
trial to the last and the peaks, with their ratios to the baseline.

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
from kerasmnist.runs.processes import rss_mb

BASELINE, CHILDREN = "one process (baseline)", "10 trials per process"


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
        for way, per_process in [(BASELINE, 0), (CHILDREN, 10)]}
    print(f"{'trial':>6}{BASELINE:>26}{CHILDREN + ': child':>30}{'parent':>14}")
    base, children = runs[BASELINE], runs[CHILDREN]
    for i in range(args.trials):
        print(f"{i:>6}{base['trial'][i]:>22.1f} MiB{children['trial'][i]:>26.1f} MiB"
              f"{children['parent'][i]:>10.1f} MiB")
    base_growth = base["trial"][-1] - base["trial"][1]
    base_peak = max(base["trial"])
    for way, rss in [(BASELINE, base["trial"]), (CHILDREN + ", children", children["trial"])]:
        growth, peak = rss[-1] - rss[1], max(rss)
        print(f"{way:>34}: growth from trial 2 to {len(rss)} {growth:+7.1f} MiB "
              f"({growth / base_growth:.2f}x baseline), peak {peak:7.1f} MiB "
              f"({peak / base_peak:.2f}x baseline)")
    parent_peak = max(children["parent"])
    print(f"{CHILDREN + ', parent':>34}: peak while children train {parent_peak:7.1f} MiB "
          f"({parent_peak / base_peak:.2f}x baseline)")


def measure(spec: RunSpec, trials_per_process: int | None) -> dict[str, list[float]]:
    """The RSS (MiB) at the end of each trial, in trial order: of its process and of this one."""
    trial: dict[str, float] = {}
    parent: dict[str, float] = {}

    def record(event: dict) -> None:
        if event["event"] == "trial_ended":
            trial[event["trial_id"]] = event["rss_mb"]
            parent[event["trial_id"]] = rss_mb() or 0.0

    with tempfile.TemporaryDirectory() as tmp:
        engine.run(spec, Path(tmp) / "run", listeners=[record], trials_per_process=trials_per_process)
    return {"trial": [trial[k] for k in sorted(trial)], "parent": [parent[k] for k in sorted(parent)]}


if __name__ == "__main__":
    main()
