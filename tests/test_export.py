"""Tests of `kerasmnist.runs.export` and `kerasmnist runs export`: a run's trials as a table."""

from __future__ import annotations

import csv
import doctest
import io
import json
import sys

import pytest

from kerasmnist.cli import main
from kerasmnist.errors import InvalidArgumentError, RunError
from kerasmnist.runs import export
from kerasmnist.runs.export import (
    BASE_COLUMNS,
    format_for_path,
    format_rows,
    trial_rows,
    trials_dataframe,
    write_rows,
)
from kerasmnist.runs.rundir import read_run, run_state
from kerasmnist.runs.spec import RunSpec
from tests.helpers import write_search_run

EPOCHS = {
    "0": [{"loss": 0.9, "val_accuracy": 0.80, "val_loss": 0.50},
          {"loss": 0.7, "val_accuracy": 0.90, "val_loss": 0.45},
          {"loss": 0.6, "val_accuracy": 0.85, "val_loss": 0.30}],
    "1": [{"loss": 1.2, "val_accuracy": 0.70, "val_loss": 0.60},
          {"loss": 1.0, "val_accuracy": 0.75, "val_loss": 0.55}],
}


def empty_run(run_dir):
    """A run directory with a spec and no event yet."""
    run_dir.mkdir(parents=True)
    (run_dir / "spec.toml").write_text(RunSpec(search="random").to_toml())
    return run_dir


@pytest.fixture
def run_dir(tmp_path):
    return write_search_run(tmp_path / "run", [
        ("0", "COMPLETED", 0.90, 6370, {"units": 8, "activation": "relu", "tuner/epochs": 3}),
        ("1", "COMPLETED", 0.75, 12730, {"units": 16, "dropout": 0.25}),
    ], epochs=EPOCHS)


def test_docstring_examples_run():
    result = doctest.testmod(export)
    assert result.failed == 0 and result.attempted > 0


def test_a_row_holds_each_metric_at_the_best_epoch_and_at_the_last(run_dir):
    rows = trial_rows(run_dir)
    assert [row["trial_id"] for row in rows] == ["0", "1"]
    row = rows[0]
    assert row["status"] == "COMPLETED" and row["score"] == 0.90 and row["best_epoch"] == 2
    assert (row["best_val_accuracy"], row["best_loss"], row["best_val_loss"]) == (0.90, 0.7, 0.45)
    assert (row["last_val_accuracy"], row["last_loss"], row["last_val_loss"]) == (0.85, 0.6, 0.30)
    assert (row["params"], row["epochs"], row["seconds"], row["cpu_seconds"]) == (6370, 3, 3.0, 3.0)


def test_columns_are_in_a_fixed_order_and_the_same_on_every_row(run_dir):
    rows = trial_rows(run_dir)
    assert list(rows[0]) == [
        "trial_id", "status", "score", "best_epoch",
        "best_loss", "best_val_loss", "best_val_accuracy",  # LOG_KEYS's order, not the log's
        "last_loss", "last_val_loss", "last_val_accuracy",
        "params", "epochs", "seconds", "cpu_seconds",
        "hp_units", "hp_activation", "hp_dropout"]  # keras-tuner's `tuner/epochs` left out
    assert all(list(row) == list(rows[0]) for row in rows)


def test_a_missing_hyperparameter_is_none(run_dir):
    first, second = trial_rows(run_dir)
    assert first["hp_dropout"] is None and second["hp_activation"] is None
    assert (first["hp_units"], second["hp_units"], second["hp_dropout"]) == (8, 16, 0.25)


def test_metrics_outside_log_keys_follow_them_in_the_order_met(tmp_path):
    run = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 10, {})], epochs={
        "0": [{"top5": 0.99, "val_accuracy": 0.9, "lr": 0.01}]})
    assert [key for key in trial_rows(run)[0] if key.startswith("best_")] == [
        "best_epoch", "best_val_accuracy", "best_top5", "best_lr"]


def test_a_val_loss_objective_picks_the_lowest_epoch_and_ranks_the_lowest_first(tmp_path):
    run = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.45, 10, {}),
                                              ("1", "COMPLETED", 0.30, 10, {})],
                           objective="val_loss", epochs=EPOCHS)
    rows = trial_rows(run)
    assert [row["trial_id"] for row in rows] == ["1", "0"]
    # trial 0's val_accuracy was best at epoch 2, its val_loss at epoch 3
    assert rows[1]["best_epoch"] == 3 and rows[1]["best_val_loss"] == 0.30
    assert rows[1]["best_val_accuracy"] == 0.85
    assert rows[0]["best_epoch"] == 2 and rows[0]["best_val_loss"] == 0.55


def test_of_equal_epochs_the_first_is_best(tmp_path):
    run = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 10, {})], epochs={
        "0": [{"val_accuracy": 0.8}, {"val_accuracy": 0.9}, {"val_accuracy": 0.9}]})
    assert trial_rows(run)[0]["best_epoch"] == 2


