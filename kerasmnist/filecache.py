"""What kerasmnist remembers about data files between runs.

Two things make a repeat load cheap:

- the SHA-256 digests of each file already read, keyed by the file's identity
  (real path, size, modification time, status-change time, inode, device), so
  verification does not read the file again until it changes. The status-change
  time (ctime) is what catches an in-place edit whose modification time was put
  back with `os.utime`: only the kernel's clock sets it;
- a private copy of each file's IDX content (decompressed, for gzip), named by
  its content digest, which later loads memory-map instead of reading or
  inflating again. The identity of each copy as written is recorded beside it;
  a copy whose identity has changed since (edited, damaged, replaced by hand)
  is a miss and is rebuilt, never served.

The user's own files are never memory-mapped: truncating a mapped file kills the
process with SIGBUS at the next touch of the array. The copies are safe to map
because only kerasmnist writes them, whole, under a temporary name renamed into
place, and never truncates or rewrites one in place: a copy replaced by a
rebuild lives on, unlinked, for as long as arrays map it.

Both live under `cache_dir()`. Losing them costs time, never correctness, and so
does a cache that cannot be written (read-only, or on a full disk): the data is
then loaded uncached, one warning per process and cache directory says why, and
no temporary file is left behind.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import queue
import sys
import tempfile
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

import numpy as np

from kerasmnist.idx import _read_idx

__all__ = ["FileDigests", "cache_dir", "hash_file", "load_idx_file", "remember_digests"]

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20
_PACKAGE_DIR = str(Path(__file__).parent) + os.sep
_WARNED: set[str] = set()  # cache directories already warned about in this process
_WARNED_LOCK = threading.Lock()


@dataclass(frozen=True)
class FileDigests:
    """SHA-256 digests of a data file.

    Attributes:
        sha256: Digest of the decompressed IDX content.
        archive_sha256: Digest of the file's bytes as stored (the same as
            `sha256` for an uncompressed file).
    """

    sha256: str
    archive_sha256: str


def cache_dir() -> Path:
    """Returns the directory of kerasmnist's cache.

    `$KERASMNIST_CACHE_DIR` if set, else `$XDG_CACHE_HOME/kerasmnist`, else
    `~/.cache/kerasmnist`.

    Example:

    >>> (cache_dir() / "idx").parent == cache_dir()
    True
    """
    explicit = os.environ.get("KERASMNIST_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kerasmnist"


def load_idx_file(
    path: str | os.PathLike[str], *, remember: bool = True
) -> tuple[np.ndarray, FileDigests]:
    """Reads an IDX file (raw or gzip) and returns it with its digests.

    The first read of a file hashes it while decoding and keeps a private copy of
    its IDX content; later reads of the unchanged file memory-map that copy
    (copy-on-write, so the result stays writable) and reuse the digests. A cache
    that cannot be written only makes every read a first read, with one warning.

    Args:
        path: The IDX file.
        remember: Whether to record the digests for this path. `False` suits a
            temporary file about to be renamed. Defaults to `True`.

    Returns:
        `(array, digests)`.

    Raises:
        IdxFormatError: The file is not valid IDX.
        OSError: The file cannot be read.
    """
    path = Path(path)
    key = _identity_key(path)  # taken before reading: a change during the read is a later miss
    digests = _recall(key)
    if digests is not None:
        array = _map_copy(digests.sha256)
        if array is not None:
            return array, digests
    array, digests = _read_and_copy(path)
    if remember:
        _save_json(_memo_path(key), _memo_entry(path, digests))
    return array, digests


def hash_file(path: str | os.PathLike[str]) -> FileDigests:
    """Hashes a data file afresh, never trusting the digests remembered for it.

    For checking a file on disk as it is now: `load_idx_file` would skip the
    read of a file whose identity (size, times, inode) is unchanged. Gzip is
    recognised by its magic number, not by the file name; the file is read in
    blocks and not parsed as IDX.

    Args:
        path: The file.

    Returns:
        Its `FileDigests`: of the decompressed content and of the bytes as
        stored (the same for an uncompressed file).

    Raises:
        OSError: The file cannot be read, or is damaged gzip.
        EOFError: The gzip stream is truncated.
        zlib.error: The compressed data is corrupt.

    Example:

    >>> import gzip, tempfile
    >>> path = Path(tempfile.mkdtemp()) / "x.gz"
    >>> _ = path.write_bytes(gzip.compress(b"abc"))
    >>> hash_file(path).sha256 == hashlib.sha256(b"abc").hexdigest()
    True
    """
    archive = hashlib.sha256()
    with open(path, "rb") as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
        stream.seek(0)
        while block := stream.read(_CHUNK):
            archive.update(block)
    if not compressed:
        return FileDigests(archive.hexdigest(), archive.hexdigest())
    content = hashlib.sha256()
    with gzip.open(path, "rb") as stream:
        while block := stream.read(_CHUNK):
            content.update(block)
    return FileDigests(content.hexdigest(), archive.hexdigest())


def remember_digests(path: str | os.PathLike[str], digests: FileDigests) -> None:
    """Records the digests of `path` as it is now (best effort).

    A cache that cannot be written is warned about (once), not raised.

    Args:
        path: An existing file.
        digests: Its digests.
    """
    path = Path(path)
    _save_json(_memo_path(_identity_key(path)), _memo_entry(path, digests))


def _identity_key(path: Path) -> str:
    """A digest of what identifies the file's current version without reading it."""
    stat = path.stat()
    identity = (f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}"
                f"\0{stat.st_ino}\0{stat.st_dev}")
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


