"""A run's trials as weights (log x) against the objective (y), the front and the budgets marked.

The chart is drawn as the curves are (`kerasmnist_tui.widgets.curves`): braille
dots for the front's step line, one character per trial. The front itself is
the library's (`kerasmnist.pareto`): the same trials count here as in
`kerasmnist runs pareto`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from rich.text import Text
from textual.widget import Widget

from kerasmnist.pareto import FrontTrial, best_under, pareto_front, spec_budgets
from kerasmnist.runs.state import RunState
from kerasmnist.textchart import DOTS, LABEL_WIDTH, line_dots, number_label, row_head, y_labels

__all__ = ["BUDGET_MARK", "FRONT_MARK", "TRIAL_MARK", "FrontView", "front_chart", "weights"]

FRONT_MARK = "◆"
"""How a trial of the front is drawn."""
TRIAL_MARK = "•"
"""How any other trial is drawn."""
BUDGET_MARK = "┆"
"""How a weight budget's line is drawn."""

_FRONT_COLOR = "bold #87d75f"
_STEP_COLOR = "#5f8700"
_TRIAL_COLOR = "#8a8a8a"
_BUDGET_COLOR = "#ffaf00"
_LISTED = 6  # front trials listed under the chart; the rest are counted


def weights(count: float) -> str:
    """A weight count in a few characters.

    Example:

    >>> weights(150), weights(50_890), weights(1_000), weights(2_400_000)
    ('150', '50.9k', '1k', '2.4M')
    """
    if count < 1000:
        return f"{count:g}"
    if count < 1_000_000:
        return f"{count / 1000:.3g}k"
    return f"{count / 1_000_000:.3g}M"


