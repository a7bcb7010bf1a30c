"""Helpers shared by the tests."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np

from kerasmnist import write_idx


def make_toy_files(
    directory: Path,
    *,
    n_train: int = 60,
    n_test: int = 20,
    num_classes: int = 3,
    seed: int = 0,
    compress: bool = True,
) -> dict[str, str]:
    """Writes a small synthetic data set; returns the SHA-256 of each file's content.

    Labels cycle through the classes, so every class has the same share; each
    image's first pixel holds its index so tests can tell examples apart.
    """
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True, exist_ok=True)
    digests = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        images[:, 0, 0] = np.arange(n) % 256
        labels = (np.arange(n) % num_classes).astype(np.uint8)
        for kind, array in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            path = directory / (name if compress else name[:-3])
            write_idx(path, array, compress=compress)
            raw = path.read_bytes()
            digests[name] = hashlib.sha256(gzip.decompress(raw) if compress else raw).hexdigest()
    return digests
