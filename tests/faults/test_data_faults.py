"""Faults of the data layer (issue 18, faults 3 and 5): a cache that cannot be
written, and data that changes after it was verified.

A cache directory that is read-only, cannot be created or sits on a full disk
must cost speed only: the load succeeds with the right arrays and one warning,
and no temporary file is left. Data edited in place after verification (same
size, modification time put back) must be noticed; an edited cache copy must
never be served; and truncating a user's file under loaded arrays must not kill
the process with SIGBUS.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import ChecksumError, DatasetInfo, datasets, filecache, load_dataset, read_idx
from kerasmnist.cli import main
from kerasmnist.datasets import ROLES, find_files, get_dataset_info, register_dataset
from tests.helpers import make_toy_files

REPO = Path(__file__).resolve().parents[2]
SAMPLE_DIR = get_dataset_info("mnist_sample").bundled_dir
CACHE_WARNING = "cannot write its cache"


def _sample_arrays() -> dict[str, np.ndarray]:
    """The bundled sample's arrays, read straight from its files without the cache."""
    return {role: read_idx(path) for role, path in find_files(SAMPLE_DIR, "mnist_sample").items()}


def _assert_sample(ds: datasets.Dataset) -> None:
    expected = _sample_arrays()
    np.testing.assert_array_equal(ds.x_train, expected["train_images"])
    np.testing.assert_array_equal(ds.y_train, expected["train_labels"])
    np.testing.assert_array_equal(ds.x_test, expected["test_images"])
    np.testing.assert_array_equal(ds.y_test, expected["test_labels"])


def _cache_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if CACHE_WARNING in str(w.message)]


def _load_twice_recording_warnings() -> tuple[datasets.Dataset, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_dataset("mnist_sample", validation=0)
        ds = load_dataset("mnist_sample", validation=0)
    return ds, _cache_warnings(caught)


def _temporaries(directory: Path) -> list[Path]:
    return [p for p in directory.rglob("*") if p.name.endswith(".tmp")] if directory.exists() else []


# --- fault 3: a cache that cannot be written ---------------------------------

@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="root writes into a 0o500 directory: the permission cannot be denied")
def test_read_only_cache_dir_loads_uncached_with_one_warning(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(cache))
    try:
        ds, messages = _load_twice_recording_warnings()
        assert list(cache.iterdir()) == []
    finally:
        cache.chmod(0o700)
    _assert_sample(ds)
    assert len(messages) == 1, messages
    assert str(cache) in messages[0] and "Permission denied" in messages[0]


def test_cache_dir_that_cannot_be_created_loads_uncached_with_one_warning(tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("not a directory")
    cache = tmp_path / "a-file" / "cache"
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(cache))
    ds, messages = _load_twice_recording_warnings()
    _assert_sample(ds)
    assert len(messages) == 1, messages
    assert str(cache) in messages[0] and "Not a directory" in messages[0]


class _FullDisk:
    """An `open` for kerasmnist.filecache on a disk with `room` bytes left.

    Reading is untouched. A file opened for writing takes what fits, then fails
    like a full disk: `write` raises ENOSPC, and so does `close` when bytes were
    refused (the flush of a buffered file).
    """

    def __init__(self, room: int) -> None:
        self.room = room
        self.refused = 0

    def __call__(self, file, mode="r", *args, **kwargs):
        real = open(file, mode, *args, **kwargs)
        return real if "r" in mode and "+" not in mode else _FullFile(real, self)


class _FullFile:
    def __init__(self, real, disk: _FullDisk) -> None:
        self._real, self._disk = real, disk

    def write(self, data) -> int:
        size = len(data)
        if size > self._disk.room:
            self._disk.refused += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._disk.room -= size
        return self._real.write(data)

    def close(self) -> None:
        self._real.close()
        if self._disk.refused:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __getattr__(self, name):
        return getattr(self._real, name)


@pytest.mark.parametrize("room", [0, 100_000], ids=["no_room", "room_for_one_file"])
def test_full_cache_disk_gives_correct_arrays_one_warning_and_no_temporary(tmp_path, monkeypatch, room):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(cache))
    disk = _FullDisk(room)
    monkeypatch.setattr(filecache, "open", disk, raising=False)
    ds, messages = _load_twice_recording_warnings()
    assert disk.refused  # the disk did fill up
    _assert_sample(ds)
    assert len(messages) == 1, messages
    assert str(cache) in messages[0] and "No space left on device" in messages[0]
    assert _temporaries(cache) == []


