"""Plots of training runs and data, saved as PNG files.

Needs the optional `plots` extra (`pip install "kerasmnist[plots]"`, which brings
matplotlib); matplotlib is imported only when a plot is made, and pyplot's global
state is never touched, so plotting is safe from any thread. Each function writes
its PNG atomically (a temporary file, then a rename) and returns the path.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasmnist.evaluation import Replicates, as_probabilities, normalize_confusion

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kerasmnist.datasets import Dataset

__all__ = [
    "plot_class_distribution",
    "plot_confusion",
    "plot_history",
    "plot_misclassified",
    "plot_probabilities",
    "plot_replicates",
    "plot_samples",
]

PathLike = str | os.PathLike[str]


def plot_history(
    history: Any,
    path: PathLike,
    *,
    metrics: Sequence[str] = ("loss", "accuracy"),
    title: str | None = None,
) -> Path:
    """Training curves: one panel per metric, a line per set that logged it.

    Lines are Keras's running training value (`loss`), the full-eval training
    value (`train_loss`, from `FullEvalMetrics`), validation (`val_loss`) and
    test (`test_loss`), whichever the history has.

    Args:
        history: A Keras `History` or its `.history` dict.
        path: Where to write the PNG.
        metrics: The metrics to plot, one panel each. Defaults to loss and
            accuracy.
        title: Figure title. Defaults to `None`.
    """
    logs: Mapping[str, Sequence[float]] = getattr(history, "history", history)
    figure = _figure(figsize=(5.5 * len(metrics), 4))
    for i, metric in enumerate(metrics):
        axes = figure.add_subplot(1, len(metrics), i + 1)
        for key, label in ((metric, "training (running)"), (f"train_{metric}", "training (full)"),
                           (f"val_{metric}", "validation"), (f"test_{metric}", "test")):
            values = logs.get(key)
            if values:
                axes.plot(range(1, len(values) + 1), values, marker="o", markersize=3, label=label)
        axes.set_xlabel("epoch")
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        if axes.lines:
            axes.legend()
    if title:
        figure.suptitle(title)
    return _save(figure, path)


def plot_confusion(
    cm: np.ndarray,
    path: PathLike,
    *,
    class_names: Sequence[str] | None = None,
    normalize: str | None = "column",
    title: str | None = None,
) -> Path:
    """A confusion-matrix heatmap with every cell annotated.

    Args:
        cm: Confusion matrix of counts, rows true, columns predicted.
        path: Where to write the PNG.
        class_names: Axis labels. Defaults to the class indices.
        normalize: `"column"` (precision on the diagonal, as courses draw it),
            `"row"` (recall) or `None` (counts). Defaults to `"column"`.
        title: Figure title. Defaults to `None`.
    """
    counts = np.asarray(cm)
    shown = normalize_confusion(counts, normalize)  # type: ignore[arg-type]
    names = list(class_names) if class_names is not None else [str(i) for i in range(len(counts))]
    size = max(4.0, 0.6 * len(names) + 2)
    figure = _figure(figsize=(size + 1, size))
    axes = figure.add_subplot()
    image = axes.imshow(shown, cmap="Blues")
    figure.colorbar(image, ax=axes, fraction=0.046)
    axes.set_xticks(range(len(names)), names, rotation=45, ha="right")
    axes.set_yticks(range(len(names)), names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    threshold = shown.max() / 2 if shown.size else 0
    for i in range(len(names)):
        for j in range(len(names)):
            value = shown[i, j]
            text = f"{value:d}" if normalize is None else f"{value:.2f}"
            axes.text(j, i, text, ha="center", va="center", fontsize=7,
                      color="white" if value > threshold else "black")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def plot_misclassified(
    images: np.ndarray,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    path: PathLike,
    *,
    class_names: Sequence[str] | None = None,
    max_images: int = 25,
) -> Path:
    """A grid of misclassified images, each titled "true -> predicted".

    The examples whose predicted label differs from the true one, in their
    order: what `plot_samples` shows with `predicted`, for the mistakes only.

    Args:
        images: Images, `(n, 28, 28)`, `(n, 28, 28, 1)` or flat `(n, 784)`.
        y_true: True labels, `(n,)`.
        y_pred: Predicted labels `(n,)` or scores `(n, classes)`.
        path: Where to write the PNG.
        class_names: Label names. Defaults to the class indices.
        max_images: At most this many, the first ones in order. Defaults to `25`.
    """
    predicted = _labels(y_pred)
    wrong = np.flatnonzero(predicted != np.asarray(y_true))[:max_images]
    return _titled_grid(_as_images(images)[wrong], np.asarray(y_true)[wrong], predicted[wrong],
                        path, class_names, max_images, empty="no misclassified images")


def plot_probabilities(
    image: np.ndarray,
    probabilities: np.ndarray,
    path: PathLike,
    *,
    class_names: Sequence[str] | None = None,
    true_label: int | None = None,
) -> Path:
    """One image beside a bar chart of its predicted class probabilities.

    Args:
        image: One image, `(28, 28)`, `(28, 28, 1)` or flat `(784,)`.
        probabilities: The model's probabilities for it, `(classes,)`; logits
            are turned into probabilities with a softmax.
        path: Where to write the PNG.
        class_names: Bar labels. Defaults to the class indices.
        true_label: The true class, drawn in green. Defaults to `None`.
    """
    scores = as_probabilities(probabilities)
    names = [_namer(class_names)(i) for i in range(len(scores))]
    figure = _figure(figsize=(8, 3.2))
    left = figure.add_subplot(1, 2, 1)
    left.imshow(_as_images(np.asarray(image)[None])[0], cmap="gray_r")
    left.set_axis_off()
    right = figure.add_subplot(1, 2, 2)
    colours = ["tab:blue"] * len(scores)
    colours[int(scores.argmax())] = "tab:red"
    if true_label is not None:
        colours[int(true_label)] = "tab:green"
    right.bar(range(len(scores)), scores, color=colours)
    right.set_xticks(range(len(scores)), names, rotation=45, ha="right")
    right.set_ylim(0, 1)
    right.set_ylabel("probability")
    figure.tight_layout()
    return _save(figure, path)


def plot_class_distribution(
    data: Dataset | Sequence[int] | np.ndarray,
    path: PathLike,
    *,
    class_names: Sequence[str] | None = None,
) -> Path:
    """Bars of examples per class: one group per split for a `Dataset`.

    Args:
        data: A `Dataset`, or counts per class.
        path: Where to write the PNG.
        class_names: Bar labels. Defaults to the data set's, or the indices.
    """
    from kerasmnist.datasets import SPLITS, Dataset

    if isinstance(data, Dataset):
        series = {split: data.class_counts(split) for split in SPLITS}
        series = {split: counts for split, counts in series.items() if counts.sum()}
        class_names = class_names or data.class_names
    else:
        series = {"examples": np.asarray(data)}
    num_classes = len(next(iter(series.values())))
    names = [_namer(class_names)(i) for i in range(num_classes)]
    figure = _figure(figsize=(max(6.0, 0.7 * num_classes + 2), 4))
    axes = figure.add_subplot()
    width = 0.8 / len(series)
    for k, (label, counts) in enumerate(series.items()):
        axes.bar(np.arange(num_classes) + k * width - 0.4 + width / 2, counts, width, label=label)
    axes.set_xticks(range(num_classes), names, rotation=45, ha="right")
    axes.set_ylabel("examples")
    axes.legend()
    figure.tight_layout()
    return _save(figure, path)


def plot_samples(
    images: np.ndarray,
    labels: np.ndarray,
    path: PathLike,
    *,
    predicted: np.ndarray | None = None,
    class_names: Sequence[str] | None = None,
    max_images: int = 32,
) -> Path:
    """A grid of images titled with their class names, or with "true -> predicted".

    Args:
        images: Images, `(n, 28, 28)`, `(n, 28, 28, 1)` or flat `(n, 784)`.
        labels: Their labels, `(n,)`.
        path: Where to write the PNG.
        predicted: A model's predicted labels `(n,)` or scores `(n, classes)`,
            to show beside each true class. Defaults to `None` (labels only).
        class_names: Label names. Defaults to the class indices.
        max_images: At most this many, the first ones. Defaults to `32`.
    """
    shown = None if predicted is None else _labels(predicted)
    return _titled_grid(_as_images(images), np.asarray(labels), shown, path, class_names,
                        max_images, empty="no images")


def plot_replicates(
    results: Mapping[Any, Replicates],
    path: PathLike,
    *,
    ylabel: str = "accuracy",
    title: str | None = None,
) -> Path:
    """Each setting's replicate mean with a standard-deviation error bar, and its runs.

    Args:
        results: `{setting: Replicates}`, e.g. one entry per weight decay.
        path: Where to write the PNG.
        ylabel: What the values are. Defaults to `"accuracy"`.
        title: Figure title. Defaults to `None`.
    """
    labels = [str(k) for k in results]
    figure = _figure(figsize=(max(5.0, 0.9 * len(labels) + 2), 4))
    axes = figure.add_subplot()
    positions = np.arange(len(labels))
    axes.errorbar(positions, [r.mean for r in results.values()],
                  yerr=[r.std for r in results.values()], fmt="o", capsize=5, label="mean ± std")
    for x, replicate in zip(positions, results.values(), strict=True):
        axes.scatter([x] * len(replicate.values), replicate.values, s=12, alpha=0.5, color="gray")
    axes.set_xticks(positions, labels)
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def _figure(figsize: tuple[float, float]) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(
            "kerasmnist.plots needs matplotlib: pip install \"kerasmnist[plots]\""
        ) from error
    return Figure(figsize=figsize, dpi=100)


def _save(figure: Figure, path: PathLike) -> Path:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".png")
    try:
        with open(fd, "wb") as stream:
            figure.savefig(stream, format="png")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _titled_grid(
    pictures: np.ndarray,
    labels: np.ndarray,
    predicted: np.ndarray | None,
    path: PathLike,
    class_names: Sequence[str] | None,
    max_images: int,
    *,
    empty: str,
) -> Path:
    """The first `max_images` pictures, each titled by its class (and the prediction)."""
    names = _namer(class_names)
    count = min(max_images, len(labels))
    if predicted is None:
        titles = [names(label) for label in labels[:count]]
    else:
        titles = [f"{names(t)} -> {names(p)}" for t, p in zip(labels[:count], predicted, strict=False)]
    return _grid(pictures[:count], titles, path, empty=empty)


def _grid(pictures: np.ndarray, titles: Sequence[str], path: PathLike, *, empty: str) -> Path:
    count = len(pictures)
    cols = min(8, max(1, count))
    rows = max(1, math.ceil(count / cols))
    figure = _figure(figsize=(1.4 * cols, 1.6 * rows))
    if count == 0:
        figure.text(0.5, 0.5, empty, ha="center", va="center")
    for k in range(count):
        axes = figure.add_subplot(rows, cols, k + 1)
        axes.imshow(pictures[k], cmap="gray_r")
        axes.set_title(titles[k], fontsize=8)
        axes.set_axis_off()
    figure.tight_layout()
    return _save(figure, path)


def _as_images(images: np.ndarray) -> np.ndarray:
    """`(n, height, width)` from flat, 2-D or one-channel images."""
    array = np.asarray(images)
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        return array.reshape(len(array), side, side)
    if array.ndim == 4:
        return array[..., 0]
    return array


def _labels(y_pred: np.ndarray) -> np.ndarray:
    """Predicted labels, from labels or from scores (their argmax)."""
    predicted = np.asarray(y_pred)
    return predicted.argmax(axis=1) if predicted.ndim == 2 else predicted


def _namer(class_names: Sequence[str] | None) -> Callable[[Any], str]:
    """A function from a label to its name."""
    if class_names is None:
        return lambda label: str(int(label))
    return lambda label: class_names[int(label)]
