"""Tests of run specs: validation, TOML round trips, command-line overrides."""

from __future__ import annotations

import pytest

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs.spec import RunSpec, SpecError, parse_override


def test_the_defaults_train_an_mlp_on_the_bundled_sample():
    spec = RunSpec()
    assert (spec.dataset, spec.model, spec.search, spec.objective) == (
        "mnist_sample", "mlp", "none", "val_accuracy")
    assert spec.direction == "max" and not spec.is_preset


def test_toml_round_trip_keeps_every_field_and_override_kind(tmp_path):
    spec = RunSpec(dataset="fashion_mnist", validation=5000, model="cnn", search="hyperband",
                   epochs=7, batch_size=64, early_stopping=2, max_params=90_000, seed=3,
                   objective="val_loss", tensorboard=True, max_minutes=12.5,
                   overrides={"conv_blocks": 2, "filters": [16, 32], "learning_rate": (1e-4, 1e-2),
                              "batch_norm": True, "activation": "relu"})
    path = tmp_path / "spec.toml"
    path.write_text(spec.to_toml())
    again = RunSpec.from_toml(path)
    assert again == spec
    assert again.overrides["learning_rate"] == (1e-4, 1e-2)  # a range stays a range
    assert again.overrides["filters"] == [16, 32]  # a list stays a list of choices
    assert "batch_size = 64" in path.read_text() and "limit" not in path.read_text()


@pytest.mark.parametrize(
    ("changes", "field", "expected"),
    [
        ({"epochs": 0}, "epochs", "integer >= 1"),
        ({"trials": True}, "trials", "integer >= 1"),
        ({"search": "evolution"}, "search", "'hyperband'"),
        ({"validation": 1.5}, "validation", "fraction in [0, 1)"),
        ({"validation": -3}, "validation", "count >= 0"),
        ({"dataset": "cifar10"}, "dataset", "'mnist'"),
        ({"model": "resnet"}, "model", "preset"),
        ({"objective": "f1"}, "objective", "'val_accuracy'"),
        ({"objective": "val_loss", "validation": 0}, "objective", "needs a validation set"),
        ({"objective": "train_accuracy", "full_eval": False}, "objective", "full_eval = true"),
        ({"model": "lenet5", "search": "random"}, "search", "no hyperparameters"),
        ({"model": "lenet5", "overrides": {"units": 3}}, "overrides", "takes no overrides"),
        ({"overrides": {"wings": 2}}, "overrides", "wings"),
        ({"overrides": {"units": "many"}}, "overrides", "units"),
        ({"search": "random", "replicates": 3}, "replicates", "retrain"),
        ({"best_model": "retrain"}, "best_model", "needs a search"),
        ({"best_model": "latest", "search": "random"}, "best_model", "'checkpoint'"),
        ({"csv_log": "yes"}, "csv_log", "true or false"),
        ({"hyperband_factor": 1}, "hyperband_factor", ">= 2"),
        ({"max_minutes": 0}, "max_minutes", "minutes > 0"),
        ({"max_minutes": "soon"}, "max_minutes", "minutes > 0"),
    ],
)
def test_invalid_fields_are_named_with_what_was_expected(changes, field, expected):
    with pytest.raises(SpecError) as caught:
        RunSpec(**changes)
    assert caught.value.field == field
    assert f"field `{field}`" in str(caught.value) and expected in str(caught.value)
    assert isinstance(caught.value, InvalidArgumentError) and isinstance(caught.value, ValueError)


def test_errors_from_a_file_name_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('model = "mlp"\nepochs = -1\n')
    with pytest.raises(SpecError, match=r"bad\.toml.*field `epochs`"):
        RunSpec.from_toml(path)
    path.write_text('colour = "blue"\n')
    with pytest.raises(SpecError, match=r"bad\.toml.*field `colour`: unknown field"):
        RunSpec.from_toml(path)
    path.write_text("epochs = \n")
    with pytest.raises(SpecError, match=r"bad\.toml.*not valid TOML"):
        RunSpec.from_toml(path)
    path.write_text("[overrides]\nunits = { low = 1 }\n")
    with pytest.raises(SpecError, match=r"overrides\.units.*min = \.\.\., max = \.\.\."):
        RunSpec.from_toml(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("num_layers=3", ("num_layers", 3)),
        ("learning_rate=1e-3", ("learning_rate", 0.001)),
        ("batch_norm=true", ("batch_norm", True)),
        ("activation=relu", ("activation", "relu")),
        ('activation="elu"', ("activation", "elu")),
        ("units=[64, 128]", ("units", [64, 128])),
        ("dropout=0.1..0.3", ("dropout", (0.1, 0.3))),
        (" units_1 = 32 ", ("units_1", 32)),
    ],
)
def test_command_line_overrides_parse_as_toml_values_or_ranges(text, expected):
    assert parse_override(text) == expected


@pytest.mark.parametrize("text", ["units", "=3", ""])
def test_an_override_without_a_name_and_value_is_refused(text):
    with pytest.raises(InvalidArgumentError, match="--set"):
        parse_override(text)


def test_replace_validates_the_copy():
    spec = RunSpec()
    assert spec.replace(epochs=9).epochs == 9
    with pytest.raises(SpecError, match="epochs"):
        spec.replace(epochs=0)


def test_the_model_names_match_the_library_and_checking_needs_no_keras(tmp_path):
    import subprocess
    import sys

    from kerasmnist import presets
    from kerasmnist.hypermodels import KINDS
    from kerasmnist.runs.spec import HYPERMODEL_KINDS, PRESET_NAMES

    assert list(PRESET_NAMES) == presets.names() and set(HYPERMODEL_KINDS) == set(KINDS)
    code = ("import sys; from kerasmnist.runs.spec import RunSpec; "
            "RunSpec(model='lenet5', search='none'); RunSpec(model='cnn', search='random'); "
            "spec = RunSpec.from_toml(sys.argv[1], check_overrides=False); "
            "print(spec.overrides, sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') "
            "if m in sys.modules))")
    path = tmp_path / "spec.toml"
    path.write_text('model = "mlp"\n[overrides]\nunits = [64, 128]\n')
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "{'units': [64, 128]} []"
    path.write_text('model = "mlp"\n[overrides]\nwings = 2\n')
    with pytest.raises(SpecError, match="wings"):  # checked by default
        RunSpec.from_toml(path)
