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
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasmnist.evaluation import Replicates, as_probabilities, normalize_confusion

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from kerasmnist.datasets import Dataset

__all__ = [
    "plot_class_distribution",
    "plot_compare",
    "plot_confusion",
    "plot_front",
    "plot_history",
    "plot_misclassified",
    "plot_parallel_coordinates",
    "plot_probabilities",
    "plot_replicates",
    "plot_samples",
    "plot_slices",
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
    from matplotlib.ticker import MaxNLocator

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
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
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


def plot_front(
    trials: Iterable[Any],
    path: PathLike,
    *,
    direction: str = "max",
    budgets: Sequence[int] = (),
    objective: str = "val_accuracy",
    title: str | None = None,
) -> Path:
    """Every trial's score against its weight count, with the front and the weight budgets.

    Weights are on a log axis. The front (`kerasmnist.pareto.pareto_front`) is
    drawn as larger points joined by a step line, each labelled with its trial
    id (prefixed by its run's name when the trials come from several runs,
    `kerasmnist.pareto.FrontTrial.run`); each budget is a vertical dashed
    line, labelled with its weight count.

    Args:
        trials: Anything with `params` and `score` (`kerasmnist.pareto.FrontTrial`,
            `kerasmnist.runs.state.TrialState`); those missing either are left out.
        path: Where to write the PNG.
        direction: `"max"` when a higher score is better, `"min"` for a loss.
            Defaults to `"max"`.
        budgets: Weight budgets to mark. Defaults to none.
        objective: What the scores are, for the y axis. Defaults to
            `"val_accuracy"`.
        title: Figure title. Defaults to `None`.

    Returns:
        The path of the PNG written.

    Raises:
        InvalidArgumentError: `direction` is neither `"max"` nor `"min"`.
    """
    from kerasmnist.pareto import pareto_front

    trials = list(trials)
    front = pareto_front(trials, direction=direction)  # checks `direction` before drawing
    front_ids = {id(t) for t in front}
    points = [t for t in trials
              if t.params is not None and t.score is not None and math.isfinite(t.score)]
    figure = _figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    others = [t for t in points if id(t) not in front_ids]
    axes.scatter([t.params for t in others], [t.score for t in others], s=18, color="tab:gray",
                 alpha=0.6, label="trial")
    if front:
        axes.step([t.params for t in front], [t.score for t in front], where="post",
                  color="tab:red", alpha=0.7)
        axes.scatter([t.params for t in front], [t.score for t in front], s=40, color="tab:red",
                     zorder=3, label="front")
        several = len({getattr(t, "run", None) for t in points}) > 1
        for t in front:
            label = getattr(t, "trial_id", None)
            if label is not None:
                label = f"{Path(t.run).name}/{label}" if several else str(label)
                axes.annotate(label, (t.params, t.score), textcoords="offset points",
                              xytext=(4, 4), fontsize=7)
    for k, budget in enumerate(budgets):
        axes.axvline(budget, color="tab:blue", linestyle="--", linewidth=1,
                     label="budget" if k == 0 else None)
        axes.annotate(f"{budget:,}", (budget, 1.0), xycoords=("data", "axes fraction"),
                      xytext=(3, -12), textcoords="offset points", fontsize=8, color="tab:blue")
    if not points:
        axes.text(0.5, 0.5, "no trial with a score and a weight count", ha="center",
                  va="center", transform=axes.transAxes)
    if points or budgets:
        axes.set_xscale("log")
    axes.set_xlabel("weights")
    axes.set_ylabel(objective)
    axes.grid(alpha=0.3, which="both")
    if points or budgets:
        axes.legend(loc="lower right" if direction == "max" else "upper right")
    if title:
        axes.set_title(title)
    figure.tight_layout()
    return _save(figure, path)


def plot_parallel_coordinates(
    trials: Iterable[Any],
    objective: str,
    path: PathLike,
    *,
    hyperparameters: Sequence[str] | None = None,
    limit: int | None = None,
    title: str | None = None,
) -> Path:
    """A search's trials across one axis per hyperparameter and one for the objective.

    The axes, lines and colours are `kerasmnist.coordinates.parallel_coordinates`'s:
    each trial is a line coloured by its score (a colour bar of the objective's
    values beside, the best yellow in either direction), the best drawn last,
    thicker and labelled; pruned trials are dashed. Log axes are ticked with
    real values, categorical ones with their levels, and a trial lacking a
    hyperparameter sits on its `(none)` level at the bottom.

    Args:
        trials: `kerasmnist.runs.trials.TrialState`s; those without a score are
            left out.
        objective: The metric the scores are values of (`RunState.objective`).
        path: Where to write the PNG.
        hyperparameters: The hyperparameter axes, in order. Defaults to `None`:
            those that vary.
        limit: At most this many hyperparameter axes. Defaults to `None` (all).
        title: Figure title. Defaults to the objective and the trial count.

    Returns:
        The path of the PNG written.

    Raises:
        InvalidArgumentError: As `parallel_coordinates`.
    """
    from kerasmnist.coordinates import parallel_coordinates

    chart = parallel_coordinates(trials, objective, hyperparameters=hyperparameters, limit=limit)
    mappable, colour = _score_colours(chart.lines, chart.direction)
    count = len(chart.axes)
    figure = _figure(figsize=(max(6.0, 1.3 * count + 3), 5.5))
    axes = figure.add_subplot()
    for line in chart.lines:
        best = line is chart.best
        axes.plot(range(count), line.positions, color=colour(line.score), linewidth=2.8 if best else 1.3,
                  linestyle="--" if line.pruned else "-", alpha=1.0 if best else 0.75)
    if chart.best is not None:
        axes.annotate(f"best: trial {chart.best.trial_id}", (count - 1, chart.best.positions[-1]),
                      xytext=(8, 0), textcoords="offset points", va="center", fontsize=8,
                      fontweight="bold")
    else:
        axes.text(0.5, 0.5, "no trial with a score", ha="center", va="center", transform=axes.transAxes)
    for i, axis in enumerate(chart.axes):
        axes.axvline(i, color="0.25", linewidth=1, zorder=0)
        for tick in axis.ticks:
            axes.text(i - 0.05, tick.position, tick.label, ha="right", va="center", fontsize=7,
                      bbox={"boxstyle": "square,pad=0.1", "facecolor": "white", "edgecolor": "none",
                            "alpha": 0.7})
    axes.set_xticks(range(count), [a.name + (" (log)" if a.kind == "log" else "") for a in chart.axes],
                    rotation=30 if count > 5 else 0, ha="right" if count > 5 else "center")
    axes.set_xlim(-0.6, count - 1 + 0.6)
    axes.set_ylim(-0.04, 1.04)
    axes.set_yticks([])
    for side in ("left", "right", "top"):
        axes.spines[side].set_visible(False)
    if any(line.pruned for line in chart.lines):
        axes.plot([], [], color="0.4", linestyle="--", label="pruned")
        axes.legend(loc="upper left", fontsize=8)
    if chart.lines:
        figure.colorbar(mappable, ax=axes, fraction=0.04, pad=0.02, label=objective)
    axes.set_title(title or f"{objective} by hyperparameter ({len(chart.lines)} trials)")
    figure.tight_layout()
    return _save(figure, path)


def plot_slices(
    trials: Iterable[Any],
    objective: str,
    path: PathLike,
    *,
    hyperparameters: Sequence[str] | None = None,
    limit: int | None = None,
    columns: int = 4,
    title: str | None = None,
) -> Path:
    """One panel per hyperparameter: each trial's score against its value.

    The panels are `kerasmnist.coordinates.slices`': x is placed as on the
    parallel-coordinates axes (log axes ticked with real values, categorical
    ones with their levels, `(none)` for trials lacking the hyperparameter),
    points are coloured by score (the best yellow, ringed, drawn on top) and
    pruned trials are hollow.

    Args:
        trials: `kerasmnist.runs.trials.TrialState`s; those without a score are
            left out.
        objective: The metric the scores are values of (`RunState.objective`).
        path: Where to write the PNG.
        hyperparameters: The panels, in order. Defaults to `None`: every
            hyperparameter that varies.
        limit: At most this many panels. Defaults to `None` (all).
        columns: Panels per row. Defaults to `4`.
        title: Figure title. Defaults to the objective and the trial count.

    Returns:
        The path of the PNG written.

    Raises:
        InvalidArgumentError: `columns` is not a positive integer, or as
            `parallel_coordinates`.
    """
    from kerasmnist.coordinates import slices
    from kerasmnist.errors import InvalidArgumentError
    from kerasmnist.runs.spec import objective_direction

    if not isinstance(columns, int) or isinstance(columns, bool) or columns < 1:
        raise InvalidArgumentError("Invalid value for argument `columns`. Expected a positive integer. "
                                   f"Received: columns={columns!r}")
    panels = slices(trials, objective, hyperparameters=hyperparameters, limit=limit)
    points = panels[0].points if panels else ()
    mappable, colour = _score_colours(points, objective_direction(objective))
    cols = max(1, min(columns, len(panels)))
    rows = max(1, math.ceil(len(panels) / cols))
    figure = _figure(figsize=(3.4 * cols + 1.2, 2.9 * rows + 0.6))
    figure.set_layout_engine("constrained")  # tight_layout cannot place one colour bar for a grid
    if not panels:
        figure.text(0.5, 0.5, "no hyperparameter differs between the trials with a score",
                    ha="center", va="center")
    grid: list[Any] = []
    for k, panel in enumerate(panels):
        axes = figure.add_subplot(rows, cols, k + 1, sharey=grid[0] if grid else None)
        grid.append(axes)
        # One collection for the others (drawn in order, worst first) and one for the best, on top.
        for group, size, best in ((panel.points[:-1], 22, False), (panel.points[-1:], 60, True)):
            if group:
                colours = [colour(point.score) for point in group]
                faces = ["none" if p.pruned else c for p, c in zip(group, colours, strict=True)]
                axes.scatter([point.position for point in group], [point.score for point in group], s=size,
                             facecolors=faces, edgecolors="black" if best else colours, linewidths=1.2,
                             zorder=3 if best else 2)
        ticks = _spaced(panel.axis.ticks)
        long = panel.axis.kind == "categorical" or sum(len(t.label) for t in ticks) > 24
        axes.set_xticks([t.position for t in ticks], [t.label for t in ticks], fontsize=7,
                        rotation=40 if long else 0, ha="right" if long else "center")
        axes.set_xlim(-0.08, 1.08)
        axes.set_title(panel.axis.name + (" (log)" if panel.axis.kind == "log" else ""), fontsize=9)
        axes.grid(alpha=0.3)
        if k % cols == 0:
            axes.set_ylabel(objective)
    if grid:
        figure.colorbar(mappable, ax=grid, fraction=0.03, pad=0.02, label=objective)
    figure.suptitle(title or f"{objective} against each hyperparameter ({len(points)} trials)")
    return _save(figure, path)


def _spaced(ticks: Sequence[Any], gap: float = 0.07) -> list[Any]:
    """Ticks bottom first, leaving out each that would print over the one kept before it."""
    kept: list[Any] = []
    for tick in ticks:
        if not kept or tick.position - kept[-1].position >= gap:
            kept.append(tick)
    return kept


def _score_colours(items: Sequence[Any], direction: str) -> tuple[Any, Callable[[float], Any]]:
    """A colour bar's mappable over the items' `score`s and the colour of a score: the best
    yellow, the worst dark (viridis, reversed for a minimised objective)."""
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    scores = [item.score for item in items]
    low, high = (min(scores), max(scores)) if scores else (0.0, 1.0)
    if high - low <= 0:
        low, high = low - 0.5, high + 0.5
    colour_map = colormaps["viridis" if direction == "max" else "viridis_r"]
    mappable = ScalarMappable(Normalize(low, high), colour_map)
    return mappable, lambda score: mappable.to_rgba(score)


def plot_compare(
    curves: Mapping[str, Sequence[float | None]],
    path: PathLike,
    *,
    metric: str = "val_accuracy",
    title: str | None = None,
) -> Path:
    """Several runs' curves of one metric overlaid: a line per run, epoch by epoch.

    `kerasmnist runs compare --plot` draws each run's best trial
    (`kerasmnist.runs.compare.Comparison.curves`).

    Args:
        curves: Each line's values by its label (a run's name); `None` leaves a gap.
        path: Where to write the PNG.
        metric: What the values are, for the y axis. Defaults to `"val_accuracy"`.
        title: Figure title. Defaults to `None`.

    Returns:
        The path of the PNG written.
    """
    figure = _figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    markers = "osD^vP*X"
    for k, (label, values) in enumerate(curves.items()):
        shown = [np.nan if v is None else float(v) for v in values]
        axes.plot(range(1, len(shown) + 1), shown, marker=markers[k % len(markers)], markersize=4,
                  label=label)
    if not any(v is not None for values in curves.values() for v in values):
        axes.text(0.5, 0.5, "no values", ha="center", va="center", transform=axes.transAxes)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole
    axes.set_xlabel("epoch")
    axes.set_ylabel(metric)
    axes.grid(alpha=0.3)
    if axes.lines:
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