def _memo_path(key: str) -> Path:
    return cache_dir() / "digests" / f"{key}.json"


def _memo_entry(path: Path, digests: FileDigests) -> dict[str, str]:
    return {"path": str(path.resolve()), "sha256": digests.sha256,
            "archive_sha256": digests.archive_sha256}


def _recall(key: str) -> FileDigests | None:
    try:
        entry = json.loads(_memo_path(key).read_text())
        return FileDigests(entry["sha256"], entry["archive_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _copy_path(sha256: str) -> Path:
    return cache_dir() / "idx" / f"{sha256}.idx"


def _copy_stat_path(sha256: str) -> Path:
    return cache_dir() / "copy-stats" / f"{sha256}.json"


def _stat_record(path: Path) -> dict[str, int]:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "ctime_ns": stat.st_ctime_ns,
            "ino": stat.st_ino, "dev": stat.st_dev}


def _map_copy(sha256: str) -> np.ndarray | None:
    """Memory-maps the copy of the content with this digest, if it is as written.

    Costs a `stat` and a small read: no byte of its payload is read to check it.
    """
    copy = _copy_path(sha256)
    try:
        if json.loads(_copy_stat_path(sha256).read_text()) != _stat_record(copy):
            return None  # changed since written, or never recorded: rebuilt by the caller
        return _read_idx(copy, mmap=True)
    except (OSError, ValueError):  # missing, unreadable, or not IDX (IdxFormatError)
        return None


def _read_and_copy(path: Path) -> tuple[np.ndarray, FileDigests]:
    """Reads a file whole, hashing it and saving the copy later loads map."""
    with open(path, "rb") as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
    if compressed:
        data = path.read_bytes()
        with _CacheCopy(archive=data) as copy:
            array = _read_idx(data, hasher=copy, name=repr(str(path)))
    else:
        with _CacheCopy(archive=None) as copy:
            array = _read_idx(path, hasher=copy)
    return array, FileDigests(copy.sha256, copy.archive_sha256)


class _CacheCopy:
    """Hashes a file's IDX content, and saves it as a cache copy, on a second thread.

    The reader hands over each block as it is read or inflated; hashing and
    writing (both release the GIL) overlap with inflating the next block, so a
    first load costs little more than the decompression itself
    (benchmarks/bench_load.py). A `bytes` block is queued; any other buffer (a
    view of the array the caller will get, which may yet be byte-swapped) is
    consumed before `update` returns. On success the copy is renamed after its
    digest and its identity recorded; a write that fails (read-only or full
    disk) only drops the copy, with one warning, and the hashing goes on.
    Plain writes, not a memory map: a full disk is an `OSError`, never a
    SIGBUS. The temporary file is deleted whatever happens.
    """

    def __init__(self, archive: bytes | None) -> None:
        """`archive`: the file's bytes as stored, if compressed; `None` for raw IDX."""
        self.sha256 = ""
        self.archive_sha256 = ""
        self._archive = archive
        self._hasher = hashlib.sha256()
        self._blocks: queue.Queue[bytes | memoryview | None] = queue.Queue(maxsize=16)
        self._out: BinaryIO | None = None
        self._tmp: Path | None = None
        self._error: OSError | None = None
        try:
            directory = cache_dir() / "idx"
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
            self._tmp = Path(name)
            self._out = open(fd, "wb")
        except OSError as error:
            self._error = error
        self._worker = threading.Thread(target=self._consume, daemon=True)

    def __enter__(self) -> _CacheCopy:
        self._worker.start()
        return self

    def update(self, block: bytes | memoryview) -> None:
        self._blocks.put(block)
        if not isinstance(block, bytes):
            self._blocks.join()  # the worker is done with it before the caller can change it

    def __exit__(self, kind: object, *exc_info: object) -> None:
        self._blocks.put(None)
        self._worker.join()
        self.sha256 = self._hasher.hexdigest()
        if self._archive is None:
            self.archive_sha256 = self.sha256
        try:
            self._finish(keep=kind is None)
        finally:
            if self._tmp is not None:
                _unlink_quietly(self._tmp)
        if self._error is not None and kind is None:
            _warn_uncached(self._error)

    def _consume(self) -> None:
        if self._archive is not None:
            self.archive_sha256 = hashlib.sha256(self._archive).hexdigest()
        while True:
            block = self._blocks.get()
            try:
                if block is None:
                    return
                self._hasher.update(block)
                self._write(block)
            finally:
                self._blocks.task_done()

    def _write(self, block: bytes | memoryview) -> None:
        if self._out is None:
            return
        try:
            self._out.write(block)
        except OSError as error:  # disk full: keep hashing, drop the copy
            out, self._out = self._out, None
            self._error = self._error or error
            with contextlib.suppress(OSError):
                out.close()  # a buffered file's flush fails again on a full disk

    def _finish(self, keep: bool) -> None:
        """Closes the copy and, if `keep`, moves it into place and records its identity."""
        out, self._out = self._out, None
        if out is None or self._tmp is None:
            return
        try:
            out.close()  # flushes: may be where a full disk shows; closes the file even so
            if keep:
                copy = _copy_path(self.sha256)
                os.replace(self._tmp, copy)
                _atomic_write_text(_copy_stat_path(self.sha256), json.dumps(_stat_record(copy)))
        except OSError as error:
            self._error = self._error or error


def _save_json(target: Path, value: dict[str, Any]) -> None:
    """Writes a cache entry atomically; a cache that cannot be written only warns."""
    try:
        _atomic_write_text(target, json.dumps(value))
    except OSError as error:
        _warn_uncached(error)


def _atomic_write_text(target: Path, text: str) -> None:
    """Writes a small file whole or not at all, leaving no temporary file either way.

    Not `kerasmnist.fileio.atomic_write_text`: its umask probe would briefly
    change the process's umask, here, on a path loads take from any thread.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(name, target)
    finally:
        _unlink_quietly(Path(name))


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _warn_uncached(error: OSError) -> None:
    """Warns, once per process and cache directory, that the cache cannot be written."""
    directory = str(cache_dir())
    with _WARNED_LOCK:
        if directory in _WARNED:
            return
        _WARNED.add(directory)
    warnings.warn(
        f"kerasmnist cannot write its cache in {directory} ({error.strerror or error}), so data "
        "is loaded uncached: the arrays are the same, but every load reads, decompresses and "
        "verifies the files again. Free some space there, or set KERASMNIST_CACHE_DIR to a "
        "writable directory.",
        UserWarning,
        stacklevel=_caller_stacklevel(),
    )


def _caller_stacklevel() -> int:
    """The `stacklevel` that points a warning at the first caller outside kerasmnist."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level
