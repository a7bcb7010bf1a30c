"""Hyperparameter importance (fANOVA main effects) on synthetic searches whose answer is known."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import numpy as np
import pytest

import kerasmnist.importance as importance_module
from kerasmnist.errors import ImportanceError, InvalidArgumentError
from kerasmnist.importance import (
    MAX_BACKGROUND,
    MIN_TRIALS,
    Importance,
    hyperparameter_importance,
    importance_of,
    share_bar,
)
from kerasmnist.runs.rundir import run_state
from kerasmnist.runs.trials import TrialState, TrialStatus
from tests.helpers import write_search_run

# A Choice whose best value is in the middle: no monotone shortcut.
A_SCORES = {0.001: 0.6, 0.01: 0.9, 0.1: 0.8, 1.0: 0.2}


def synthetic(n: int = 30, seed: int = 0, *, noise: float = 0.01,
              extra: dict | None = None) -> list[TrialState]:
    """`n` completed trials: `a` (a Choice of 4) sets the score, plus tiny noise; `b` is noise."""
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(n):
        a = list(A_SCORES)[int(rng.integers(4))]
        hyperparameters = {"a": a, "b": float(rng.uniform()), **(extra or {})}
        trials.append(TrialState(str(i), hyperparameters, status=TrialStatus.COMPLETED,
                                 score=A_SCORES[a] + float(rng.normal(0, noise))))
    return trials


@pytest.mark.parametrize("noise", [0.01, 0.1])  # 0.1: a third of the spread `a` makes
@pytest.mark.parametrize("seed", range(5))
def test_the_hyperparameter_that_drives_the_objective_explains_it_and_noise_does_not(seed, noise):
    importance = hyperparameter_importance(synthetic(30, seed, noise=noise), "val_accuracy")
    assert importance.shares["a"] > 0.8 and importance.shares["b"] < 0.1
    assert list(importance.shares) == ["a", "b"]
    assert importance.trials == 30 and importance.objective == "val_accuracy"
    assert importance.method == "fANOVA (random forest, 64 trees)"


@pytest.mark.parametrize("seed", range(3))
def test_a_float_that_drives_the_objective_beats_a_float_that_is_noise(seed):
    rng = np.random.default_rng(seed)
    trials = []
    for i in range(30):
        lr, noise = 10 ** float(rng.uniform(-4, -1)), float(rng.uniform())
        score = 0.95 - 0.1 * (np.log10(lr) + 2.5) ** 2 + float(rng.normal(0, 0.005))
        trials.append(TrialState(str(i), {"learning_rate": lr, "dropout": noise},
                                 status=TrialStatus.COMPLETED, score=score))
    shares = hyperparameter_importance(trials, "val_accuracy").shares
    assert shares["learning_rate"] > 0.8 and shares["dropout"] < 0.1


def test_shares_are_best_first_and_sum_to_one():
    shares = hyperparameter_importance(synthetic(30, 1, extra={}), "val_accuracy").shares
    values = list(shares.values())
    assert values == sorted(values, reverse=True)
    assert sum(values) == pytest.approx(1.0) and all(v >= 0.0 for v in values)


def test_the_same_trials_give_the_same_importance_and_another_seed_the_same_answer():
    trials = synthetic(30, 2)
    assert hyperparameter_importance(trials, "val_accuracy") == hyperparameter_importance(
        trials, "val_accuracy")
    other = hyperparameter_importance(trials, "val_accuracy", seed=7)
    assert other.shares["a"] > 0.8 and other.shares["b"] < 0.1


def test_string_choices_are_categories():
    rng = np.random.default_rng(0)
    scores = {"relu": 0.9, "tanh": 0.5, "elu": 0.85, "sigmoid": 0.3}
    trials = []
    for i in range(30):
        activation = list(scores)[int(rng.integers(4))]
        trials.append(TrialState(str(i), {"activation": activation, "optimizer": ["sgd", "adam"][i % 2]},
                                 status=TrialStatus.COMPLETED,
                                 score=scores[activation] + float(rng.normal(0, 0.01))))
    shares = hyperparameter_importance(trials, "val_accuracy").shares
    assert shares["activation"] > 0.8 and shares["optimizer"] < 0.1


def test_a_boolean_is_a_hyperparameter_like_any_other():
    rng = np.random.default_rng(3)
    trials = []
    for i in range(30):
        batch_norm = bool(rng.integers(2))
        trials.append(TrialState(str(i), {"batch_norm": batch_norm, "b": float(rng.uniform())},
                                 status=TrialStatus.COMPLETED,
                                 score=(0.9 if batch_norm else 0.6) + float(rng.normal(0, 0.01))))
    shares = hyperparameter_importance(trials, "val_accuracy").shares
    assert shares["batch_norm"] > 0.8 and shares["b"] < 0.1


def test_a_conditional_hyperparameter_that_trials_lack_is_a_level_of_its_own():
    # `units_1` exists only in two-layer trials and is what sets their score; one-layer
    # trials all score alike. Its presence is also what `num_layers` says, so the two may
    # share that part; the noise gets nothing.
    rng = np.random.default_rng(0)
    trials = []
    for i in range(40):
        layers = 1 + i % 2
        hyperparameters = {"num_layers": layers, "units_0": int(rng.choice([16, 32])),
                           "noise": float(rng.uniform())}
        score = 0.5
        if layers == 2:
            hyperparameters["units_1"] = int(rng.choice([8, 64, 512]))
            score = {8: 0.4, 64: 0.9, 512: 0.7}[hyperparameters["units_1"]]
        trials.append(TrialState(str(i), hyperparameters, status=TrialStatus.COMPLETED,
                                 score=score + float(rng.normal(0, 0.005))))
    shares = hyperparameter_importance(trials, "val_accuracy").shares
    assert list(shares)[0] == "units_1" and shares["units_1"] > 0.5
    assert shares["noise"] < 0.1 and shares["units_0"] < 0.1


def test_missing_values_encode_below_every_value():
    encoded = importance_module._encode([None, 3, 5.5, None])
    assert encoded[1:3].tolist() == [3.0, 5.5] and encoded[0] == encoded[3] < 3.0
    assert importance_module._encode([None, True, False]).tolist() == [-1.0, 1.0, 0.0]
    codes = importance_module._encode(["tanh", None, "relu", "tanh", 8])
    assert codes[1] == -1.0 and codes[0] == codes[3] and len({codes[0], codes[2], codes[4]}) == 3


def test_constant_and_keras_tuner_hyperparameters_are_left_out():
    trials = synthetic(30, 0, extra={"activation": "relu", "units": 64})
    for i, trial in enumerate(trials):
        trial.hyperparameters.update({"tuner/epochs": i % 3, "tuner/trial_id": str(i)})
    shares = hyperparameter_importance(trials, "val_accuracy").shares
    assert set(shares) == {"a", "b"}


def test_only_completed_trials_with_a_score_are_used():
    trials = synthetic(30, 0)
    rng = np.random.default_rng(9)
    # Pruned trials whose score follows `b`: were they used, `b` would matter.
    for i in range(30):
        b = float(rng.uniform())
        trials.append(TrialState(f"p{i}", {"a": 0.01, "b": b}, status=TrialStatus.PRUNED, score=b))
    trials += [TrialState("f", {"a": 1.0, "b": 0.5}, status=TrialStatus.FAILED, score=5.0),
               TrialState("r", {"a": 1.0, "b": 0.5}, status=TrialStatus.RUNNING, score=5.0),
               TrialState("i", {"a": 1.0, "b": 0.5}, status=TrialStatus.INTERRUPTED),
               TrialState("n", {"a": 1.0, "b": 0.5}, status=TrialStatus.COMPLETED, score=None),
               TrialState("x", {"a": 1.0, "b": 0.5, "only_here": 1}, status=TrialStatus.COMPLETED,
                          score=float("nan"))]
    importance = hyperparameter_importance(trials, "val_accuracy")
    assert importance.trials == 30 and set(importance.shares) == {"a", "b"}
    assert importance.shares["a"] > 0.8 and importance.shares["b"] < 0.1


def test_a_loss_objective_works_and_is_named():
    trials = synthetic(30, 4)
    for trial in trials:
        trial.score = 1.0 - trial.score  # a loss: lower is better
    importance = hyperparameter_importance(trials, "val_loss")
    assert importance.objective == "val_loss"
    assert importance.shares["a"] > 0.8 and importance.shares["b"] < 0.1


def test_too_few_usable_trials_say_how_many_there_are_and_are_needed():
    trials = synthetic(MIN_TRIALS - 1, 0) + [
        TrialState("p", {"a": 0.1, "b": 0.2}, status=TrialStatus.PRUNED, score=0.5)]
    with pytest.raises(ImportanceError, match=rf"^{MIN_TRIALS - 1} usable trials \(completed, with "
                                              rf"a score; 1 pruned left out\): an importance needs "
                                              rf"at least {MIN_TRIALS}$") as caught:
        hyperparameter_importance(trials, "val_accuracy")
    assert caught.value.trials == MIN_TRIALS - 1 and caught.value.needed == MIN_TRIALS
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ImportanceError, match="^0 usable trials"):
        hyperparameter_importance([], "val_accuracy")


def test_no_varying_hyperparameter_or_no_varying_score_is_refused():
    same = [TrialState(str(i), {"units": 8}, status=TrialStatus.COMPLETED, score=0.1 * i)
            for i in range(5)]
    with pytest.raises(ImportanceError, match="no hyperparameter varies between the 5 usable trials"):
        hyperparameter_importance(same, "val_accuracy")
    flat = [TrialState(str(i), {"units": i}, status=TrialStatus.COMPLETED, score=0.5) for i in range(5)]
    with pytest.raises(ImportanceError, match="val_accuracy is 0.5 in each of the 5 usable trials"):
        hyperparameter_importance(flat, "val_accuracy")


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"objective": ""}, "argument `objective`. Expected a metric name. Received: objective=''"),
    ({"objective": None}, "Received: objective=None"),
    ({"objective": "val_accuracy", "seed": "1"}, "argument `seed`. Expected an integer. Received: seed='1'"),
    ({"objective": "val_accuracy", "seed": True}, "Received: seed=True"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message.replace("(", r"\(").replace(")", r"\)")):
        hyperparameter_importance(synthetic(8), **kwargs)


def test_a_search_larger_than_the_background_sample_still_finds_the_answer():
    importance = hyperparameter_importance(synthetic(MAX_BACKGROUND + 44, 5), "val_accuracy")
    assert importance.trials == MAX_BACKGROUND + 44
    assert importance.shares["a"] > 0.8 and importance.shares["b"] < 0.1


def test_to_dict_is_plain_json_with_the_shares_best_first():
    importance = hyperparameter_importance(synthetic(30, 0), "val_loss")
    data = json.loads(json.dumps(importance.to_dict()))
    assert data["objective"] == "val_loss" and data["trials"] == 30
    assert data["method"] == importance.method and list(data["shares"]) == ["a", "b"]
    assert data["shares"] == pytest.approx(importance.shares)


def test_importance_of_a_run_says_why_there_is_none(tmp_path):
    few = write_search_run(tmp_path / "few", [("0", "COMPLETED", 0.5, 10, {"u": 1}),
                                              ("1", "PRUNED", 0.2, 10, {"u": 2})])
    importance, reason = importance_of(run_state(few))
    assert importance is None
    assert reason == f"1 usable trial (completed, with a score; 1 pruned left out): an importance " \
                     f"needs at least {MIN_TRIALS}"
    train = run_state(few)
    train.spec["search"] = "none"
    assert importance_of(train) == (None, "the run is not a search")


def test_importance_of_a_running_search_uses_the_trials_done_so_far(tmp_path):
    trials = [(t.trial_id, "COMPLETED", t.score, 100, t.hyperparameters) for t in synthetic(12, 0)]
    run_dir = write_search_run(tmp_path / "run", [*trials, ("12", "RUNNING", None, None, {"a": 1.0})],
                               finished=False)
    found = importance_of(run_state(run_dir))
    assert found.reason is None and isinstance(found.importance, Importance)
    assert found.importance.trials == 12 and list(found.importance.shares)[0] == "a"


def test_share_bar_draws_eighths_of_a_cell():
    assert share_bar(1.0) == "█" * 20
    assert share_bar(0.5, 4) == "██" and share_bar(0.3, 4) == "█▎"
    assert share_bar(0.0) == "" and share_bar(-1.0) == "" and share_bar(2.0, 3) == "███"


def test_docstring_examples_run():
    result = doctest.testmod(importance_module)
    assert result.failed == 0 and result.attempted > 0


def test_importing_the_module_loads_neither_scikit_learn_nor_keras():
    code = ("import sys, kerasmnist.importance; "
            "print(sorted(m for m in ('sklearn', 'keras', 'tensorflow') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