def test_pruned_running_and_failed_trials_have_rows(tmp_path):
    run = write_search_run(tmp_path / "run", [
        ("f", "FAILED", None, None, {"units": 64}),
        ("p", "PRUNED", 0.70, 100, {"units": 8}),
        ("r", "RUNNING", None, None, {"units": 32}),
        ("c", "COMPLETED", 0.60, 200, {"units": 16}),
    ], epochs={"p": [{"val_accuracy": 0.70}], "r": [{"val_accuracy": 0.5}, {"val_accuracy": 0.6}],
               "c": [{"val_accuracy": 0.60}]})
    rows = {row["trial_id"]: row for row in trial_rows(run)}
    assert list(rows) == ["c", "p", "r", "f"]  # completed, pruned, running, the rest
    assert [rows[t]["status"] for t in "cprf"] == ["COMPLETED", "PRUNED", "RUNNING", "FAILED"]
    assert rows["r"]["score"] is None and rows["r"]["epochs"] == 2 and rows["r"]["best_epoch"] == 2
    failed = rows["f"]
    assert failed["best_epoch"] is None and failed["best_val_accuracy"] is None
    assert failed["last_val_accuracy"] is None and failed["epochs"] == 0
    assert failed["seconds"] is None and failed["cpu_seconds"] is None and failed["hp_units"] == 64


def test_rows_of_a_state_equal_rows_of_its_directory(run_dir):
    assert trial_rows(run_state(run_dir)) == trial_rows(run_dir)


def test_a_run_without_trials_has_no_rows_and_its_tables_the_base_columns(tmp_path):
    assert trial_rows(empty_run(tmp_path / "run")) == []
    assert format_rows([], "csv") == ",".join(BASE_COLUMNS) + "\n"
    assert json.loads(format_rows([], "json")) == []
    assert format_rows([], "markdown").splitlines()[0].startswith("| trial_id")


def test_csv_reads_back_with_every_digit(run_dir):
    rows = trial_rows(run_dir)
    rows[0]["hp_units"] = 0.1 + 0.2  # 0.30000000000000004
    read = list(csv.DictReader(io.StringIO(format_rows(rows, "csv"))))
    assert list(read[0]) == list(rows[0]) and len(read) == 2
    assert float(read[0]["hp_units"]) == 0.1 + 0.2
    assert float(read[0]["best_val_accuracy"]) == 0.90 and read[0]["trial_id"] == "0"
    assert read[0]["hp_dropout"] == ""  # None


def test_json_reads_back_equal(run_dir):
    rows = trial_rows(run_dir)
    assert json.loads(format_rows(rows, "json")) == rows


def test_markdown_is_a_header_and_a_line_per_trial(run_dir):
    rows = trial_rows(run_dir)
    rows[1]["hp_activation"] = "a|b"
    lines = format_rows(rows, "markdown").splitlines()
    assert len(lines) == 2 + len(rows)
    assert lines[0].startswith("| trial_id") and "hp_units" in lines[0]
    assert set(lines[1]) <= {"|", "-", ":"}
    assert lines[2].startswith("| 0 ") and "0.9 " in lines[2] and "a\\|b" in lines[3]
    assert all(line.count("|") - line.count("\\|") == lines[0].count("|") for line in lines)


def test_an_unknown_format_is_refused():
    with pytest.raises(InvalidArgumentError, match="`fmt`.*'xlsx'"):
        format_rows([], "xlsx")


@pytest.mark.parametrize(("name", "fmt"), [("t.csv", "csv"), ("t.JSON", "json"), ("t.md", "markdown"),
                                           ("t.markdown", "markdown"), ("trials", "csv")])
def test_the_format_comes_from_the_suffix(name, fmt):
    assert format_for_path(name) == fmt


def test_an_unknown_suffix_is_refused():
    with pytest.raises(InvalidArgumentError, match="t.xlsx"):
        format_for_path("t.xlsx")


def test_write_rows_writes_the_format_of_the_suffix_or_the_one_given(run_dir, tmp_path):
    rows = trial_rows(run_dir)
    assert json.loads(write_rows(rows, tmp_path / "out" / "t.json").read_text()) == rows
    assert write_rows(rows, tmp_path / "t.txt", "markdown").read_text().startswith("| trial_id")
    with pytest.raises(InvalidArgumentError):
        write_rows(rows, tmp_path / "t.txt")
    assert not (tmp_path / "t.txt").read_text().startswith("trial_id")  # left as it was


