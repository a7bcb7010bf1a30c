"""Tests of parameter counting and the budget checker."""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, ParamBudgetExceeded
from kerasmnist.budget import BudgetReport, ByteBudget, ParamBudget, check_budget, count_params
from kerasmnist.errors import ByteBudgetExceeded
from kerasmnist.tflite import to_tflite


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


# --- byte budgets ------------------------------------------------------------------

def dense_model() -> keras.Model:
    """784 -> 10, with non-zero biases (TFLite drops a bias of zeros)."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    model.layers[-1].bias.assign(np.linspace(-1, 1, 10, dtype="float32"))
    return model


def test_byte_budget_counts_the_flatbuffer_and_reports_the_weights_beside_it():
    model = dense_model()  # one model: the flatbuffer holds its tensors' names, whose length counts
    size = len(to_tflite(model))
    report = ByteBudget(size).check(model)
    assert (report.file_bytes, report.budget, report.within_budget, report.int8) == (size, size, True, False)
    assert report.over_by == 0
    assert 7850 * 4 <= report.weight_bytes < 7850 * 4 + 64  # float32 weights and biases
    over = ByteBudget(size - 1).check(model)
    assert not over.within_budget and over.over_by == 1
    assert "TFLite flatbuffer (float32)" in over.table()
    with pytest.raises(ByteBudgetExceeded, match=rf"has {size:,} bytes .* over the budget of {size - 1:,} "
                                                 r"bytes by 1\."):
        ByteBudget(size - 1).enforce(model)


def test_byte_budget_of_an_int8_conversion_counts_a_byte_per_weight(sample_arrays):
    x = sample_arrays[0][:100]
    report = ByteBudget(100_000).check(dense_model(), int8=True, calibration=x)
    assert report.int8
    assert 7840 + 10 * 4 <= report.weight_bytes < 7840 + 10 * 4 + 64  # int8 kernel, int32 biases
    with pytest.raises(InvalidArgumentError, match="calibration=None"):
        ByteBudget(100_000).check(dense_model(), int8=True)


def test_byte_budget_measures_a_tflite_file_as_it_is(tmp_path):
    path = tmp_path / "m.tflite"
    path.write_bytes(to_tflite(dense_model()))
    size = path.stat().st_size
    assert ByteBudget(size).check(path).within_budget
    assert not ByteBudget(size - 1).check(str(path)).within_budget
    assert ByteBudget(size).check(path.read_bytes()).file_bytes == size
    with pytest.raises(InvalidArgumentError, match="int8=True with a target of type PosixPath"):
        ByteBudget(size).check(path, int8=True)
    (tmp_path / "bad.tflite").write_bytes(b"0123456789")
    with pytest.raises(InvalidArgumentError, match=r"target='.*bad.tflite', which holds b'4567'"):
        ByteBudget(size).check(tmp_path / "bad.tflite")


@pytest.mark.parametrize("bad", [-3, 0, 2.5, True, "100", None])
def test_byte_budget_rejects_non_positive_integers(bad):
    with pytest.raises(InvalidArgumentError, match=rf"Received: max_bytes={bad!r}"):
        ByteBudget(bad)  # type: ignore[arg-type]


def test_check_budget_takes_a_byte_budget_alone_or_beside_a_parameter_budget():
    model = dense_model()
    size = len(to_tflite(model))
    alone = check_budget(model, max_bytes=size)
    assert (alone.params, alone.budget, alone.within_budget) == (7850, None, True)
    assert alone.tflite is not None and alone.tflite.file_bytes == size
    params_table, bytes_table = alone.table().split("\n\n")
    assert "budget" not in params_table and "total (all)" in params_table
    assert "weights alone" in bytes_table and f"{size:,}" in bytes_table
    both = check_budget(model, 8000, max_bytes=size - 1)
    assert not both.within_budget and both.budget == 8000 and not both.tflite.within_budget
    with pytest.raises(ByteBudgetExceeded) as caught:
        check_budget(model, 8000, max_bytes=size - 1, raise_error=True)
    assert caught.value.report.file_bytes == size and isinstance(caught.value, ValueError)
    with pytest.raises(ParamBudgetExceeded):  # the parameter count is told first
        check_budget(model, 100, max_bytes=size - 1, raise_error=True)
    assert check_budget(dense_model(), 8000).tflite is None  # no byte budget, no conversion


def test_check_budget_needs_a_budget_and_int8_only_with_bytes(sample_arrays):
    with pytest.raises(InvalidArgumentError, match="max_params=None and max_bytes=None"):
        check_budget(dense_model())
    with pytest.raises(InvalidArgumentError, match="int8=True and max_bytes=None"):
        check_budget(dense_model(), 8000, int8=True, calibration=sample_arrays[0][:10])
