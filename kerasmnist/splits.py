"""Train / validation splits carved from a training set."""

from __future__ import annotations

import numbers

import numpy as np

from kerasmnist.errors import InvalidArgumentError

__all__ = ["split_indices", "validation_count"]


def validation_count(validation: int | float, total: int) -> int:
    """Turns a validation size given as a count or a fraction into a count.

    Args:
        validation: A count of examples (an integer in `[0, total)`) or a fraction
            of `total` (a float in `[0, 1)`), rounded to the nearest example.
        total: Number of training examples to split.

    Returns:
        The number of validation examples.

    Raises:
        InvalidArgumentError: `validation` is not a count or fraction in range, or
            would leave no training example.

    Example:

    >>> validation_count(0.1, 60000), validation_count(10000, 60000)
    (6000, 10000)
    """
    if isinstance(validation, bool) or not isinstance(validation, numbers.Real):
        count = None
    elif isinstance(validation, numbers.Integral):
        count = int(validation) if 0 <= validation < total else None
    else:
        count = round(float(validation) * total) if 0.0 <= validation < 1.0 else None
    if count is None or count >= total:
        raise InvalidArgumentError(
            "Invalid value for argument `validation`. Expected a count in "
            f"[0, {total}) or a fraction in [0, 1) of the {total} training examples, "
            f"leaving at least one for training. Received: validation={validation!r}"
        )
    return count


def split_indices(
    labels: np.ndarray,
    validation: int | float,
    *,
    stratify: bool = True,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Splits the indices of a training set into training and validation parts.

    The two parts are disjoint, together cover every index, and are each sorted
    so that the examples keep their order in the file. With `stratify`, each
    class's share of the validation part equals its share of `labels` to within
    one example; the split is the same for the same `seed`.

    Args:
        labels: Integer class labels of the training set, shape `(n,)`.
        validation: A count in `[0, n)` or a fraction in `[0, 1)` of `n`.
        stratify: Whether to preserve class proportions. Defaults to `True`.
        seed: Seed of the random choice. Defaults to `0`.

    Returns:
        `(train_indices, validation_indices)`, two sorted int64 arrays.

    Raises:
        InvalidArgumentError: `labels` is not one-dimensional or `validation` is
            out of range.

    Example:

    >>> import numpy as np
    >>> train, val = split_indices(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 0.5)
    >>> len(train), len(val), np.bincount(np.array([0, 0, 0, 0, 1, 1, 1, 1])[val]).tolist()
    (4, 4, [2, 2])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise InvalidArgumentError(
            "Invalid value for argument `labels`. Expected a one-dimensional array. "
            f"Received: labels of shape {labels.shape}"
        )
    total = len(labels)
    count = validation_count(validation, total)
    if count == 0:
        return np.arange(total, dtype=np.int64), np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    if not stratify:
        chosen = rng.permutation(total)[:count]
    else:
        classes, inverse, sizes = np.unique(labels, return_inverse=True, return_counts=True)
        quotas = _largest_remainder(sizes, count)
        # One shuffle of everything, then a stable sort by class, gives each class
        # its own random order; its first `quota` members go to validation.
        order = rng.permutation(total)
        order = order[np.argsort(inverse[order], kind="stable")]
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        rank = np.arange(total) - np.repeat(starts, sizes)
        chosen = order[rank < np.repeat(quotas, sizes)]
    in_validation = np.zeros(total, dtype=bool)
    in_validation[chosen] = True
    return np.flatnonzero(~in_validation), np.flatnonzero(in_validation)


def _largest_remainder(sizes: np.ndarray, count: int) -> np.ndarray:
    """Shares `count` among classes in proportion to `sizes`, in whole examples."""
    scaled = sizes.astype(np.int64) * count
    quotas, remainders = np.divmod(scaled, int(sizes.sum()))
    leftover = count - int(quotas.sum())
    # Integer arithmetic keeps the shares exact; ties go to the class listed
    # first, so the result depends on nothing random.
    by_remainder = np.argsort(-remainders, kind="stable")
    quotas[by_remainder[:leftover]] += 1
    return quotas
