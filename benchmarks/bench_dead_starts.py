"""Dead starts of tiny models: how many initialisations never learn, by their two causes.

Trains `tiny_150`'s network from N initialisations (seeds 1000, 1001, ...) for a
few epochs on the first `--limit` MNIST training images (0: all 55,000), with its
recipe's rate and cosine decay over its recipe's epochs, and counts the starts
whose validation accuracy stays under 20% (chance is 10%). Three ways, each from
the same initialisations:

- the baseline, the first frontier's network: pixels in [0, 1] into ReLUs. A
  first convolution whose weights sum below zero gives a negative output
  everywhere and its ReLU no gradient (the first cause);
- centred inputs (`kerasmnist.layers.standardization`), still ReLUs: a layer can
  still die during the first steps at the high rate (the second cause);
- the preset: centred inputs into leaky ReLUs, whose gradient is never zero.

    python benchmarks/bench_dead_starts.py [--starts 16] [--epochs 2] [--limit 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

DEAD = 0.20

WAYS = (("pixels in [0, 1], ReLU (baseline)", False, 0.0),
        ("centred, ReLU", True, 0.0),
        ("centred, leaky ReLU (the preset)", True, None))
"""Each way: its name, whether the inputs are centred, and the leaky ReLUs' slope
(`None`: the preset's own)."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=20_000, help="training images; 0: all")
    args = parser.parse_args()

    import keras

    from kerasmnist import load_dataset, presets
    from kerasmnist.recipes import recipe

    data = load_dataset("mnist", validation=5000, seed=0)
    x, y = data.arrays("train", view="image")
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    validation = data.arrays("validation", view="image")
    own = recipe("tiny_150")
    steps = own.epochs * -(-len(x) // own.batch_size)
    dead = {}
    for way, centred, slope in WAYS:
        accuracies, started = [], time.process_time()
        for start in range(args.starts):
            keras.utils.set_random_seed(1000 + start)
            model = presets.build("tiny_150", input_shape=(28, 28, 1))
            if not centred:
                model.get_layer("standardize").scale, model.get_layer("standardize").offset = 1.0, 0.0
            if slope is not None:
                for layer in model.layers:
                    if isinstance(layer, keras.layers.LeakyReLU):
                        layer.negative_slope = slope  # 0: a ReLU
            rate = keras.optimizers.schedules.CosineDecay(own.learning_rate, steps)
            model.compile(keras.optimizers.Adam(rate),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            model.fit(x, y, batch_size=own.batch_size, epochs=args.epochs, verbose=0)
            accuracies.append(model.evaluate(*validation, batch_size=1024, verbose=0)[1])
        dead[way] = sum(a < DEAD for a in accuracies)
        live = [a for a in accuracies if a >= DEAD] or [0.0]
        print(json.dumps({"way": way, "dead": dead[way], "starts": args.starts,
                          "median_of_the_live": statistics.median(live),
                          "cpu_seconds": round(time.process_time() - started, 1),
                          "accuracies": [round(a, 4) for a in accuracies]}), flush=True)
    base = dead[WAYS[0][0]]
    print("dead starts: " + ", ".join(
        f"{count}/{args.starts} {way}" + (f" ({count / base:.2f}x the baseline)" if base and i else "")
        for i, (way, count) in enumerate(dead.items())))


if __name__ == "__main__":
    main()
