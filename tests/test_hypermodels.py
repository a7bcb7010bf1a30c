"""Tests of the MLP, CNN and tiny hypermodels and build_hypermodel."""

from __future__ import annotations

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, build_hypermodel, load_dataset
from kerasmnist.budget import count_params
from kerasmnist.hypermodels import CNNHyperModel, MLPHyperModel, OverBudgetTrial, TinyHyperModel

HYPERMODELS = [MLPHyperModel, CNNHyperModel, TinyHyperModel]

# The space each model declares on a fresh HyperParameters, with its defaults.
DEFAULTS = {
    MLPHyperModel: {
        "num_layers": 2, "units_0": 128, "units_1": 128, "batch_norm": False,
        "activation": "relu", "kernel_initializer": "glorot_uniform",
        "l1_0": 0.0, "l2_0": 0.0, "dropout_0": 0.2, "l1_1": 0.0, "l2_1": 0.0, "dropout_1": 0.2,
        "optimizer": "adam", "learning_rate": 1e-3,
    },
    CNNHyperModel: {
        "kernel_size": 3, "strides": 1, "pooling": "max", "batch_norm": False,
        "activation": "relu", "kernel_initializer": "he_normal", "dropout": 0.25,
        "conv_blocks": 2, "filters_0": 32, "filters_1": 64, "head": "flatten",
        "dense_units": 128, "optimizer": "adam", "learning_rate": 1e-3,
    },
    TinyHyperModel: {
        "input_pool": 2, "conv_layers": 2, "filters_0": 8, "filters_1": 16, "kernel_size": 3,
        "separable": False, "pool_size": 2, "stacked": False, "pooling": "max",
        "head": "global_average", "dense_units": 0, "logits_bias": True,
        "optimizer": "adam", "learning_rate": 3e-3,
    },
}


