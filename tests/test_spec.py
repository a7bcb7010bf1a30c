"""Tests of run specs: validation, TOML round trips, command-line overrides."""

from __future__ import annotations

import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerasmnist import datasets
from kerasmnist.datasets import DatasetInfo, register_dataset
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.hypermodels.space import Boolean, Choice, Float, Int, Spec
from kerasmnist.hypermodels.spaces import SPACES
from kerasmnist.runs.spec import (
    BEST_MODEL_CHOICES,
    DEFAULT_TRIALS,
    HYPERMODEL_KINDS,
    MAX_SEED,
    OBJECTIVES,
    PRESET_NAMES,
    PRUNED_SEARCHES,
    PRUNERS,
    SEARCH_KINDS,
    RunSpec,
    SpecError,
    check_spec,
    parse_override,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


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
        ({"overrides": {"wings": 2}}, "overrides.wings", "wings"),
        ({"overrides": {"units": "many"}}, "overrides.units", "units"),
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


# -- trials, determinism, seeds ------------------------------------------------------------


@pytest.mark.parametrize(("search", "trials"), [("random", DEFAULT_TRIALS), ("bayesian", DEFAULT_TRIALS),
                                                ("grid", None), ("hyperband", None), ("none", None)])
def test_trials_resolve_to_the_search_kinds_default(search, trials):
    spec = RunSpec(search=search)
    assert spec.trials is None and spec.resolved().trials == trials
    assert RunSpec(search=search, trials=4).resolved().trials == 4  # given explicitly: kept


def test_a_grid_search_from_the_command_line_walks_the_whole_grid(capsys):
    from kerasmnist.cli import build_parser
    from kerasmnist.cli.runs import spec_from_args

    def spec(*argv: str) -> RunSpec:
        return spec_from_args(build_parser().parse_args(["search", *argv]))

    assert spec("--search", "grid").trials is None
    assert spec("--search", "grid", "--trials", "3").trials == 3
    assert spec().trials == DEFAULT_TRIALS  # a random search
    with pytest.raises(SystemExit):
        build_parser().parse_args(["search", "--help"])
    assert "a grid search walks the whole grid" in " ".join(capsys.readouterr().out.split())


def test_deterministic_is_a_checked_flag_of_train_and_search():
    from kerasmnist.cli import build_parser
    from kerasmnist.cli.runs import spec_from_args

    assert RunSpec().deterministic is False
    for command in ("train", "search"):
        assert spec_from_args(build_parser().parse_args([command, "--deterministic"])).deterministic
        assert not spec_from_args(build_parser().parse_args([command])).deterministic
    with pytest.raises(SpecError, match="field `deterministic`: expected true or false"):
        RunSpec(deterministic="yes")


@pytest.mark.parametrize(("seed", "replicates", "ok"), [
    (MAX_SEED, 1, True), (MAX_SEED + 1, 1, False), (MAX_SEED - 1, 2, True), (MAX_SEED, 2, False),
    (-1, 1, False)])
def test_a_seed_stays_within_what_numpy_seeding_takes(seed, replicates, ok):
    if ok:
        assert RunSpec(seed=seed, replicates=replicates).seed == seed
        return
    with pytest.raises(SpecError, match="field `seed`: expected an integer in"):
        RunSpec(seed=seed, replicates=replicates)


def test_max_seed_is_numpys_limit():
    import numpy as np

    np.random.seed(MAX_SEED)
    with pytest.raises(ValueError):
        np.random.seed(MAX_SEED + 1)


# -- overrides: the hypermodel's own choices and ranges, without Keras ----------------------


@pytest.mark.parametrize(
    ("model", "overrides", "name", "expected"),
    [
        ("mlp", {"activation": "bogus"}, "activation", "one of ['relu'"),
        ("mlp", {"optimizer": "bogus"}, "optimizer", "one of ['adam', 'sgd', 'rmsprop']"),
        ("mlp", {"units": -5}, "units", "an int in [1, 4096]"),
        ("mlp", {"dropout": 2.0}, "dropout", "a float in [0, 0.9]"),
        ("mlp", {"dropout": float("nan")}, "dropout", "a float in [0, 0.9]"),
        ("mlp", {"learning_rate": -1}, "learning_rate", "a float > 0"),
        ("mlp", {"learning_rate": float("inf")}, "learning_rate", "a float > 0"),
        ("mlp", {"num_layers": 100000}, "num_layers", "an int in [1, 5]"),
        ("mlp", {"num_layers": (1, 9)}, "num_layers", "each an int in [1, 5]"),
        ("mlp", {"units": [64, 0]}, "units", "0 is not"),
        ("mlp", {"units_999": 64}, "units_999", "a layer index below 5"),
        ("mlp", {"num_layers": [1, 2], "units_2": 64}, "units_2", "a layer index below 2"),
        ("cnn", {"filters_6": 8}, "filters_6", "a layer index below 6"),
        ("tiny", {"conv_layers": 4}, "conv_layers", "an int in [0, 3]"),
        ("tiny", {"pooling": "median"}, "pooling", "one of ['max', 'average']"),
    ],
)
def test_overrides_outside_the_hypermodels_space_are_refused_by_name(model, overrides, name, expected):
    with pytest.raises(SpecError) as caught:
        RunSpec(model=model, overrides=overrides)
    assert caught.value.field == f"overrides.{name}"
    assert f"Invalid override `{name}`" in caught.value.detail and expected in caught.value.detail
    assert check_spec({"model": model, "overrides": overrides})[1] == {"overrides": caught.value.detail}


@pytest.mark.parametrize("overrides", [
    {"units": 16, "num_layers": 1},  # a width a search never samples, within the limits
    {"units": [8, 16, 32]}, {"learning_rate": 1e9}, {"momentum": 0}, {"dropout_4": 0.0},
    {"num_layers": (1, 3), "units_2": 64}, {"batch_size": 1000}])
def test_overrides_within_the_limits_are_kept(overrides):
    assert RunSpec(overrides=overrides).overrides == overrides


def test_an_existing_runs_spec_is_read_without_checking_its_overrides(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('model = "mlp"\n[overrides]\nnum_layers = 7\n')  # an older version's limits
    assert RunSpec.from_toml(path, check_overrides=False).overrides == {"num_layers": 7}
    with pytest.raises(SpecError, match=r"overrides\.num_layers"):
        RunSpec.from_toml(path)


def test_a_file_that_is_not_utf8_is_a_spec_error_naming_the_file(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('dataset = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(SpecError, match=r"latin1\.toml.*field `\(file\)`: not UTF-8 text"):
        RunSpec.from_toml(path)


# -- spec.toml: written by a TOML writer, read back equal ----------------------------------

NASTY = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20) | st.sampled_from(
    ['a\nb', 'say "hi"', "back\\slash", "tab\tand\rreturn", "\x00\x1f\x7f", "é😀\u2028", "'''", '"""',
     "[overrides]", "key = 1", "# comment", ""])
SCALARS = st.booleans() | st.integers() | st.floats(allow_nan=False) | NASTY


def _value(spec: Spec, *, count: Spec | None = None) -> st.SearchStrategy[Any]:
    """A value within an entry's limits."""
    if isinstance(spec, Boolean):
        return st.booleans()
    if isinstance(spec, Choice) and spec.limits is None:
        return st.sampled_from(spec.values)
    low, high = spec.limits if spec.limits is not None else (spec.min_value, spec.max_value)
    if isinstance(spec, Int) or (isinstance(spec, Choice) and all(isinstance(v, int) for v in spec.values)):
        return st.integers(int(low), int(high))
    positive = isinstance(spec, Float) and spec.sampling == "log"
    return st.floats(low, high, exclude_min=positive and low == 0, allow_nan=False, allow_infinity=False)


def _override(spec: Spec) -> st.SearchStrategy[Any]:
    """A fixed value, a list of values, or (for a range entry) a (low, high) range."""
    values = _value(spec)
    kinds = [values, st.lists(values, min_size=1, max_size=4)]
    if isinstance(spec, (Int, Float)):
        kinds.append(st.tuples(values, values).map(lambda pair: tuple(sorted(pair))))
    return st.one_of(kinds)


@st.composite
def _overrides(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    space = SPACES[kind]
    names = draw(st.lists(st.sampled_from(sorted(space)), unique=True, max_size=5))
    overrides = {name: draw(_override(space[name])) for name in names}
    count = next(name for name, spec in space.items() if isinstance(spec, Int) and spec.counts_layers)
    most = overrides.get(count, space[count].limits[1] if space[count].limits else space[count].max_value)
    most = max(most) if isinstance(most, (list, tuple)) else most
    for name in draw(st.lists(st.sampled_from([n for n, s in space.items() if s.per_layer]), max_size=2)):
        if most > 0:
            overrides[f"{name}_{draw(st.integers(0, most - 1))}"] = draw(_override(space[name]))
    return overrides


@st.composite
def valid_specs(draw: st.DrawFn) -> dict[str, Any]:
    """The fields of a valid spec: every field, and a data set whose name may be anything."""
    model = draw(st.sampled_from([*HYPERMODEL_KINDS, *PRESET_NAMES]))
    preset = model in PRESET_NAMES
    search = "none" if preset else draw(st.sampled_from(SEARCH_KINDS))
    best_model = "checkpoint" if search == "none" else draw(st.sampled_from(BEST_MODEL_CHOICES))
    replicates = draw(st.integers(1, 5)) if search == "none" or best_model == "retrain" else 1
    validation = draw(st.integers(0, 10**9) | st.floats(0, 1, exclude_max=True))
    full_eval = draw(st.booleans()) or validation == 0
    objectives = [o for o in OBJECTIVES if (validation != 0 or not o.startswith("val_"))
                  and (full_eval or not o.startswith("train_"))]
    optional = st.none() | st.integers(1, 10**12)
    prune = draw(st.sampled_from(PRUNERS)) if search in PRUNED_SEARCHES else "none"
    return {
        "dataset": draw(st.sampled_from(["mnist", "mnist_sample"]) | NASTY),
        "validation": validation, "model": model, "search": search, "best_model": best_model,
        "overrides": {} if preset else draw(_overrides(model)), "replicates": replicates,
        "trials": draw(optional), "epochs": draw(optional), "batch_size": draw(optional),
        "early_stopping": draw(optional), "max_params": draw(optional), "limit": draw(optional),
        "seed": draw(st.integers(0, MAX_SEED - replicates + 1)),
        "executions_per_trial": 1 if prune != "none" else draw(st.integers(1, 10**6)),
        "objective": draw(st.sampled_from(objectives)),
        "full_eval": full_eval, "csv_log": draw(st.booleans()), "tensorboard": draw(st.booleans()),
        "hyperband_factor": draw(st.integers(2, 10**6)), "max_failed_trials": draw(st.integers(1, 10**6)),
        "max_minutes": draw(st.none() | st.floats(0, exclude_min=True, allow_nan=False, allow_infinity=False)
                            | st.integers(1, 10**9)),
        "deterministic": draw(st.booleans()),
        "prune": prune, "prune_warmup_epochs": draw(st.integers(0, 10**6)),
        "prune_warmup_trials": draw(st.integers(0, 10**6)), "prune_min_epochs": draw(st.integers(1, 10**6)),
        "prune_factor": draw(st.integers(2, 10**6)),
    }


def _read_back(spec: RunSpec, *, check_overrides: bool = True) -> RunSpec:
    text = spec.to_toml()
    tomllib.loads(text)  # valid TOML, whatever the strings hold
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "spec.toml"
        path.write_text(text, encoding="utf-8")
        return RunSpec.from_toml(path, check_overrides=check_overrides)


@settings(max_examples=300, deadline=None)
@given(valid_specs())
def test_every_field_of_a_valid_spec_round_trips_through_toml(values):
    assert {f.name for f in dataclasses.fields(RunSpec)} == set(values)  # every field is drawn
    added = values["dataset"] not in datasets._REGISTRY
    if added:
        register_dataset(DatasetInfo(values["dataset"], tuple("0123456789")))
    try:
        spec = RunSpec(**values)
        assert _read_back(spec) == spec
        assert _read_back(spec.resolved()) == spec.resolved()
    finally:
        if added:
            datasets._REGISTRY.pop(values["dataset"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(NASTY, SCALARS | st.lists(SCALARS, max_size=3)
                       | st.tuples(SCALARS, SCALARS), max_size=5))
def test_any_overrides_an_unchecked_spec_holds_round_trip_through_toml(overrides):
    spec, errors = check_spec({"model": "mlp", "overrides": overrides}, check_overrides=False)
    assert errors == {} and spec is not None
    assert _read_back(spec, check_overrides=False) == spec


@pytest.mark.parametrize("text", ["line\nbreak", 'a "quoted" word', "C:\\runs\\", "\x00\x08\x1b", "µ 😀"])
def test_a_string_that_broke_the_hand_written_toml_reads_back(text):
    spec, _ = check_spec({"overrides": {"note": text}}, check_overrides=False)
    assert spec is not None and _read_back(spec, check_overrides=False).overrides == {"note": text}
