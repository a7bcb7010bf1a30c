"""Reading a run: the cost of folding `events.jsonl` into a `RunState`, against parsing it.

Every reader (`kerasmnist runs list|show`, the progress bars, the terminal UI)
folds a run's log with `kerasmnist.runs.state.RunState`. This writes a synthetic
log of a long search (trials x epochs, with a validation confusion matrix each
epoch, as `FullEvalMetrics` writes them), then times, side by side in one run:

- the baseline: `read_events` alone (reading and parsing every line, keeping
  nothing: holding 20,000 parsed events in a list costs more, in the garbage
  collector, than folding them);
- `run_state` (reading, parsing and folding), and `run_info` (the summary
  `runs list` shows, folding included);
- `RunState.apply` fed the parsed events (the fold alone, as the terminal UI's
  timer feeds it).

It prints the best of `--repeats` times of each and its ratio to the baseline.

    python benchmarks/bench_run_state.py [--trials 200] [--epochs 50] [--repeats 5]
"""

from __future__ import annotations

import argparse
import collections
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasmnist.events import EventWriter, read_events
from kerasmnist.runs.prepare import prepare_run_dir
from kerasmnist.runs.rundir import EVENTS_FILE, run_info, run_state
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import RunState


def write_log(run_dir: Path, trials: int, epochs: int) -> int:
    """A search's log: every trial's epochs, confusion matrices and end; returns its size."""
    prepare_run_dir(RunSpec(search="random", trials=trials, epochs=epochs), run_dir)
    rng = np.random.default_rng(0)
    names = [str(i) for i in range(10)]
    with EventWriter(run_dir / EVENTS_FILE) as events:
        events.run_started({"objective": "val_accuracy"}, plan={"trials": trials, "epochs": epochs})
        for t in range(trials):
            trial_id = str(t)
            events.trial_started(trial_id, {"units_0": int(rng.integers(8, 512)), "dropout_0": 0.1},
                                 worker="tuner0")
            for e in range(epochs):
                logs = {k: float(rng.random()) for k in ("loss", "accuracy", "val_loss", "val_accuracy",
                                                         "train_loss", "train_accuracy")}
                events.epoch_ended(e, logs, seconds=1.0, epochs=epochs, trial_id=trial_id)
                events.confusion(rng.integers(0, 100, (10, 10)), names, split="validation", epoch=e,
                                 trial_id=trial_id)
            events.trial_ended(trial_id, status="COMPLETED", score=float(rng.random()), params=1000)
        events.run_ended({"test_accuracy": 0.9})
    return (run_dir / EVENTS_FILE).stat().st_size


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        size = write_log(run_dir, args.trials, args.epochs)
        events = list(read_events(run_dir / EVENTS_FILE))
        print(f"A log of {len(events):,} events ({size / 2**20:.1f} MiB): {args.trials} trials x "
              f"{args.epochs} epochs, each with a confusion matrix; best of {args.repeats}")
        base = best_of(args.repeats, lambda: collections.deque(read_events(run_dir / EVENTS_FILE), maxlen=0))
        rows = [
            ("read_events (baseline)", base),
            ("run_state: read + fold", best_of(args.repeats, lambda: run_state(run_dir))),
            ("run_info: runs list's summary", best_of(args.repeats, lambda: run_info(run_dir))),
            ("RunState.apply: the fold alone", best_of(args.repeats, lambda: RunState().apply(events))),
        ]
        state = run_state(run_dir)
        assert len(state.trials) == args.trials and state.trials_done == args.trials
        print(f"{'':34} {'seconds':>8} {'x baseline':>11}")
        for name, seconds in rows:
            print(f"{name:34} {seconds:8.3f} {seconds / base:11.2f}")


if __name__ == "__main__":
    main()
