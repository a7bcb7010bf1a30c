"""The IDX binary format: read and write, nothing else.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the values in C order,
big-endian. MNIST and its relatives ship their images and labels in this format,
usually gzip-compressed.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import sys
import tempfile
import zlib
from pathlib import Path
from typing import IO, TYPE_CHECKING, Protocol, Union

import numpy as np

from kerasmnist.errors import IdxFormatError, InvalidArgumentError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["read_idx", "write_idx", "IdxSource"]

IdxSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, IO[bytes]]

# On-disk (big-endian) dtype of each IDX type code.
_TYPE_CODES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF_KIND = {(d.kind, d.itemsize): code for code, d in _TYPE_CODES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_MAX_DIMS = 64 if int(np.__version__.split(".")[0]) >= 2 else 32
# Deflate cannot expand data by more than about 1032:1, so a gzip stream of n
# bytes holds at most this many times n bytes: a header that declares more is
# lying, and is rejected before anything is allocated.
_MAX_DEFLATE_RATIO = 1032
_IN_CHUNK = 1 << 18
_OUT_CHUNK = 1 << 20


class _Hasher(Protocol):
    def update(self, data: bytes | memoryview, /) -> None: ...


def read_idx(source: IdxSource, *, mmap: bool = False) -> np.ndarray:
    """Reads an IDX file into a NumPy array.

    Gzip compression is recognised by its magic bytes, never by the file name, so
    `train-images-idx3-ubyte` and `train-images-idx3-ubyte.gz` may hold either.
    The sizes in the header are checked against the real size of the data before
    anything is allocated. Uncompressed files are read straight into the result
    (or memory-mapped), with no intermediate copy.

    Args:
        source: A path (`str` or `os.PathLike`), the file's bytes (`bytes`,
            `bytearray` or `memoryview`), or a binary file object open for reading.
        mmap: When `True` and `source` is the path of an uncompressed file of
            one-byte values (type codes 0x08 and 0x09), map the file copy-on-write
            instead of reading it: the result costs no memory until it is
            written to. The file must then stay whole while the array is in
            use: once it is truncated, touching the array kills the process
            with SIGBUS (`load_dataset` therefore never maps a user's file,
            only its private cache copies). Ignored otherwise. Defaults to
            `False`.

    Returns:
        A writable array in native byte order with the dtype of the file's type
        code (uint8, int8, int16, int32, float32 or float64) and the shape its
        header declares.

    Raises:
        IdxFormatError: The data is not a valid IDX file (bad magic number,
            unknown type code, zero dimensions, payload shorter or longer than
            the header declares, corrupt or truncated gzip stream). The message
            names the source and says what was expected and what was found.
        InvalidArgumentError: `source` is of an unsupported type.
        OSError: The file cannot be opened or read.

    Example:

    >>> import numpy as np, kerasmnist
    >>> data = bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 8, 9])
    >>> kerasmnist.read_idx(data)
    array([7, 8, 9], dtype=uint8)
    """
    return _read_idx(source, mmap=mmap)


def write_idx(
    path: str | os.PathLike[str],
    array: np.ndarray,
    *,
    compress: bool | None = None,
) -> None:
    """Writes an array as an IDX file, atomically.

    The data is written to a temporary file in the destination directory which
    then replaces `path`, so readers never see a half-written file and a failed
    write leaves nothing behind.

    Args:
        path: Destination file.
        array: Array of dtype uint8, int8, int16, int32, float32 or float64 (any
            byte order) with at least one dimension.
        compress: Whether to gzip the file. `None` compresses when `path` ends in
            `.gz`. Defaults to `None`.

    Raises:
        InvalidArgumentError: `array` has a dtype IDX cannot store, no dimension,
            or a dimension of 2**32 or more.
        OSError: The file cannot be written.

    Example:

    >>> import tempfile, pathlib, numpy as np, kerasmnist
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte.gz"
    >>> kerasmnist.write_idx(path, np.array([3, 1, 4], dtype=np.uint8))
    >>> kerasmnist.read_idx(path)
    array([3, 1, 4], dtype=uint8)
    """
    _write_idx(path, array, compress=compress, durable=True)


def _read_idx(
    source: IdxSource,
    *,
    mmap: bool = False,
    hasher: _Hasher | None = None,
    name: str | None = None,
) -> np.ndarray:
    """`read_idx`, with hooks for kerasmnist's file cache.

    `hasher` is fed every decompressed byte, header included, in order: for
    gzip input, each block as a new `bytes` object. `name` replaces the
    description of `source` in error messages.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        view = memoryview(source).cast("B")
        name = name or "<bytes>"
        if view[:2] == _GZIP_MAGIC:
            return _read_gzip(view, name, hasher)
        return _read_stream(io.BytesIO(view), name, None, hasher)
    if isinstance(source, (str, os.PathLike)):
        name = name or repr(os.fspath(source))
        with open(source, "rb") as stream:
            return _read_stream(stream, name, os.fspath(source) if mmap else None, hasher)
    if hasattr(source, "read"):
        name = name or repr(getattr(source, "name", None) or f"<{type(source).__name__}>")
        return _read_stream(source, name, None, hasher)
    raise InvalidArgumentError(
        "Invalid value for argument `source`. Expected a path, bytes or a binary "
        f"file object. Received: source of type {type(source).__name__}"
    )


