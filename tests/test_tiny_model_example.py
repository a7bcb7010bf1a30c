"""The parameter-budget challenge example, in its quick mode on the bundled sample."""

from __future__ import annotations

import importlib.util
import json
import types
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).parent.parent / "examples" / "tiny_model.py"


@pytest.fixture(scope="module")
def tiny_model():
    spec = importlib.util.spec_from_file_location("tiny_model_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_mode_reports_the_best_model_the_references_and_the_verdict(tiny_model, tmp_path,
                                                                         capsys):
    status = tiny_model.main(["--quick", "--budget", "150", "--target", "0.0",
                              "--run-dir", str(tmp_path / "run")])
    out = capsys.readouterr().out
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert status == 0 and results["params"] <= 150  # a target of 0 is always met
    assert ": val_accuracy" in out and "| best:" in out  # the live leaderboard
    assert "total (all)" in out and "budget" in out  # the per-layer weight table
    for preset, weights in [("logistic_regression", "7,850"), ("avgpool5_dense", "260"),
                            ("conv2_maxpool9", "142")]:
        assert preset in out and weights in out
        assert (tmp_path / "run" / "references" / preset / "results.json").is_file()
    assert f"{results['test_accuracy']:.4f}" in out
    assert "Target 0.00% with at most 150 weights: met" in out


def test_a_missed_target_exits_with_1(tiny_model, tmp_path, capsys):
    status = tiny_model.main(["--quick", "--budget", "150", "--target", "1.0", "--no-references",
                              "--run-dir", str(tmp_path / "run")])
    assert status == 1 and ": missed (" in capsys.readouterr().out


def test_bad_arguments_exit_with_2(tiny_model):
    with pytest.raises(SystemExit) as caught:
        tiny_model.main(["--budget", "many"])
    assert caught.value.code == 2


# -- the budget ladder: one search, the best model under each budget ------------------------


