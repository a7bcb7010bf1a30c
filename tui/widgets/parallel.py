"""A search's hyperparameters: their importance, and the trials in parallel coordinates.

The importance is the library's (`kerasmnist.importance.importance_of`, the same
as `kerasmnist runs show` prints); the chart's axes, positions and colours are
`kerasmnist.coordinates.parallel_coordinates`'s, ordered by importance when
there is one. Computing an importance fits a small random forest (the first one
also imports scikit-learn, a second or two), so it runs in a thread worker, and
only while the tab is shown (`HyperparametersView.update_importance`): a run
view that never shows the tab never pays for it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import work
from textual.widget import Widget
from textual.worker import get_current_worker

from kerasmnist.coordinates import Coordinates, parallel_coordinates
from kerasmnist.importance import RunImportance, importance_of, share_bar
from kerasmnist.runs.state import RunState
from kerasmnist.runs.trials import TrialState
from kerasmnist.textchart import DOTS, line_dots

__all__ = ["PALETTE", "HyperparametersView", "colour", "importance_table", "parallel_chart"]

PALETTE = ("#6a51a3", "#3e7cb1", "#1f9e89", "#35b779", "#6ece58", "#b5de2b", "#fde725")
"""A line's colour by its score, worst first (viridis, lightened to read on a dark terminal)."""

_AXIS_STYLE = "#8a8a8a"
_TICK_STYLE = "#b2b2b2"
_POINT = "●"
_MIN_SPACING = 9  # cells between two axes: room for a tick label
_LISTED = 8  # hyperparameters listed in the importance table; the rest are counted
_BAR = 20


def colour(value: float) -> str:
    """The palette's colour of a colour value in [0, 1] (1 the best)."""
    return PALETTE[min(len(PALETTE) - 1, max(0, round(value * (len(PALETTE) - 1))))]


def importance_table(result: RunImportance | None, width: int, *, rows: int = _LISTED) -> Text:
    """The importance of each hyperparameter: its name, its share in percent and a bar.

    Args:
        result: The run's importance or why there is none; `None` while it is computed.
        width: Width in cells.
        rows: At most this many hyperparameters; the rest are counted. Defaults to `8`.

    Example:

    >>> from kerasmnist.importance import Importance
    >>> shares = {"learning_rate": 0.75, "units": 0.25}
    >>> table = importance_table(RunImportance(Importance("val_accuracy", "fANOVA", 9, shares), None), 60)
    >>> [line.split()[:2] for line in table.plain.splitlines()[1:]]
    [['learning_rate', '75.0%'], ['units', '25.0%']]
    """
    if result is None:
        return Text("Importance: computing…", style="dim")
    if result.importance is None:
        return Text(f"No importance: {result.reason}.", style="dim")
    importance = result.importance
    text = Text()
    text.append(f"Importance of {importance.objective}", style="bold")
    text.append(f" · {importance.method}, {importance.trials} trials", style="dim")
    names = list(importance.shares)[:max(1, rows)]
    name_width = min(max(map(len, names)), max(8, width - _BAR - 10))
    bar_width = max(4, min(_BAR, width - name_width - 10))
    for name in names:
        share = importance.shares[name]
        text.append(f"\n {_clip(name, name_width):<{name_width}} {100 * share:5.1f}% ")
        text.append(share_bar(share, bar_width), style="#5fafff")
    if len(importance.shares) > len(names):
        text.append(f"\n and {len(importance.shares) - len(names)} more", style="dim")
    return text


