"""What parallel coordinates and slice plots draw: axes, their kinds and ticks, lines, colours, order."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

from kerasmnist import coordinates
from kerasmnist.coordinates import MISSING, AxisKind, parallel_coordinates, slices
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs.trials import TrialState, TrialStatus


def trial(trial_id: str, score: float | None, status: str = "COMPLETED", **hyperparameters) -> TrialState:
    return TrialState(trial_id, hyperparameters, TrialStatus(status), score)


def axis_named(chart, name):
    return next(axis for axis in chart.axes if axis.name == name)


def test_docstring_examples_run():
    result = doctest.testmod(coordinates)
    assert result.failed == 0 and result.attempted > 0


def test_the_module_loads_neither_keras_nor_matplotlib_nor_textual():
    code = ("import sys, kerasmnist.coordinates; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner', 'textual', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_axes_are_the_varying_hyperparameters_in_order_then_the_objective():
    chart = parallel_coordinates([trial("0", 0.5, units=8, activation="relu", dropout=0.1),
                                  trial("1", 0.7, units=16, activation="relu", dropout=0.2)], "val_accuracy")
    assert [axis.name for axis in chart.axes] == ["units", "dropout", "val_accuracy"]
    assert chart.hyperparameters == ["units", "dropout"]
    assert chart.varying == ("units", "dropout")


def test_values_spanning_two_decades_get_a_log_axis_ticked_with_real_values():
    trials = [trial(str(i), 0.5 + i / 10, lr=lr) for i, lr in enumerate([1e-4, 1e-3, 1e-2])]
    chart = parallel_coordinates(trials, "val_accuracy")
    lr = axis_named(chart, "lr")
    assert lr.kind is AxisKind.LOG and (lr.low, lr.high) == (1e-4, 1e-2)
    assert [(t.label, t.position) for t in lr.ticks] == [("0.0001", 0.0), ("0.001", 0.5), ("0.01", 1.0)]
    assert [line.positions[0] for line in chart.lines] == [0.0, 0.5, 1.0]


def test_many_log_values_are_ticked_at_powers_of_ten_and_the_ends():
    values = [2.4e-4, 5e-4, 9e-4, 2e-3, 4e-3, 8e-3, 1.6e-2, 4.1e-2]
    lr = parallel_coordinates([trial(str(i), 0.5, lr=v) for i, v in enumerate(values)], "val_loss").axes[0]
    assert lr.kind is AxisKind.LOG
    assert [t.label for t in lr.ticks] == ["0.00024", "0.001", "0.01", "0.041"]
    assert lr.ticks[0].position == 0.0 and lr.ticks[-1].position == 1.0


def test_narrow_or_signed_ranges_stay_linear():
    narrow = parallel_coordinates([trial("0", 0.5, units=16), trial("1", 0.6, units=1024)], "val_accuracy")
    assert narrow.axes[0].kind is AxisKind.LINEAR  # 64x: under two decades
    signed = parallel_coordinates([trial("0", 0.5, shift=-1.0), trial("1", 0.6, shift=1e3)], "val_accuracy")
    assert signed.axes[0].kind is AxisKind.LINEAR
    assert [line.positions[0] for line in narrow.lines] == [0.0, 1.0]


def test_a_zero_among_log_values_gets_its_own_level_under_the_scale():
    trials = [trial("0", 0.1, l2=0.0), trial("1", 0.2, l2=1e-8), trial("2", 0.3, l2=1e-4)]
    chart = parallel_coordinates(trials, "val_accuracy")
    l2 = chart.axes[0]
    assert l2.kind is AxisKind.LOG and l2.zero and not l2.missing
    assert [t.label for t in l2.ticks] == ["0", "1e-08", "0.0001"]
    zero, small, large = (line.positions[0] for line in chart.lines)
    assert zero == 0.0 < small < large == 1.0


def test_strings_and_booleans_are_categorical_with_evenly_spaced_levels():
    chart = parallel_coordinates([trial("0", 0.1, optimizer="sgd", batch_norm=True),
                                  trial("1", 0.2, optimizer="adam", batch_norm=False),
                                  trial("2", 0.3, optimizer="rmsprop", batch_norm=True)], "val_accuracy")
    optimizer, batch_norm = chart.axes[:2]
    assert optimizer.kind is AxisKind.CATEGORICAL and optimizer.levels == ("adam", "rmsprop", "sgd")
    assert [t.position for t in optimizer.ticks] == [0.0, 0.5, 1.0]
    assert batch_norm.kind is AxisKind.CATEGORICAL and batch_norm.levels == ("False", "True")
    assert [line.values for line in chart.lines] == [("sgd", True), ("adam", False), ("rmsprop", True)]
    assert [line.positions[:2] for line in chart.lines] == [(1.0, 1.0), (0.0, 0.0), (0.5, 1.0)]


def test_a_trial_lacking_a_conditional_hyperparameter_sits_on_the_missing_level():
    chart = parallel_coordinates([trial("0", 0.1, num_layers=1, activation_1=None),
                                  trial("1", 0.2, num_layers=2, units_1=64, activation_1="relu"),
                                  trial("2", 0.3, num_layers=2, units_1=128, activation_1="tanh")],
                                 "val_accuracy")
    units, activation = axis_named(chart, "units_1"), axis_named(chart, "activation_1")
    assert units.missing and units.kind is AxisKind.LINEAR
    assert units.ticks[0] == coordinates.Tick(MISSING, 0.0)
    assert activation.missing and activation.levels == (MISSING, "relu", "tanh")
    lacking = chart.lines[0]
    assert lacking.trial_id == "0" and lacking.values[1:] == (None, None)
    assert lacking.positions[1:3] == (0.0, 0.0)
    assert 0.0 < chart.lines[1].positions[1] < chart.lines[2].positions[1] == 1.0  # numbers above the level


@pytest.mark.parametrize(("objective", "best"), [("val_accuracy", "high"), ("val_loss", "low")])
def test_the_best_trial_is_coloured_one_and_drawn_last_in_the_objective_s_direction(objective, best):
    trials = [trial("low", 0.2, units=8), trial("mid", 0.5, units=16), trial("high", 0.8, units=32)]
    chart = parallel_coordinates(trials, objective)
    assert chart.direction == ("max" if best == "high" else "min")
    assert chart.best is not None and chart.best.trial_id == best and chart.best.color == 1.0
    order = [line.trial_id for line in chart.lines]
    assert order == (["low", "mid", "high"] if best == "high" else ["high", "mid", "low"])
    assert [line.color for line in chart.lines] == pytest.approx([0.0, 0.5, 1.0])
    assert chart.color_of(0.5) == pytest.approx(0.5)
    objective_axis = chart.axes[-1]
    assert objective_axis.name == objective
    assert chart.lines[order.index("high")].positions[-1] == 1.0  # high scores high, either way


def test_pruned_trials_are_drawn_beneath_and_marked_and_unscored_ones_left_out():
    chart = parallel_coordinates([trial("0", 0.6, units=8), trial("1", 0.9, "PRUNED", units=16),
                                  trial("2", None, "FAILED", units=32), trial("3", None, "RUNNING", units=64),
                                  trial("4", 0.7, units=4)], "val_accuracy")
    assert [(line.trial_id, line.pruned) for line in chart.lines] == [("1", True), ("0", False), ("4", False)]
    assert chart.left_out == 2
    assert chart.lines[0].color == 1.0  # coloured by its score all the same


def test_no_varying_hyperparameter_leaves_the_objective_axis_only():
    chart = parallel_coordinates([trial("0", 0.6, units=8), trial("1", 0.7, units=8)], "val_accuracy")
    assert [axis.name for axis in chart.axes] == ["val_accuracy"] and chart.varying == ()
    assert len(chart.lines) == 2 and all(len(line.positions) == 1 for line in chart.lines)
    assert slices([trial("0", 0.6, units=8), trial("1", 0.7, units=8)], "val_accuracy") == []


def test_one_trial_is_the_best_and_sits_mid_axis():
    chart = parallel_coordinates([trial("0", 0.6, units=8)], "val_accuracy")
    assert len(chart.lines) == 1 and chart.lines[0].color == 1.0
    assert chart.lines[0].positions == (0.5,)
    assert [t.label for t in chart.axes[-1].ticks] == ["0.6"]


def test_no_trial_gives_an_empty_chart():
    chart = parallel_coordinates([], "val_accuracy")
    assert chart.lines == () and chart.best is None and [a.name for a in chart.axes] == ["val_accuracy"]
    assert chart.color_of(0.3) == 1.0


def test_hyperparameters_choose_and_order_the_axes_and_limit_cuts_them():
    trials = [trial("0", 0.5, a=1, b="x", c=0.1, d=7), trial("1", 0.6, a=2, b="y", c=0.2, d=7)]
    chart = parallel_coordinates(trials, "val_accuracy", hyperparameters=["c", "a", "d"])
    assert chart.hyperparameters == ["c", "a", "d"]  # a constant one may be asked for
    assert chart.varying == ("a", "b", "c")
    assert parallel_coordinates(trials, "val_accuracy", limit=2).hyperparameters == ["a", "b"]
    assert parallel_coordinates(trials, "val_accuracy", hyperparameters=["c", "a"],
                                limit=1).hyperparameters == ["c"]


@pytest.mark.parametrize(("arguments", "words"), [
    ({"hyperparameters": ["a", "nope"]}, "Received unknown: 'nope'"),
    ({"hyperparameters": ["a", "a"]}, "Received twice: 'a'"),
    ({"hyperparameters": "a"}, "Expected a sequence of names"),
    ({"limit": 0}, "Received: limit=0"),
    ({"limit": True}, "Received: limit=True"),
    ({"limit": "2"}, "Received: limit='2'"),
])
def test_bad_arguments_are_refused_naming_them(arguments, words):
    trials = [trial("0", 0.5, a=1), trial("1", 0.6, a=2)]
    with pytest.raises(InvalidArgumentError, match="argument") as caught:
        parallel_coordinates(trials, "val_accuracy", **arguments)
    assert words in str(caught.value)


@pytest.mark.parametrize("objective", ["", None, 3])
def test_an_objective_that_is_not_a_name_is_refused(objective):
    with pytest.raises(InvalidArgumentError, match="`objective`"):
        parallel_coordinates([trial("0", 0.5, a=1)], objective)


def test_slices_hold_each_trial_s_value_position_and_score_per_hyperparameter():
    trials = [trial("0", 0.3, units=8, optimizer="sgd"), trial("1", 0.9, units=64, optimizer="adam"),
              trial("2", 0.6, "PRUNED", units=32, optimizer="adam")]
    panels = slices(trials, "val_accuracy")
    assert [panel.axis.name for panel in panels] == ["units", "optimizer"]
    units = panels[0]
    assert [(p.trial_id, p.value, p.score, p.pruned) for p in units.points] == [
        ("2", 32, 0.6, True), ("0", 8, 0.3, False), ("1", 64, 0.9, False)]
    assert [p.position for p in units.points] == pytest.approx([24 / 56, 0.0, 1.0])
    assert [p.color for p in panels[1].points] == pytest.approx([0.5, 0.0, 1.0])
    assert [p.position for p in panels[1].points] == [0.0, 1.0, 0.0]
    assert [panel.axis.name for panel in slices(trials, "val_accuracy", hyperparameters=["optimizer"])] == [
        "optimizer"]
