"""What `--deterministic` (op determinism) costs, and what it buys.

Trains the same spec four times, each in a fresh process: twice as usual (the
baseline) and twice with `RunSpec(deterministic=True)`. Prints each way's training
time (the sum of its epochs' seconds, from the event log) and CPU time, the ratio
of the deterministic way to the baseline, and whether each way's two runs ended
with the same test accuracy and bit-for-bit the same weights.

    python benchmarks/bench_determinism.py [--dataset mnist] [--model mlp_64_64] [--epochs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--model", default="mlp_64_64")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--measure", choices=["0", "1"], help=argparse.SUPPRESS)  # one run; prints JSON
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.dataset, args.model, args.epochs, args.measure == "1")))
        return
    print(f"{args.dataset}, {args.model}, {args.epochs} epochs; each run in a fresh process")
    ways = {}
    for label, flag in [("usual (baseline)", "0"), ("deterministic", "1")]:
        runs = [json.loads(subprocess.run(
            [sys.executable, __file__, *sys.argv[1:], "--measure", flag],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]) for _ in range(2)]
        ways[label] = runs
        same = runs[0]["weights"] == runs[1]["weights"]
        print(f"{label:>18}: training {runs[0]['train_s']:6.1f} s, {runs[1]['train_s']:6.1f} s; CPU "
              f"{runs[0]['cpu_s']:6.1f} s, {runs[1]['cpu_s']:6.1f} s; test accuracy "
              f"{runs[0]['test_accuracy']:.4f}, {runs[1]['test_accuracy']:.4f}; same weights: {same}")
    base, det = ways["usual (baseline)"], ways["deterministic"]
    train_ratio = sum(r["train_s"] for r in det) / sum(r["train_s"] for r in base)
    cpu_ratio = sum(r["cpu_s"] for r in det) / sum(r["cpu_s"] for r in base)
    print(f"deterministic / baseline: training time {train_ratio:.2f}x, CPU time {cpu_ratio:.2f}x")


def measure(dataset: str, model: str, epochs: int, deterministic: bool) -> dict:
    """One run: training seconds, CPU seconds of the process, test accuracy, a digest of the weights."""
    from kerasmnist.runs import RunSpec, engine

    spec = RunSpec(dataset=dataset, model=model, epochs=epochs, deterministic=deterministic)
    with tempfile.TemporaryDirectory() as tmp:
        result = engine.run(spec, Path(tmp) / "run")
        events = [json.loads(line) for line in (Path(tmp) / "run" / "events.jsonl").read_text().splitlines()]
        import keras

        weights = keras.saving.load_model(Path(tmp) / "run" / "best_model.keras").get_weights()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    digest = hashlib.sha256(b"".join(w.tobytes() for w in weights)).hexdigest()
    return {"train_s": sum(e["seconds"] for e in events if e["event"] == "epoch_ended"),
            "cpu_s": usage.ru_utime + usage.ru_stime, "test_accuracy": result.test_accuracy,
            "weights": digest}


if __name__ == "__main__":
    main()
