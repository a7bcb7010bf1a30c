"""Loss and accuracy curves of one trial, drawn with braille dots (2 x 4 per character).

The drawing is the library's (`kerasmnist.textchart.braille_chart`, re-exported
here with `Series`); this widget picks the curves and sizes the charts.

Example:

>>> [label for label, _, _ in CURVES]
['train', 'train, full eval', 'validation']
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from kerasmnist.runs.state import TrialState
from kerasmnist.textchart import Series, braille_chart

__all__ = ["Curves", "Series", "braille_chart"]

CURVES = (
    ("train", "{}", "#5fafff"),
    ("train, full eval", "train_{}", "#ffaf00"),
    ("validation", "val_{}", "#87d75f"),
)
"""Each curve: its legend, the logged key (`{}` is the metric), its colour."""


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
