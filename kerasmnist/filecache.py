"""What kerasmnist remembers about data files between runs.

Two things make a repeat load cheap:

- the SHA-256 digests of each file already read, keyed by the file's identity
  (real path, size, modification time, inode), so verification does not read the
  file again until it changes;
- a decompressed copy of each gzip file, named by its content digest, which later
  loads memory-map instead of inflating again.

Both live under `cache_dir()`. Losing them costs time, never correctness: every
entry is written atomically and a damaged copy is detected and rebuilt.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import queue
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from kerasmnist.errors import IdxFormatError
from kerasmnist.idx import _read_idx

__all__ = ["FileDigests", "cache_dir", "hash_file", "load_idx_file", "remember_digests"]

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20


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

    The first read of a file hashes it while decoding and, for gzip, keeps a
    decompressed copy; later reads of the unchanged file memory-map that copy
    (copy-on-write, so the result stays writable) and reuse the digests.

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
    digests = _recall(path)
    if digests is not None:
        array = _load_known(path, digests)
        if array is not None:
            return array, digests
    with open(path, "rb") as stream:
        compressed = stream.read(2) == _GZIP_MAGIC
    if compressed:
        data = path.read_bytes()
        with _CacheCopy(archive=data) as copy:
            array = _read_idx(data, hasher=copy, name=repr(str(path)))
        digests = FileDigests(copy.sha256, copy.archive_sha256)
    else:
        content = hashlib.sha256()
        array = _read_idx(path, hasher=content)
        digests = FileDigests(content.hexdigest(), content.hexdigest())
    if remember:
        remember_digests(path, digests)
    return array, digests


def hash_file(path: str | os.PathLike[str]) -> FileDigests:
    """Hashes a data file afresh, never trusting the digests remembered for it.

    For checking a file on disk as it is now: `load_idx_file` would skip the
    read of a file whose size, time and inode are unchanged. Gzip is recognised
    by its magic number, not by the file name; the file is read in blocks and
    not parsed as IDX.

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

    Args:
        path: An existing file.
        digests: Its digests.
    """
    path = Path(path)
    entry = {"path": str(path.resolve()), "sha256": digests.sha256,
             "archive_sha256": digests.archive_sha256}
    _atomic_write_text(_memo_path(path), json.dumps(entry))


def _recall(path: Path) -> FileDigests | None:
    try:
        entry = json.loads(_memo_path(path).read_text())
        return FileDigests(entry["sha256"], entry["archive_sha256"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _load_known(path: Path, digests: FileDigests) -> np.ndarray | None:
    """Memory-maps the decompressed content of a file already seen, if on disk."""
    raw = path if digests.sha256 == digests.archive_sha256 else _decompressed_path(digests.sha256)
    try:
        return _read_idx(raw, mmap=True)
    except FileNotFoundError:
        return None
    except IdxFormatError:
        if raw != path:  # a damaged cache copy: drop it and decompress again
            raw.unlink(missing_ok=True)
        return None


def _memo_path(path: Path) -> Path:
    stat = path.stat()
    identity = f"{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ino}\0{stat.st_dev}"
    key = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return cache_dir() / "digests" / f"{key}.json"


def _decompressed_path(sha256: str) -> Path:
    return cache_dir() / "idx" / f"{sha256}.idx"


class _CacheCopy:
    """Hashes a gzip file and its decompressed blocks, and saves the blocks as a
    cache copy, all on a second thread.

    The reader hands over each block as it is inflated; hashing and writing
    (both release the GIL) overlap with inflating the next block, so a first load
    costs little more than the decompression itself (benchmarks/bench_load.py).
    Blocks are immutable `bytes`, never views of the array given to the caller.
    On success the copy is renamed after its digest; on any error it is deleted.
    Plain writes, not a memory map: a full disk is an `OSError` that only drops
    the copy, never a SIGBUS.
    """

    def __init__(self, archive: bytes) -> None:
        self.sha256 = ""
        self.archive_sha256 = ""
        self._archive = archive
        self._hasher = hashlib.sha256()
        self._blocks: queue.Queue[bytes | None] = queue.Queue(maxsize=16)
        self._out: BinaryIO | None = None
        self._tmp: Path | None = None
        try:
            directory = cache_dir() / "idx"
            directory.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
            self._out, self._tmp = open(fd, "wb"), Path(name)
        except OSError:
            pass  # a read-only or full cache only costs speed
        self._worker = threading.Thread(target=self._consume, daemon=True)

    def __enter__(self) -> _CacheCopy:
        self._worker.start()
        return self

    def update(self, block: bytes | memoryview) -> None:
        # The worker reads the block later: a view might change by then, bytes cannot.
        self._blocks.put(block if isinstance(block, bytes) else bytes(block))

    def __exit__(self, kind: object, *exc_info: object) -> None:
        self._blocks.put(None)
        self._worker.join()
        self.sha256 = self._hasher.hexdigest()
        if self._tmp is None:
            return
        out = self._out
        if out is not None:
            out.close()
        try:
            if kind is None and out is not None:
                os.replace(self._tmp, _decompressed_path(self.sha256))
        except OSError:
            pass
        finally:
            self._tmp.unlink(missing_ok=True)

    def _consume(self) -> None:
        self.archive_sha256 = hashlib.sha256(self._archive).hexdigest()
        while (block := self._blocks.get()) is not None:
            self._hasher.update(block)
            if self._out is not None:
                try:
                    self._out.write(block)
                except (OSError, ValueError):  # disk full: keep hashing, drop the copy
                    self._out.close()
                    self._out = None


def _atomic_write_text(target: Path, text: str) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with open(fd, "w", encoding="utf-8") as stream:
                stream.write(text)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass  # a read-only or full cache only costs speed
