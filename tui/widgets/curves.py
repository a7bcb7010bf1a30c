"""Loss and accuracy curves of one trial, drawn with braille dots (2 x 4 per character)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widget import Widget

from kerasmnist.runs.state import TrialState

__all__ = ["Curves", "Series", "braille_chart"]

# Dot bits of a braille character, by (column, row) within its 2 x 4 cell.
_DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_LABEL_WIDTH = 8

CURVES = (
    ("train", "{}", "#5fafff"),
    ("train, full eval", "train_{}", "#ffaf00"),
    ("validation", "val_{}", "#87d75f"),
)
"""Each curve: its legend, the logged key (`{}` is the metric), its colour."""


@dataclass(frozen=True)
class Series:
    """One line of a chart.

    Attributes:
        label: Its legend.
        values: One value per epoch; `None` leaves a gap.
        color: A Rich colour.
    """

    label: str
    values: Sequence[float | None]
    color: str


def braille_chart(series: Sequence[Series], width: int, height: int, *, title: str = "",
                  epochs: int | None = None) -> Text:
    """A line chart of epochs (x) against values (y) in `width` x `height` cells.

    The first line holds the title and the legend, the last the epoch axis;
    the values' range labels the left edge.

    Args:
        series: The lines.
        width: Width in cells.
        height: Height in cells.
        title: The chart's title. Defaults to `""`.
        epochs: Epochs the x axis spans, so that a curve grows from left to right
            as epochs end. Defaults to `None` (the longest series).

    Example:

    >>> chart = braille_chart([Series("loss", [2.0, 1.0, 0.5], "blue")], 30, 6, title="Loss")
    >>> lines = chart.plain.splitlines()
    >>> len(lines), lines[0].startswith("Loss"), lines[1].strip().startswith("2.000")
    (6, True, True)
    """
    rows, columns = max(1, height - 2), max(2, width - _LABEL_WIDTH - 1)
    finite = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    count = max([len(s.values) for s in series] + [epochs or 0])
    text = Text(title, style="bold")
    for s in series:
        text.append("  ━ ", style=s.color)
        text.append(s.label)
    if not finite:
        text.append("\n" + "no values yet", style="dim")
        return text
    low, high = min(finite), max(finite)
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 0.5
        low, high = low - pad, high + pad
    dots_x, dots_y = columns * 2, rows * 4
    bits = [[0] * columns for _ in range(rows)]
    colors: list[list[str | None]] = [[None] * columns for _ in range(rows)]

    def plot(x: int, y: int, color: str) -> None:
        row, column = y // 4, x // 2
        bits[row][column] |= _DOTS[x % 2][y % 4]
        colors[row][column] = color

    def position(index: int, value: float) -> tuple[int, int]:
        x = 0 if count < 2 else round(index * (dots_x - 1) / (count - 1))
        y = round((high - value) / (high - low) * (dots_y - 1))
        return x, y

    for s in series:
        previous: tuple[int, int] | None = None
        for index, value in enumerate(s.values):
            if value is None or not math.isfinite(value):
                previous = None
                continue
            point = position(index, value)
            for x, y in _line(previous or point, point):
                plot(x, y, s.color)
            previous = point
    labels = {0: high, rows - 1: low}
    if rows >= 5:
        labels[rows // 2] = high - (high - low) * (rows // 2 * 4 + 1.5) / (dots_y - 1)
    for row in range(rows):
        text.append("\n")
        label = labels.get(row)
        text.append(f"{_number(label):>{_LABEL_WIDTH - 1}} " if label is not None else " " * _LABEL_WIDTH,
                    style="dim")
        text.append("┤" if label is not None else "│", style="dim")
        for column in range(columns):
            value = bits[row][column]
            text.append(chr(0x2800 + value) if value else " ", style=colors[row][column] or "")
    last = str(count)
    axis = "1" + "─" * max(0, columns - 1 - len(last)) + last if count > 1 else "1" + "─" * (columns - 1)
    text.append("\n" + "epoch".rjust(_LABEL_WIDTH) + "└" + axis, style="dim")
    return text


def _number(value: float) -> str:
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.4g}"


def _line(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
    """The dots of a straight line from `start` to `end` (Bresenham)."""
    (x0, y0), (x1, y1) = start, end
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error, points = dx + dy, []
    while True:
        points.append((x0, y0))
        if (x0, y0) == (x1, y1):
            return points
        double = 2 * error
        if double >= dy:
            error += dy
            x0 += sx
        if double <= dx:
            error += dx
            y0 += sy


class Curves(Widget):
    """Loss above accuracy for one trial: Keras's running train metric, the
    full-evaluation train metric and the validation metric, epoch by epoch."""

    DEFAULT_CSS = """
    Curves {
        height: 1fr;
        min-height: 12;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.trial_id: str | None = None
        self.epochs: int | None = None
        self.series: dict[str, list[Series]] = {}

    def plot(self, trial: TrialState | None) -> None:
        """Shows the curves of `trial` (or a placeholder for `None`)."""
        self.trial_id = trial.trial_id if trial else None
        self.epochs = trial.planned_epochs if trial else None
        self.series = {}
        if trial is not None:
            for metric in ("loss", "accuracy"):
                self.series[metric] = [Series(label, trial.history(key.format(metric)), color)
                                       for label, key, color in CURVES]
        self.refresh()

    def render(self) -> Text:
        if not self.series or not any(s.values for s in self.series.get("loss", [])):
            return Text("The curves appear when the first epoch ends.", style="dim")
        width, height = self.content_size
        top = max(4, height // 2)
        charts = [braille_chart(self.series["loss"], width, top, title=f"Loss · trial {self.trial_id}",
                                epochs=self.epochs),
                  braille_chart(self.series["accuracy"], width, max(4, height - top),
                                title=f"Accuracy · trial {self.trial_id}", epochs=self.epochs)]
        return Text("\n").join(charts)
