"""Property-based tests: mutated and truncated IDX bytes never escape as anything
but IdxFormatError, never hang and never allocate without bound."""

from __future__ import annotations

import gzip
import struct
import tracemalloc

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kerasmnist import IdxFormatError, read_idx

CODES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


@st.composite
def valid_idx(draw) -> bytes:
    code = draw(st.sampled_from(sorted(CODES)))
    shape = draw(st.lists(st.integers(0, 6), min_size=1, max_size=4))
    count = int(np.prod(shape))
    payload = draw(st.binary(min_size=count * np.dtype(CODES[code]).itemsize,
                             max_size=count * np.dtype(CODES[code]).itemsize))
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + payload


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(valid_idx()))
    if draw(st.booleans()):
        data = bytearray(gzip.compress(bytes(data), mtime=0))
    for _ in range(draw(st.integers(0, 4))):
        action = draw(st.sampled_from(["flip", "truncate", "insert", "set"]))
        position = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[position] ^= draw(st.integers(1, 255))
        elif action == "truncate":
            del data[position:]
        elif action == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif data:
            data[position] = draw(st.sampled_from([0x00, 0xFF, 0x7F, 0x80]))
    return bytes(data)


@settings(max_examples=400, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_idx_bytes_either_read_or_raise_idx_format_error(data):
    tracemalloc.start()
    try:
        try:
            result = read_idx(data)
        except IdxFormatError:
            result = None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # The real payload bounds every allocation: raw input exactly, gzip input
    # through deflate's maximal 1032:1 ratio.
    assert peak < 1032 * len(data) + (1 << 20)
    if result is not None:
        assert isinstance(result, np.ndarray) and result.dtype.isnative


@settings(max_examples=200, deadline=2000)
@given(valid_idx(), st.booleans())
def test_valid_idx_bytes_always_read_back(data, compress):
    source = gzip.compress(data) if compress else data
    result = read_idx(source)
    assert result.tobytes() == np.frombuffer(data[4 + 4 * data[3]:], CODES[data[2]]).astype(
        result.dtype).tobytes()
