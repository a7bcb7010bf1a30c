"""What the new-run form offers: data sets, with where each would come from, and models."""

from __future__ import annotations

from collections.abc import Sequence

from kerasmnist.datasets import dataset_names, find_files, get_dataset_info, search_directories
from kerasmnist.runs.spec import HYPERMODEL_KINDS, PRESET_NAMES

__all__ = ["dataset_choices", "model_choices"]

_KIND_LABELS = {"mlp": "MLP hypermodel", "cnn": "CNN hypermodel", "tiny": "tiny hypermodel"}


def dataset_choices() -> list[tuple[str, str]]:
    """`(label, name)` of every registered data set: bundled ones first, then those found
    on this machine, then those that would be downloaded."""
    ranked = []
    for name in dataset_names():
        info = get_dataset_info(name)
        if info.bundled_dir is not None:
            rank, where = 0, "bundled sample"
        elif any(len(find_files(d, info)) == 4 for d in search_directories(info)):
            rank, where = 1, "found locally"
        else:
            rank, where = 2, "downloaded on first use"
        ranked.append((rank, f"{name}  ({where})", name))
    return [(label, name) for _, label, name in sorted(ranked)]


def model_choices(
    kinds: Sequence[str] = HYPERMODEL_KINDS, presets: Sequence[str] = PRESET_NAMES
) -> list[tuple[str, str]]:
    """`(label, name)` of the hypermodel kinds, then the presets.

    Example:

    >>> model_choices()[0], model_choices()[3]
    (('mlp  (MLP hypermodel)', 'mlp'), ('logistic_regression  (preset)', 'logistic_regression'))
    """
    return ([(f"{k}  ({_KIND_LABELS.get(k, 'hypermodel')})", k) for k in kinds]
            + [(f"{p}  (preset)", p) for p in presets])
