"""Tests of the IDX reader and writer."""

from __future__ import annotations

import gzip
import io
import os
import struct
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import IdxFormatError, InvalidArgumentError, read_idx, write_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]
SHAPES = [(5,), (2, 3), (2, 3, 4), (1, 2, 1, 3, 2), (0,), (3, 0, 2)]


def idx_bytes(code: int, shape: tuple[int, ...], payload: bytes) -> bytes:
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


class Unseekable(io.RawIOBase):
    """A pipe-like binary stream: read only, no seek, no size."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        chunk = self._inner.read(min(len(buffer), 7))  # short reads, like a pipe
        buffer[: len(chunk)] = chunk
        return len(chunk)


def sample_array(dtype, shape) -> np.ndarray:
    values = np.arange(int(np.prod(shape)), dtype=np.float64) - 3.25
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        values = np.clip(np.round(values * 37), info.min, info.max)
    return values.astype(dtype).reshape(shape)


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_write_then_read_round_trips_every_type_and_shape(tmp_path, dtype, shape, compress):
    array = sample_array(dtype, shape)
    path = tmp_path / "data.idx"
    write_idx(path, array, compress=compress)
    for source in (path, str(path), path.read_bytes(), bytearray(path.read_bytes())):
        result = read_idx(source)
        assert result.dtype == np.dtype(dtype) and result.dtype.isnative
        assert result.shape == shape
        np.testing.assert_array_equal(result, array)
        assert result.flags.writeable


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_write_idx_stores_big_endian_values_after_the_header(tmp_path, dtype):
    array = np.array([1, 2], dtype=dtype)
    path = tmp_path / "two.idx"
    write_idx(path, array)
    raw = path.read_bytes()
    code = {np.uint8: 8, np.int8: 9, np.int16: 0x0B, np.int32: 0x0C,
            np.float32: 0x0D, np.float64: 0x0E}[dtype]
    assert raw[:8] == bytes([0, 0, code, 1, 0, 0, 0, 2])
    assert raw[8:] == array.astype(np.dtype(dtype).newbyteorder(">")).tobytes()


def test_read_idx_decodes_a_hand_made_mnist_header():
    data = idx_bytes(0x08, (2, 2, 2), bytes(range(8)))
    result = read_idx(data)
    assert result.shape == (2, 2, 2)
    assert result[1, 1, 1] == 7


def test_read_idx_accepts_big_endian_input_arrays(tmp_path):
    array = np.array([[1.5, -2.0]], dtype=">f8")
    write_idx(tmp_path / "be.idx", array)
    result = read_idx(tmp_path / "be.idx")
    assert result.dtype == np.float64 and result.dtype.isnative
    np.testing.assert_array_equal(result, [[1.5, -2.0]])


def test_read_idx_detects_gzip_by_magic_not_by_name(tmp_path):
    array = np.arange(6, dtype=np.int16).reshape(2, 3)
    write_idx(tmp_path / "looks-raw.idx", array, compress=True)
    write_idx(tmp_path / "looks-compressed.gz", array, compress=False)
    assert (tmp_path / "looks-raw.idx").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "looks-compressed.gz").read_bytes()[:2] == b"\x00\x00"
    np.testing.assert_array_equal(read_idx(tmp_path / "looks-raw.idx"), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "looks-compressed.gz"), array)


def test_write_idx_compresses_by_default_only_for_gz_names(tmp_path):
    array = np.arange(3, dtype=np.uint8)
    write_idx(tmp_path / "a.gz", array)
    write_idx(tmp_path / "a.idx", array)
    assert (tmp_path / "a.gz").read_bytes()[:2] == b"\x1f\x8b"
    assert (tmp_path / "a.idx").read_bytes()[:3] == b"\x00\x00\x08"


def test_write_idx_gzip_output_is_reproducible(tmp_path):
    array = np.arange(1000, dtype=np.int32)
    write_idx(tmp_path / "a.gz", array)
    first = (tmp_path / "a.gz").read_bytes()
    write_idx(tmp_path / "a.gz", array)
    assert (tmp_path / "a.gz").read_bytes() == first


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_reads_from_file_objects(compress):
    array = np.arange(24, dtype=np.int32).reshape(4, 6)
    data = idx_bytes(0x0C, (4, 6), array.astype(">i4").tobytes())
    if compress:
        data = gzip.compress(data)
    np.testing.assert_array_equal(read_idx(io.BytesIO(data)), array)
    np.testing.assert_array_equal(read_idx(io.BufferedReader(Unseekable(data))), array)
    np.testing.assert_array_equal(read_idx(memoryview(data)), array)


def test_read_idx_reads_concatenated_gzip_members():
    data = idx_bytes(0x08, (5,), b"abcde")
    stream = gzip.compress(data[:7]) + gzip.compress(data[7:])
    assert read_idx(stream).tobytes() == b"abcde"


def test_read_idx_tolerates_zero_padding_after_gzip():
    data = gzip.compress(idx_bytes(0x08, (2,), b"xy")) + b"\0" * 16
    assert read_idx(data).tobytes() == b"xy"


def test_read_idx_mmap_gives_a_private_writable_view(tmp_path):
    path = tmp_path / "img.idx"
    write_idx(path, np.full((3, 4), 9, dtype=np.uint8))
    before = path.read_bytes()
    result = read_idx(path, mmap=True)
    assert result.flags.writeable and type(result) is np.ndarray
    result[0, 0] = 1
    assert path.read_bytes() == before  # copy-on-write: the file is untouched


def test_read_idx_mmap_falls_back_to_reading_for_multibyte_and_gzip(tmp_path):
    array = np.arange(4, dtype=np.float32)
    write_idx(tmp_path / "f.idx", array)
    write_idx(tmp_path / "u.idx.gz", array.astype(np.uint8))
    np.testing.assert_array_equal(read_idx(tmp_path / "f.idx", mmap=True), array)
    np.testing.assert_array_equal(read_idx(tmp_path / "u.idx.gz", mmap=True), array)


# --- bad input -------------------------------------------------------------

GOOD = idx_bytes(0x08, (2, 3), bytes(6))
BAD_CASES = {
    "nonzero magic": (b"\x01\x02" + GOOD[2:], "expected magic 0x0000TTDD", "found 0x01020802"),
    "unknown type code": (GOOD[:2] + b"\x0a" + GOOD[3:], "expected a type code", "found 0x0A"),
    "zero dimensions": (bytes([0, 0, 8, 0]), "expected at least 1 dimension", "found 0"),
    "empty": (b"", "expected a 4-byte magic number", "found only 0 bytes"),
    "truncated header": (GOOD[:9], "expected 8 header bytes", "found 5"),
    "short payload": (GOOD[:-2], "shorter than the header declares", "expected 6 bytes, found 4"),
    "long payload": (GOOD + b"zz", "longer than the header declares", "expected 6 bytes, found 8"),
    "too many dimensions": (bytes([0, 0, 8, 65]) + b"\0\0\0\1" * 65, "at most 64 dimensions", "found 65"),
}


def _containers(tmp_path: Path, data: bytes, compress: bool):
    if compress:
        data = gzip.compress(data)
    path = tmp_path / ("bad.gz" if compress else "bad.idx")
    path.write_bytes(data)
    return {"path": (path, str(path)), "bytes": (data, "<bytes>"),
            "file": (io.BytesIO(data), "<BytesIO>")}


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
@pytest.mark.parametrize("case", list(BAD_CASES))
def test_read_idx_rejects_malformed_input_naming_source_expected_and_found(tmp_path, case, compress):
    data, expected, found = BAD_CASES[case]
    for kind, (source, name) in _containers(tmp_path, data, compress).items():
        with pytest.raises(IdxFormatError) as info:
            read_idx(source)
        message = str(info.value)
        assert name in message, kind
        assert expected in message and found in message, message
        assert isinstance(info.value, ValueError)


def test_read_idx_rejects_truncated_gzip():
    data = gzip.compress(idx_bytes(0x08, (100,), bytes(range(100))))
    for cut in (12, len(data) // 2, len(data) - 1):
        with pytest.raises(IdxFormatError, match="truncated gzip stream|corrupt gzip"):
            read_idx(data[:cut])


def test_read_idx_rejects_corrupt_gzip_data_and_checksum():
    data = bytearray(gzip.compress(idx_bytes(0x08, (1000,), os.urandom(1000))))
    crc = bytearray(data)
    crc[-8] ^= 0xFF  # the CRC-32 in the trailer
    with pytest.raises(IdxFormatError, match="corrupt gzip stream"):
        read_idx(bytes(crc))
    garbled = bytearray(data)
    garbled[20:40] = b"\xff" * 20
    with pytest.raises(IdxFormatError, match="gzip"):
        read_idx(bytes(garbled))


def test_read_idx_rejects_garbage_after_gzip_stream():
    data = gzip.compress(GOOD) + b"junk"
    with pytest.raises(IdxFormatError, match="found 4 bytes starting 0x6a756e6b"):
        read_idx(data)


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_rejects_enormous_header_before_allocating(compress):
    data = idx_bytes(0x0E, (65535, 65535, 65535), b"\0" * 64)  # declares 2 PB
    if compress:
        data = gzip.compress(data)
    tracemalloc.start()
    try:
        with pytest.raises(IdxFormatError, match="expected 2251|can hold at most"):
            read_idx(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


@pytest.mark.parametrize("compress", [False, True], ids=["raw", "gzip"])
def test_read_idx_rejects_empty_shape_numpy_cannot_represent(compress):
    data = idx_bytes(0x08, (0, 2**32 - 1, 2**32 - 1, 2**32 - 1), b"")
    with pytest.raises(IdxFormatError, match=r"found shape \(0, 4294967295"):
        read_idx(gzip.compress(data) if compress else data)


def test_read_idx_rejects_unsupported_source_type():
    with pytest.raises(InvalidArgumentError, match="Received: source of type int"):
        read_idx(42)  # type: ignore[arg-type]


def test_read_idx_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "absent.idx")


@pytest.mark.parametrize(
    "array, match",
    [
        (np.array([True, False]), "dtype bool"),
        (np.arange(3, dtype=np.int64), "dtype int64"),
        (np.array(5, dtype=np.uint8), "Received: array with 0 dimensions"),
    ],
)
def test_write_idx_rejects_what_idx_cannot_store_and_writes_nothing(tmp_path, array, match):
    with pytest.raises(InvalidArgumentError, match=match):
        write_idx(tmp_path / "x.idx", array)
    assert list(tmp_path.iterdir()) == []


def test_write_idx_failure_keeps_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "keep.idx"
    write_idx(path, np.arange(3, dtype=np.uint8))
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_idx(path, np.arange(5, dtype=np.uint8))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["keep.idx"]


def test_read_idx_zlib_level_data_matches_gzip_module(tmp_path):
    """A file compressed by another tool (zlib with a gzip wrapper) reads too."""
    array = np.arange(50, dtype=np.uint8)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    data = compressor.compress(idx_bytes(0x08, (50,), array.tobytes())) + compressor.flush()
    np.testing.assert_array_equal(read_idx(data), array)
