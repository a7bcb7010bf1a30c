"""Tests of parameter counting and the budget checker."""

from __future__ import annotations

import dataclasses

import keras
import pytest

from kerasmnist import InvalidArgumentError, ParamBudgetExceeded
from kerasmnist.budget import BudgetReport, ParamBudget, check_budget, count_params


def bn_model() -> keras.Model:
    return keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(8, use_bias=False, name="hidden"),
        keras.layers.BatchNormalization(name="bn"),
        keras.layers.Dense(10, name="out"),
    ])


def test_count_params_counts_every_weight_by_default():
    model = bn_model()
    # 784*8 kernel + 4*8 batch-norm (gamma, beta, moving mean, moving variance) + 8*10+10.
    assert count_params(model) == 6272 + 32 + 90 == model.count_params()
    assert count_params(model, trainable_only=True) == 6272 + 16 + 90


def test_check_budget_returns_a_frozen_report_with_per_layer_breakdown():
    report = check_budget(bn_model(), 7000)
    assert isinstance(report, BudgetReport)
    assert (report.params, report.budget, report.within_budget) == (6394, 7000, True)
    assert [(r.name, r.kind, r.trainable, r.non_trainable) for r in report.layers] == [
        ("hidden", "Dense", 6272, 0), ("bn", "BatchNormalization", 16, 16), ("out", "Dense", 90, 0)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        report.params = 1  # type: ignore[misc]


def test_check_budget_over_budget_reports_or_raises_with_the_table():
    assert not check_budget(bn_model(), 6000).within_budget
    with pytest.raises(ParamBudgetExceeded) as info:
        check_budget(bn_model(), 6000, raise_error=True)
    message = str(info.value)
    assert "6,394 parameters, over the budget of 6,000 by 394" in message
    assert "BatchNormalization" in message and "hidden" in message
    assert info.value.report.params == 6394
    assert isinstance(info.value, ValueError)


def test_trainable_only_budget_ignores_moving_statistics():
    assert ParamBudget(6380, trainable_only=True).check(bn_model()).within_budget
    assert not ParamBudget(6380).check(bn_model()).within_budget


@pytest.mark.parametrize("bad", [-3, 0, 2.5, True, "100", None])
def test_param_budget_rejects_non_positive_integers(bad):
    with pytest.raises(InvalidArgumentError, match=rf"Received: max_params={bad!r}"):
        ParamBudget(bad)  # type: ignore[arg-type]


def test_nested_models_are_broken_down_layer_by_layer():
    inner = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="inner_dense")])
    outer = keras.Sequential([keras.Input((4,)), inner, keras.layers.Dense(2, name="outer_dense")])
    report = check_budget(outer, 100)
    assert [r.name for r in report.layers] == ["inner_dense", "outer_dense"]
    assert report.params == 15 + 8
