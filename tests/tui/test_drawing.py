"""Drawing in the terminal: braille curves, half-block images, number formats."""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from kerasmnist_tui.widgets.curves import Series, braille_chart
from kerasmnist_tui.widgets.mistake_grid import half_block_image


@pytest.mark.parametrize("module", ["kerasmnist_tui.formatting", "kerasmnist_tui.widgets.curves",
                                    "kerasmnist_tui.widgets.mistake_grid"])
def test_docstring_examples_run(module):
    result = doctest.testmod(importlib.import_module(module))
    assert result.failed == 0 and result.attempted > 0


def test_braille_chart_puts_the_highest_value_top_left_and_the_lowest_bottom_right():
    chart = braille_chart([Series("loss", [3.0, 2.0, 1.0], "red")], 20, 6, title="Loss")
    lines = chart.plain.splitlines()
    assert lines[0].startswith("Loss") and "━ loss" in lines[0]
    plot = [line[9:] for line in lines[1:-1]]
    assert plot[0][0] != " " and plot[-1][-1] != " "
    assert plot[0][-1] == " " and plot[-1][0] == " "
    assert lines[1].strip().startswith("3.0000") and lines[-2].strip().startswith("1.0000")
    assert lines[-1].endswith("3")  # the epoch axis ends at the last epoch


def test_braille_chart_leaves_gaps_for_missing_values_and_says_when_there_is_nothing():
    assert "no values yet" in braille_chart([Series("loss", [None, None], "red")], 20, 6).plain
    gap = braille_chart([Series("a", [1.0, None, 1.0], "red")], 30, 5).plain
    assert "no values" not in gap


def test_half_blocks_carry_two_pixel_rows_per_line():
    image = np.zeros((28, 28), np.uint8)
    image[0, 0], image[1, 0] = 255, 128
    lines = half_block_image(image)
    assert len(lines) == 14 and all(len(line.plain) == 28 for line in lines)
    style = lines[0].spans[0].style
    assert style.color.triplet == (255, 255, 255) and style.bgcolor.triplet == (128, 128, 128)
