"""Misclassified test images drawn with half blocks: each character is two pixels, `▀`
in the upper pixel's grey on the lower pixel's grey."""

from __future__ import annotations

import numpy as np
from kerasmnist_tui.mistakes import Mistake, MistakeReport
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

__all__ = ["MistakeGrid", "half_block_image"]

_GAP = 2


def half_block_image(image: np.ndarray) -> list[Text]:
    """The lines of an image of `uint8` greys, two pixel rows per line.

    Example:

    >>> lines = half_block_image(np.array([[0, 255], [255, 0]], dtype=np.uint8))
    >>> len(lines), lines[0].plain
    (1, '▀▀')
    """
    pixels = np.asarray(image, dtype=np.uint8)
    if len(pixels) % 2:
        pixels = np.vstack([pixels, np.zeros((1, pixels.shape[1]), np.uint8)])
    lines = []
    for top, bottom in zip(pixels[0::2], pixels[1::2], strict=True):
        line = Text()
        for upper, lower in zip(top.tolist(), bottom.tolist(), strict=True):
            line.append("▀", Style(color=_grey(upper), bgcolor=_grey(lower)))
        lines.append(line)
    return lines


def _grey(value: int) -> str:
    return f"rgb({value},{value},{value})"


class MistakeGrid(Widget, can_focus=True):
    """The test images a run's model gets most confidently wrong, with true and predicted labels."""

    DEFAULT_CSS = """
    MistakeGrid {
        height: auto;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.report: MistakeReport | None = None
        self.message = "Misclassified test images appear once the run has finished and saved its model."

    def show_report(self, report: MistakeReport) -> None:
        """Draws the mistakes of `report`."""
        self.report = report
        self.refresh(layout=True)

    def show_message(self, message: str) -> None:
        """Shows a line of text instead of images."""
        self.report = None
        self.message = message
        self.refresh(layout=True)

    def captions(self) -> list[str]:
        """The label under each image: `true → predicted (confidence)`."""
        if self.report is None:
            return []
        return [f"{m.true} → {m.predicted} ({m.confidence:.0%})" for m in self.report.mistakes]

    def render(self) -> Text:
        report = self.report
        if report is None:
            return Text(self.message, style="dim")
        if not report.mistakes:
            return Text(f"No mistakes on the {report.examples:,} test images.", style="green")
        header = Text(f"{report.errors:,} of {report.examples:,} test images misclassified; the "
                      f"{len(report.mistakes)} most confident mistakes (true → predicted):\n", style="bold")
        width = max(1, self.content_size.width or 80)
        cell = max(m.image.shape[1] for m in report.mistakes) + _GAP
        per_row = max(1, width // cell)
        blocks = []
        for start in range(0, len(report.mistakes), per_row):
            blocks.append(self._row(report.mistakes[start:start + per_row], cell))
        return header + Text("\n").join(blocks)

    def _row(self, mistakes: list[Mistake], cell: int) -> Text:
        images = [half_block_image(m.image) for m in mistakes]
        height = max(len(lines) for lines in images)
        lines = []
        for row in range(height):
            line = Text()
            for image in images:
                part = image[row] if row < len(image) else Text(" " * len(image[0].plain))
                line.append_text(part)
                line.append(" " * (cell - len(part.plain)))
            lines.append(line)
        caption = Text()
        for m in mistakes:
            label = f"{m.true}→{m.predicted} {m.confidence:.0%}"[:cell - _GAP]
            caption.append(label.ljust(cell), style="bold")
        lines.append(caption)
        return Text("\n").join(lines) + Text("\n")
