"""Line charts for the terminal, drawn with braille dots (2 x 4 per character).

A chart is a pure function of numbers: `braille_chart` returns a Rich `Text`
whose `.plain` is the chart's lines, and whose styles colour each line. The
terminal UI's curves (`kerasmnist_tui.widgets.curves`) and `kerasmnist runs
compare` both draw with it. The module imports neither Textual nor Keras.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

__all__ = ["DOTS", "LABEL_WIDTH", "MARKS", "PALETTE", "Series", "braille_chart", "line_dots", "number_label",
           "row_head", "y_labels"]

DOTS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
"""The dot bits of a braille character (U+2800 + bits), by (column, row) in its 2 x 4 cell."""
LABEL_WIDTH = 8
"""Characters left of a chart's y axis, for its labels."""

PALETTE = ("#5fafff", "#ffaf00", "#87d75f", "#ff5f87", "#af87ff", "#5fd7d7", "#d7d75f", "#ff8700")
"""Colours for charts with several lines, the nth line taking the nth (cycling)."""

MARKS = ("●", "▲", "■", "◆", "✚", "✖", "○", "△")
"""Marks for charts with several lines, so that lines stay apart without colour (cycling)."""


@dataclass(frozen=True)
class Series:
    """One line of a chart.

    Attributes:
        label: Its legend.
        values: One value per epoch; `None` leaves a gap.
        color: A Rich colour.
        mark: A character drawn at each of its values (and shown in the legend),
            so that the line can be told from others where colour is lost (a
            file, a pipe); `None` draws the line alone. Defaults to `None`.
    """

    label: str
    values: Sequence[float | None]
    color: str
    mark: str | None = None


def braille_chart(series: Sequence[Series], width: int, height: int, *, title: str = "",
                  epochs: int | None = None) -> Text:
    """A line chart of epochs (x) against values (y) in `width` x `height` cells.

    The first line holds the title and the legend, the last the epoch axis;
    the values' range labels the left edge. A series' `mark` is drawn over the
    dots at each of its values.

    Args:
        series: The lines.
        width: Width in cells.
        height: Height in cells.
        title: The chart's title. Defaults to `""`.
        epochs: Epochs the x axis spans, so that a curve grows from left to right
            as epochs end. Defaults to `None` (the longest series).

    Returns:
        The chart: `.plain` is its text, its spans colour each series.

    Example:

    >>> chart = braille_chart([Series("loss", [2.0, 1.0, 0.5], "blue")], 30, 6, title="Loss")
    >>> lines = chart.plain.splitlines()
    >>> len(lines), lines[0].startswith("Loss"), lines[1].strip().startswith("2.000")
    (6, True, True)
    >>> marked = braille_chart([Series("run a", [0.8, 0.9], "red", mark="●")], 30, 6)
    >>> "━●━ run a" in marked.plain, marked.plain.count("●")
    (True, 3)
    """
    rows, columns = max(1, height - 2), max(2, width - LABEL_WIDTH - 1)
    finite = [v for s in series for v in s.values if v is not None and math.isfinite(v)]
    count = max([len(s.values) for s in series] + [epochs or 0])
    text = Text(title, style="bold")
    for s in series:
        text.append(f"  ━{s.mark}━ " if s.mark else "  ━ ", style=s.color)
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
    marks: dict[tuple[int, int], tuple[str, str]] = {}

    def plot(x: int, y: int, color: str) -> None:
        row, column = y // 4, x // 2
        bits[row][column] |= DOTS[x % 2][y % 4]
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
            for x, y in line_dots(previous or point, point):
                plot(x, y, s.color)
            if s.mark:
                marks[(point[1] // 4, point[0] // 2)] = (s.mark, s.color)
            previous = point
    labels = y_labels(high, low, rows, dots_y)
    for row in range(rows):
        row_head(text, labels.get(row))
        for column in range(columns):
            if (row, column) in marks:
                mark, color = marks[(row, column)]
                text.append(mark, style=color)
                continue
            value = bits[row][column]
            text.append(chr(0x2800 + value) if value else " ", style=colors[row][column] or "")
    last = str(count)
    axis = "1" + "─" * max(0, columns - 1 - len(last)) + last if count > 1 else "1" + "─" * (columns - 1)
    text.append("\n" + "epoch".rjust(LABEL_WIDTH) + "└" + axis, style="dim")
    return text


def y_labels(high: float, low: float, rows: int, dots_y: int) -> dict[int, float]:
    """The y axis's labels by text row: the top, the bottom and, from 5 rows, the middle."""
    labels = {0: high, rows - 1: low}
    if rows >= 5:
        labels[rows // 2] = high - (high - low) * (rows // 2 * 4 + 1.5) / (dots_y - 1)
    return labels


def row_head(text: Text, label: float | None) -> None:
    """Starts a chart's text row: a new line, the row's y label (if any) and the axis."""
    text.append("\n")
    text.append(f"{number_label(label):>{LABEL_WIDTH - 1}} " if label is not None else " " * LABEL_WIDTH,
                style="dim")
    text.append("┤" if label is not None else "│", style="dim")


def number_label(value: float) -> str:
    """A y label: four decimals, or four significant digits from 100."""
    return f"{value:.4f}" if abs(value) < 100 else f"{value:.4g}"


def line_dots(start: tuple[int, int], end: tuple[int, int]) -> list[tuple[int, int]]:
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
