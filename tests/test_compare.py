"""Tests of `kerasmnist.runs.compare`, `kerasmnist.plots.plot_compare` and `kerasmnist runs compare`."""

from __future__ import annotations

import doctest
import json
import subprocess
import sys

import pytest

from kerasmnist.cli import main
from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.events import EventWriter
from kerasmnist.runs import compare
from kerasmnist.runs.compare import compare_runs, spec_differences
from kerasmnist.runs.spec import RunSpec
from tests.helpers import write_search_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def make_run(run_dir, spec, trials, epochs, *, test_accuracy=None):
    """A search run written without training, with `spec` as its spec.toml and, when
    `test_accuracy` is given, a `run_ended` whose results hold it."""
    write_search_run(run_dir, trials, objective=spec.objective, epochs=epochs,
                     finished=test_accuracy is None)
    (run_dir / "spec.toml").write_text(spec.to_toml())
    if test_accuracy is not None:
        with EventWriter(run_dir / "events.jsonl") as events:
            events.run_ended({"test_accuracy": test_accuracy})
    return run_dir


@pytest.fixture
def two_runs(tmp_path):
    a = make_run(tmp_path / "a", RunSpec(search="random", trials=2, epochs=3), [
        ("0", "COMPLETED", 0.80, 100, {"units": 8}),
        ("1", "COMPLETED", 0.90, 200, {"units": 16}),
    ], {"0": [{"val_accuracy": 0.7}, {"val_accuracy": 0.8}, {"val_accuracy": 0.75}],
        "1": [{"val_accuracy": 0.6}, {"val_accuracy": 0.9}, {"val_accuracy": 0.85}]},
        test_accuracy=0.88)
    b = make_run(tmp_path / "b", RunSpec(search="random", trials=2, epochs=3, seed=1, batch_size=64), [
        ("0", "COMPLETED", 0.85, 300, {"units": 32}),
        ("1", "FAILED", None, None, {"units": 64}),
    ], {"0": [{"val_accuracy": 0.5}, {"val_accuracy": 0.85}]})
    return a, b


def test_docstring_examples_run():
    result = doctest.testmod(compare)
    assert result.failed == 0 and result.attempted > 0


def test_the_differences_are_the_fields_that_differ_and_nothing_else(two_runs):
    comparison = compare_runs(two_runs)
    assert comparison.differences == {"batch_size": [None, 64], "seed": [0, 1]}


def test_spec_differences_of_equal_specs_is_empty_and_mappings_count():
    assert spec_differences([RunSpec(), RunSpec()]) == {}
    assert spec_differences([RunSpec().to_dict(), {**RunSpec().to_dict(), "overrides": {"units": 8}},
                             RunSpec()]) == {"overrides": [{}, {"units": 8}, {}]}
    assert spec_differences([{"seed": 1}, {"seed": 1, "extra": True}]) == {"extra": [None, True]}


def test_the_best_trials_are_side_by_side(two_runs):
    a, b = compare_runs(two_runs).runs
    assert (a.label, a.trial_id, a.score, a.params, a.best_epoch, a.epochs) == ("a", "1", 0.90, 200, 2, 3)
    assert (b.label, b.trial_id, b.score, b.params, b.best_epoch, b.epochs) == ("b", "0", 0.85, 300, 2, 2)
    assert a.test_accuracy == 0.88 and b.test_accuracy is None  # b's results have none
    assert a.seconds == 3.0 and b.seconds == 2.0  # a second per epoch
    assert a.hyperparameters == {"units": 16} and str(a.status) == "finished"


def test_the_curves_are_the_best_trials_values_of_the_metric(two_runs):
    comparison = compare_runs(two_runs)
    assert comparison.metric == "val_accuracy"
    assert comparison.curves() == {"a": [0.6, 0.9, 0.85], "b": [0.5, 0.85]}


def test_another_metric_is_drawn_where_logged_and_refused_where_not(tmp_path):
    epochs = {"0": [{"val_accuracy": 0.8, "loss": 0.5}, {"val_accuracy": 0.9, "loss": 0.4}]}
    runs = [make_run(tmp_path / name, RunSpec(search="random", seed=seed),
                     [("0", "COMPLETED", 0.9, 10, {})], epochs) for name, seed in (("x", 0), ("y", 1))]
    assert compare_runs(runs, metric="loss").curves() == {"x": [0.5, 0.4], "y": [0.5, 0.4]}
    with pytest.raises(InvalidArgumentError, match="`metric`.*val_accuracy, loss.*'val_lost'"):
        compare_runs(runs, metric="val_lost")


def test_runs_with_different_objectives_compare_but_say_their_scores_do_not(tmp_path):
    epochs = {"0": [{"val_accuracy": 0.8, "val_loss": 0.5}]}
    acc = make_run(tmp_path / "acc", RunSpec(search="random"), [("0", "COMPLETED", 0.8, 10, {})], epochs)
    loss = make_run(tmp_path / "loss", RunSpec(search="random", objective="val_loss"),
                    [("0", "COMPLETED", 0.5, 10, {})], epochs)
    comparison = compare_runs([acc, loss])
    assert not comparison.comparable
    assert "acc: val_accuracy" in comparison.note and "loss: val_loss" in comparison.note
    assert "not comparable" in comparison.note
    assert comparison.differences == {"objective": ["val_accuracy", "val_loss"]}
    assert comparison.curves() == {"acc": [0.8], "loss": [0.8]}  # one metric for both
    assert compare_runs([acc, acc]).comparable and compare_runs([acc, acc]).note is None


