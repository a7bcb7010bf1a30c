"""How fast kerasmnist loads MNIST, against the usual ways, measured side by side.

Usage:

    KERASMNIST_DATA=path/to/data python benchmarks/bench_load.py [--repeats 7]

`path/to/data` holds mnist/ with the four official gzip files. Every row loads the
same data in the same run; the ratio column divides each median time by the
baseline's (plain zlib decompression of the same files), so machine noise and
speed cancel out. Peak is the most memory the row allocated (tracemalloc, which
NumPy reports to); a memory-mapped cache counts as nothing because it is not
allocated until written to.

Targets: first load <= 1.3x plain zlib; repeat load <= 20 ms, from gzip or
uncompressed files alike (both map kerasmnist's private copy, never the file).
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import tempfile
import time
import tracemalloc
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kerasmnist import load_dataset, read_idx
from kerasmnist.datasets import get_dataset_info, search_directories
from kerasmnist.filecache import load_idx_file

TRAIN = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")


Row = tuple[str, Callable[[], object], Callable[[], None]]


def measure(rows: list[Row], repeats: int) -> list[tuple[str, float, int]]:
    """Median seconds and peak allocation of each row's function.

    Repetitions go round-robin over the rows, so that drift in the machine's
    speed during the run hits every row alike. The peak comes from one more run
    under tracemalloc, kept apart from the timed runs because tracing slows every
    allocation, and so penalises code that makes many small ones.
    """
    times: dict[str, list[float]] = {name: [] for name, _, _ in rows}
    for _ in range(repeats):
        for name, fn, setup in rows:
            setup()
            start = time.perf_counter()
            result = fn()
            times[name].append(time.perf_counter() - start)
            del result
    results = []
    for name, fn, setup in rows:
        setup()
        tracemalloc.start()
        result = fn()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del result
        results.append((name, statistics.median(times[name]), peak))
    return results


def nothing() -> None:
    """No preparation."""


def fresh_cache(root: Path) -> Callable[[], None]:
    """A setup step that points kerasmnist at a new, empty cache."""
    counter = iter(range(10**6))

    def setup() -> None:
        os.environ["KERASMNIST_CACHE_DIR"] = str(root / f"cache{next(counter)}")
        # Flush the cache copies earlier repetitions wrote: otherwise the kernel
        # writes them back during the next timed load, a cost a real first load
        # (once, on a quiet disk) does not pay.
        os.sync()

    return setup


def warm_cache(root: Path) -> Callable[[], None]:
    """A setup step that points kerasmnist back at the cache warmed before timing."""

    def setup() -> None:
        os.environ["KERASMNIST_CACHE_DIR"] = str(root)

    return setup


def report(title: str, rows: list[tuple[str, float, int]], notes: dict[str, str]) -> None:
    base = rows[0][1]
    print(f"\n{title}")
    print(f"{'method':46s} {'median ms':>10s} {'ratio':>7s} {'peak MB':>8s}")
    for name, seconds, peak in rows:
        print(f"{name:46s} {seconds * 1e3:10.1f} {seconds / base:6.2f}x {peak / 2**20:8.1f}"
              f"  {notes.get(name, '')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    directory = next((d for d in search_directories("mnist") if (d / TRAIN[0]).is_file()), None)
    if directory is None:
        raise SystemExit("MNIST not found: set KERASMNIST_DATA to a folder holding mnist/")
    files = [directory / name for name in get_dataset_info("mnist").files.values()]
    train = [directory / name for name in TRAIN]
    scratch = Path(tempfile.mkdtemp(prefix="bench_load_"))
    os.environ["KERASMNIST_CACHE_DIR"] = str(scratch / "warm")
    n = args.repeats

    def zlib_all(paths):
        return [zlib.decompress(p.read_bytes(), 31) for p in paths]

    def hand_written():
        images = np.frombuffer(gzip.open(train[0]).read(), np.uint8, offset=16).reshape(-1, 28, 28)
        labels = np.frombuffer(gzip.open(train[1]).read(), np.uint8, offset=8)
        return images, labels

    npz = scratch / "mnist.npz"  # shaped like Keras's mnist.npz
    x, y = read_idx(train[0]), read_idx(train[1])
    np.savez_compressed(npz, x_train=x, y_train=y)
    del x, y

    def npz_load():
        with np.load(npz) as data:
            return data["x_train"], data["y_train"]

    def ours():
        return [load_idx_file(p)[0] for p in train]

    raw = [scratch / name.removesuffix(".gz") for name in TRAIN]  # uncompressed copies
    for packed, unpacked in zip(train, raw, strict=True):
        unpacked.write_bytes(zlib.decompress(packed.read_bytes(), 31))

    def ours_raw():
        return [load_idx_file(p)[0] for p in raw]

    ours()  # warm the cache for the repeat rows
    ours_raw()
    rows = measure([
        ("zlib.decompress (baseline)", lambda: zlib_all(train), nothing),
        ("gzip.open().read() + np.frombuffer", hand_written, nothing),
        ("np.load of mnist.npz (Keras style)", npz_load, nothing),
        ("kerasmnist.read_idx", lambda: [read_idx(p) for p in train], nothing),
        ("kerasmnist first load (hash + cache)", ours, fresh_cache(scratch / "a")),
        ("kerasmnist repeat load", ours, warm_cache(scratch / "warm")),
        ("kerasmnist repeat load, uncompressed files", ours_raw, warm_cache(scratch / "warm")),
    ], n)
    report("MNIST train (images + labels), one file pair", rows, {
        "kerasmnist first load (hash + cache)": "target <= 1.30x",
        "kerasmnist repeat load": "target <= 20 ms",
        "kerasmnist repeat load, uncompressed files": "target <= 20 ms",
    })

    def dataset(validation=0):
        return load_dataset("mnist", validation=validation, download=False)

    warm_cache(scratch / "warm")()
    dataset()
    rows = measure([
        ("zlib.decompress of all four files", lambda: zlib_all(files), nothing),
        ("load_dataset first (verify + cache)", dataset, fresh_cache(scratch / "b")),
        ("load_dataset repeat", dataset, warm_cache(scratch / "warm")),
        ("load_dataset repeat, validation=10000", lambda: dataset(10000), warm_cache(scratch / "warm")),
    ], n)
    report("MNIST, all four files through load_dataset", rows, {})


if __name__ == "__main__":
    main()
