"""Tests of trial pruning: the rules, their replay, the callback, and pruned searches in the engine."""

from __future__ import annotations

import json
import math
import re

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerasmnist import InvalidArgumentError
from kerasmnist.callbacks import Pruner
from kerasmnist.callbacks.pruner import LogCurves, TrialCurves
from kerasmnist.cli import main as cli_main
from kerasmnist.errors import SpecError
from kerasmnist.events import EventWriter
from kerasmnist.pruning import Curve, HalvingRule, MedianRule, best_so_far, make_rule, replay
from kerasmnist.runs import RunSpec, engine, run_state

DONE = [Curve([0.50, 0.60, 0.70], completed=True), Curve([0.70, 0.80, 0.85], completed=True),
        Curve([0.90, 0.92, 0.95], completed=True)]


# -- the rules ---------------------------------------------------------------------------------


def test_the_median_rule_stops_a_trial_below_the_completed_trials_median_at_the_same_epoch():
    rule = MedianRule(warmup_epochs=1, warmup_trials=3)
    assert rule.should_prune([0.69], DONE, direction="max")  # median at epoch 1: 0.70
    assert not rule.should_prune([0.70], DONE, direction="max")  # at the median: goes on
    assert not rule.should_prune([0.69, 0.81], DONE, direction="max")  # best so far 0.81 >= 0.80
    assert rule.should_prune([0.69, 0.79], DONE, direction="max")


def test_the_median_rule_waits_for_its_warmups_and_never_stops_the_last_epoch():
    rule = MedianRule(warmup_epochs=2, warmup_trials=3)
    assert not rule.should_prune([0.1], DONE, direction="max")  # epoch 1 < 2
    assert rule.should_prune([0.1, 0.1], DONE, direction="max")
    assert not MedianRule(warmup_epochs=1, warmup_trials=4).should_prune([0.1], DONE, direction="max")
    assert not rule.should_prune([0.1, 0.1, 0.1], DONE, direction="max", max_epochs=3)


def test_the_median_rule_counts_only_completed_trials_and_knows_a_loss_from_an_accuracy():
    unfinished = [Curve([0.99, 0.99]), Curve([0.99, 0.99], completed=False)]
    rule = MedianRule(warmup_epochs=1, warmup_trials=1)
    assert not rule.should_prune([0.2], unfinished, direction="max")  # none completed: warm-up
    assert rule.should_prune([0.2], [*unfinished, Curve([0.3], completed=True)], direction="max")
    losses = [Curve([1.0, 0.5], completed=True), Curve([2.0, 1.0], completed=True)]
    assert rule.should_prune([1.6], losses, direction="min")  # median 1.5, lower is better
    assert not rule.should_prune([1.4], losses, direction="min")


def test_a_trial_without_a_finite_value_is_stopped_once_others_have_one():
    rule = MedianRule(warmup_epochs=1, warmup_trials=1)
    assert rule.should_prune([None], DONE, direction="max")
    assert rule.should_prune([math.nan], DONE, direction="max")
    assert HalvingRule().should_prune([None], [], direction="max")


def test_halving_rungs_grow_by_the_factor_from_the_first():
    rule = HalvingRule(min_epochs=2, factor=3)
    assert [e for e in range(1, 30) if rule.rung(e)] == [2, 6, 18]


def test_halving_keeps_the_best_third_at_a_rung_and_lets_the_first_trial_through():
    rule = HalvingRule(min_epochs=1, factor=3)
    assert not rule.should_prune([0.1], [], direction="max")  # the first at its rung
    others = [Curve([v]) for v in (0.9, 0.8, 0.7, 0.6, 0.5)]  # six with this one: the best 2 go on
    assert not rule.should_prune([0.85], others, direction="max")
    assert rule.should_prune([0.75], others, direction="max")
    assert not rule.should_prune([0.8], others, direction="max")  # a tie with the second goes on
    assert not rule.should_prune([0.1, 0.1], others, direction="max")  # epoch 2 is no rung
    losses = [Curve([v]) for v in (0.1, 0.2, 0.3, 0.4, 0.5)]
    assert not rule.should_prune([0.15], losses, direction="min")
    assert rule.should_prune([0.25], losses, direction="min")


