"""Reading a finished search: what each read-out of a run directory costs.

Usage:

    python benchmarks/bench_readout.py [--trials 30,200] [--epochs 10] [--rounds 5] [--report-rounds 3]

For each size, writes a synthetic finished search run directory without
training (a `spec.toml` and an `events.jsonl`, as a random search of an MLP
would log it: `num_layers` 1 to 4 with `units_i`/`dropout_i` only for the
layers a trial has, a log-uniform `learning_rate`, `optimizer`, `batch_norm`
and `activation`; each trial logs `--epochs` epochs of the six `LOG_KEYS`
metrics, its score depending mostly on the learning rate, plus seeded noise),
then times, side by side in one run:

- the baseline: `run_state(run_dir)`, reading the event log and folding it
  into a `RunState` (every read-out below starts from one);
- `trial_rows(state)` then `format_rows(rows, "csv")`: `kerasmnist runs
  export`'s work once the state is read;
- `hyperparameter_importance(trials, objective)`: the fANOVA importance (a
  64-tree random forest fitted to the trials, then the main effects). The
  first call imports scikit-learn; that import is timed once, on its own,
  before anything else, and left out of the rounds;
- `parallel_coordinates(trials, objective)`: the chart's axes and lines (no
  drawing);
- `report_html(run_dir)`: the whole HTML report, reading the run again. The
  synthetic run has no `best_model.keras` and no `results.json`, so the
  report's results table, test confusion matrix and misclassified images are
  one-line notes (no Keras is loaded, no data set read); what it does include
  is the spec, the leaderboard, the importance (computed again), and four
  matplotlib plots rendered to inline PNGs: the best trial's curves, the
  parallel coordinates, the slices and the front of the objective against
  weights. Matplotlib's import (and its first figure) is timed once, on its
  own, by a warm-up report on the smallest run. The page's size is reported.

Each step's wall time (`time.perf_counter`) and the process's CPU time
(`time.process_time`, every thread) are the medians over `--rounds` rounds,
the steps interleaved within each round so that drift in the machine's speed
hits each alike. The report, the slow step (seconds at 200 trials), runs in
only the first `--report-rounds` rounds. The ratio is of wall times, to the
baseline of the same size measured in the same run. Times are printed, never
checked.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kerasmnist.coordinates import parallel_coordinates
from kerasmnist.events import EventWriter
from kerasmnist.importance import hyperparameter_importance
from kerasmnist.report import report_html
from kerasmnist.runs.export import format_rows, trial_rows
from kerasmnist.runs.rundir import EVENTS_FILE, run_state
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import LOG_KEYS

BASELINE = "run_state (baseline)"
REPORT = "report_html"


def hyperparameters(rng: np.random.Generator) -> dict[str, Any]:
    """An MLP trial's hyperparameters, as keras-tuner logs them: conditional layers only when used."""
    layers = int(rng.integers(1, 5))
    values: dict[str, Any] = {"num_layers": layers}
    for i in range(layers):
        values[f"units_{i}"] = int(rng.choice([32, 64, 128, 256, 512]))
        values[f"dropout_{i}"] = round(float(rng.uniform(0.0, 0.5)), 2)
    values["learning_rate"] = float(10 ** rng.uniform(-4.0, -1.0))
    values["optimizer"] = str(rng.choice(["adam", "sgd", "rmsprop"]))
    values["batch_norm"] = bool(rng.integers(0, 2))
    values["activation"] = str(rng.choice(["relu", "tanh", "gelu"]))
    return values


def write_run(run_dir: Path, trials: int, epochs: int, seed: int = 0) -> int:
    """A finished random search's run directory (no model, no results); returns the log's size."""
    rng = np.random.default_rng(seed)
    spec = RunSpec(search="random", trials=trials)
    run_dir.mkdir(parents=True)
    (run_dir / "spec.toml").write_text(spec.to_toml(), encoding="utf-8")
    with EventWriter(run_dir / EVENTS_FILE) as events:
        events.run_started(spec.to_dict(), plan={"trials": trials, "epochs": epochs})
        for t in range(trials):
            trial_id = f"{t:04d}"
            hps = hyperparameters(rng)
            # Best near a learning rate of 3e-3, falling off on a log scale; a little noise besides.
            lr_effect = 0.04 * (math.log10(float(hps["learning_rate"])) - math.log10(3e-3)) ** 2
            final = float(np.clip(0.97 - lr_effect + rng.normal(0.0, 0.005), 0.1, 0.999))
            events.trial_started(trial_id, hps)
            best = -math.inf
            for e in range(epochs):
                progress = 1.0 - math.exp(-(e + 1) / 2.5)
                val_accuracy = float(np.clip(0.1 + (final - 0.1) * progress + rng.normal(0.0, 0.002), 0, 1))
                accuracy = min(1.0, val_accuracy + 0.01 * progress)
                logs = dict(zip(LOG_KEYS, (
                    1.0 - accuracy + 0.05, accuracy, 1.0 - val_accuracy + 0.07, val_accuracy,
                    1.0 - accuracy + 0.04, accuracy + 0.001), strict=True))
                best = max(best, val_accuracy)
                seconds = float(rng.uniform(1.5, 2.5))
                events.epoch_ended(e, logs, seconds=seconds, epochs=epochs, trial_id=trial_id,
                                   cpu_seconds=1.8 * seconds)
            units = [784] + [int(hps[f"units_{i}"]) for i in range(int(hps["num_layers"]))] + [10]
            params = sum(a * b + b for a, b in zip(units, units[1:], strict=False))
            events.trial_ended(trial_id, status="COMPLETED", score=best, params=params)
        events.run_ended({})
    return (run_dir / EVENTS_FILE).stat().st_size


