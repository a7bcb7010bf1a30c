"""What full-training-set evaluation costs per epoch, against the usual approach.

Usage:

    KERASMNIST_DATA=path/to/data python benchmarks/bench_full_eval.py [--rounds 3] [--epochs 5]

Trains the 784-128-10 MLP (preset `mlp_128`) on MNIST (the bundled sample when
the full set is not found) at batch 128, three ways, each for five epochs:

- plain `fit` (the baseline);
- `fit` with `FullEvalMetrics`, evaluating all training images in inference mode
  at the end of every epoch;
- `fit` with the hand-written callback courses use, `model.evaluate(x_train,
  y_train)` at Keras's default batch size.

The first epoch of each run (which traces the functions) is left out; the median
of the other epochs over every round is reported (single epochs here sometimes
take twice as long, in every way alike), rounds interleaving the three ways so
that drift in the machine's speed hits each alike. Target: the
evaluation costs at most 20% of the plain epoch.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import keras

from kerasmnist import FullEvalMetrics, load_dataset, presets
from kerasmnist.errors import DatasetNotFoundError


class EpochTimer(keras.callbacks.Callback):
    """Wall time of each epoch, callbacks at its end included (put it last)."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []
        self._start = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


class HandWritten(keras.callbacks.Callback):
    """The usual course callback: evaluate the training set at the default batch size."""

    def __init__(self, x, y) -> None:
        super().__init__()
        self.x, self.y = x, y

    def on_epoch_end(self, epoch, logs=None):
        loss, accuracy = self.model.evaluate(self.x, self.y, verbose=0)
        logs["train_loss"], logs["train_accuracy"] = loss, accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    try:
        ds = load_dataset("mnist", validation=0, download=False)
    except DatasetNotFoundError:
        ds = load_dataset("mnist_sample", validation=0)
    x, y = ds.arrays("train")
    print(f"{ds.name}: {len(x):,} training images, backend {keras.backend.backend()}, "
          f"batch 128, {args.epochs} epochs x {args.rounds} rounds")

    ways = {
        "plain fit (baseline)": lambda: [],
        "fit + FullEvalMetrics": lambda: [FullEvalMetrics(ds)],
        "fit + model.evaluate(x_train) callback": lambda: [HandWritten(x, y)],
    }
    epochs: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, callbacks in ways.items():
            gc.collect()
            keras.utils.set_random_seed(0)
            model = presets.build("mlp_128")
            timer = EpochTimer()
            model.fit(x, y, batch_size=128, epochs=args.epochs, verbose=0,
                      callbacks=[*callbacks(), timer])
            epochs[name].extend(timer.seconds[1:])

    base = statistics.median(epochs["plain fit (baseline)"])
    print(f"\n{'way':42s} {'epoch s':>8s} {'ratio':>7s} {'eval cost':>10s}")
    for name, seconds in epochs.items():
        median = statistics.median(seconds)
        print(f"{name:42s} {median:8.2f} {median / base:6.2f}x {100 * (median - base) / base:9.1f}%")
    print("\ntarget: FullEvalMetrics' evaluation cost <= 20% of the plain epoch")


if __name__ == "__main__":
    main()
