"""Shared fixtures: isolation from the machine, synthetic and real data sets."""

from __future__ import annotations

import os

# Quiet TensorFlow's start-up chatter before anything imports it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerasmnist import datasets
from kerasmnist.datasets import DatasetInfo, register_dataset
from tests.helpers import make_toy_files

# Read before the isolation fixture clears it for every test.
REAL_DATA = os.environ.get("KERASMNIST_DATA")


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps every test away from the user's caches and the machine's data dirs."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(home / "keras"))
    monkeypatch.delenv("KERASMNIST_DATA", raising=False)
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", ())


@pytest.fixture
def real_data(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real MNIST-family files, through the loader's environment variable."""
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        pytest.skip("real data absent: set KERASMNIST_DATA to a folder holding mnist/ "
                    "and fashion-mnist/ (CI uses ../shared/data)")
    monkeypatch.setenv("KERASMNIST_DATA", REAL_DATA)
    # One cache for all real-data tests: decompressing 60,000 images once is enough.
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(_shared_cache(tmp_path_factory)))
    return Path(REAL_DATA)


def _shared_cache(factory: pytest.TempPathFactory) -> Path:
    path = factory.getbasetemp() / "real-data-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def toy_info(tmp_path: Path) -> Iterator[DatasetInfo]:
    """A registered three-class data set `toy` whose files are in tmp_path/source."""
    digests = make_toy_files(tmp_path / "source")
    info = DatasetInfo("toy", ("a", "b", "c"), sha256=digests)
    register_dataset(info, overwrite=True)
    yield info
    datasets._REGISTRY.pop("toy", None)


@pytest.fixture(scope="session")
def sample_arrays():
    """A small slice of the bundled MNIST sample: flat train and validation arrays."""
    from kerasmnist import load_dataset

    ds = load_dataset("mnist_sample", validation=0.2)
    x, y = ds.arrays("train")
    x_val, y_val = ds.arrays("validation")
    return x[:512], y[:512], x_val[:128], y_val[:128]


@pytest.fixture
def toy_remote(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """Toy files for a local mirror to serve, and their digests; `toy_remote` is unregistered after."""
    digests = make_toy_files(tmp_path / "served")
    yield tmp_path / "served", digests
    datasets._REGISTRY.pop("toy_remote", None)