def test_quick_ladder_reports_each_budget_the_front_and_a_plot(tiny_model, tmp_path, capsys, monkeypatch):
    import matplotlib.image

    import kerasmnist.runs.results  # noqa: F401  the run's own evaluation, imported before the count
    from kerasmnist import evaluation, read_events

    tested: list[int] = []
    evaluate = evaluation.evaluate_splits

    def counting(model, data, **kwargs):
        tested.append(id(model))
        assert kwargs["splits"] == ("test",)
        return evaluate(model, data, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate_splits", counting)
    run_dir = tmp_path / "run"
    status = tiny_model.main(["--quick", "--budgets", "500,150", "--run-dir", str(run_dir)])
    out = capsys.readouterr().out
    started = [e for e in read_events(run_dir / "events.jsonl") if e["event"] == "trial_started"]
    ended = {e["trial_id"]: e for e in read_events(run_dir / "events.jsonl") if e["event"] == "trial_ended"}
    assert len(started) == 4 and {e["hyperparameters"]["budget"] for e in started} <= {150, 500}
    for event in started:  # each trial's record names its tier, and its model fits it
        assert ended[event["trial_id"]]["params"] <= event["hyperparameters"]["budget"]
    rows = _table_rows(out, "Best model under each budget")
    assert [row[0] for row in rows] == ["150", "500"]  # ascending, whatever the order given
    picked = {row[1] for row in rows}
    for budget, trial_id, _tier, weights, score, test_accuracy in rows:
        assert int(weights.replace(",", "")) == ended[trial_id]["params"] <= int(budget)
        assert float(score) == pytest.approx(ended[trial_id]["score"], abs=1e-4)
        assert 0.0 <= float(test_accuracy) <= 1.0
    results = json.loads((run_dir / "results.json").read_text())
    # Each reported model on the test set once: the run's best (measured by the run) is not again.
    assert len(tested) == len(picked - {results["best_trial"]})
    if results["best_trial"] in picked:
        row = next(row for row in rows if row[1] == results["best_trial"])
        assert row[5] == f"{results['test_accuracy']:.4f}"
    front = _table_rows(out, "Front:")
    assert front and {row[0] for row in front} >= picked - {""}
    weights = [int(row[2].replace(",", "")) for row in front]
    assert weights == sorted(weights)
    assert matplotlib.image.imread(run_dir / "front.png").ndim == 3
    assert f"Front plot: {run_dir / 'front.png'}" in out
    assert status == 0 and "(budget 150)" in out  # the leaderboard names each trial's tier


class _Trial:
    """A trial as `kerasmnist.pareto.front_trials` gives it: id, weights, score, hyperparameters."""

    def __init__(self, trial_id, params, score, tier):
        self.trial_id, self.params, self.score = trial_id, params, score
        self.hyperparameters = {"budget": tier}


def test_ladder_picks_the_best_under_each_budget_and_tests_each_pick_once(tiny_model, tmp_path, capsys,
                                                                          monkeypatch):
    import kerasmnist
    from kerasmnist import evaluation, pareto
    from kerasmnist.runs import checkpoints, training

    trials = [_Trial("a", 100, 0.80, 150), _Trial("b", 120, 0.85, 500),  # b: a larger tier's small model
              _Trial("c", 140, 0.70, 150), _Trial("d", 450, 0.90, 500), _Trial("e", 900, 0.88, 2000)]
    loaded: list[str] = []
    best = types.SimpleNamespace(best_trial="d", test_accuracy=0.77)  # the run's best, measured by it
    monkeypatch.setattr(kerasmnist, "run", lambda spec, run_dir, listeners: best)
    monkeypatch.setattr(pareto, "front_trials", lambda run_dir: (trials, "val_accuracy"))
    monkeypatch.setattr(training, "load_data", lambda spec: None)
    monkeypatch.setattr(checkpoints, "load_trial_model",
                        lambda run_dir, trial_id, data: loaded.append(trial_id) or trial_id)
    monkeypatch.setattr(evaluation, "evaluate_splits",
                        lambda model, data, splits: {"test": _Split(0.5 + len(model) / 100)})
    status = tiny_model.main(["--budgets", "50,150,200,500,2000", "--run-dir", str(tmp_path / "run")])
    out = capsys.readouterr().out
    rows = _table_rows(out, "Best model under each budget")
    assert [row[:2] for row in rows] == [["50", "none"], ["150", "b"], ["200", "b"], ["500", "d"],
                                         ["2,000", "d"]]
    assert rows[1][2:] == rows[2][2:] == ["500", "120", "0.8500", "0.5100"]  # tier 500, under 150
    assert rows[3][5] == rows[4][5] == "0.7700"
    assert loaded == ["b"]  # b, picked twice, is tested once; d, the run's best, was by the run
    assert [row[0] for row in _table_rows(out, "Front:")] == ["a", "b", "d"]
    assert (tmp_path / "run" / "front.png").is_file()
    assert status == 1 and "No model under 50 weights." in out


class _Split:
    def __init__(self, accuracy):
        self.accuracy = accuracy


@pytest.mark.parametrize("argv", [["--budget", "150", "--budgets", "150,500"], ["--budgets", "0,150"],
                                  ["--budgets", "150,many"], ["--budgets", ""]])
def test_bad_ladders_exit_with_2(tiny_model, argv, capsys):
    with pytest.raises(SystemExit) as caught:
        tiny_model.main(argv)
    assert caught.value.code == 2 and "--budget" in capsys.readouterr().err


def _table_rows(out: str, title: str) -> list[list[str]]:
    """The body rows of the Rich table printed under `title`, as lists of cell texts."""
    lines = out[out.index(title):].splitlines()
    body = lines[lines.index(next(line for line in lines if line.startswith("┡"))) + 1:]
    rows = []
    for line in body:
        if not line.startswith("│"):
            break
        rows.append([cell.strip() for cell in line.strip("│").split("│")])
    return rows