def _read_stream(
    stream: IO[bytes], name: str, mmap_path: str | None, hasher: _Hasher | None
) -> np.ndarray:
    magic = _read_up_to(stream, 4)
    if magic[:2] == _GZIP_MAGIC:
        return _read_gzip(memoryview(magic + stream.read()), name, hasher)
    dtype, ndim = _parse_magic(magic, name)
    dims = _read_up_to(stream, 4 * ndim)
    shape = _parse_dims(dims, ndim, name)
    payload = math.prod(shape) * dtype.itemsize
    remaining = _remaining_bytes(stream)
    if remaining is None:  # not seekable: its size is only known once read
        stream = io.BytesIO(stream.read())
        remaining = len(stream.getbuffer())
    if remaining != payload:
        raise IdxFormatError(name, _size_problem(remaining, payload))
    if hasher is not None:
        hasher.update(magic + dims)
    if mmap_path is not None and dtype.itemsize == 1 and payload and hasher is None:
        mapped = np.memmap(mmap_path, dtype=dtype.newbyteorder("="), mode="c",
                           offset=len(magic) + len(dims), shape=shape)
        return mapped.view(np.ndarray)
    array = _allocate(shape, dtype, name)
    buffer = _byte_view(array)
    filled = _read_into(stream, buffer)
    if filled != payload:  # the file shrank while we read it
        raise IdxFormatError(name, _size_problem(filled, payload))
    if hasher is not None:
        hasher.update(buffer)
    return _to_native(array)


def _read_gzip(data: memoryview, name: str, hasher: _Hasher | None) -> np.ndarray:
    inflater = _Inflater(data, name, hasher)
    magic = inflater.read(4)
    dtype, ndim = _parse_magic(magic, name)
    shape = _parse_dims(inflater.read(4 * ndim), ndim, name)
    payload = math.prod(shape) * dtype.itemsize
    ceiling = _MAX_DEFLATE_RATIO * len(data)
    if payload > ceiling:
        raise IdxFormatError(
            name,
            f"header declares a payload of {payload} bytes (shape {shape}), but "
            f"{len(data)} bytes of gzip can hold at most {ceiling} bytes",
        )
    array = _allocate(shape, dtype, name)
    filled = inflater.readinto(_byte_view(array))
    extra = inflater.drain()
    if filled != payload or extra:
        raise IdxFormatError(name, _size_problem(filled + extra, payload))
    return _to_native(array)


class _Inflater:
    """Decompresses a gzip stream (one or more members) in bounded pieces."""

    def __init__(self, data: memoryview, name: str, hasher: _Hasher | None) -> None:
        self._data = data
        self._pos = 0
        self._name = name
        self._hasher = hasher
        self._pending = b""
        self._decompressor = zlib.decompressobj(wbits=31)

    def read(self, n: int) -> bytes:
        parts, have = [], 0
        for block in self._blocks():
            parts.append(block)
            have += len(block)
            if have >= n:
                break
        joined = b"".join(parts)
        self._pending = joined[n:]
        return joined[:n]

    def readinto(self, buffer: memoryview) -> int:
        filled, size = 0, len(buffer)
        if size == 0:
            return 0
        for block in self._blocks():
            take = min(len(block), size - filled)
            buffer[filled : filled + take] = block[:take]
            filled += take
            if filled == size:
                self._pending = block[take:]
                break
        return filled

    def drain(self) -> int:
        """Decompresses the rest of the stream; returns how many bytes it held."""
        return sum(len(block) for block in self._blocks())

    def _blocks(self) -> Iterator[bytes]:
        if self._pending:
            block, self._pending = self._pending, b""
            yield block
        while True:
            source = self._next_input()
            if source is None:
                return
            try:
                block = self._decompressor.decompress(source, _OUT_CHUNK)
            except zlib.error as error:
                raise IdxFormatError(self._name, f"corrupt gzip stream ({error})") from None
            if block:
                if self._hasher is not None:
                    self._hasher.update(block)
                yield block
            elif not source and not self._decompressor.eof:
                raise IdxFormatError(
                    self._name,
                    f"truncated gzip stream: the {len(self._data)} compressed bytes "
                    "end before the gzip end-of-stream marker",
                )

    def _next_input(self) -> bytes | memoryview | None:
        decompressor = self._decompressor
        if decompressor.unconsumed_tail:
            return decompressor.unconsumed_tail
        if decompressor.eof:
            rest = decompressor.unused_data + self._data[self._pos :].tobytes()
            if not rest.strip(b"\0"):  # trailing zero padding is tolerated, as by gzip
                self._pos = len(self._data)
                return None
            if rest[:2] != _GZIP_MAGIC:
                raise IdxFormatError(
                    self._name,
                    f"expected another gzip member or the end of the data after "
                    f"the gzip stream, found {len(rest)} bytes starting "
                    f"0x{rest[:4].hex()}",
                )
            self._decompressor = zlib.decompressobj(wbits=31)
            self._pos = len(self._data)
            return rest
        if self._pos < len(self._data):
            chunk = self._data[self._pos : self._pos + _IN_CHUNK]
            self._pos += len(chunk)
            return chunk
        # All input is in; an empty call flushes output zlib still holds back.
        return b""


