"""Evaluation: confusion matrices, per-class metrics, split tables, mistakes, replicates.

Everything here works on NumPy arrays; `evaluate_splits` and `find_mistakes`
call a model they are given, and nothing here imports Keras, so that
`import kerasmnist.evaluation` stays light. Every result renders as plain text
(tabulate, for logs and files) and as a Rich renderable (for terminals).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from tabulate import tabulate

from kerasmnist.errors import InvalidArgumentError

if TYPE_CHECKING:
    from rich.table import Table

    from kerasmnist.datasets import Dataset

__all__ = [
    "ClassMetrics",
    "Mistakes",
    "Replicates",
    "SplitResult",
    "SplitTable",
    "as_probabilities",
    "class_metrics",
    "confusion_heatmap",
    "confusion_matrix",
    "confusion_text",
    "cross_entropy",
    "evaluate_splits",
    "find_mistakes",
    "model_inputs",
    "normalize_confusion",
    "replicates",
    "sweep_table",
    "top_confusions",
]

Normalize = Literal["row", "column"] | None


def confusion_matrix(
    y_true: Sequence[int] | np.ndarray,
    y_pred: Sequence[int] | np.ndarray,
    num_classes: int,
    *,
    normalize: Normalize = None,
) -> np.ndarray:
    """Counts (true class, predicted class) pairs, in one vectorised pass.

    Args:
        y_true: True labels, shape `(n,)`.
        y_pred: Predicted labels `(n,)`, or scores `(n, num_classes)` (logits or
            probabilities), whose argmax is taken.
        num_classes: Number of classes.
        normalize: `None` for counts; `"row"` divides each row by the number of
            examples of that true class (the diagonal is then recall);
            `"column"` divides each column by the number of predictions of that
            class (the diagonal is then precision). Empty rows or columns give 0.
            Defaults to `None`.

    Returns:
        A `(num_classes, num_classes)` array, rows true, columns predicted: int64
        counts, or float64 fractions when normalised.

    Raises:
        InvalidArgumentError: Shapes differ, labels fall outside
            `[0, num_classes)`, or `normalize` is unknown.

    Example:

    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], 2)
    array([[1, 1],
           [0, 2]])
    >>> confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], 2, normalize="column")
    array([[1.        , 0.33333333],
           [0.        , 0.66666667]])
    """
    if normalize not in (None, "row", "column"):
        raise InvalidArgumentError(
            "Invalid value for argument `normalize`. Expected None, 'row' or 'column'. "
            f"Received: normalize={normalize!r}"
        )
    true = _labels(y_true, num_classes, "y_true")
    pred = np.asarray(y_pred)
    pred = _labels(pred.argmax(axis=1) if pred.ndim == 2 else pred, num_classes, "y_pred")
    if true.shape != pred.shape:
        raise InvalidArgumentError(
            "Invalid value for argument `y_pred`. Expected as many predictions as labels "
            f"({true.shape[0]}). Received: {pred.shape[0]} predictions"
        )
    counts = np.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return normalize_confusion(counts.reshape(num_classes, num_classes), normalize)


def normalize_confusion(counts: np.ndarray, normalize: Normalize) -> np.ndarray:
    """Divides a confusion matrix of counts by its row or column sums (`None`: as is).

    Example:

    >>> normalize_confusion(np.array([[3, 1], [0, 0]]), "row").tolist()
    [[0.75, 0.25], [0.0, 0.0]]
    """
    counts = np.asarray(counts)
    if normalize is None:
        return counts
    axis = 1 if normalize == "row" else 0
    totals = counts.sum(axis=axis, keepdims=True)
    return np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)


@dataclass(frozen=True)
class ClassMetrics:
    """Precision, recall, F1 and support of each class.

    Attributes:
        precision, recall, f1: Float arrays, one value per class (0 where the
            class was never predicted, or never present).
        support: Number of true examples of each class.
    """

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    support: np.ndarray

    def table(self, class_names: Sequence[str] | None = None) -> str:
        """Plain-text table, one row per class plus the macro average."""
        names = _names(class_names, len(self.support))
        rows = [(n, p, r, f, s) for n, p, r, f, s in
                zip(names, self.precision, self.recall, self.f1, self.support, strict=True)]
        rows.append(("macro avg", self.precision.mean(), self.recall.mean(), self.f1.mean(),
                     int(self.support.sum())))
        return tabulate(rows, headers=("class", "precision", "recall", "f1", "support"),
                        floatfmt=".4f")

    def as_dict(self, class_names: Sequence[str] | None = None) -> dict[str, dict[str, float]]:
        """`{class name: {"precision", "recall", "f1", "support"}}`, JSON-ready."""
        names = _names(class_names, len(self.support))
        return {n: {"precision": float(self.precision[i]), "recall": float(self.recall[i]),
                    "f1": float(self.f1[i]), "support": int(self.support[i])}
                for i, n in enumerate(names)}


def class_metrics(cm: np.ndarray) -> ClassMetrics:
    """Per-class precision, recall and F1 from a confusion matrix of counts.

    Example:

    >>> m = class_metrics(confusion_matrix([0, 0, 1, 1], [0, 1, 1, 1], 2))
    >>> m.precision.round(3).tolist(), m.recall.tolist(), m.support.tolist()
    ([1.0, 0.667], [0.5, 1.0], [2, 2])
    """
    cm = np.asarray(cm)
    diagonal = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(diagonal, predicted, out=np.zeros_like(diagonal), where=predicted > 0)
    recall = np.divide(diagonal, support, out=np.zeros_like(diagonal), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(diagonal), where=total > 0)
    return ClassMetrics(precision, recall, f1, support)


def top_confusions(
    cm: np.ndarray, class_names: Sequence[str] | None = None, k: int = 5
) -> list[tuple[str, str, int]]:
    """The `k` most frequent mistakes, as `(true, predicted, count)`, largest first.

    Example:

    >>> cm = confusion_matrix([4, 4, 4, 9, 7], [9, 9, 4, 4, 1], 10)
    >>> [f"{t} -> {p}: {n}" for t, p, n in top_confusions(cm, k=2)]
    ['4 -> 9: 2', '7 -> 1: 1']
    """
    cm = np.asarray(cm)
    names = _names(class_names, len(cm))
    off = cm.astype(np.float64).copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:k]
    pairs = [divmod(int(i), len(cm)) for i in flat]
    return [(names[t], names[p], int(cm[t, p])) for t, p in pairs if off[t, p] > 0]


def confusion_text(
    cm: np.ndarray, class_names: Sequence[str] | None = None, *, digits: int = 2
) -> str:
    """Plain-text confusion matrix: rows true, columns predicted.

    Example:

    >>> print(confusion_text(confusion_matrix([0, 1, 1], [0, 1, 0], 2), ["cat", "dog"]))
    true \\ pred      cat    dog
    -------------  -----  -----
    cat                1      0
    dog                1      1
    """
    cm = np.asarray(cm)
    names = _names(class_names, len(cm))
    fmt = "d" if np.issubdtype(cm.dtype, np.integer) else f".{digits}f"
    rows = [[name, *row] for name, row in zip(names, cm.tolist(), strict=True)]
    return tabulate(rows, headers=["true \\ pred", *names], floatfmt=fmt, intfmt=fmt)


def confusion_heatmap(
    cm: np.ndarray,
    class_names: Sequence[str] | None = None,
    *,
    normalize: Normalize = None,
    title: str | None = None,
) -> Table:
    """A Rich table of the confusion matrix, each cell shaded by its value.

    Cells are shaded by the row-normalised value (so each true class reads on
    its own scale) and show counts, or fractions when `normalize` is given.
    Correct predictions are green, mistakes red.

    Args:
        cm: Confusion matrix of counts.
        class_names: Row and column labels. Defaults to the class indices.
        normalize: `None`, `"row"` or `"column"`: what the cells show.
            Defaults to `None`.
        title: Table title. Defaults to `None`.
    """
    from rich.table import Table
    from rich.text import Text

    counts = np.asarray(cm)
    shown = normalize_confusion(counts, normalize)
    shade = normalize_confusion(counts, "row")
    names = _names(class_names, len(counts))
    table = Table(title=title, show_lines=False, header_style="bold")
    table.add_column("true \\ pred", style="bold")
    for name in names:
        table.add_column(name, justify="right")
    for i, name in enumerate(names):
        cells = []
        for j in range(len(names)):
            value = shown[i, j]
            label = f"{value:d}" if normalize is None else f"{value:.2f}"
            level = float(shade[i, j])
            if level == 0:
                style = "dim"
            elif i == j:
                style = f"black on rgb(0,{90 + int(165 * level)},0)"
            else:
                style = f"white on rgb({90 + int(165 * min(1.0, 4 * level))},0,0)"
            cells.append(Text(label, style=style))
        table.add_row(name, *cells)
    return table


@dataclass(frozen=True)
class SplitResult:
    """Loss and accuracy of a model on one split.

    Attributes:
        split: "train", "validation" or "test".
        examples: Number of examples.
        loss: The compiled loss (regularisation included, as `evaluate` gives);
            for a model that only predicts (TFLite), the cross-entropy of its
            scores (`cross_entropy`).
        accuracy: Fraction correct.
    """

    split: str
    examples: int
    loss: float
    accuracy: float

    @property
    def error_rate(self) -> float:
        """Percentage of examples misclassified."""
        return 100.0 * (1.0 - self.accuracy)


@dataclass(frozen=True)
class SplitTable:
    """Loss, accuracy and error rate per split: the table every MNIST report has."""

    results: tuple[SplitResult, ...]

    def __getitem__(self, split: str) -> SplitResult:
        return next(r for r in self.results if r.split == split)

    def rows(self) -> list[tuple[str, int, float, float, float]]:
        return [(r.split, r.examples, r.loss, r.accuracy, r.error_rate) for r in self.results]

    def to_text(self) -> str:
        """Plain-text table (tabulate)."""
        return tabulate(self.rows(), headers=("split", "examples", "loss", "accuracy", "error %"),
                        floatfmt=("", "", ".4f", ".4f", ".2f"), intfmt=",")

    def to_rich(self, title: str | None = None) -> Table:
        """Rich table for terminals."""
        from rich.table import Table

        table = Table(title=title)
        for header in ("split", "examples", "loss", "accuracy", "error %"):
            table.add_column(header, justify="left" if header == "split" else "right")
        for split, n, loss, accuracy, error in self.rows():
            table.add_row(split, f"{n:,}", f"{loss:.4f}", f"{accuracy:.4f}", f"{error:.2f}")
        return table

    def __str__(self) -> str:
        return self.to_text()


def evaluate_splits(
    model: Any,
    dataset: Dataset,
    *,
    splits: Iterable[str] = ("train", "validation", "test"),
    batch_size: int = 1024,
) -> SplitTable:
    """Evaluates a model on each split of a data set, in inference mode.

    Each split is fed in the shape the model takes (`model_inputs`). Empty
    splits (no validation set, say) are left out. A Keras model gives its
    compiled loss (`model.evaluate`); a model that only predicts, such as a
    `kerasmnist.tflite.TFLiteModel`, the sparse categorical cross-entropy of
    its scores (`cross_entropy`), which is the presets' compiled loss
    (cross-entropy from logits) less any regularisation or label smoothing.

    Args:
        model: A compiled Keras model giving class scores, or any model with
            Keras's `input_shape` and `predict(x, batch_size=..., verbose=0)`
            but no `evaluate` (a `kerasmnist.tflite.TFLiteModel`).
        dataset: The data set.
        splits: Which splits, in order. Defaults to train, validation, test.
        batch_size: Evaluation batch size. Defaults to `1024`.

    Returns:
        A `SplitTable`; `print()` it for the plain-text table.

    Raises:
        InvalidArgumentError: The model's input does not hold one image of
            the data set, or a split is unknown.

    Example:

    >>> from kerasmnist import load_dataset, presets
    >>> ds = load_dataset("mnist_sample", validation=500)
    >>> table = evaluate_splits(presets.build("logistic_regression"), ds)
    >>> [r.split for r in table.results], table["test"].examples
    (['train', 'validation', 'test'], 1000)
    """
    results = []
    for split in splits:
        x, y = dataset.arrays(split, view="image")
        if len(x) == 0:
            continue
        x = model_inputs(model, x)
        if not hasattr(model, "evaluate"):
            predictions = model.predict(x, batch_size=batch_size, verbose=0)
            results.append(SplitResult(split, len(x), cross_entropy(y, predictions),
                                       float(np.mean(predictions.argmax(axis=1) == y))))
            continue
        scores = model.evaluate(x, y, batch_size=batch_size, verbose=0, return_dict=True)
        accuracy = scores.get("accuracy")
        if accuracy is None:
            predictions = model.predict(x, batch_size=batch_size, verbose=0)
            accuracy = float(np.mean(predictions.argmax(axis=1) == y))
        results.append(SplitResult(split, len(x), float(scores["loss"]), float(accuracy)))
    return SplitTable(tuple(results))


def model_inputs(model: Any, x: np.ndarray) -> np.ndarray:
    """Reshapes a batch to the input shape of a model: the one rule for feeding it.

    The same pixels fit a flat `(784,)` model, a `(28, 28)` one and a
    `(28, 28, 1)` one; only the shape differs. Reshaping a contiguous array
    copies nothing.

    Args:
        model: A Keras model, or anything with a Keras-style `input_shape`
            (`(None, *example_shape)`).
        x: A batch, `(n, ...)`, with as many values per example as the model's
            input holds: flat `(n, 784)` or images `(n, 28, 28)` or
            `(n, 28, 28, 1)`, say.

    Returns:
        `x` as an array of shape `(n, *model.input_shape[1:])`; unchanged when
        the model leaves a dimension of its input open (`None`), since the
        data's own shape must then serve.

    Raises:
        InvalidArgumentError: An example of `x` does not hold as many values as
            the model's input.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(10)])
    >>> model_inputs(model, np.zeros((2, 784), "float32")).shape
    (2, 28, 28)
    """
    array = np.asarray(x)
    shape = tuple(model.input_shape[1:])
    if any(d is None for d in shape):
        return array
    if array.ndim == 0 or math.prod(array.shape[1:]) != math.prod(shape):
        raise InvalidArgumentError(
            f"Invalid value for argument `x`. Expected a batch of examples of "
            f"{math.prod(shape)} values each, to fit the model's input shape {shape}. "
            f"Received: x of shape {array.shape}"
        )
    return array.reshape((len(array), *shape))


def as_probabilities(scores: Sequence[float] | np.ndarray) -> np.ndarray:
    """Class probabilities from a model's scores, whether logits or probabilities.

    Scores that are already probabilities (no negative value, each row summing
    to 1 within 1e-3, as a softmax output gives) are returned as they are;
    anything else is taken as logits and goes through a softmax, row by row.

    Args:
        scores: One example's scores `(classes,)`, or a batch `(n, classes)`.

    Returns:
        Float64 probabilities of the same shape.

    Example:

    >>> as_probabilities([0.0, np.log(3.0)]).round(2).tolist()
    [0.25, 0.75]
    >>> as_probabilities([[0.1, 0.9]]).tolist()
    [[0.1, 0.9]]
    """
    values = np.asarray(scores, dtype=np.float64)
    if _are_probabilities(values):
        return values
    shifted = np.exp(values - values.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def cross_entropy(
    y_true: Sequence[int] | np.ndarray, scores: Sequence[Sequence[float]] | np.ndarray
) -> float:
    """Mean sparse categorical cross-entropy of a model's scores, logits or probabilities.

    Scores are told apart as `as_probabilities` does: probabilities are
    clipped to [1e-7, 1] (Keras's epsilon) before their logarithm; logits go
    through a log-softmax, which stays finite however large they are.

    Args:
        y_true: True labels, `(n,)`.
        scores: Scores `(n, classes)`.

    Returns:
        The mean of `-log p(true class)`; NaN for no examples.

    Raises:
        InvalidArgumentError: Labels fall outside the scores' classes, or the
            shapes differ.

    Example:

    >>> round(cross_entropy([1, 0], [[0.0, np.log(3.0)], [0.0, 0.0]]), 4)
    0.4904
    >>> round(cross_entropy([1], [[0.25, 0.75]]), 4)
    0.2877
    """
    values = np.asarray(scores, dtype=np.float64)
    if values.ndim != 2:
        raise InvalidArgumentError(
            "Invalid value for argument `scores`. Expected a batch of class scores, "
            f"(n, classes). Received: scores of shape {values.shape}")
    true = _labels(y_true, values.shape[1], "y_true")
    if len(true) != len(values):
        raise InvalidArgumentError(
            f"Invalid value for argument `scores`. Expected one row per label ({len(true)}). "
            f"Received: {len(values)} rows")
    if len(true) == 0:
        return math.nan
    if _are_probabilities(values):
        log_p = np.log(np.clip(values, 1e-7, 1.0))
    else:
        shifted = values - values.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(len(true)), true].mean())


def _are_probabilities(values: np.ndarray) -> bool:
    """Whether scores read as probabilities: none negative, each row summing to 1 within 1e-3."""
    return bool(values.size and np.all(values >= 0)
                and np.allclose(values.sum(axis=-1), 1.0, atol=1e-3))


@dataclass(frozen=True)
class Mistakes:
    """The examples of a split that a model gets wrong, most confident first.

    Attributes:
        split: The split searched.
        indices: Position in the split of each mistake kept (at most the `top`
            asked for), int64.
        true: The true label of each.
        predicted: The label the model gave each.
        confidence: The model's probability for each predicted label.
        errors: How many examples of the split the model gets wrong, all of
            them, not only those kept.
        examples: How many examples the split has.
    """

    split: str
    indices: np.ndarray
    true: np.ndarray
    predicted: np.ndarray
    confidence: np.ndarray
    errors: int
    examples: int

    def __len__(self) -> int:
        return len(self.indices)

    def as_dicts(self, class_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """`[{"index", "true", "predicted", "confidence"}]`, labels as names, JSON-ready."""
        def name(label: Any) -> str:
            return str(class_names[int(label)]) if class_names is not None else str(int(label))

        return [{"index": int(i), "true": name(t), "predicted": name(p), "confidence": float(c)}
                for i, t, p, c in zip(self.indices, self.true, self.predicted, self.confidence,
                                      strict=True)]


def find_mistakes(
    model: Any,
    dataset: Dataset,
    *,
    split: str = "test",
    top: int | None = 24,
    batch_size: int = 1024,
) -> Mistakes:
    """Predicts a split and returns the examples the model is most confidently wrong about.

    Confidence is the probability the model gives its (wrong) prediction, from
    its scores through `as_probabilities`, so logits and softmax outputs rank
    alike. Ties keep the split's order.

    Args:
        model: A Keras model giving class scores (compiled or not).
        dataset: The data set.
        split: `"train"`, `"validation"` (or `"val"`) or `"test"`. Defaults
            to `"test"`.
        top: How many mistakes to keep; `None` keeps every one. Defaults to
            `24`.
        batch_size: Prediction batch size. Defaults to `1024`.

    Returns:
        `Mistakes`; the raw images are `dataset.raw(split)[0][mistakes.indices]`.

    Raises:
        InvalidArgumentError: `top` is negative or not an integer, the split
            is unknown, or the model's input does not hold one image of the
            data set.

    Example:

    >>> from kerasmnist import load_dataset, presets
    >>> ds = load_dataset("mnist_sample", validation=0)
    >>> mistakes = find_mistakes(presets.build("logistic_regression"), ds, top=5)
    >>> len(mistakes), mistakes.examples, bool(mistakes.errors >= 5)
    (5, 1000, True)
    """
    if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
        raise InvalidArgumentError(
            "Invalid value for argument `top`. Expected a non-negative integer or None. "
            f"Received: top={top!r}"
        )
    x, y = dataset.arrays(split, view="image")
    scores = model.predict(model_inputs(model, x), batch_size=batch_size, verbose=0)
    probabilities = as_probabilities(scores)
    predicted = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    wrong = np.flatnonzero(predicted != y)
    chosen = wrong[np.argsort(-confidence[wrong], kind="stable")][:top]
    return Mistakes(split, chosen.astype(np.int64), np.asarray(y[chosen]),
                    predicted[chosen], confidence[chosen], int(len(wrong)), int(len(y)))


@dataclass(frozen=True)
class Replicates:
    """One measurement repeated with different seeds.

    Attributes:
        seeds: The seed of each run.
        values: The value each run returned.
    """

    seeds: tuple[int, ...]
    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        """Mean of the values."""
        return statistics.fmean(self.values)

    @property
    def std(self) -> float:
        """Sample standard deviation (n - 1 in the denominator); 0 for one value."""
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.std:.4f} (n={len(self.values)})"


def replicates(
    train_fn: Callable[[int], float],
    n: int = 3,
    *,
    seeds: Sequence[int] | None = None,
) -> Replicates:
    """Runs `train_fn(seed)` for several seeds and collects the returned values.

    Args:
        train_fn: Trains and evaluates one model for a seed; returns a number
            (e.g. test accuracy).
        n: Number of runs when `seeds` is not given. Defaults to `3`.
        seeds: The seeds, one run each; `None` uses `0, 1, ..., n - 1`.
            Defaults to `None`.

    Returns:
        `Replicates` with the values, `mean` and `std`.

    Raises:
        InvalidArgumentError: `n` is below 1, or `seeds` is empty.

    Example:

    >>> r = replicates(lambda seed: 0.9 + seed / 100, n=3)
    >>> round(r.mean, 4), round(r.std, 4)
    (0.91, 0.01)
    """
    if seeds is None:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise InvalidArgumentError(
                f"Invalid value for argument `n`. Expected a positive integer. Received: n={n!r}"
            )
        seeds = range(n)
    chosen = tuple(int(s) for s in seeds)
    if not chosen:
        raise InvalidArgumentError(
            "Invalid value for argument `seeds`. Expected at least one seed. Received: seeds=()"
        )
    return Replicates(chosen, tuple(float(train_fn(seed)) for seed in chosen))


def sweep_table(
    results: Mapping[tuple[Any, Any], float | Replicates],
    *,
    row_label: str = "",
    column_label: str = "",
    floatfmt: str = ".4f",
) -> str:
    """A rows x columns table of a metric, as in an architecture x learning-rate study.

    Args:
        results: `{(row, column): value}`; a value may be a `Replicates`,
            shown as mean ± standard deviation. Rows and columns keep the order
            they first appear in.
        row_label: Header of the row labels. Defaults to `""`.
        column_label: Shown in the corner cell as `row_label \\ column_label`.
            Defaults to `""`.
        floatfmt: Format of each number. Defaults to `".4f"`.

    Example:

    >>> print(sweep_table({("mlp", 0.1): 0.97, ("mlp", 0.01): 0.98, ("cnn", 0.1): 0.99},
    ...                   row_label="model", column_label="lr"))
    model \\ lr     0.1    0.01
    ------------  ------  ------
    mlp           0.9700  0.9800
    cnn           0.9900
    """
    rows = list(dict.fromkeys(r for r, _ in results))
    columns = list(dict.fromkeys(c for _, c in results))

    def cell(value: float | Replicates | None) -> str:
        if value is None:
            return ""
        if isinstance(value, Replicates):
            return f"{value.mean:{floatfmt}} ± {value.std:{floatfmt}}"
        return f"{value:{floatfmt}}" if math.isfinite(value) else str(value)

    corner = f"{row_label} \\ {column_label}" if column_label else row_label
    body = [[str(r), *(cell(results.get((r, c))) for c in columns)] for r in rows]
    return tabulate(body, headers=[corner, *map(str, columns)], disable_numparse=True,
                    colalign=("left", *["right"] * len(columns)))


def _labels(values: Sequence[int] | np.ndarray, num_classes: int, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise InvalidArgumentError(
            f"Invalid value for argument `{name}`. Expected integer labels of shape (n,). "
            f"Received: array of dtype {array.dtype} and shape {array.shape}"
        )
    if array.size and (array.min() < 0 or array.max() >= num_classes):
        raise InvalidArgumentError(
            f"Invalid value for argument `{name}`. Expected labels in [0, {num_classes}). "
            f"Received: values from {array.min()} to {array.max()}"
        )
    return array.astype(np.int64)


def _names(class_names: Sequence[str] | None, n: int) -> list[str]:
    return list(class_names) if class_names is not None else [str(i) for i in range(n)]
