"""The accuracy-versus-weights front: the rule, the budgets, and reading it from runs."""

from __future__ import annotations

import doctest
import random
import subprocess
import sys
from dataclasses import dataclass

import pytest

import kerasmnist
from kerasmnist import pareto
from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.pareto import FrontTrial, best_under, front_trials, pareto_front, parse_budgets, spec_budgets
from kerasmnist.runs.state import TrialState, TrialStatus
from tests.helpers import write_search_run


@dataclass(frozen=True)
class Point:
    name: str
    params: int | None
    score: float | None


def _names(trials) -> list[str]:
    return [t.name for t in trials]


def test_docstring_examples_run():
    result = doctest.testmod(pareto, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_the_module_and_the_top_level_name_load_neither_keras_nor_tensorflow():
    code = ("import sys, kerasmnist.pareto, kerasmnist; "
            "assert kerasmnist.pareto_front is kerasmnist.pareto.pareto_front; "
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner', 'textual', 'matplotlib') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    assert "pareto_front" in kerasmnist.__all__


def test_front_drops_dominated_trials_and_sorts_by_weights():
    trials = [Point("big-good", 900, 0.95), Point("small-bad", 100, 0.70), Point("mid-worse", 500, 0.69),
              Point("mid", 400, 0.90), Point("same-score-more-weights", 450, 0.90)]
    assert _names(pareto_front(trials)) == ["small-bad", "mid", "big-good"]


def test_a_loss_objective_is_minimised():
    trials = [Point("a", 100, 0.9), Point("b", 200, 0.5), Point("c", 300, 0.6), Point("d", 400, 0.1)]
    assert _names(pareto_front(trials, direction="min")) == ["a", "b", "d"]
    assert _names(pareto_front(trials, direction="max")) == ["a"]


def test_ties_keep_the_first_and_equal_weights_keep_the_best_score():
    trials = [Point("first", 100, 0.8), Point("twin", 100, 0.8), Point("worse", 100, 0.7),
              Point("better", 100, 0.85)]
    assert _names(pareto_front(trials)) == ["better"]
    assert _names(pareto_front(trials[:3])) == ["first"]


def test_trials_without_weights_or_a_finite_score_are_ignored():
    trials = [Point("no-params", None, 0.99), Point("no-score", 10, None), Point("nan", 5, float("nan")),
              Point("inf", 5, float("inf")), Point("ok", 50, 0.5)]
    assert _names(pareto_front(trials)) == ["ok"]
    assert pareto_front([]) == []
    assert pareto_front(iter(trials)) == [trials[-1]]  # any iterable, read once


def test_the_front_matches_its_definition_on_random_trials():
    rng = random.Random(0)
    for _ in range(200):
        trials = [Point(str(i), rng.choice([10, 20, 30, 40, 50]), rng.choice([0.1, 0.2, 0.3, 0.4]))
                  for i in range(rng.randint(0, 12))]
        for direction, sign in (("max", 1), ("min", -1)):
            def beats(a, b, sign=sign):
                return (a.params <= b.params and sign * a.score >= sign * b.score
                        and (a.params < b.params or sign * a.score > sign * b.score))

            expected = [t for t in trials if not any(beats(o, t) for o in trials)]
            first = {}
            for t in expected:  # of equal trials, the first
                first.setdefault((t.params, t.score), t)
            front = pareto_front(trials, direction=direction)
            assert sorted(_names(front)) == sorted(t.name for t in first.values())
            assert [t.params for t in front] == sorted(t.params for t in front)


def test_a_bad_direction_is_refused_naming_the_argument():
    with pytest.raises(InvalidArgumentError, match=r"argument `direction`.*Received: direction='up'"):
        pareto_front([Point("a", 1, 0.5)], direction="up")
    with pytest.raises(InvalidArgumentError, match="direction"):
        best_under([], [10], direction="maximum")


def test_best_under_picks_the_best_trial_that_fits_each_budget():
    trials = [Point("a", 150, 0.80), Point("b", 400, 0.90), Point("c", 600, 0.85), Point("d", 800, 0.91)]
    picks = best_under(trials, [100, 150, 500, 700, 10_000])
    assert {budget: t and t.name for budget, t in picks.items()} == {
        100: None, 150: "a", 500: "b", 700: "b", 10_000: "d"}
    assert list(picks) == [100, 150, 500, 700, 10_000]
    losses = best_under(trials, [500], direction="min")
    assert losses[500].name == "a"
    assert best_under(trials, []) == {}


@pytest.mark.parametrize("budgets", [[0], [-5], [1.5], ["150"], [True]])
def test_best_under_refuses_budgets_that_are_not_positive_integers(budgets):
    with pytest.raises(InvalidArgumentError, match="argument `budgets`"):
        best_under([Point("a", 1, 0.5)], budgets)


def test_budgets_come_from_max_params_and_a_budget_override_only():
    assert spec_budgets({"max_params": 3_000, "overrides": {"budget": [150, 500]}}) == [150, 500, 3_000]
    assert spec_budgets({"max_params": 500, "overrides": {"budget": 500, "units": [8, 16]}}) == [500]
    assert spec_budgets({"overrides": {"budget": [0, -1, True, "150", 150.0]}}) == []
    assert spec_budgets({"overrides": "nonsense"}) == []


def test_budgets_are_parsed_sorted_and_once_each():
    assert parse_budgets("2000,150, 500,150") == [150, 500, 2000]
    assert parse_budgets("7") == [7]


@pytest.mark.parametrize("text", ["abc", "150,0", "-5", "", "150,,500", "1.5"])
def test_budget_text_that_is_not_positive_integers_is_refused_by_name(text):
    with pytest.raises(InvalidArgumentError, match=r"argument `--budgets`.*Received: " + repr(text)):
        parse_budgets(text, name="--budgets")


def test_trial_states_fit_and_a_front_trial_knows_its_run():
    trials = [TrialState("0", {"units": 8}, status=TrialStatus.COMPLETED, score=0.8, params=6370),
              TrialState("1", {"units": 16}, status=TrialStatus.PRUNED, score=0.85, params=12730)]
    assert [t.trial_id for t in pareto_front(trials)] == ["0", "1"]
    front = FrontTrial.from_trial(trials[1], run="runs/a")
    assert front == FrontTrial("runs/a", "1", 12730, 0.85, TrialStatus.PRUNED, {"units": 16})
    assert front.to_dict() == {"run": "runs/a", "trial_id": "1", "params": 12730, "score": 0.85,
                               "status": "PRUNED", "hyperparameters": {"units": 16}}
    for status in (TrialStatus.FAILED, TrialStatus.RUNNING, TrialStatus.INTERRUPTED, TrialStatus.STOPPED):
        assert FrontTrial.from_trial(TrialState("2", status=status, score=0.9, params=10)) is None


def test_front_trials_reads_completed_and_pruned_trials_with_a_score_and_weights(tmp_path):
    run_dir = write_search_run(tmp_path / "run", [
        ("0", "COMPLETED", 0.80, 6370, {"units": 8}),
        ("1", "PRUNED", 0.60, 3185, {"units": 4}),
        ("2", "FAILED", None, 999_999, {"units": 2048}),  # over budget: never trained
        ("3", "COMPLETED", None, 100, {"units": 1}),  # no score: cannot be placed
        ("4", "RUNNING", None, None, {"units": 32}),
    ], finished=False)
    trials, objective = front_trials([str(run_dir)])
    assert objective == "val_accuracy"
    assert [(t.run, t.trial_id, t.params, t.score, t.status) for t in trials] == [
        (str(run_dir), "0", 6370, 0.80, "COMPLETED"), (str(run_dir), "1", 3185, 0.60, "PRUNED")]
    assert front_trials(run_dir)[0] == trials  # one run may be given alone, as a path


def test_front_trials_joins_several_runs_in_the_order_given(tmp_path):
    a = write_search_run(tmp_path / "a", [("0", "COMPLETED", 0.8, 100, {})])
    b = write_search_run(tmp_path / "b", [("0", "COMPLETED", 0.9, 200, {}), ("1", "PRUNED", 0.5, 50, {})])
    trials, _ = front_trials([b, a])
    assert [(t.run, t.trial_id) for t in trials] == [(str(b), "0"), (str(b), "1"), (str(a), "0")]
    assert [(t.run, t.trial_id) for t in pareto_front(trials)] == [(str(b), "1"), (str(a), "0"),
                                                                   (str(b), "0")]


def test_runs_with_different_objectives_are_not_compared(tmp_path):
    a = write_search_run(tmp_path / "acc", [("0", "COMPLETED", 0.8, 100, {})])
    b = write_search_run(tmp_path / "loss", [("0", "COMPLETED", 0.3, 100, {})], objective="val_loss")
    with pytest.raises(RunError) as caught:
        front_trials([a, b])
    message = str(caught.value)
    assert str(a) in message and str(b) in message
    assert "val_accuracy" in message and "val_loss" in message
    assert front_trials([b])[1] == "val_loss"


def test_a_missing_or_damaged_run_is_refused_naming_it(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"'.*nowhere', which has none"):
        front_trials([tmp_path / "nowhere"])
    with pytest.raises(InvalidArgumentError, match="at least one"):
        front_trials([])
    damaged = write_search_run(tmp_path / "damaged", [("0", "COMPLETED", 0.8, 100, {})])
    (damaged / "events.jsonl").unlink()
    (damaged / "events.jsonl").mkdir()
    with pytest.raises(RunError, match=rf"The run {damaged} is damaged: events.jsonl: not a regular file"):
        front_trials([damaged])
