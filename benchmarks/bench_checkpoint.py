"""What checkpointing every epoch (`EpochCheckpoint`, for resuming inside a trial) costs per epoch.

Usage:

    python benchmarks/bench_checkpoint.py [--rounds 3] [--epochs 6] [--model mlp] [--limit N]

Trains a model on the bundled MNIST sample (5,000 training images, 500 of them
kept for validation, evaluated each epoch as in a search's trial) at batch 128,
three ways:

- plain `fit` (the baseline);
- `fit` with `EpochCheckpoint`, as a search's trial has it: every model and
  optimizer variable written to `state.npz` after each epoch, atomically
  (a temporary file, then a rename), with the best epoch tracked;
- `fit` with Keras's own `BackupAndRestore` (weights and optimizer in place,
  then the epoch number in a second file, not atomically), for comparison.

`--model` is a hypermodel kind (`mlp`, `cnn`, `tiny`: its default
hyperparameters) or a preset name. The first epoch of each run (which traces the
functions) is left out; the median of the other epochs over every round is
reported, rounds interleaving the ways so that drift in the machine's speed hits
each alike: wall time, and the process's CPU time (every thread), which other
work on a shared machine disturbs less. The time of the checkpoint's own write,
measured around it, and the file's size are reported too.
"""

from __future__ import annotations

import argparse
import gc
import math
import statistics
import tempfile
import time
from pathlib import Path

import keras
import keras_tuner as kt

from kerasmnist import load_dataset, presets
from kerasmnist.callbacks import EpochCheckpoint
from kerasmnist.callbacks.epoch_checkpoint import STATE_FILE
from kerasmnist.hypermodels import build_hypermodel


class EpochTimer(keras.callbacks.Callback):
    """Wall and CPU time of each epoch, callbacks at its end included (put it last)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self.cpu: list[float] = []
        self._start = self._cpu = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start, self._cpu = time.perf_counter(), time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)
        self.cpu.append(time.process_time() - self._cpu)


class TimedCheckpoint(EpochCheckpoint):
    """`EpochCheckpoint` timing its own writes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.writes: list[float] = []

    def _save(self, epoch: int, stopped: bool) -> None:
        start = time.perf_counter()
        super()._save(epoch, stopped)
        self.writes.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--model", default="mlp")
    parser.add_argument("--limit", type=int, default=None, help="train on this many images only")
    args = parser.parse_args()
    ds = load_dataset("mnist_sample", validation=500)
    x, y = ds.arrays("train")
    x, y = x[:args.limit], y[:args.limit]
    validation = ds.arrays("validation")

    def build() -> keras.Model:
        if args.model in presets.names():
            return presets.build(args.model, steps_per_epoch=math.ceil(len(x) / 128))
        return build_hypermodel(args.model, dataset=ds).build(kt.HyperParameters())

    probe = build()
    print(f"{ds.name}: {len(x):,} training images, model {args.model} ({probe.count_params():,} weights), "
          f"backend {keras.backend.backend()}, batch 128, {args.epochs} epochs x {args.rounds} rounds")
    scratch = Path(tempfile.mkdtemp())
    checkpoints: list[TimedCheckpoint] = []

    def ours() -> list[keras.callbacks.Callback]:
        checkpoint = TimedCheckpoint(scratch / f"ours{len(checkpoints)}", monitor="val_accuracy")
        checkpoints.append(checkpoint)
        return [checkpoint]

    ways = {
        "plain fit (baseline)": lambda: [],
        "fit + EpochCheckpoint": ours,
        "fit + keras BackupAndRestore": lambda: [keras.callbacks.BackupAndRestore(
            str(scratch / f"keras{time.perf_counter_ns()}"), delete_checkpoint=False)],
    }
    epochs: dict[str, list[float]] = {name: [] for name in ways}
    cpu: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, callbacks in ways.items():
            gc.collect()
            keras.utils.set_random_seed(0)
            model = build()
            timer = EpochTimer()
            model.fit(x, y, batch_size=128, epochs=args.epochs, validation_data=validation, verbose=0,
                      callbacks=[*callbacks(), timer])
            epochs[name].extend(timer.seconds[1:])
            cpu[name].extend(timer.cpu[1:])

    base = statistics.median(epochs["plain fit (baseline)"])
    cpu_base = statistics.median(cpu["plain fit (baseline)"])
    def columns(value: float, baseline: float) -> str:
        return f"{value:8.3f} {value / baseline:6.2f}x {100 * (value - baseline) / baseline:6.1f}%"

    heading = f"{'ratio':>7s} {'cost':>7s}"
    print(f"\n{'way':32s} {'epoch s':>8s} {heading} {'CPU s':>8s} {heading}")
    for name, seconds in epochs.items():
        print(f"{name:32s} {columns(statistics.median(seconds), base)} "
              f"{columns(statistics.median(cpu[name]), cpu_base)}")
    writes = [s for checkpoint in checkpoints for s in checkpoint.writes[1:]]
    size = (checkpoints[-1].directory / STATE_FILE).stat().st_size
    print(f"\nEpochCheckpoint's write: median {1000 * statistics.median(writes):.1f} ms "
          f"({100 * statistics.median(writes) / base:.1f}% of the plain epoch), file {size / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