def test_halving_compares_only_trials_that_reached_the_rung():
    rule = HalvingRule(min_epochs=1, factor=2)
    others = [Curve([0.9, 0.95, 0.96]), Curve([0.8])]  # at rung 2 only the first counts
    assert rule.should_prune([0.5, 0.6], others, direction="max")  # 2 at the rung: keep 1
    assert not rule.should_prune([0.5, 0.97], others, direction="max")


def test_best_so_far_skips_missing_values():
    assert best_so_far([None, 0.4, math.inf, 0.3], 4, "min") == 0.3
    assert best_so_far([None], 1, "max") is None


@pytest.mark.parametrize(("call", "argument"), [
    (lambda: MedianRule(warmup_epochs=-1), "warmup_epochs"),
    (lambda: MedianRule(warmup_trials=1.5), "warmup_trials"),
    (lambda: HalvingRule(factor=1), "factor"),
    (lambda: HalvingRule(min_epochs=0), "min_epochs"),
    (lambda: make_rule("optuna"), "kind"),
    (lambda: MedianRule().should_prune([0.1], [], direction="up"), "direction"),
    (lambda: Pruner("none"), "rule"),
    (lambda: Pruner("median", mode="maximum"), "mode"),
])
def test_bad_settings_are_refused_naming_the_argument(call, argument):
    with pytest.raises(InvalidArgumentError, match=f"argument `{argument}`"):
        call()


def test_a_replay_stops_the_trials_the_rule_would_have_stopped_and_sees_them_stopped():
    curves = [[0.9, 0.91, 0.92], [0.5, 0.95, 0.96], [0.6, 0.6, 0.6], [0.95, 0.96, 0.97]]
    assert replay(curves, HalvingRule(min_epochs=1, factor=2), direction="max", max_epochs=3) == [3, 1, 1, 3]
    # The second trial, stopped at epoch 1, is not completed: the median rule waits for two.
    assert replay(curves, MedianRule(warmup_epochs=1, warmup_trials=2), direction="max",
                  max_epochs=3) == [3, 3, 1, 3]


# -- the callback --------------------------------------------------------------------------------


