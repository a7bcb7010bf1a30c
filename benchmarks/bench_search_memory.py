"""Memory across the trials of a search: does the process grow with each trial?

Runs a random search on the MNIST sample (or `--dataset`) and prints the resident
memory recorded at the end of each trial (the `rss_mb` of `trial_ended` events),
with the growth from the second trial to the last, per trial and in all. The first
trial pays for TensorFlow's one-time allocations, so it is the baseline only for
the ratio's record.

    python benchmarks/bench_search_memory.py [--trials 12] [--dataset mnist_sample]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from kerasmnist.runs import RunSpec, engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--dataset", default="mnist_sample")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--no-full-eval", dest="full_eval", action="store_false")
    args = parser.parse_args()
    spec = RunSpec(dataset=args.dataset, search="random", trials=args.trials, epochs=args.epochs,
                   full_eval=args.full_eval,
                   overrides={"num_layers": (1, 3), "units": [32, 64, 128, 256]})
    with tempfile.TemporaryDirectory() as tmp:
        rss: list[tuple[str, float]] = []
        engine.run(spec, Path(tmp) / "run", listeners=[
            lambda e: rss.append((e["trial_id"], e["rss_mb"])) if e["event"] == "trial_ended" else None])
    print(f"{args.dataset}: random search, {args.trials} trials of {args.epochs} epoch(s), "
          f"MLPs of 1-3 layers x 32-256 units, full_eval={args.full_eval}")
    print(f"{'trial':>6} {'rss MiB':>9}")
    for trial_id, mb in rss:
        print(f"{trial_id:>6} {mb:>9.1f}")
    if len(rss) >= 3:
        second, last = rss[1][1], rss[-1][1]
        per_trial = (last - second) / (len(rss) - 2)
        print(f"growth from trial 2 to trial {len(rss)}: {last - second:+.1f} MiB "
              f"({last / second:.3f}x, {per_trial:+.2f} MiB per trial)")


if __name__ == "__main__":
    main()
