"""Builds the bundled sample data sets from the full ones.

Usage:

    KERASMNIST_DATA=path/to/data python tools/make_samples.py

Each sample is a stratified subset (every class keeps its share) of the official
training and test files, drawn with a fixed seed, written as gzip IDX files under
kerasmnist/samples/<name>/. The script prints the SHA-256 of each decompressed file
for the registry in kerasmnist/datasets.py. Running it again reproduces the same
bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from kerasmnist import load_dataset, read_idx, write_idx
from kerasmnist.splits import split_indices

SAMPLES = Path(__file__).resolve().parent.parent / "kerasmnist" / "samples"
SIZES = {"mnist": (5000, 1000), "fashion_mnist": (5000, 1000)}
SEED = 2026


def subset(labels: np.ndarray, size: int) -> np.ndarray:
    """Indices of a stratified subset of `size` examples, in file order."""
    return split_indices(labels, size, stratify=True, seed=SEED)[1]


def main() -> None:
    for name, (n_train, n_test) in SIZES.items():
        ds = load_dataset(name, validation=0, download=False)
        out = SAMPLES / name
        out.mkdir(parents=True, exist_ok=True)
        train, test = subset(ds.y_train, n_train), subset(ds.y_test, n_test)
        parts = {
            "train-images-idx3-ubyte.gz": ds.x_train[train],
            "train-labels-idx1-ubyte.gz": ds.y_train[train],
            "t10k-images-idx3-ubyte.gz": ds.x_test[test],
            "t10k-labels-idx1-ubyte.gz": ds.y_test[test],
        }
        for filename, array in parts.items():
            path = out / filename
            write_idx(path, np.ascontiguousarray(array))
            read_idx(path)  # validates what was written
            digest = hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
            print(f"{name:14s} {filename:28s} {path.stat().st_size:9d} {digest}")


if __name__ == "__main__":
    main()
