"""The tiny presets as int8 TFLite models: float accuracy, int8 accuracy, weights, bytes.

For each preset, trains it once with its recipe (or takes a finished run
directory, `--run PRESET=DIR`), then, each from the command line:

    kerasmnist train --dataset mnist --model PRESET --validation 5000 --seed S --run-dir DIR
    kerasmnist export DIR -o DIR/float.tflite
    kerasmnist export DIR -o DIR/int8.tflite --int8
    kerasmnist evaluate DIR/int8.tflite --dataset mnist --split test --json

and prints, per preset: the weights, the Keras model's test accuracy, the float32
and int8 `.tflite` files' test accuracy and bytes, and the bytes of their weights
alone. The baseline of the byte ratio is the float32 flatbuffer of the same model,
written in the same run.

    python benchmarks/bench_int8.py [--presets tiny_150,tiny_500,tiny_1000,tiny_2000] [--seed 0]
        [--run tiny_500=runs/tiny_500-seed0 ...] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", default="tiny_150,tiny_500,tiny_1000,tiny_2000")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--run", action="append", default=[], metavar="PRESET=DIR",
                        help="a finished run of the preset to export instead of training one")
    parser.add_argument("--keep", metavar="DIR", help="train into DIR and keep the runs")
    args = parser.parse_args()
    given = dict(item.split("=", 1) for item in args.run)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        rows = []
        for preset in args.presets.split(","):
            run_dir = Path(given[preset]) if preset in given else root / f"{preset}-seed{args.seed}"
            if preset not in given and not (run_dir / "results.json").is_file():
                cli("train", "--dataset", "mnist", "--model", preset, "--validation", "5000",
                    "--seed", str(args.seed), "--run-dir", str(run_dir), "--quiet")
            results = json.loads((run_dir / "results.json").read_text())
            row = {"preset": preset, "weights": results["params"],
                   "keras": split_accuracy(results["splits"])}
            for kind, flags in (("float", []), ("int8", ["--int8"])):
                path = run_dir / f"{kind}.tflite"
                written = cli("export", str(run_dir), "-o", str(path), *flags, "--json")
                evaluated = cli("evaluate", str(path), "--dataset", "mnist", "--split", "test", "--json")
                row[kind] = {"accuracy": evaluated["splits"]["test"]["accuracy"],
                             "bytes": written["bytes"], "weight_bytes": written["weight_bytes"]}
            rows.append(row)
            print(json.dumps(row), flush=True)
    print("\n| preset | weights | Keras float32 | .tflite float32 | int8 | int8 - float | "
          "float32 .tflite bytes | int8 .tflite bytes | × float | int8 weight bytes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        f, q = r["float"], r["int8"]
        print(f"| `{r['preset']}` | {r['weights']:,} | {r['keras']:.2%} | {f['accuracy']:.2%} | "
              f"{q['accuracy']:.2%} | {100 * (q['accuracy'] - r['keras']):+.2f} | {f['bytes']:,} | "
              f"{q['bytes']:,} | {q['bytes'] / f['bytes']:.2f} | {q['weight_bytes']:,} |")


def cli(*argv: str) -> dict:
    """Runs `kerasmnist ARGV` in a fresh process; its JSON output, if it printed one."""
    out = subprocess.run([sys.executable, "-m", "kerasmnist.cli", *argv], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out) if "--json" in argv else {}


def split_accuracy(splits: list[dict]) -> float:
    return next(s["accuracy"] for s in splits if s["split"] == "test")


if __name__ == "__main__":
    main()
