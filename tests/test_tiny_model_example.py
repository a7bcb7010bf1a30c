"""The parameter-budget challenge example, in its quick mode on the bundled sample."""

from __future__ import annotations

import importlib.util
import json
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