def parallel_chart(chart: Coordinates, width: int, height: int, *, title: str = "") -> Text:
    """The trials of `chart` in `width` x `height` cells: one vertical axis per hyperparameter
    and one for the objective, each trial a braille line across them.

    Lines are coloured by score (`PALETTE`, the best brightest) and drawn in the
    chart's order, so the best are on top; the best one is bold. Where a line
    crosses an axis there is a dot; each axis is named above (names alternate
    between two rows) and its ticks are labelled to its right.

    Args:
        chart: The axes and lines (`kerasmnist.coordinates.parallel_coordinates`).
        width: Width in cells.
        height: Height in cells.
        title: The first line. Defaults to `""`.

    Example:

    >>> from kerasmnist.runs.trials import TrialStatus
    >>> chart = parallel_coordinates([TrialState("a", {"units": 8}, TrialStatus.COMPLETED, 0.5),
    ...                               TrialState("b", {"units": 64}, TrialStatus.COMPLETED, 0.9)],
    ...                              "val_accuracy")
    >>> lines = parallel_chart(chart, 40, 10, title="Units").plain.splitlines()
    >>> len(lines), "units" in lines[1], "val_accuracy" in lines[2]
    (10, True, True)
    >>> lines[3].count("●"), lines[-1].count("●")  # the best at the top of both axes, the worst below
    (2, 2)
    """
    count = len(chart.axes)
    text = Text()
    text.append(_clip(title, max(0, width - 22)), style="bold")  # the legend's room: one line
    text.append("  worst ", style="dim")
    for shade in PALETTE:
        text.append("━", style=shade)
    text.append(" best", style="dim")
    rows = max(2, height - 3)
    right = min(12, max(len(t.label) for t in chart.axes[-1].ticks) + 2) if chart.axes[-1].ticks else 4
    span = max(1, width - right - 2)
    columns = [1 + round(i * span / (count - 1)) if count > 1 else 1 + span // 2 for i in range(count)]
    total = columns[-1] + right
    for row_names in (0, 1):
        line = [" "] * (total + 1)
        for i in range(row_names, count, 2):
            gaps = [abs(columns[j] - columns[i]) for j in (i - 2, i + 2) if 0 <= j < count]
            room = min([*gaps, total + 1]) - 1  # neighbours on this row are two axes away
            name = _clip(chart.axes[i].name, max(1, room))
            start = max(0, min(columns[i] - len(name) // 2, total - len(name)))
            line[start:start + len(name)] = list(name)
        text.append("\n" + "".join(line).rstrip(), style="bold")
    dots_y = rows * 4
    bits = [[0] * (total + 1) for _ in range(rows)]
    styles: list[list[str]] = [[""] * (total + 1) for _ in range(rows)]
    points: dict[tuple[int, int], str] = {}

    def dot_row(position: float) -> int:
        return round((1.0 - position) * (dots_y - 1))

    for line_data in chart.lines:
        best = line_data is chart.best
        style = f"bold {colour(line_data.color)}" if best else (
            f"dim {colour(line_data.color)}" if line_data.pruned else colour(line_data.color))
        ends = [(2 * column, dot_row(p)) for column, p in zip(columns, line_data.positions, strict=True)]
        for here, there in zip(ends, ends[1:], strict=False):
            for x, y in line_dots(here, there):
                bits[y // 4][x // 2] |= DOTS[x % 2][y % 4]
                styles[y // 4][x // 2] = style
        for x, y in ends:
            points[(y // 4, x // 2)] = style
    labels: dict[tuple[int, int], tuple[str, str]] = {}
    for i, axis in enumerate(chart.axes):
        room = (columns[i + 1] - columns[i] - 2) if i + 1 < count else right - 1
        taken: set[int] = set()
        for tick in axis.ticks:
            row = dot_row(tick.position) // 4
            if row in taken or room < 1:
                continue
            taken.add(row)
            for k, char in enumerate(_clip(tick.label, room)):
                labels[(row, columns[i] + 1 + k)] = (char, _TICK_STYLE)
    axis_columns = set(columns)
    for row in range(rows):
        text.append("\n")
        for column in range(total + 1):
            if column in axis_columns:
                if (row, column) in points:
                    text.append(_POINT, style=points[(row, column)])
                else:
                    text.append("│", style=_AXIS_STYLE)
            elif (row, column) in labels:
                text.append(*labels[(row, column)])
            elif bits[row][column]:
                text.append(chr(0x2800 + bits[row][column]), style=styles[row][column])
            else:
                text.append(" ")
    return text


def _clip(label: str, room: int) -> str:
    return label if len(label) <= room else label[:max(0, room - 1)] + "…"


class HyperparametersView(Widget):
    """A search's hyperparameter importance over its trials in parallel coordinates.

    `sync` takes the run's state whenever its log grows; the chart is redrawn at
    once, the importance when `update_importance` is called (by the run view,
    while this tab is shown) and the ended trials have changed since.
    """

    DEFAULT_CSS = """
    HyperparametersView {
        height: 1fr;
        min-height: 14;
        padding: 0 1;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.objective = "val_accuracy"
        self.trials: list[TrialState] = []
        self.spec: dict[str, Any] = {}
        self.coordinates: Coordinates | None = None
        self.importance: RunImportance | None = None
        self._key: tuple[Any, ...] = ()
        self._importance_key: tuple[Any, ...] | None = None

    def sync(self, state: RunState) -> None:
        """Takes the run's ended trials; redraws the chart when they changed."""
        ended = [t for t in state.trials.values() if t.ended]
        key = (state.objective, *((t.trial_id, t.status.value, t.score) for t in ended))
        if key == self._key and self.coordinates is not None:
            return
        self._key = key
        self.objective = state.objective
        self.spec = dict(state.spec)
        # copies: the importance's thread reads them while the log goes on folding into `state`
        self.trials = [TrialState(t.trial_id, dict(t.hyperparameters), t.status, t.score) for t in ended]
        self.coordinates = self._chart()
        self.refresh()

    def update_importance(self) -> None:
        """Computes the importance in a thread worker, unless it is of the current trials."""
        if self._importance_key == self._key:
            return
        self._importance_key = self._key
        snapshot = RunState()
        snapshot.spec = self.spec
        snapshot.trials = {t.trial_id: t for t in self.trials}
        self._compute(snapshot, self._key)
        self.refresh()

    @work(thread=True, exclusive=True, group="importance")
    def _compute(self, snapshot: RunState, key: tuple[Any, ...]) -> None:
        try:
            result = importance_of(snapshot)
        except ImportError as error:  # scikit-learn is an optional extra
            result = RunImportance(None, f"it needs scikit-learn ({error})")
        except Exception as error:  # noqa: BLE001 (a failed computation is said; the view lives on)
            result = RunImportance(None, f"it could not be computed ({type(error).__name__}: {error})")
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._importance_ready, key, result)

    def _importance_ready(self, key: tuple[Any, ...], result: RunImportance) -> None:
        if key != self._importance_key:
            return  # trials ended meanwhile: a newer computation is under way
        self.importance = result
        self.coordinates = self._chart()
        self.refresh()

    @property
    def ordered(self) -> bool:
        """Whether the axes are ordered by an importance."""
        return bool(self.importance is not None and self.importance.importance is not None)

    def _chart(self, limit: int | None = None) -> Coordinates:
        """The chart of the trials, its axes by importance (where there is one), then the rest."""
        chart = parallel_coordinates(self.trials, self.objective)
        shares = self.importance.importance.shares if self.ordered else {}  # type: ignore[union-attr]
        if not shares and limit is None:
            return chart
        order = [n for n in shares if n in chart.varying] + [n for n in chart.varying if n not in shares]
        return parallel_coordinates(self.trials, self.objective, hyperparameters=order, limit=limit)

    def render(self) -> Text:
        width, height = self.content_size
        parts = []
        if self._importance_key is not None:  # the tab has been shown: an importance is (being) computed
            pending = self.importance is None
            parts.append(importance_table(None if pending else self.importance, width,
                                          rows=max(1, min(_LISTED, height // 3))))
            parts.append(Text(""))
        chart = self.coordinates
        lines = len(chart.lines) if chart is not None else 0
        if chart is None or lines < 2:
            parts.append(Text("Parallel coordinates appear when two trials have ended with a score "
                              f"({lines} so far).", style="dim"))
        elif not chart.varying:
            parts.append(Text(f"No hyperparameter differs between the {lines} trials with a score: "
                              "nothing to compare (a run that is not a search repeats one setting).",
                              style="dim"))
        else:
            fits = max(1, (width - 14) // _MIN_SPACING)
            shown = self._chart(limit=fits) if len(chart.varying) > fits else chart
            best = shown.best
            title = (f"{len(shown.axes) - 1}/{len(chart.varying)} hyperparameters"
                     + (" by importance" if self.ordered else "")
                     + (f" · best trial {best.trial_id}" if best else ""))
            used = sum(part.plain.count("\n") + 1 for part in parts)
            parts.append(parallel_chart(shown, width, max(8, height - used), title=title))
        return Text("\n").join(parts)
