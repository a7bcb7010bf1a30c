"""Tests of train / validation splitting."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasmnist import InvalidArgumentError
from kerasmnist.splits import split_indices, validation_count


def unbalanced_labels(n: int = 1000, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.choice(7, size=n, p=[0.3, 0.2, 0.15, 0.15, 0.1, 0.07, 0.03]).astype(np.uint8)


def assert_partition(train: np.ndarray, val: np.ndarray, total: int) -> None:
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(np.union1d(train, val), np.arange(total))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)


@pytest.mark.parametrize("validation, expected", [(0.1, 6000), (10000, 10000), (0, 0), (0.0, 0),
                                                  (59999, 59999), (np.int64(5), 5)])
def test_validation_count_accepts_counts_and_fractions(validation, expected):
    assert validation_count(validation, 60000) == expected


@pytest.mark.parametrize("validation", [-1, 60000, 70000, 1.0, -0.1, 1.5, True, "0.1", None])
def test_validation_count_rejects_out_of_range_values_naming_the_argument(validation):
    with pytest.raises(InvalidArgumentError, match=r"argument `validation`.*Received: validation="):
        validation_count(validation, 60000)


def test_validation_count_rejects_a_fraction_that_leaves_no_training_example():
    with pytest.raises(InvalidArgumentError):
        validation_count(0.99, 10)  # rounds to all 10


def test_stratified_split_keeps_each_class_share_within_one_example():
    labels = unbalanced_labels()
    train, val = split_indices(labels, 0.25, seed=1)
    assert_partition(train, val, len(labels))
    assert len(val) == 250
    expected = np.bincount(labels) * 250 / len(labels)
    assert np.all(np.abs(np.bincount(labels[val], minlength=7) - expected) < 1)


def test_split_is_deterministic_for_a_seed_and_varies_with_it():
    labels = unbalanced_labels()
    first = split_indices(labels, 100, seed=7)
    again = split_indices(labels, 100, seed=7)
    other = split_indices(labels, 100, seed=8)
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_unstratified_split_is_a_random_partition_of_the_requested_size():
    labels = np.zeros(500, dtype=np.uint8)
    labels[:10] = 1
    train, val = split_indices(labels, 50, stratify=False, seed=0)
    assert_partition(train, val, 500)
    assert len(val) == 50


def test_zero_validation_keeps_every_example_for_training():
    train, val = split_indices(unbalanced_labels(50), 0)
    np.testing.assert_array_equal(train, np.arange(50))
    assert val.size == 0


def test_split_indices_rejects_two_dimensional_labels():
    with pytest.raises(InvalidArgumentError, match="Received: labels of shape \\(2, 5\\)"):
        split_indices(np.zeros((2, 5)), 0.5)


@settings(max_examples=150, deadline=None)
@given(
    labels=st.lists(st.integers(0, 9), min_size=2, max_size=300),
    fraction=st.floats(0.0, 0.95),
    seed=st.integers(0, 2**32 - 1),
    stratify=st.booleans(),
)
def test_split_invariants_hold_for_any_labels(labels, fraction, seed, stratify):
    labels = np.array(labels)
    count = min(round(fraction * len(labels)), len(labels) - 1)
    train, val = split_indices(labels, count, stratify=stratify, seed=seed)
    assert_partition(train, val, len(labels))
    assert len(val) == count
    if stratify:
        counts = np.bincount(labels, minlength=10)
        expected = counts * count / len(labels)
        assert np.all(np.abs(np.bincount(labels[val], minlength=10) - expected) < 1)
