"""Tests of reloading the model of any trial of a run (kerasmnist.runs.checkpoints)."""

from __future__ import annotations

import pytest

from kerasmnist import InvalidArgumentError
from kerasmnist.budget import count_params
from kerasmnist.evaluation import evaluate_splits
from kerasmnist.runs import RunSpec, engine, run_state, training
from kerasmnist.runs.checkpoints import load_model_file, load_trial_model

SMALL = {"dataset": "mnist_sample", "validation": 200, "limit": 500, "epochs": 1}
# One 5x5 convolution pooled to 2x2: a model fits any budget from ~50 weights.
LADDER = {"input_pool": 2, "conv_layers": 1, "kernel_size": 5, "pool_size": 7, "optimizer": "adam",
          "learning_rate": 1e-2, "batch_size": 64, "budget": [150, 1000]}


@pytest.fixture(scope="module")
def ladder_run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("ladder") / "run"
    spec = RunSpec(**SMALL, model="tiny", search="random", trials=3, max_params=1000, overrides=LADDER)
    engine.run(spec, run_dir)
    return run_dir, spec


def test_a_search_trial_reloads_with_its_tier_its_weights_and_its_validation_score(ladder_run):
    run_dir, spec = ladder_run
    data = training.load_data(spec)
    trials = list(run_state(run_dir).trials.values())
    assert len(trials) == 3 and all(t.status == "COMPLETED" for t in trials)
    for trial in trials:
        model = load_trial_model(run_dir, trial.trial_id, data=data)
        assert count_params(model) == trial.params <= trial.hyperparameters["budget"]
        accuracy = evaluate_splits(model, data, splits=("validation",))["validation"].accuracy
        assert accuracy == pytest.approx(trial.score, abs=1e-6), trial.trial_id  # the best epoch's weights


def test_the_data_set_is_loaded_from_the_spec_when_not_given(ladder_run):
    run_dir, _ = ladder_run
    trial = next(iter(run_state(run_dir).trials.values()))
    assert count_params(load_trial_model(str(run_dir), trial.trial_id)) == trial.params


def test_a_trial_without_a_model_is_refused_naming_where_it_looked(ladder_run, tmp_path):
    run_dir, _ = ladder_run
    with pytest.raises(InvalidArgumentError, match=r"Received: trial_id='99', which has none") as caught:
        load_trial_model(run_dir, "99")
    assert "checkpoint.weights.h5" in str(caught.value) and "model.keras" in str(caught.value)
    with pytest.raises(InvalidArgumentError, match="run_dir"):
        load_trial_model(tmp_path, "0")


def test_a_replicate_reloads_from_its_saved_model(tmp_path):
    run_dir = tmp_path / "run"
    result = engine.run(RunSpec(**SMALL, model="logistic_regression"), run_dir)
    model = load_trial_model(run_dir, result.best_trial)
    assert result.best_trial == "r0" and count_params(model) == result.params == 7850


def test_a_saved_model_loads_and_what_is_not_one_is_refused_by_name(ladder_run, tmp_path):
    import zipfile

    run_dir, _ = ladder_run
    model = load_model_file(run_dir / "best_model.keras")
    assert count_params(model) == run_state(run_dir).best().params
    (tmp_path / "notes.keras").write_text("not a model")
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as archive:
        archive.writestr("readme.txt", "nothing")
    for path, found in [(tmp_path / "missing.keras", "no such file"), (tmp_path, "a directory"),
                        (tmp_path / "notes.keras", "not a zip archive"),
                        (tmp_path / "empty.keras", "which Keras could not load")]:
        with pytest.raises(InvalidArgumentError, match=f"argument `target`.*{found}"):
            load_model_file(path, argument="target")
