"""Tests of the run engine's keras-tuner coupling: the private names it relies on, guarded."""

from __future__ import annotations

import importlib
import re
import types

import keras_tuner as kt
import pytest

from kerasmnist.errors import KerasTunerMismatchError, TrialFailed
from kerasmnist.runs import RunSpec, search
from kerasmnist.runs.training import load_data


@pytest.fixture
def fresh_check():
    search.check_keras_tuner.cache_clear()
    yield
    search.check_keras_tuner.cache_clear()


def test_the_installed_keras_tuner_has_every_private_name_the_engine_uses(fresh_check):
    search.check_keras_tuner()  # raises, naming the attribute, if one is missing
    assert len(search.PRIVATE_NAMES) >= 6


@pytest.mark.parametrize(("module", "name"), search.PRIVATE_NAMES)
def test_a_missing_private_name_fails_loudly_and_names_it(monkeypatch, fresh_check, module, name):
    owner = importlib.import_module(module)
    first, _, rest = name.partition(".")
    if first.endswith("()"):  # an instance attribute: a class whose instances lack it
        cls = getattr(owner, first.removesuffix("()"))
        original = cls.__init__

        def init(self, *args, **kwargs):
            original(self, *args, **kwargs)
            delattr(self, rest)

        monkeypatch.setattr(cls, "__init__", init)
    elif rest:
        monkeypatch.delattr(getattr(owner, first), rest)
    else:
        monkeypatch.delattr(owner, first)
    with pytest.raises(KerasTunerMismatchError, match=re.escape(f"lacks `{module}.{name}`")):
        search.check_keras_tuner()


def test_making_a_tuner_checks_keras_tuner_first(tmp_path, monkeypatch, fresh_check):
    from keras_tuner.src import utils

    monkeypatch.delattr(utils, "save_json")
    spec = RunSpec(dataset="mnist_sample", validation=100, limit=100, search="random", trials=1, epochs=1)
    context = search.SearchContext(spec, load_data(spec), tmp_path, events=None)  # type: ignore[arg-type]
    with pytest.raises(KerasTunerMismatchError, match="save_json"):
        search.make_tuner(context)


def test_the_resume_repair_raises_when_the_oracle_has_no_retry_queue():
    oracle = types.SimpleNamespace(trials={}, ongoing_trials={}, end_order=[])
    with pytest.raises(KerasTunerMismatchError, match="_retry_queue"):
        search._repair_oracle(oracle)


def test_the_repair_requeues_a_lost_trial_and_unqueues_a_finished_one():
    oracle = kt.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=3)
    lost, done = kt.engine.trial.Trial(oracle.get_space(), trial_id="0"), kt.engine.trial.Trial(
        oracle.get_space(), trial_id="1")
    lost.status, done.status = "RUNNING", "COMPLETED"
    oracle.trials = {"0": lost, "1": done}
    oracle._retry_queue = ["1"]
    search._repair_oracle(oracle)
    assert oracle._retry_queue == ["0"] and "1" in oracle.end_order


def test_each_search_kind_has_one_tuner_class_made_once():
    assert set(search.TUNERS) == {"random", "grid", "hyperband", "bayesian"}
    assert issubclass(search.TUNERS["random"], kt.RandomSearch)
    assert issubclass(search.TUNERS["bayesian"], search.SearchMixin)
    assert issubclass(TrialFailed, kt.errors.FailedTrialError)  # a tuner records it as failed


@pytest.mark.parametrize("seed", [0, 3])
def test_the_oracle_s_seed_does_not_depend_on_the_process_s_global_random_state(tmp_path, seed):
    # keras-tuner replaces a seed of 0 by a draw from Python's global random state: the
    # trials a search of seed 0 proposed depended on what the process had done before.
    import random

    spec = RunSpec(dataset="mnist_sample", validation=100, limit=100, search="random", trials=1, epochs=1,
                   seed=seed)
    data = load_data(spec)
    seeds = []
    for state in (1, 2):
        random.seed(state)
        run_dir = tmp_path / str(state)
        tuner = search.make_tuner(search.SearchContext(spec, data, run_dir, events=None))  # type: ignore[arg-type]
        seeds.append(tuner.oracle.seed)
    assert seeds[0] == seeds[1] == search.oracle_seed(seed) == (seed or search._SEED_ZERO)


def test_checking_keras_tuner_leaves_the_global_random_state_alone(fresh_check):
    import random

    random.seed(5)
    before = random.getstate()
    search.check_keras_tuner()
    assert random.getstate() == before
