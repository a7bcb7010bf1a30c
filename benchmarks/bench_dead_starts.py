"""Dead starts of tiny models: how many initialisations never learn, with and without
centred inputs (`kerasmnist.layers.standardization`).

Trains `tiny_150`'s network from N initialisations (seeds 1000, 1001, ...) for a
few epochs on the first 20,000 MNIST training images, with its recipe's rate, and
counts the starts whose validation accuracy stays under 20% (chance is 10%): once
as `kerasmnist.presets.build("tiny_150")` gives it (inputs centred), and, the
baseline in the same run, the same model with the standardization layer replaced
by the identity (pixels in [0, 1]).

    python benchmarks/bench_dead_starts.py [--starts 16] [--epochs 2] [--limit 20000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

DEAD = 0.20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--starts", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--limit", type=int, default=20_000)
    args = parser.parse_args()

    import keras

    from kerasmnist import load_dataset, presets
    from kerasmnist.recipes import recipe

    data = load_dataset("mnist", validation=5000, seed=0)
    x, y = data.arrays("train", view="image")
    x, y = x[:args.limit], y[:args.limit]
    validation = data.arrays("validation", view="image")
    rate = recipe("tiny_150").learning_rate
    results = {}
    for way, centred in (("inputs in [0, 1] (baseline)", False), ("centred (the preset)", True)):
        accuracies, started = [], time.process_time()
        for start in range(args.starts):
            keras.utils.set_random_seed(1000 + start)
            model = presets.build("tiny_150", input_shape=(28, 28, 1))
            if not centred:
                model.get_layer("standardize").scale, model.get_layer("standardize").offset = 1.0, 0.0
            model.compile(keras.optimizers.Adam(rate),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
            model.fit(x, y, batch_size=128, epochs=args.epochs, verbose=0)
            accuracies.append(model.evaluate(*validation, batch_size=1024, verbose=0)[1])
        dead = sum(a < DEAD for a in accuracies)
        results[way] = dead
        live = [a for a in accuracies if a >= DEAD] or [0.0]
        print(json.dumps({"way": way, "dead": dead, "starts": args.starts,
                          "median_of_the_live": statistics.median(live),
                          "cpu_seconds": round(time.process_time() - started, 1),
                          "accuracies": [round(a, 4) for a in accuracies]}), flush=True)
    base, ours = results["inputs in [0, 1] (baseline)"], results["centred (the preset)"]
    print(f"dead starts: {base}/{args.starts} with inputs in [0, 1], {ours}/{args.starts} centred"
          + (f" ({ours / base:.2f}x the baseline)" if base else ""))


if __name__ == "__main__":
    main()
