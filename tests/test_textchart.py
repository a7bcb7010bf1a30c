"""Tests of `kerasmnist.textchart`: braille line charts for the terminal."""

from __future__ import annotations

import doctest

from kerasmnist import textchart
from kerasmnist.textchart import MARKS, PALETTE, Series, braille_chart


def test_docstring_examples_run():
    result = doctest.testmod(textchart)
    assert result.failed == 0 and result.attempted > 0


def test_a_mark_is_drawn_at_each_value_and_shown_in_the_legend():
    chart = braille_chart([Series("a", [1.0, 2.0, 3.0], "red", mark="●"),
                           Series("b", [3.0, None, 1.0], "blue", mark="▲")], 40, 10, title="T")
    lines = chart.plain.splitlines()
    assert lines[0] == "T  ━●━ a  ━▲━ b"
    plot = lines[1:-1]
    assert sum(line.count("●") for line in plot) == 3 and sum(line.count("▲") for line in plot) == 2
    assert plot[-1][9] == "●" and plot[0][9] == "▲"  # each line's first value: lowest, highest
    assert plot[0].endswith("●") and plot[-1].endswith("▲")


def test_a_mark_takes_its_series_colour():
    chart = braille_chart([Series("a", [1.0, 2.0], "red", mark="●")], 30, 6)
    plain = chart.plain
    first_mark = plain.index("●", plain.index("\n"))
    assert any(span.start <= first_mark < span.end and span.style == "red" for span in chart.spans)


def test_without_marks_only_braille_dots_are_drawn():
    chart = braille_chart([Series("a", [1.0, 2.0, 1.5], "red")], 30, 6)
    plot = "".join(line[9:] for line in chart.plain.splitlines()[1:-1])
    assert set(plot) - {" "} <= {chr(c) for c in range(0x2800, 0x2900)} and plot.strip()
    assert "━ a" in chart.plain.splitlines()[0]


def test_palette_and_marks_tell_eight_lines_apart():
    assert len(set(PALETTE)) == len(set(MARKS)) == 8


def test_the_terminal_ui_draws_with_the_library_chart():
    from kerasmnist_tui.widgets import curves

    assert curves.braille_chart is braille_chart and curves.Series is Series