def test_runs_of_the_same_name_are_told_apart(tmp_path, two_runs):
    a, _ = two_runs
    other = make_run(tmp_path / "elsewhere" / "a", RunSpec(search="random"),
                     [("0", "COMPLETED", 0.9, 10, {})], {"0": [{"val_accuracy": 0.9}]})
    labels = [run.label for run in compare_runs([a, other, a]).runs]
    assert labels == [str(a), str(other), f"{a}#2"]


def test_an_empty_a_damaged_and_a_missing_run_are_refused_by_name(tmp_path, two_runs):
    a, _ = two_runs
    empty = make_run(tmp_path / "empty", RunSpec(search="random"),
                     [("0", "FAILED", None, None, {})], {})
    with pytest.raises(RunError, match=f"{empty}.*no trial with a score"):
        compare_runs([a, empty])
    (a / "events.jsonl").unlink()
    (a / "events.jsonl").mkdir()
    with pytest.raises(RunError, match=f"{a} is damaged: events.jsonl"):
        compare_runs([a, empty])
    with pytest.raises(InvalidArgumentError, match="nowhere"):
        compare_runs([tmp_path / "nowhere"])
    with pytest.raises(InvalidArgumentError, match="at least one"):
        compare_runs([])


def test_to_dict_is_plain_json(two_runs):
    document = json.loads(json.dumps(compare_runs(two_runs).to_dict()))
    assert document["runs"][0]["status"] == "finished" and document["runs"][1]["trial_status"] == "COMPLETED"
    assert document["differences"] == {"batch_size": [None, 64], "seed": [0, 1]}


def test_plot_compare_writes_a_png_with_gaps(tmp_path):
    pytest.importorskip("matplotlib")
    from kerasmnist.plots import plot_compare

    path = plot_compare({"a": [0.5, None, 0.7], "b": [0.6, 0.65]}, tmp_path / "sub" / "c.png",
                        metric="val_accuracy", title="t")
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert plot_compare({"a": [None]}, tmp_path / "empty.png").read_bytes().startswith(PNG_MAGIC)
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["c.png"]


# -- the command line -------------------------------------------------------------------


def test_cli_compare_prints_the_tables_and_the_chart_with_a_legend(two_runs, capsys):
    assert main(["runs", "compare", *map(str, two_runs)]) == 0
    out = capsys.readouterr().out
    assert "Best trial of each run" in out and "Spec differences" in out
    assert "batch_size" in out and "seed" in out and "epochs " not in out.split("Spec differences")[1][:300]
    assert "0.9000" in out and "0.8500" in out and "0.8800" in out  # scores, a's test accuracy
    assert "━●━ a" in out and "━▲━ b" in out  # the legend: a mark per run
    plot = out[out.index("val_accuracy of each run's best trial"):].splitlines()[1:]
    assert sum(line.count("●") for line in plot) == 3 and sum(line.count("▲") for line in plot) == 2
    assert "units" in out  # the best trials' hyperparameters differ


def test_cli_compare_writes_the_png(two_runs, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "curves.png"
    assert main(["runs", "compare", *map(str, two_runs), "--plot", str(target)]) == 0
    assert target.read_bytes().startswith(PNG_MAGIC)
    assert f"Plot saved in {target}" in capsys.readouterr().out.replace("\n", "")


def test_cli_compare_json(two_runs, capsys):
    assert main(["runs", "compare", *map(str, two_runs), "--json", "--metric", "val_accuracy"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert [run["trial_id"] for run in document["runs"]] == ["1", "0"]
    assert document["differences"]["seed"] == [0, 1] and document["plot"] is None


def test_cli_compare_says_when_scores_are_not_comparable(tmp_path, capsys):
    epochs = {"0": [{"val_accuracy": 0.8, "val_loss": 0.5}]}
    acc = make_run(tmp_path / "acc", RunSpec(search="random"), [("0", "COMPLETED", 0.8, 10, {})], epochs)
    loss = make_run(tmp_path / "loss", RunSpec(search="random", objective="val_loss"),
                    [("0", "COMPLETED", 0.5, 10, {})], epochs)
    assert main(["runs", "compare", str(acc), str(loss)]) == 0
    out = capsys.readouterr().out
    assert "Note: The runs rank trials by different objectives" in out and "objective" in out


def test_cli_compare_of_one_run_or_a_missing_run_exits_with_2(two_runs, tmp_path, capsys):
    a, _ = two_runs
    assert main(["runs", "compare", str(a)]) == 2
    assert "two or more" in capsys.readouterr().err
    assert main(["runs", "compare", str(a), str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["runs", "compare", *map(str, two_runs), "--metric", "nope"]) == 2
    assert "`metric`" in capsys.readouterr().err


def test_cli_compare_of_a_damaged_run_exits_with_1(two_runs, capsys):
    a, b = two_runs
    (b / "spec.toml").write_text("not = [toml")
    assert main(["runs", "compare", str(a), str(b)]) == 1
    err = capsys.readouterr().err
    assert f"The run {b} is damaged" in err and "spec.toml" in err


def test_export_and_compare_load_neither_keras_nor_textual_nor_pandas(two_runs):
    a, b = map(str, two_runs)
    code = ("import sys, contextlib, io; from kerasmnist.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    status = main(['runs', 'compare', {a!r}, {b!r}]) + main(['runs', 'export', {a!r}])\n"
            "assert status == 0 and 'Spec differences' in out.getvalue(), out.getvalue()\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner', 'textual', 'pandas', "
            "'matplotlib') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