def _parse_magic(magic: bytes, name: str) -> tuple[np.dtype, int]:
    if len(magic) < 4:
        raise IdxFormatError(
            name, f"expected a 4-byte magic number, found only {len(magic)} bytes"
        )
    if magic[0] or magic[1]:
        raise IdxFormatError(
            name,
            f"expected magic 0x0000TTDD (two zero bytes, type code, dimension "
            f"count), found 0x{magic.hex()}",
        )
    code, ndim = magic[2], magic[3]
    if code not in _TYPE_CODES:
        expected = ", ".join(f"0x{c:02X}" for c in _TYPE_CODES)
        raise IdxFormatError(name, f"expected a type code in {expected}, found 0x{code:02X}")
    if ndim == 0:
        raise IdxFormatError(name, "expected at least 1 dimension, found 0")
    if ndim > _MAX_DIMS:
        raise IdxFormatError(
            name, f"expected at most {_MAX_DIMS} dimensions (NumPy's limit), found {ndim}"
        )
    return _TYPE_CODES[code], ndim


def _parse_dims(dims: bytes, ndim: int, name: str) -> tuple[int, ...]:
    if len(dims) < 4 * ndim:
        raise IdxFormatError(
            name,
            f"expected {4 * ndim} header bytes for {ndim} dimension sizes, found "
            f"{len(dims)}",
        )
    return struct.unpack(f">{ndim}I", dims)


def _size_problem(found: int, declared: int) -> str:
    relation = "shorter" if found < declared else "longer"
    return (
        f"payload is {relation} than the header declares: expected {declared} "
        f"bytes, found {found}"
    )


def _read_up_to(stream: IO[bytes], n: int) -> bytes:
    parts, have = [], 0
    while have < n:
        part = stream.read(n - have)
        if not part:
            break
        parts.append(part)
        have += len(part)
    return b"".join(parts)


def _remaining_bytes(stream: IO[bytes]) -> int | None:
    try:
        if not stream.seekable():
            return None
        here = stream.tell()
        end = stream.seek(0, io.SEEK_END)
        stream.seek(here)
    except (OSError, AttributeError, ValueError):
        return None
    return end - here


def _read_into(stream: IO[bytes], buffer: memoryview) -> int:
    filled, size = 0, len(buffer)
    readinto = getattr(stream, "readinto", None)
    while filled < size:
        if readinto is not None:
            n = readinto(buffer[filled:])
        else:
            part = stream.read(size - filled)
            n = len(part)
            buffer[filled : filled + n] = part
        if not n:
            break
        filled += n
    return filled


def _allocate(shape: tuple[int, ...], dtype: np.dtype, name: str) -> np.ndarray:
    """An uninitialised native-order array for a payload already checked to fit."""
    try:
        return np.empty(shape, dtype=dtype.newbyteorder("="))
    except ValueError:  # a zero dimension hides an overflowing product of the others
        raise IdxFormatError(
            name, f"expected dimensions NumPy can represent, found shape {shape}"
        ) from None


def _byte_view(array: np.ndarray) -> memoryview:
    return array.reshape(-1).view(np.uint8).data


def _to_native(array: np.ndarray) -> np.ndarray:
    """Turns an array filled with big-endian bytes into native byte order, in place."""
    if array.dtype.itemsize > 1 and sys.byteorder == "little":
        array.byteswap(inplace=True)
    return array


def _write_idx(
    path: str | os.PathLike[str],
    array: np.ndarray,
    *,
    compress: bool | None,
    durable: bool,
) -> None:
    array = np.asarray(array)
    code = _CODE_OF_KIND.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise InvalidArgumentError(
            "Invalid value for argument `array`. Expected dtype uint8, int8, int16, "
            f"int32, float32 or float64. Received: array with dtype {array.dtype}"
        )
    if array.ndim == 0 or array.ndim > 255:
        raise InvalidArgumentError(
            "Invalid value for argument `array`. Expected 1 to 255 dimensions. "
            f"Received: array with {array.ndim} dimensions"
        )
    if max(array.shape) >= 2**32:
        raise InvalidArgumentError(
            "Invalid value for argument `array`. Expected every dimension below "
            f"2**32. Received: array of shape {array.shape}"
        )
    path = Path(path)
    if compress is None:
        compress = path.name.endswith(".gz")
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = np.ascontiguousarray(array, dtype=_TYPE_CODES[code])
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with open(fd, "wb") as raw:
            if compress:
                # mtime=0 and no file name make the output reproducible.
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                    gz.write(header)
                    gz.write(_byte_view(payload))
            else:
                raw.write(header)
                raw.write(_byte_view(payload))
            if durable:
                raw.flush()
                os.fsync(raw.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
