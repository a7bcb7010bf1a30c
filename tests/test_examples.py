"""The reproduction examples' quick modes, run in-process on the bundled samples."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

needs_plots = pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None,
                                 reason="the plots extra (matplotlib) is not installed")


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_quick(name: str, out: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """Runs an example's quick mode into `out`; returns its summary, checked against stdout."""
    assert load_example(name).main(["--quick", "--out", str(out)]) == 0
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert summary.strip() in capsys.readouterr().out
    return summary


def assert_run_dir(path: Path) -> dict:
    results = json.loads((path / "results.json").read_text(encoding="utf-8"))
    assert 0.0 <= results["test_accuracy"] <= 1.0
    assert (path / "best_model.keras").is_file()
    return results


def assert_png(path: Path) -> None:
    assert path.read_bytes()[:8] == PNG_SIGNATURE


def table_row(summary: str, label: str) -> list[str]:
    """The cells of the table row whose first cell is `label`."""
    for line in summary.splitlines():
        cells = re.split(r"\s{2,}", line.strip())
        if cells[0] == label:
            return cells[1:]
    raise AssertionError(f"no row {label!r} in:\n{summary}")


def test_mlp_hyperband_searches_three_to_five_layers(tmp_path, capsys):
    summary = run_quick("mlp_hyperband", tmp_path, capsys)
    results = assert_run_dir(tmp_path / "run")
    assert results["spec"]["search"] == "hyperband"
    assert len(results["trials"]) == 2
    for trial in results["trials"]:
        hp = trial["hyperparameters"]
        assert 3 <= hp["num_layers"] <= 5 and hp["activation"] == "leaky_relu"
        assert {f"l2_{i}" for i in range(hp["num_layers"])} <= set(hp)
    assert "widths" in summary and "batch_norm" in summary and "published: 0.9760" in summary


@needs_plots
def test_weight_decay_plots_replicates_then_trains_lenet5(tmp_path, capsys):
    summary = run_quick("weight_decay", tmp_path, capsys)
    for setting in ("l2=0", "l2=1e-05", "lenet5"):
        results = assert_run_dir(tmp_path / setting)
        assert len(results["replicates"]["values"]) == 2
    assert assert_run_dir(tmp_path / "lenet5")["params"] == 61_706
    assert_png(tmp_path / "weight_decay.png")
    for row in ("L2 0", "L2 1e-05", "LeNet-5"):
        assert re.fullmatch(r"0\.\d{4} ± 0\.\d{4}", table_row(summary, row)[0])


@needs_plots
def test_fashion_sizes_trains_mlps_and_cnns_then_searches(tmp_path, capsys):
    summary = run_quick("fashion_sizes", tmp_path, capsys)
    names = [f"{kind}-{size}" for kind in ("mlp", "cnn") for size in ("small", "medium", "large")]
    for name in [*names, "search"]:
        assert_run_dir(tmp_path / name)
        assert_png(tmp_path / f"confusion-{name}.png")
    search = assert_run_dir(tmp_path / "search")
    assert search["spec"]["search"] == "random" and len(search["trials"]) == 2
    assert {"filters_0", "dropout"} <= set(search["best_hyperparameters"])
    assert re.search(r"size\s+MLP\s+CNN", summary)
    for size in ("small", "medium", "large"):
        assert len(table_row(summary, size)) == 2
    assert len(table_row(summary, "Ankle boot")) == 10  # the search's test confusion matrix


def test_grid_vs_random_tabulates_grid_and_trial_counts(tmp_path, capsys):
    summary = run_quick("grid_vs_random", tmp_path, capsys)
    grid = assert_run_dir(tmp_path / "grid")
    assert len(grid["trials"]) == 4
    assert re.search(r"width \\ dropout\s+0\.0\s+0\.2", summary)
    assert len(table_row(summary, "16")) == 2 and len(table_row(summary, "32")) == 2
    for seed in (0, 1):
        assert_run_dir(tmp_path / f"random-seed{seed}")
    assert re.search(r"trials \\ repeat\s+seed 0\s+seed 1\s+mean ± std", summary)
    for trials in ("1", "2"):
        assert len(table_row(summary, trials)) == 3


def test_fashion_sweeps_tabulates_each_setting(tmp_path, capsys):
    summary = run_quick("fashion_sweeps", tmp_path, capsys)
    for setting in ("learning_rate", "momentum", "l1", "l2", "dropout"):
        assert re.search(rf"architecture \\ {setting}\s", summary)
    assert summary.count("Best: 32-16 with") == 5
    runs = sorted(p.name for p in (tmp_path / "32-16").iterdir())
    assert len(runs) == 6  # 9 cells; the baseline model is trained once
    for name in runs:
        assert_run_dir(tmp_path / "32-16" / name)
    momentum = assert_run_dir(tmp_path / "32-16" / "momentum=0.9")
    assert momentum["spec"]["overrides"]["optimizer"] == "sgd"