def timed(work: Callable[[], object]) -> tuple[float, float, object]:
    """Wall and CPU seconds of one call, and what it returned."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    value = work()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def cold_import(*modules: str) -> float | None:
    """Seconds to import `modules`, or `None` if one was already imported (not cold)."""
    if any(name in sys.modules for name in modules):
        return None
    start = time.perf_counter()
    for name in modules:
        importlib.import_module(name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", default="30,200", help="comma-separated trial counts (default 30,200)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--report-rounds", type=int, default=3,
                        help="rounds that time the report, the slow step (default 3)")
    args = parser.parse_args()
    sizes = [int(n) for n in args.trials.split(",")]
    report_rounds = max(1, min(args.report_rounds, args.rounds))

    sklearn_import = cold_import("sklearn.ensemble")
    matplotlib_import = cold_import("matplotlib.figure", "matplotlib.backends.backend_agg")
    with tempfile.TemporaryDirectory(prefix="bench-readout-") as tmp:
        runs = {}
        for trials in sizes:
            run_dir = Path(tmp) / f"run{trials}"
            size = write_run(run_dir, trials, args.epochs)
            runs[trials] = run_dir
            print(f"{trials} trials x {args.epochs} epochs: {trials * (args.epochs + 2) + 2:,} events, "
                  f"{size / 1024:.0f} KiB of log")
        # Warm-ups, outside the rounds: the first importance and the first report (matplotlib's
        # first figures), on the smallest run.
        first = run_state(runs[min(sizes)])
        cold_importance, _, _ = timed(lambda: hyperparameter_importance(first.trials.values(),
                                                                        first.objective))
        cold_report, _, _ = timed(lambda: report_html(runs[min(sizes)]))
        print(f"once: import sklearn.ensemble {_ms(sklearn_import)}, import matplotlib (figure + agg) "
              f"{_ms(matplotlib_import)}; first importance ({min(sizes)} trials) {_ms(cold_importance)}, "
              f"first report ({min(sizes)} trials) {_ms(cold_report)}")
        print(f"medians of {args.rounds} rounds ({report_rounds} for {REPORT}), steps interleaved")

        for trials in sizes:
            run_dir = runs[trials]
            state = run_state(run_dir)
            assert len(state.trials) == trials and state.trials_done == trials
            steps: dict[str, Callable[[], object]] = {
                BASELINE: lambda run_dir=run_dir: run_state(run_dir),
                "trial_rows + format_rows csv": lambda state=state: format_rows(trial_rows(state), "csv"),
                "hyperparameter_importance": lambda state=state: hyperparameter_importance(
                    state.trials.values(), state.objective),
                "parallel_coordinates": lambda state=state: parallel_coordinates(
                    list(state.trials.values()), state.objective),
                REPORT: lambda run_dir=run_dir: report_html(run_dir),
            }
            walls: dict[str, list[float]] = {name: [] for name in steps}
            cpus: dict[str, list[float]] = {name: [] for name in steps}
            page = ""
            for r in range(args.rounds):
                for name, work in steps.items():
                    if name == REPORT and r >= report_rounds:
                        continue
                    wall, cpu, value = timed(work)
                    walls[name].append(wall)
                    cpus[name].append(cpu)
                    if name == REPORT:
                        page = str(value)
            base = statistics.median(walls[BASELINE])
            print(f"\n{trials} trials x {args.epochs} epochs")
            print(f"{'step':32s} {'wall ms':>9s} {'CPU ms':>9s} {'x baseline':>11s}")
            for name in steps:
                wall = statistics.median(walls[name])
                print(f"{name:32s} {1000 * wall:9.1f} {1000 * statistics.median(cpus[name]):9.1f} "
                      f"{wall / base:11.2f}")
            print(f"report page: {len(page.encode('utf-8')) / 1024:.0f} KiB, "
                  f"{page.count('data:image/png')} inline PNGs")
        if "keras" in sys.modules:
            print("note: Keras was imported along the way")


def _ms(seconds: float | None) -> str:
    return "(already imported)" if seconds is None else f"{1000 * seconds:.0f} ms"


if __name__ == "__main__":
    main()