def front_chart(trials: Sequence[FrontTrial], front: Sequence[FrontTrial], budgets: Sequence[int],
                width: int, height: int, *, title: str = "") -> Text:
    """Trials as points, weights (log scale, x) against score (y), in `width` x `height` cells.

    The front's trials are drawn as `FRONT_MARK` joined by a step line, the
    others as `TRIAL_MARK`, each budget as a dashed vertical line labelled
    under the axis. The first line holds the title and the legend, the last
    two the weight axis.

    Args:
        trials: Every trial to draw.
        front: Those of the front (`kerasmnist.pareto.pareto_front`), fewest
            weights first.
        budgets: Weight budgets to mark.
        width: Width in cells.
        height: Height in cells.
        title: The chart's title. Defaults to `""`.

    Example:

    >>> from kerasmnist.runs.state import TrialStatus
    >>> a = FrontTrial("", "a", 100, 0.8, TrialStatus.COMPLETED)
    >>> b = FrontTrial("", "b", 1000, 0.7, TrialStatus.COMPLETED)
    >>> lines = front_chart([a, b], [a], [500], 40, 8, title="Front").plain.splitlines()
    >>> len(lines), lines[1].count(FRONT_MARK), lines[-3].count(TRIAL_MARK)  # best top left, worst low
    (8, 1, 1)
    >>> lines[-1].split()  # the fewest weights, the budget, the most
    ['100', '500', '1k']
    """
    rows, columns = max(1, height - 3), max(2, width - LABEL_WIDTH - 1)
    text = Text(title, style="bold")
    for glyph, legend, style in ((FRONT_MARK, "front", _FRONT_COLOR), (TRIAL_MARK, "trial", _TRIAL_COLOR),
                                 (BUDGET_MARK, "budget", _BUDGET_COLOR)):
        text.append(f"  {glyph} ", style=style)
        text.append(legend)
    if not trials:
        text.append("\nno finished trial yet", style="dim")
        return text
    logs = [math.log10(max(1, n)) for n in [*(t.params for t in trials), *budgets]]
    left, right = min(logs), max(logs)
    pad = (right - left) * 0.03 or 0.5
    left, right = left - pad, right + pad
    scores = [t.score for t in trials]
    low, high = min(scores), max(scores)
    if high - low < 1e-12:
        pad = abs(high) * 0.05 or 0.5
        low, high = low - pad, high + pad
    dots_x, dots_y = columns * 2, rows * 4

    def x_of(count: int) -> int:
        return round((math.log10(max(1, count)) - left) / (right - left) * (dots_x - 1))

    def y_of(score: float) -> int:
        return round((high - score) / (high - low) * (dots_y - 1))

    bits = [[0] * columns for _ in range(rows)]
    cells: list[list[tuple[str, str] | None]] = [[None] * columns for _ in range(rows)]
    for before, after in zip(front, front[1:], strict=False):
        x0, y0, x1, y1 = x_of(before.params), y_of(before.score), x_of(after.params), y_of(after.score)
        for x, y in line_dots((x0, y0), (x1, y0)) + line_dots((x1, y0), (x1, y1)):  # a step, as the front is
            bits[y // 4][x // 2] |= DOTS[x % 2][y % 4]
    budget_columns = {budget: x_of(budget) // 2 for budget in budgets}
    for column in budget_columns.values():
        for row in range(rows):
            if row % 2 == 0:
                cells[row][column] = (BUDGET_MARK, _BUDGET_COLOR)
    on_front = {id(t) for t in front}
    for t in sorted(trials, key=lambda t: id(t) in on_front):  # the front's marks on top
        mark = (FRONT_MARK, _FRONT_COLOR) if id(t) in on_front else (TRIAL_MARK, _TRIAL_COLOR)
        cells[y_of(t.score) // 4][x_of(t.params) // 2] = mark
    labels = y_labels(high, low, rows, dots_y)
    for row in range(rows):
        row_head(text, labels.get(row))
        for column in range(columns):
            cell = cells[row][column]
            if cell is not None:
                text.append(*cell)
            elif bits[row][column]:
                text.append(chr(0x2800 + bits[row][column]), style=_STEP_COLOR)
            else:
                text.append(" ")
    axis = ["┴" if column in budget_columns.values() else "─" for column in range(columns)]
    text.append("\n" + "weights".rjust(LABEL_WIDTH) + "└" + "".join(axis), style="dim")
    text.append("\n" + " " * (LABEL_WIDTH + 1))
    text.append_text(_tick_labels(columns, budget_columns, [min(t.params for t in trials),
                                                            max(t.params for t in trials)], x_of))
    return text


def _tick_labels(columns: int, budget_columns: Mapping[int, int], ends: Sequence[int],
                 x_of: Callable[[int], int]) -> Text:
    """The line under the weight axis: each budget at its line, then the fewest and most
    weights of the trials where they do not overlap a budget's label."""
    line: list[tuple[str, str] | None] = [None] * columns

    def place(label: str, start: int, style: str) -> None:
        start = max(0, min(start, columns - len(label)))
        span = range(max(0, start - 1), min(columns, start + len(label) + 1))
        if len(label) <= columns and all(line[i] is None for i in span):
            for i, char in enumerate(label):
                line[start + i] = (char, style)

    for budget, column in budget_columns.items():
        place(weights(budget), column, _BUDGET_COLOR)
    fewest, most = ends
    place(weights(fewest), x_of(fewest) // 2, "dim")
    place(weights(most), x_of(most) // 2 - len(weights(most)) + 1, "dim")
    text = Text()
    for cell in line:
        text.append(*(cell or (" ", "")))
    return text


class FrontView(Widget):
    """The run's trials by weights and objective, its front and its weight budgets.

    The budgets are those the run's spec names (`kerasmnist.pareto.spec_budgets`). Under the chart,
    the front's trials are listed, and the best trial under each budget
    (`kerasmnist.pareto.best_under`).
    """

    DEFAULT_CSS = """
    FrontView {
        height: 1fr;
        min-height: 12;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.objective = "val_accuracy"
        self.trials: list[FrontTrial] = []
        self.front: list[FrontTrial] = []
        self.budgets: list[int] = []
        self.picks: dict[int, FrontTrial | None] = {}

    def sync(self, state: RunState) -> None:
        """Shows the trials of `state` that count for the front (`FrontTrial.from_trial`)."""
        self.objective = state.objective
        self.trials = [t for t in map(FrontTrial.from_trial, state.trials.values()) if t is not None]
        self.front = pareto_front(self.trials, direction=state.direction)
        self.budgets = spec_budgets(state.spec)
        self.picks = best_under(self.trials, self.budgets, direction=state.direction)
        self.refresh()

    def render(self) -> Text:
        if not self.trials:
            budgets = ", ".join(f"{b:,}" for b in self.budgets)
            return Text("The front appears when the first trial ends with a score and a weight count."
                        + (f"\nBudgets: {budgets} weights." if budgets else ""), style="dim")
        width, height = self.content_size
        listing = self._listing().split("\n")
        rows = max(8, height - len(listing))
        chart = front_chart(self.trials, self.front, self.budgets, width, rows,
                            title=f"Front · {self.objective} against weights (log)")
        return Text("\n").join([chart, *listing[:max(0, height - rows)]])  # the chart comes first

    def _listing(self) -> Text:
        text = Text(f"Front: {len(self.front)} of {len(self.trials)} trials", style="bold")
        for t in self.front[:_LISTED]:
            text.append(f"\n {FRONT_MARK} ", style=_FRONT_COLOR)
            text.append(f"trial {t.trial_id:<6} {t.params:>10,} weights  {number_label(t.score)}  {t.status}")
        if len(self.front) > _LISTED:
            text.append(f"\n   and {len(self.front) - _LISTED} more", style="dim")
        for budget, pick in self.picks.items():
            text.append(f"\n {BUDGET_MARK} ", style=_BUDGET_COLOR)
            text.append(f"best under {budget:,}: " + (f"trial {pick.trial_id} ({number_label(pick.score)})"
                                                      if pick is not None else "none"))
        return text