def test_a_failed_write_leaves_the_target_and_no_temporary_file(run_dir, tmp_path, monkeypatch):
    target = tmp_path / "out" / "t.csv"
    target.parent.mkdir()
    target.write_text("old")

    def broken(self, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("pathlib.Path.write_text", broken)
    with pytest.raises(OSError, match="No space"):
        write_rows(trial_rows(run_dir), target)
    monkeypatch.undo()
    assert target.read_text() == "old" and [p.name for p in target.parent.iterdir()] == ["t.csv"]


def test_the_dataframe_has_the_rows_columns_and_types(run_dir):
    frame = trials_dataframe(run_dir)
    rows = trial_rows(run_dir)
    assert list(frame.columns) == list(rows[0]) and len(frame) == 2
    assert list(frame["trial_id"]) == ["0", "1"]
    assert frame["score"].dtype == "float64" and frame["best_val_accuracy"].dtype == "float64"
    assert str(frame["params"].dtype) == "Int64" and str(frame["epochs"].dtype) == "Int64"
    assert frame["hp_dropout"].isna().tolist() == [True, False]


def test_the_dataframe_keeps_counts_integer_where_a_trial_has_none(tmp_path):
    import pandas as pd

    run = write_search_run(tmp_path / "run", [("0", "COMPLETED", 0.9, 10, {}),
                                              ("1", "FAILED", None, None, {})],
                           epochs={"0": [{"val_accuracy": 0.9}]})
    frame = trials_dataframe(run)
    assert str(frame["best_epoch"].dtype) == "Int64" and frame["params"][1] is pd.NA
    assert list(trials_dataframe(empty_run(tmp_path / "empty")).columns) == list(BASE_COLUMNS)


def test_without_pandas_the_error_says_how_to_install_it(run_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` raises ImportError
    with pytest.raises(ImportError, match=r'pip install "kerasmnist\[pandas\]"'):
        trials_dataframe(run_dir)


def test_read_run_refuses_a_directory_without_a_run_and_a_damaged_run(tmp_path, run_dir):
    with pytest.raises(InvalidArgumentError, match="`run_dir`.*holding spec.toml"):
        read_run(tmp_path / "nothing")
    (run_dir / "events.jsonl").unlink()
    (run_dir / "events.jsonl").mkdir()
    with pytest.raises(RunError, match="damaged: events.jsonl: not a regular file"):
        trial_rows(run_dir)


# -- the command line -------------------------------------------------------------------


def test_cli_export_prints_csv_by_default(run_dir, capsys):
    assert main(["runs", "export", str(run_dir)]) == 0
    read = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [row["trial_id"] for row in read] == ["0", "1"] and read[0]["best_epoch"] == "2"


@pytest.mark.parametrize("fmt", ["json", "markdown"])
def test_cli_export_prints_the_format_asked_for(run_dir, capsys, fmt):
    assert main(["runs", "export", str(run_dir), "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert out == format_rows(trial_rows(run_dir), fmt)


@pytest.mark.parametrize(("name", "check"), [
    ("t.md", lambda text: text.startswith("| trial_id")),
    ("t.json", lambda text: json.loads(text)[0]["trial_id"] == "0"),
    ("t", lambda text: text.startswith("trial_id,status")),
])
def test_cli_export_to_a_file_takes_the_format_from_the_suffix(run_dir, tmp_path, capsys, name, check):
    target = tmp_path / name
    assert main(["runs", "export", str(run_dir), "-o", str(target)]) == 0
    assert check(target.read_text()) and capsys.readouterr().out == ""
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_cli_export_format_wins_over_the_suffix(run_dir, tmp_path):
    assert main(["runs", "export", str(run_dir), "-o", str(tmp_path / "t.xlsx"), "--format", "json"]) == 0
    assert json.loads((tmp_path / "t.xlsx").read_text())[1]["trial_id"] == "1"


def test_cli_export_refuses_an_unknown_suffix_with_2(run_dir, tmp_path, capsys):
    assert main(["runs", "export", str(run_dir), "-o", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "--output" in err and "t.xlsx" in err and ".csv, .json or .md" in err
    assert not (tmp_path / "t.xlsx").exists()


def test_cli_export_refuses_an_unknown_format_with_2(run_dir, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["runs", "export", str(run_dir), "--format", "xlsx"])
    assert exit_info.value.code == 2 and "--format" in capsys.readouterr().err


def test_cli_export_of_a_missing_run_exits_with_2_naming_it(tmp_path, capsys):
    assert main(["runs", "export", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err
    assert "`RUN`" in err and "nowhere" in err and "spec.toml" in err


def test_cli_export_of_a_damaged_run_exits_with_1_naming_the_file(run_dir, capsys):
    (run_dir / "results.json").write_text("{not json")
    assert main(["runs", "export", str(run_dir)]) == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and "results.json" in err and str(run_dir) in err


def test_cli_export_to_an_unwritable_place_exits_with_2(run_dir, tmp_path, capsys):
    (tmp_path / "file").write_text("")
    assert main(["runs", "export", str(run_dir), "-o", str(tmp_path / "file" / "t.csv")]) == 2
    assert "--output" in capsys.readouterr().err
