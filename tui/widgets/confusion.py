"""A confusion matrix heatmap with class names, as counts or row-normalised, and its top mistakes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kerasmnist.evaluation import confusion_heatmap, top_confusions

__all__ = ["ConfusionView"]


class ConfusionView(Static):
    """The heatmap of `kerasmnist.evaluation.confusion_heatmap`, rows true, columns predicted.

    Cells are shaded by their share of the true class (green on the diagonal, red
    off it) and show counts, or those shares when `normalized` is set. The most
    frequent confusions are listed below. Class names longer than `short_names`
    characters (Fashion-MNIST's) head the columns by their label number, which
    the rows show beside each name, so the matrix keeps its width.
    """

    short_names = 4
    """The longest class name used as a column header."""

    DEFAULT_CSS = """
    ConfusionView {
        height: auto;
        padding: 0 1;
    }
    """

    normalized: reactive[bool] = reactive(False)
    """Whether cells show row-normalised shares instead of counts."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__("", id=id, classes=classes)
        self.matrix: np.ndarray | None = None
        self.class_names: list[str] = []
        self.title = ""
        self.top: list[tuple[str, str, int]] = []

    def show(self, matrix: Sequence[Sequence[int]] | np.ndarray | None, class_names: Sequence[str],
             title: str) -> None:
        """Shows a matrix of counts; `None` shows a placeholder."""
        self.matrix = None if matrix is None else np.asarray(matrix, dtype=np.int64)
        self.class_names = [str(n) for n in class_names]
        self.title = title
        self.top = [] if self.matrix is None else top_confusions(self.matrix, self.class_names, k=5)
        self._draw()

    def watch_normalized(self) -> None:
        self._draw()

    def _draw(self) -> None:
        self.update(self._renderable())

    def _renderable(self) -> RenderableType:
        if self.matrix is None:
            return Text("The confusion matrix appears when the first epoch ends.", style="dim")
        names = self.class_names or [str(i) for i in range(len(self.matrix))]
        numbered = max(len(n) for n in names) > self.short_names
        heatmap = confusion_heatmap(self.matrix, [f"{i} {n}" for i, n in enumerate(names)] if numbered
                                    else names, normalize="row" if self.normalized else None,
                                    title=f"{self.title} ({'row shares' if self.normalized else 'counts'}; "
                                          "rows true, columns predicted)")
        if numbered:
            for label, column in enumerate(heatmap.columns[1:]):
                column.header = str(label)
        # No cell borders and one space between cells: ten classes fit in half a terminal.
        heatmap.box, heatmap.show_edge, heatmap.collapse_padding = box.SIMPLE_HEAD, False, True
        mistakes = Text("Top confusions (true → predicted): ", style="bold")
        mistakes.append(", ".join(f"{t} → {p}: {n:,}" for t, p, n in self.top) or "none")
        return Group(heatmap, mistakes)
