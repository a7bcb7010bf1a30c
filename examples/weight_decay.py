"""Weight decay on the 784-500-300 MLP, with replicates, then LeNet-5, on MNIST.

Reproduces the classic MNIST baselines of LeCun's table: the 784-500-300-10 MLP
with weight decay (98.47% on the test set) and LeNet-5 (99.05%; a ReLU/Adam
LeNet-5 reaches 99.19%). The MLP is trained with 5 weight-decay (L2) values, 3
replicates each (seeds 0, 1, 2), and the test accuracies are plotted as mean and
standard deviation per value; then LeNet-5 (`kerasmnist.presets`), 3 replicates.

Full mode: MNIST, 10,000 validation images carved from the training set, 15
epochs per model, Adam at 1e-3, batch 128: 15 MLPs at about 5 s an epoch and 3
LeNet-5s at about 10 s an epoch, so about 30 minutes on 2 CPU cores. `--quick`
trains a tiny MLP with 2 values x 2 replicates on the bundled sample in seconds.

    python examples/weight_decay.py [--quick] [--epochs 15] [--out DIR]

Writes to `--out` (default `runs/examples/weight_decay`, `-quick` appended in
quick mode): a run directory per setting (`l2=<value>/`, `lenet5/`), the plot
`weight_decay.png` and `summary.txt` with the tables printed here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

DECAYS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3)
PUBLISHED = {"784-500-300 MLP": 0.9847, "LeNet-5": 0.9905}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bundled sample, tiny MLP, seconds")
    parser.add_argument("--epochs", type=int, default=15, help="epochs of each model")
    parser.add_argument("--out", type=Path, help="output folder")
    args = parser.parse_args(argv)
    out = args.out or Path("runs/examples/weight_decay" + ("-quick" if args.quick else ""))

    from kerasmnist.backend import load_backend

    load_backend()
    import kerasmnist as km
    from kerasmnist.evaluation import Replicates, sweep_table
    from kerasmnist.plots import plot_replicates

    quick = args.quick
    common = km.RunSpec(dataset="mnist_sample" if quick else "mnist",
                        validation=200 if quick else 10_000, limit=300 if quick else None,
                        epochs=1 if quick else args.epochs, replicates=2 if quick else 3)
    widths = (32, 16) if quick else (500, 300)
    decays = DECAYS[::2][:2] if quick else DECAYS

    def replicates(spec: km.RunSpec, run_dir: Path) -> tuple[Replicates, km.RunResult]:
        """Trains the spec's replicates in one run directory; their test accuracies."""
        result = km.run(spec, run_dir)
        values = tuple(result.replicates["values"].values())
        return Replicates(tuple(spec.seed + i for i in range(len(values))), values), result

    mlp = f"784-{widths[0]}-{widths[1]} MLP"
    results: dict[str, Replicates] = {}
    for decay in decays:
        spec = common.replace(model="mlp", overrides={
            "num_layers": 2, "units_0": widths[0], "units_1": widths[1], "dropout": 0.0, "l2": decay})
        results[f"{decay:g}"], _ = replicates(spec, out / f"l2={decay:g}")
        print(f"{mlp}, L2 {decay:g}: test accuracy {results[f'{decay:g}']}", flush=True)
    png = plot_replicates(results, out / "weight_decay.png", ylabel="test accuracy",
                          title=f"{mlp} on {common.dataset}: weight decay (L2)")

    lenet, lenet_result = replicates(common.replace(model="lenet5"), out / "lenet5")
    print(f"LeNet-5: test accuracy {lenet}", flush=True)

    table = {(f"L2 {d}", "test accuracy"): r for d, r in results.items()}
    table[("LeNet-5", "test accuracy")] = lenet
    best = max(results, key=lambda d: results[d].mean)
    lines = [
        f"Test accuracy (mean ± std over {common.replicates} replicates) on {common.dataset}, "
        f"{common.epochs} epochs", "",
        sweep_table(table, row_label="model"), "",
        f"Best weight decay: {best} ({results[best]}); published 784-500-300: "
        f"{PUBLISHED['784-500-300 MLP']:.4f}",
        f"LeNet-5 ({lenet_result.params:,} weights): {lenet}; published: {PUBLISHED['LeNet-5']:.4f}",
        f"Plot: {png}",
    ]
    text = "\n".join(lines)
    print(text)
    (out / "summary.txt").write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