class BuildOnly(kt.RandomSearch):
    """A random search that builds each sampled model and records it, without training."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.built = []

    def run_trial(self, trial, *args, **kwargs):
        keras.backend.clear_session()
        model = self.hypermodel.build(trial.hyperparameters)
        self.built.append((dict(trial.hyperparameters.values), model))
        return float(len(self.built))


class RecordSizes(keras.callbacks.Callback):
    """Records the weight count of every model that starts training."""

    def __init__(self, sizes: list[int]):
        super().__init__()
        self.sizes = sizes

    def __deepcopy__(self, memo):
        return self  # keras-tuner copies callbacks per trial; keep one record

    def on_train_begin(self, logs=None):
        self.sizes.append(count_params(self.model))


def dense_widths(model: keras.Model) -> list[int]:
    return [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]


@pytest.mark.parametrize("cls", HYPERMODELS, ids=lambda c: c.__name__)
def test_default_build_declares_the_pinned_space_and_compiles(cls):
    hp = kt.HyperParameters()
    model = cls().build(hp)
    assert hp.values == pytest.approx(DEFAULTS[cls])
    assert model.optimizer is not None and model.output_shape == (None, 10)
    assert isinstance(model.loss, keras.losses.SparseCategoricalCrossentropy)
    assert model.loss.from_logits


@pytest.mark.parametrize("cls", HYPERMODELS, ids=lambda c: c.__name__)
def test_twenty_random_samples_build_valid_compiled_models(cls, tmp_path):
    tuner = BuildOnly(cls(), objective=kt.Objective("score", "max"), max_trials=20, seed=1,
                      directory=tmp_path, project_name="p")
    tuner.search(verbose=0)
    assert len(tuner.built) == 20
    assert len({tuple(sorted(values.items())) for values, _ in tuner.built}) > 10
    x = np.random.default_rng(0).random((2, 784), dtype=np.float32)
    for values, model in tuner.built:
        assert model.output_shape == (None, 10), values
        assert model.optimizer is not None
        # A direct call: the same forward pass as predict, without tracing a function per model.
        assert np.all(np.isfinite(keras.ops.convert_to_numpy(model(x, training=False)))), values


def test_mlp_space_names_and_layers_follow_the_hyperparameters():
    hp = kt.HyperParameters()
    hp.Fixed("num_layers", 4)
    hp.Fixed("units_2", 32)
    hp.Fixed("batch_norm", True)
    model = MLPHyperModel().build(hp)
    assert dense_widths(model) == [128, 128, 32, 128, 10]
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds.count("BatchNormalization") == 4
    assert not model.get_layer("dense_0").use_bias


def test_overrides_fix_narrow_and_restrict_without_subclassing():
    hm = build_hypermodel("mlp", num_layers=3, units=[64, 256], learning_rate=(1e-3, 1e-2),
                          dropout_1=0.0, optimizer="sgd")
    hp = kt.HyperParameters()
    model = hm.build(hp)
    assert dense_widths(model) == [64, 64, 64, 10]
    assert hp.get("learning_rate") == pytest.approx(1e-3)
    learning_rate = next(h for h in hp.space if h.name == "learning_rate")
    assert (learning_rate.min_value, learning_rate.max_value) == (1e-3, 1e-2)
    units = next(h for h in hp.space if h.name == "units_0")
    assert list(units.values) == [64, 256]
    assert "dropout_1" not in [layer.name for layer in model.layers]
    assert isinstance(model.optimizer, keras.optimizers.SGD) and model.optimizer.nesterov


def test_widening_a_per_layer_range_reuses_the_last_layer_default():
    hp = kt.HyperParameters()
    hp.Fixed("conv_blocks", 6)
    model = CNNHyperModel(overrides={"conv_blocks": (1, 6)}).build(hp)
    assert [model.get_layer(f"conv_{i}").filters for i in range(6)] == [32, 64, 128, 256, 256, 256]


def test_fixed_values_of_a_tuner_take_effect(tmp_path):
    fixed = kt.HyperParameters()
    fixed.Fixed("conv_blocks", 1)
    fixed.Fixed("filters_0", 16)
    tuner = BuildOnly(CNNHyperModel(), objective=kt.Objective("score", "max"), max_trials=3,
                      hyperparameters=fixed, directory=tmp_path, project_name="p")
    tuner.search(verbose=0)
    for values, model in tuner.built:
        assert values["conv_blocks"] == 1 and values["filters_0"] == 16
        assert model.get_layer("conv_0").filters == 16


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"width": 3}, "Invalid override `width`. Expected one of"),
        ({"units_x": 3}, "Invalid override `units_x`"),
        ({"num_layers": "three"}, "Expected a int value"),
        ({"learning_rate": (1e-2, 1e-3)}, "low <= high"),
        ({"learning_rate": (0.0, 1e-3)}, "low <= high"),
        ({"units": (2000, 3000)}, "keeping at least one choice"),
        ({"batch_norm": "yes"}, "Expected a bool value"),
        ({"activation": []}, "a non-empty list of str values"),
    ],
)
def test_invalid_overrides_are_rejected_at_construction(overrides, match):
    with pytest.raises(InvalidArgumentError, match=match):
        MLPHyperModel(overrides=overrides)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"input_shape": (0,)}, "input_shape"),
        ({"input_shape": "784"}, "input_shape"),
        ({"num_classes": 1}, "Received: num_classes=1"),
        ({"max_params": -3}, "Received: max_params=-3"),
    ],
)
def test_fixed_settings_are_validated_at_construction(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        CNNHyperModel(**kwargs)


def test_image_models_reject_a_flat_input_that_is_not_a_square_at_construction():
    for cls in (CNNHyperModel, TinyHyperModel):
        with pytest.raises(InvalidArgumentError, match="square number of pixels"):
            cls(input_shape=(780,))
    assert MLPHyperModel(input_shape=(780,)).build(kt.HyperParameters()).input_shape == (None, 780)


@pytest.mark.parametrize("cls", HYPERMODELS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("input_shape", [(784,), (28, 28), (28, 28, 1)])
def test_flat_and_image_inputs_give_the_same_network(cls, input_shape):
    reference = cls().build(kt.HyperParameters()).count_params()
    model = cls(input_shape=input_shape).build(kt.HyperParameters())
    assert model.input_shape == (None, *input_shape)
    assert model.count_params() == reference


def test_build_hypermodel_takes_shape_and_classes_from_a_data_set():
    ds = load_dataset("fashion_mnist_sample", validation=0)
    for source in ("fashion_mnist", ds):
        hm = build_hypermodel("cnn", dataset=source)
        assert (hm.input_shape, hm.num_classes) == ((784,), 10)
    hm = build_hypermodel("tiny", dataset="mnist", input_shape=(28, 28, 1), num_classes=3)
    assert (hm.input_shape, hm.num_classes) == ((28, 28, 1), 3)


def test_build_hypermodel_rejects_unknown_kinds():
    with pytest.raises(InvalidArgumentError, match="Received: kind='rnn'"):
        build_hypermodel("rnn")


def test_mlp_predicts_its_weight_count_before_building(tmp_path):
    hm = MLPHyperModel(max_params=10**9)
    tuner = BuildOnly(hm, objective=kt.Objective("score", "max"), max_trials=12, seed=3,
                      directory=tmp_path, project_name="p")
    tuner.search(verbose=0)
    for values, model in tuner.built:
        widths = [values[f"units_{i}"] for i in range(values["num_layers"])]
        predicted = hm.predict_params(widths, values["batch_norm"])
        assert sum(r.total for r in predicted) == count_params(model), values


def test_cnn_predicts_its_weight_count_before_building(tmp_path):
    hm = CNNHyperModel(max_params=10**9)
    tuner = BuildOnly(hm, objective=kt.Objective("score", "max"), max_trials=12, seed=4,
                      directory=tmp_path, project_name="p")
    tuner.search(verbose=0)
    for values, model in tuner.built:
        filters = [values[f"filters_{i}"] for i in range(values["conv_blocks"])]
        predicted = hm.predict_params(filters, values["kernel_size"], values["strides"],
                                      values["pooling"], values["batch_norm"], values["head"],
                                      values["dense_units"])
        assert sum(r.total for r in predicted) == count_params(model), values


def test_tiny_predicts_its_weight_count_and_fits_every_budget(tmp_path):
    for budget in (60, 150, 1000, 10_000):
        hm = TinyHyperModel(max_params=budget)
        tuner = BuildOnly(hm, objective=kt.Objective("score", "max"), max_trials=10, seed=budget,
                          max_consecutive_failed_trials=10, directory=tmp_path, project_name=str(budget))
        tuner.search(verbose=0)
        assert tuner.built, budget
        for values, model in tuner.built:
            arch = hm.architecture(kt.HyperParameters.from_config(_fixed_config(values)))
            assert sum(r.total for r in hm.predict_params(arch)) == count_params(model)
            assert count_params(model) <= budget, values


def _fixed_config(values):
    hp = kt.HyperParameters()
    for name, value in values.items():
        hp.Fixed(name, value)
    return hp.get_config()


def test_tiny_over_budget_even_at_width_one_is_rejected_and_counted():
    hm = TinyHyperModel(max_params=100, overrides={"head": "flatten", "input_pool": 1,
                                                   "pool_size": 1, "conv_layers": 1})
    with pytest.raises(OverBudgetTrial) as info:
        hm.build(kt.HyperParameters())
    assert hm.rejected == 1
    assert isinstance(info.value, kt.errors.FailedTrialError)
    assert "over the budget of 100" in str(info.value) and "logits" in str(info.value)


def test_cnn_over_budget_is_rejected_before_building():
    hm = CNNHyperModel(max_params=50_000)
    with pytest.raises(OverBudgetTrial, match="over the budget of 50,000"):
        hm.build(kt.HyperParameters())
    assert hm.rejected == 1
    hp = kt.HyperParameters()
    hp.Fixed("head", "global_average")
    assert count_params(hm.build(hp)) <= 50_000


def test_budgeted_tiny_search_never_trains_a_model_over_budget(tmp_path, sample_arrays):
    x, y, x_val, y_val = sample_arrays
    sizes: list[int] = []
    hm = build_hypermodel("tiny", max_params=150)
    tuner = kt.RandomSearch(hm, objective="val_accuracy", max_trials=4, seed=0,
                            max_consecutive_failed_trials=10, directory=tmp_path, project_name="p")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=1, verbose=0,
                 callbacks=[RecordSizes(sizes)])
    assert sizes and max(sizes) <= 150


def test_budgeted_mlp_search_rejects_oversized_trials_before_fit(tmp_path, sample_arrays):
    x, y, x_val, y_val = sample_arrays
    sizes: list[int] = []
    hm = build_hypermodel("mlp", max_params=30_000, num_layers=1, units=[32, 1024],
                          batch_size=128)
    tuner = kt.RandomSearch(hm, objective="val_accuracy", max_trials=6, seed=0,
                            max_consecutive_failed_trials=10, directory=tmp_path, project_name="p")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=1, verbose=0,
                 callbacks=[RecordSizes(sizes)])
    statuses = [t.status for t in tuner.oracle.trials.values()]
    assert hm.rejected == statuses.count("FAILED") > 0
    assert sizes and max(sizes) <= 30_000
    assert len(sizes) == statuses.count("COMPLETED")


@pytest.mark.parametrize("tuner_cls", [kt.RandomSearch, kt.GridSearch, kt.BayesianOptimization])
def test_hypermodel_plugs_into_keras_tuner_searches(tuner_cls, tmp_path, sample_arrays):
    x, y, x_val, y_val = sample_arrays
    hm = build_hypermodel("mlp", num_layers=1, units=[16, 32], dropout=0.0, l1=0.0, l2=0.0,
                          activation="relu", batch_norm=False, kernel_initializer="he_normal",
                          optimizer="adam", learning_rate=1e-3, batch_size=128)
    tuner = tuner_cls(hm, objective="val_accuracy", max_trials=2, directory=tmp_path,
                      project_name="p")
    tuner.search(x, y, validation_data=(x_val, y_val), epochs=1, verbose=0)
    best = tuner.get_best_hyperparameters()[0]
    assert best.get("units_0") in (16, 32)
    assert len(tuner.oracle.trials) == 2


def test_mlp_searches_with_hyperband_on_val_accuracy(tmp_path, sample_arrays):
    x, y, x_val, y_val = sample_arrays
    hm = build_hypermodel("mlp", dataset="mnist", num_layers=1, units=[16, 32, 64])
    tuner = kt.Hyperband(hm, objective="val_accuracy", max_epochs=2, factor=2,
                         hyperband_iterations=1, directory=tmp_path, project_name="p")
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    best = tuner.get_best_models(1)[0]
    assert best.evaluate(x_val, y_val, verbose=0)[1] > 0.1
    assert all(t.status == "COMPLETED" for t in tuner.oracle.trials.values())


def test_batch_size_is_tuned_in_fit_unless_search_passes_one(sample_arrays):
    x, y, _, _ = sample_arrays
    hm = build_hypermodel("tiny", batch_size=64)
    hp = kt.HyperParameters()
    model = hm.build(hp)
    history = hm.fit(hp, model, x[:256], y[:256], epochs=1, verbose=0)
    assert hp.get("batch_size") == 64 and history.params["steps"] == 4
    history = hm.fit(hp, model, x[:256], y[:256], batch_size=128, epochs=1, verbose=0)
    assert history.params["steps"] == 2


def test_space_tables_document_every_entry():
    from kerasmnist.hypermodels.space import describe

    for cls in HYPERMODELS:
        table = describe(cls.SPACE)
        for name, spec in cls.SPACE.items():
            assert (f"{name}_i" if spec.per_layer else name) in table
            assert name in (cls.__doc__ or ""), f"{cls.__name__} docstring misses {name}"


def test_docstrings_show_the_table_of_the_declared_space():
    from kerasmnist.hypermodels.space import describe

    for cls in HYPERMODELS:
        doc = cls.__doc__ or ""
        assert "{space}" not in doc
        rows = [line.strip() for line in doc.splitlines() if line.strip().startswith("|")]
        assert rows == describe(cls.SPACE, tablefmt="github").splitlines(), cls.__name__
    learning_rate = next(line for line in (TinyHyperModel.__doc__ or "").splitlines()
                         if "| learning_rate " in line)
    assert "0.003" in learning_rate  # the tiny space's own default, not the shared one


def test_tiny_stacked_pools_once_and_builds_the_tiny_150_preset():
    from kerasmnist import presets

    fixed = {"input_pool": 2, "conv_layers": 3, "filters": 2, "kernel_size": 3,
             "separable": True, "pool_size": 7, "head": "flatten", "dense_units": 0,
             "logits_bias": False}
    stacked = TinyHyperModel(max_params=150, overrides={**fixed, "stacked": True,
                                                        "pooling": "average"})
    hp = kt.HyperParameters()
    model = stacked.build(hp)
    pools = [layer for layer in model.layers if "pool" in layer.name]
    assert [p.name for p in pools] == ["input_pool", "average_pool_2"]
    assert pools[1].output.shape[1:] == (2, 2, 2)
    preset = presets.build("tiny_150")
    preset_types = _layer_types(preset)
    assert preset_types.count("LeakyReLU") == 3  # the preset's activations: no weights
    assert _layer_types(model) == [t for t in preset_types if t != "LeakyReLU"] == [
        "Rescaling", "AveragePooling2D", "Conv2D", "SeparableConv2D", "SeparableConv2D",
        "AveragePooling2D", "Flatten", "Dense"]
    assert count_params(model) == count_params(preset) == 148
    assert [r.total for r in stacked.predict_params(stacked.architecture(hp))] == [
        20, 24, 24, 80]
    # Pooled after each convolution, the same layers leave a 1x1 map: 2 features, 20 logit
    # weights where the stacked model's 2x2 map has 8 features and 80.
    each = TinyHyperModel(max_params=150, overrides={**fixed, "stacked": False})
    model = each.build(kt.HyperParameters())
    assert count_params(model) == 148 - 80 + 20
    assert [layer.name for layer in model.layers if "max_pool" in layer.name] == [
        "max_pool_0", "max_pool_1", "max_pool_2"]


def _layer_types(model: keras.Model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers
            if not isinstance(layer, (keras.layers.InputLayer, keras.layers.Reshape))]


# -- the tiny space's opt-in `budget`: one search over several weight budgets ----------------


def test_tiny_budget_tiers_are_drawn_per_trial_and_each_model_fits_its_tier(tmp_path):
    tiers = [150, 500, 2000]
    hm = TinyHyperModel(max_params=2000, overrides={"budget": tiers})
    tuner = BuildOnly(hm, objective=kt.Objective("score", "max"), max_trials=12, seed=5,
                      max_consecutive_failed_trials=12, directory=tmp_path, project_name="p")
    tuner.search(verbose=0)
    assert len(tuner.built) == 12
    drawn = [values["budget"] for values, _ in tuner.built]
    assert set(drawn) <= set(tiers) and len(set(drawn)) > 1  # a hyperparameter like any other
    for values, model in tuner.built:
        assert count_params(model) <= values["budget"], values
    budget = next(h for h in tuner.oracle.hyperparameters.space if h.name == "budget")
    assert isinstance(budget, kt.engine.hyperparameters.Choice) and list(budget.values) == tiers


def test_tiny_budget_tier_and_max_params_the_smaller_wins():
    hm = TinyHyperModel(max_params=300, overrides={"budget": [150, 1000]})
    for tier, fits in [(150, 150), (1000, 300)]:
        hp = kt.HyperParameters()
        hp.Fixed("budget", tier)
        assert hm.trial_budget(hp) == fits
        assert count_params(hm.build(hp)) <= fits
    unbudgeted = TinyHyperModel(overrides={"budget": 200})
    hp = kt.HyperParameters()
    assert unbudgeted.trial_budget(hp) == 200 and count_params(unbudgeted.build(hp)) <= 200
    assert TinyHyperModel().trial_budget(kt.HyperParameters()) is None


def test_tiny_budget_is_opt_in_so_the_default_space_and_its_draws_are_unchanged():
    from kerasmnist.hypermodels.space import declare_space
    from kerasmnist.hypermodels.spaces import TINY_SPACE

    declared = kt.HyperParameters()
    TinyHyperModel().declare_hyperparameters(declared)
    without = kt.HyperParameters()
    declare_space(without, {k: v for k, v in TINY_SPACE.items() if k != "budget"}, {},
                  TinyHyperModel.CONDITIONS)
    assert "budget" not in declared.values
    assert declared.get_config() == without.get_config()  # the same space: the same seeded draws
    hp = kt.HyperParameters()
    TinyHyperModel().build(hp)
    assert "budget" not in hp.values
    ladder = kt.HyperParameters()
    TinyHyperModel(overrides={"budget": [150, 500]}).declare_hyperparameters(ladder)
    assert len(ladder.space) == len(declared.space) + 1


def test_tiny_budget_defaults_to_the_largest_tier_so_a_search_starts_whenever_one_could(tmp_path):
    # keras-tuner builds the default model when it is made: under the smallest tier, a flatten
    # head's default model is over 150 weights even at width 1.
    hm = TinyHyperModel(max_params=500, overrides={"budget": [150, 500], "head": "flatten"})
    hp = kt.HyperParameters()
    hm.declare_hyperparameters(hp)
    assert hp.values["budget"] == 500
    tuner = kt.RandomSearch(hm, objective="val_accuracy", max_trials=1, directory=tmp_path,
                            project_name="p")
    assert tuner.oracle.hyperparameters.get("budget") == 500
    ranged = kt.HyperParameters()
    TinyHyperModel(overrides={"budget": (120, 1500)}).declare_hyperparameters(ranged)
    budget = next(h for h in ranged.space if h.name == "budget")
    assert list(budget.values) == [150, 300, 500, 1000] and budget.default == 1000


@pytest.mark.parametrize("value", [0, -150, 1.5, "500", True, [], [150, 0], [150, 2.5], 10**7])
def test_tiny_budget_overrides_other_than_positive_ints_are_refused(value):
    from kerasmnist.hypermodels.spaces import check_overrides
    from kerasmnist.runs import RunSpec, SpecError

    with pytest.raises(InvalidArgumentError, match=r"Invalid override `budget`\. Expected"):
        TinyHyperModel(overrides={"budget": value})
    assert check_overrides("tiny", {"budget": value})[0] == "budget"  # Keras-free, as the CLI checks
    with pytest.raises(SpecError) as caught:
        RunSpec(model="tiny", search="random", overrides={"budget": value})
    assert caught.value.field == "overrides.budget"


def test_tiny_budget_is_a_tiny_entry_only_and_parses_from_the_command_line():
    from kerasmnist.runs import RunSpec
    from kerasmnist.runs.spec import parse_override

    assert parse_override("budget=[150,500,1000,2000]") == ("budget", [150, 500, 1000, 2000])
    spec = RunSpec(model="tiny", search="random", overrides={"budget": [150, 500]})
    assert spec.overrides["budget"] == [150, 500]
    with pytest.raises(InvalidArgumentError, match="Invalid override `budget`"):
        MLPHyperModel(overrides={"budget": [150]})