def test_full_cache_disk_data_info_exits_0(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "cache"
    monkeypatch.setenv("KERASMNIST_CACHE_DIR", str(cache))
    monkeypatch.setattr(filecache, "open", _FullDisk(0), raising=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status = main(["data", "info", "mnist_sample", "--json"])
    assert status == 0
    assert json.loads(capsys.readouterr().out)["sizes"]["test"] == 1000
    assert len(_cache_warnings(caught)) == 1
    assert _temporaries(cache) == []


_ON_A_FULL_TMPFS = r"""
set -u
mount -t tmpfs -o size=16k tmpfs "$1" || exit 97
"$2" -c pass || exit 98
KERASMNIST_CACHE_DIR="$1/cache" "$2" -m kerasmnist.cli data info mnist_sample --json >"$3/out" 2>"$3/err"
echo $? >"$3/status"
find "$1" -name '*.tmp' >"$3/temporaries"
"""


def test_cache_on_a_really_full_filesystem_data_info_exits_0(tmp_path):
    """A 16 KiB tmpfs, mounted in a user and mount namespace of its own."""
    unshare = shutil.which("unshare")
    if unshare is None or sys.platform != "linux":
        pytest.skip("needs Linux's unshare to mount a tiny tmpfs without privileges")
    probe = subprocess.run([unshare, "-rm", "true"], capture_output=True, text=True)
    if probe.returncode:
        pytest.skip(f"unprivileged namespaces are not allowed here: {probe.stderr.strip()}")
    mount_point, report = tmp_path / "tiny", tmp_path / "report"
    mount_point.mkdir()
    report.mkdir()
    done = subprocess.run(
        [unshare, "-rm", "sh", "-c", _ON_A_FULL_TMPFS, "sh", str(mount_point), sys.executable,
         str(report)], cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    if done.returncode == 97:
        pytest.skip(f"tmpfs cannot be mounted in a user namespace here: {done.stderr.strip()}")
    if done.returncode == 98:
        pytest.skip(f"Python cannot run in a user namespace here: {done.stderr.strip()}")
    err = (report / "err").read_text()
    assert (report / "status").read_text().strip() == "0", err
    assert json.loads((report / "out").read_text())["sizes"]["test"] == 1000
    assert err.count(CACHE_WARNING) == 1 and "No space left on device" in err, err
    assert (report / "temporaries").read_text() == ""


# --- fault 5: data changed after verification ------------------------------

@pytest.fixture
def raw_toy(tmp_path: Path) -> Iterator[tuple[Path, DatasetInfo]]:
    """A registered data set `toy_raw` of uncompressed files in tmp_path/raw."""
    digests = make_toy_files(tmp_path / "raw", compress=False)
    info = DatasetInfo("toy_raw", ("a", "b", "c"), sha256=digests)
    register_dataset(info, overwrite=True)
    yield tmp_path / "raw", info
    datasets._REGISTRY.pop("toy_raw", None)


def _edit_in_place_keeping_size_and_mtime(path: Path, offset: int, value: int) -> None:
    """Overwrites one byte, then puts the modification time back.

    Putting the time back changes the status-change time (ctime), which nothing
    can set back; the loop makes sure it moved on even on a coarse clock.
    """
    before = path.stat()
    with open(path, "r+b") as stream:
        stream.seek(offset)
        assert stream.read(1)[0] != value
        stream.seek(offset)
        stream.write(bytes([value]))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    while path.stat().st_ctime_ns == before.st_ctime_ns:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)


def test_in_place_edit_with_mtime_put_back_fails_verification(raw_toy):
    directory, _ = raw_toy
    first = load_dataset("toy_raw", data_dir=directory, download=False, validation=0)
    assert first.y_test[1] == 1
    labels = directory / "t10k-labels-idx1-ubyte"
    _edit_in_place_keeping_size_and_mtime(labels, 8 + 1, 2)  # test label 1: class 1 -> 2
    with pytest.raises(ChecksumError, match=r"t10k-labels-idx1-ubyte.*expected SHA-256"):
        load_dataset("toy_raw", data_dir=directory, download=False, validation=0)


@pytest.mark.parametrize("compress", [True, False], ids=["gzip", "raw"])
def test_an_edited_cache_copy_is_never_served(tmp_path, compress):
    digests = make_toy_files(tmp_path / "src", compress=compress)
    register_dataset(DatasetInfo("toy_copy", ("a", "b", "c"), sha256=digests), overwrite=True)
    try:
        first = load_dataset("toy_copy", data_dir=tmp_path / "src", download=False, validation=0)
        expected = np.array(first.y_test)
        copy = filecache.cache_dir() / "idx" / f"{digests['t10k-labels-idx1-ubyte.gz']}.idx"
        _edit_in_place_keeping_size_and_mtime(copy, 8 + 1, 2)
        again = load_dataset("toy_copy", data_dir=tmp_path / "src", download=False, validation=0)
        np.testing.assert_array_equal(again.y_test, expected)
        assert read_idx(copy)[1] == expected[1]  # rebuilt
    finally:
        datasets._REGISTRY.pop("toy_copy", None)


_TOUCH_AFTER_TRUNCATION = r"""
import hashlib, json, os, sys
from pathlib import Path
from kerasmnist import DatasetInfo, load_dataset, register_dataset

directory, digests = Path(sys.argv[1]), json.loads(sys.argv[2])
register_dataset(DatasetInfo("toy_raw", ("a", "b", "c"), sha256=digests), overwrite=True)
for _ in range(2):  # the second load is a repeat load, from what the first remembered
    ds = load_dataset("toy_raw", data_dir=directory, download=False, validation=0)
for path in directory.iterdir():
    os.truncate(path, 0)
arrays = (ds.x_train, ds.y_train, ds.x_test, ds.y_test)
print(hashlib.sha256(b"".join(a.tobytes() for a in arrays)).hexdigest())
"""


def test_truncating_loaded_user_files_does_not_kill_the_process(raw_toy):
    directory, info = raw_toy
    files = find_files(directory, info)
    arrays = {role: read_idx(files[role]) for role in ROLES}
    expected = hashlib.sha256(b"".join(arrays[r].tobytes() for r in ROLES)).hexdigest()
    done = subprocess.run(
        [sys.executable, "-c", _TOUCH_AFTER_TRUNCATION, str(directory), json.dumps(dict(info.sha256))],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode != -signal.SIGBUS, "killed by SIGBUS touching arrays of a truncated file"
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == expected
    assert all(path.stat().st_size == 0 for path in files.values())  # the files were truncated