class Scripted(keras.callbacks.Callback):
    """Logs `score` = the scripted values, epoch by epoch (before the pruner reads it)."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


def small_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    return model


def fit(pruner, values):
    x, y = np.zeros((8, 4), "float32"), np.zeros(8, "int32")
    return small_model().fit(x, y, epochs=len(values), verbose=0,
                             callbacks=[Scripted(values), pruner]).history


def test_the_pruner_stops_a_fit_that_its_rule_condemns_and_keeps_its_epochs():
    pruner = Pruner(MedianRule(warmup_epochs=1, warmup_trials=1), monitor="score")
    assert len(fit(pruner, [0.8, 0.85, 0.9, 0.95])["loss"]) == 4
    history = fit(pruner, [0.5, 0.6, 0.7, 0.8])
    assert len(history["loss"]) == 1 and history["score"] == [0.5]
    assert pruner.pruned == {"1": 1}
    assert len(fit(pruner, [0.85, 0.86, 0.91, 0.92])["loss"]) == 4  # above the median at each epoch


def test_the_pruner_reads_the_direction_from_the_monitored_name():
    assert Pruner("median", monitor="val_loss").direction == "min"
    assert Pruner("halving", monitor="val_accuracy").direction == "max"
    assert Pruner("halving", monitor="val_loss", mode="max").direction == "max"


def test_the_pruner_prunes_a_users_own_keras_tuner_search(tmp_path):
    """One pruner passed to `search`: keras-tuner copies it per trial, the copies share a record, the
    pruned trials are completed for the oracle with their best score so far."""
    rates = {0: [0.9, 0.91, 0.92], 1: [0.2, 0.3, 0.4], 2: [0.95, 0.96, 0.97], 3: [0.1, 0.1, 0.1]}

    class Model(kt.HyperModel):
        def build(self, hp):
            hp.Int("which", 0, 3)
            return small_model()

        def fit(self, hp, model, *args, callbacks=(), **kwargs):
            return model.fit(*args, callbacks=[Scripted(rates[hp["which"]]), *callbacks], **kwargs)

    pruner = Pruner(MedianRule(warmup_epochs=1, warmup_trials=1), monitor="score")
    tuner = kt.GridSearch(Model(), objective=kt.Objective("score", "max"), directory=tmp_path,
                          project_name="p", max_trials=4)
    tuner.search(np.zeros((8, 4), "float32"), np.zeros(8, "int32"), epochs=3, verbose=0,
                 callbacks=[pruner])
    assert pruner.pruned == {"1": 1, "3": 1}
    trials = sorted(tuner.oracle.trials.values(), key=lambda t: t.hyperparameters["which"])
    assert [str(t.status) for t in trials] == ["COMPLETED"] * 4
    assert [t.score for t in trials] == pytest.approx([0.92, 0.2, 0.97, 0.1])
    assert tuner.oracle.get_best_trials(1)[0].hyperparameters["which"] == 2


def test_log_curves_read_the_trials_of_an_event_log_as_it_grows(tmp_path):
    path = tmp_path / "events.jsonl"
    curves = LogCurves(path, "val_accuracy")
    assert curves.curves() == {}
    with EventWriter(path) as events:
        events.trial_started("0", {})
        events.epoch_ended(0, {"val_accuracy": 0.5}, seconds=1.0, trial_id="0")
        assert curves.curves() == {"0": Curve((0.5,), completed=False)}
        events.epoch_ended(1, {"val_accuracy": 0.6}, seconds=1.0, trial_id="0")
        events.trial_ended("0", status="COMPLETED", score=0.6)
        events.trial_started("1", {})
        events.epoch_ended(0, {"val_accuracy": 0.4}, seconds=1.0, trial_id="1")
        events.trial_ended("1", status="PRUNED", score=0.4)
    assert curves.curves() == {"0": Curve((0.5, 0.6), completed=True), "1": Curve((0.4,), completed=False)}


def test_a_fit_resumed_after_its_pruning_verdict_ends_pruned_again(tmp_path):
    """A kill between the verdict (and the checkpoint of the stopped fit) and the trial's end:
    the resumed fit trains nothing, and the pruner gives the verdict again from the log."""
    path = tmp_path / "events.jsonl"
    with EventWriter(path) as events:
        for trial_id, values in (("0", [0.8, 0.9, 0.95]), ("1", [0.2])):
            events.trial_started(trial_id, {})
            for epoch, value in enumerate(values):
                events.epoch_ended(epoch, {"score": value}, seconds=1.0, trial_id=trial_id)
        events.trial_ended("0", status="COMPLETED", score=0.95)
    rule = MedianRule(warmup_epochs=1, warmup_trials=1)
    for trial_id, pruned in (("1", {"1": 1}), ("0", {})):
        pruner = Pruner(rule, monitor="score", curves=LogCurves(path, "score"), trial_id=trial_id)
        history = small_model().fit(np.zeros((8, 4), "float32"), np.zeros(8, "int32"), epochs=3,
                                    initial_epoch=3, verbose=0, callbacks=[pruner]).history
        assert history == {} and pruner.pruned == pruned


def test_in_memory_curves_replace_an_epoch_logged_again():
    curves = TrialCurves()
    key = curves.new_key()
    curves.add(key, 0, 0.1)
    curves.add(key, 2, 0.3)
    curves.add(key, 1, 0.2)
    curves.end(key, completed=True)
    assert curves.curves() == {"0": Curve((0.1, 0.2), completed=True)}


# -- the run engine ------------------------------------------------------------------------------


SMALL = {"dataset": "mnist_sample", "validation": 200, "limit": 400}
FIXED = {"num_layers": 1, "units": 16, "activation": "relu", "batch_norm": False, "dropout": 0.0,
         "l1": 0.0, "l2": 0.0, "kernel_initializer": "glorot_uniform", "optimizer": "adam",
         "batch_size": 32}
"""Every MLP hyperparameter but the learning rate fixed: a grid search walks the rates in order."""


def test_the_spec_refuses_pruning_where_there_is_nothing_to_prune():
    with pytest.raises(SpecError, match="Hyperband stops trials by its own schedule"):
        RunSpec(search="hyperband", prune="median")
    with pytest.raises(SpecError, match="field `prune`"):
        RunSpec(prune="halving")
    with pytest.raises(SpecError, match="field `prune`.*expected one of"):
        RunSpec(search="random", prune="asha")
    with pytest.raises(SpecError, match="one model per trial"):
        RunSpec(search="random", prune="median", executions_per_trial=2)
    with pytest.raises(SpecError, match="prune_factor"):
        RunSpec(search="random", prune="halving", prune_factor=1)


@pytest.fixture(scope="module")
def pruned_search(tmp_path_factory):
    """A grid search whose first cell learns and whose others cannot (learning rates of 1e-9)."""
    run_dir = tmp_path_factory.mktemp("pruned") / "run"
    spec = RunSpec(**SMALL, model="mlp", search="grid", epochs=3, prune="median", prune_warmup_epochs=1,
                   prune_warmup_trials=1,
                   overrides={**FIXED, "learning_rate": [0.01, 1e-9, 2e-9]})
    seen = []
    result = engine.run(spec, run_dir, listeners=[seen.append])
    return run_dir, result, seen


def test_a_pruned_search_stops_the_hopeless_trials_after_their_warmup(pruned_search):
    run_dir, result, seen = pruned_search
    ended = {e["trial_id"]: e for e in seen if e["event"] == "trial_ended"}
    assert [e["status"] for e in ended.values()] == ["COMPLETED", "PRUNED", "PRUNED"]
    epochs = [sum(1 for e in seen if e["event"] == "epoch_ended" and e["trial_id"] == t) for t in ended]
    assert epochs == [3, 1, 1]
    assert result.best_trial == next(iter(ended))
    assert [t["status"] for t in result.trials] == ["COMPLETED", "PRUNED", "PRUNED"]
    state = run_state(run_dir)
    assert [str(t.status) for t in state.ranked()] == ["COMPLETED", "PRUNED", "PRUNED"]


def test_trials_in_fresh_processes_are_pruned_by_the_record_of_the_earlier_ones(pruned_search, tmp_path):
    """Each trial in a child process of its own: the pruner reads the others from the event log."""
    spec = RunSpec.from_toml(pruned_search[0] / "spec.toml")
    spec = spec.replace(overrides={**FIXED, "learning_rate": [0.01, 1e-9]})
    engine.run(spec, tmp_path / "run", trials_per_process=1)
    statuses = [(t.status, t.epochs_done) for t in run_state(tmp_path / "run").trials.values()]
    assert statuses == [("COMPLETED", 3), ("PRUNED", 1)]


def test_keras_tuner_keeps_a_pruned_trial_completed_with_its_best_score_so_far(pruned_search):
    run_dir, _, seen = pruned_search
    for event in (e for e in seen if e["event"] == "trial_ended" and e["status"] == "PRUNED"):
        trial = json.loads((run_dir / "search" / f"trial_{event['trial_id']}" / "trial.json").read_text())
        assert trial["status"] == "COMPLETED"
        assert trial["score"] == pytest.approx(event["score"])


def test_a_pruned_search_says_what_it_spent_and_what_pruning_saved(pruned_search, capsys):
    run_dir, result, _ = pruned_search
    assert result.spend["epochs"] == 5 and result.spend["pruned"] == 2
    assert result.spend["epochs_saved"] == 4
    assert result.spend["cpu_seconds"] > 0 and result.spend["cpu_seconds_saved"] > 0
    assert cli_main(["runs", "show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "PRUNED" in out and "pruning stopped 2 trials, saving 4 epochs" in out
    assert cli_main(["runs", "show", str(run_dir), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["spend"]["epochs_saved"] == 4


def test_the_command_line_shows_pruned_trials_as_they_end(tmp_path, capsys):
    code = cli_main(["search", "--dataset", "mnist_sample", "--validation", "200", "--limit", "300",
                     "--search", "grid", "--epochs", "2", "--prune", "halving", "--prune-factor", "2",
                     *[arg for name, value in FIXED.items()
                       for arg in ("--set", f"{name}={json.dumps(value)}")],
                     "--set", "learning_rate=[0.01, 1e-9]", "--run-dir", str(tmp_path / "run")])
    assert code == 0
    err = capsys.readouterr()
    assert re.search(r"trial 0*1: PRUNED", err.err)
    assert "Search spent: 3 epochs" in err.out and "pruning stopped 1 trial" in err.out
