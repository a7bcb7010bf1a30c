"""Usage mistakes: each ends with exit status 2 and one line naming the argument, never a traceback.

Every mistake is tried twice through the command line in this process: with
`--json`, which must give one JSON document (`kerasmnist.errors.error_details`)
on standard output, and without, which must give exactly one line on standard
error. Either way nothing is left behind in the working directory, and the run
itself is never reached: `_execute`, which loads Keras and starts the engine,
fails the test if it is called.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kerasmnist.cli import main
from kerasmnist.cli import runs as cli_runs
from kerasmnist.errors import InvalidArgumentError

Argv = Callable[[Path], list[str]]


def _file(path: Path, content: str | bytes) -> str:
    """Writes `content` to `path`; returns the path as an argument."""
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _run_dir(path: Path, spec: str) -> str:
    """A run directory holding only a hand-written `spec.toml`."""
    path.mkdir()
    _file(path / "spec.toml", spec)
    return str(path)


# name: (argv in a working directory, the JSON document's `field`, words the message must hold)
MISTAKES: dict[str, tuple[Argv, str, tuple[str, ...]]] = {
    "config_not_utf8": (lambda d: ["train", "--config", _file(d / "a.toml", b'model = "\xff"\n')],
                        "config", ("--config", "UTF-8", "a.toml")),
    "config_not_toml": (lambda d: ["train", "--config", _file(d / "a.toml", "epochs = \n")],
                        "config", ("--config", "TOML", "a.toml")),
    "config_missing": (lambda d: ["train", "--config", str(d / "missing.toml")],
                       "config", ("--config", "missing.toml")),
    "config_a_directory": (lambda d: ["train", "--config", str(d)], "config", ("--config",)),
    "config_bad_override": (
        lambda d: ["train", "--config", _file(d / "a.toml", "[overrides]\ndropout = 2.0\n")],
        "overrides", ("overrides.dropout", "2.0", "a.toml")),
    "seed_too_big": (lambda d: ["train", "--seed", "99999999999"],
                     "seed", ("`seed`", "4294967295", "99999999999")),
    "seed_of_the_last_replicate_too_big": (
        lambda d: ["train", "--seed", "4294967295", "--replicates", "2"], "seed", ("`seed`", "4294967295")),
    "seed_not_an_integer": (lambda d: ["train", "--seed", "abc"], "seed", ("--seed", "'abc'")),
    "epochs_not_an_integer": (lambda d: ["train", "--epochs", "many"], "epochs", ("--epochs", "'many'")),
    "trials_not_an_integer": (lambda d: ["search", "--trials", "x"], "trials", ("--trials", "'x'")),
    "search_unknown": (lambda d: ["search", "--search", "evolution"], "search", ("--search", "'evolution'")),
    "prune_unknown": (lambda d: ["search", "--prune", "asha"], "prune", ("--prune", "'asha'")),
    "prune_with_hyperband": (lambda d: ["search", "--search", "hyperband", "--prune", "median"],
                             "prune", ("`prune`", "Hyperband", "'median'")),
    "prune_factor_below_two": (lambda d: ["search", "--prune", "halving", "--prune-factor", "1"],
                               "prune_factor", ("`prune_factor`", ">= 2", "1")),
    "activation_unknown": (lambda d: ["train", "--set", "activation=bogus"],
                           "overrides", ("activation", "'relu'", "'bogus'")),
    "units_negative": (lambda d: ["train", "--set", "units=-5"], "overrides", ("units", "-5")),
    "dropout_above_one": (lambda d: ["train", "--set", "dropout=2.0"], "overrides", ("dropout", "2.0")),
    "learning_rate_negative": (lambda d: ["train", "--set", "learning_rate=-1"],
                               "overrides", ("learning_rate", "-1")),
    "num_layers_huge": (lambda d: ["train", "--set", "num_layers=100000"],
                        "overrides", ("num_layers", "100000", "5")),
    "optimizer_unknown": (lambda d: ["train", "--set", "optimizer=bogus"],
                          "overrides", ("optimizer", "'adam'", "'sgd'", "'rmsprop'", "'bogus'")),
    "range_beyond_the_limits": (lambda d: ["search", "--set", "dropout=0.1..0.95"],
                                "overrides", ("dropout", "0.95")),
    "list_with_a_bad_value": (lambda d: ["search", "--set", "units=[64, -1]"], "overrides", ("units", "-1")),
    "override_unknown": (lambda d: ["train", "--set", "wings=2"], "overrides", ("wings",)),
    "layer_index_unknown": (lambda d: ["train", "--set", "units_999=64"], "overrides", ("units_999",)),
    "layer_index_beyond_the_most_layers": (lambda d: ["train", "--set", "units_5=64"],
                                           "overrides", ("units_5", "num_layers")),
    "layer_index_beyond_the_fixed_layers": (
        lambda d: ["train", "--set", "num_layers=2", "--set", "units_2=64"], "overrides", ("units_2",)),
    "cnn_filters_zero": (lambda d: ["train", "--model", "cnn", "--set", "filters=0"],
                         "overrides", ("filters", "0")),
    "run_dir_is_a_file": (lambda d: ["train", "--run-dir", _file(d / "taken", "")],
                          "run_dir", ("--run-dir", "taken")),
    "run_dir_cannot_be_made": (lambda d: ["train", "--run-dir", str(Path(_file(d / "taken", "")) / "run")],
                               "run_dir", ("--run-dir", "taken")),
    "runs_dir_is_a_file": (lambda d: ["train", "--runs-dir", _file(d / "taken", "")],
                           "runs_dir", ("--runs-dir", "taken")),
    "workers_zero": (lambda d: ["search", "--workers", "0"], "workers", ("--workers", "0")),
    "run_dir_holding_another_run": (
        lambda d: ["train", "--epochs", "3", "--run-dir", _run_dir(d / "old", 'model = "mlp"\nepochs = 2\n')],
        "run_dir", ("--run-dir", "old", "epochs", "kerasmnist resume")),
    "resume_a_spec_with_a_bad_override": (
        lambda d: ["resume", _run_dir(d / "old", 'model = "mlp"\n[overrides]\ndropout = 2.0\n')],
        "overrides", ("overrides.dropout", "2.0")),
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, where the run is never started."""
    def started(*args: object, **kwargs: object) -> int:
        raise AssertionError("the run started: the mistake was not caught before it")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli_runs, "_execute", started)
    return tmp_path


def _invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int | str | None, str, str]:
    """Runs the command line in this process: exit status, standard output, standard error."""
    try:
        status: int | str | None = main(argv)
    except SystemExit as exit_:  # argparse's own errors leave by SystemExit
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def _contents(directory: Path) -> set[Path]:
    return set(directory.rglob("*"))


@pytest.mark.parametrize("json_output", [False, True], ids=["text", "json"])
@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_usage_mistake_exits_2_naming_the_argument_and_leaves_nothing(workdir, capsys, name, json_output):
    make_argv, field, words = MISTAKES[name]
    argv = make_argv(workdir)
    before = _contents(workdir)
    status, out, err = _invoke([*argv, *(["--json"] if json_output else [])], capsys)
    assert status == 2, (out, err)
    if json_output:
        document = json.loads(out)
        assert document["field"] == field and document["error_type"]
        message = document["error"]
        assert document["detail"]
    else:
        assert out == ""
        assert len(err.splitlines()) == 1, err
        message = err
    for word in words:
        assert word in message, (word, message)
    assert _contents(workdir) == before  # no run directory, no runs directory


def test_a_huge_layer_count_is_refused_at_once_without_loading_keras(tmp_path):
    code = ("import sys, time; from kerasmnist.cli import main; start = time.monotonic(); "
            "status = main(['train', '--set', 'num_layers=100000', '--json']); "
            "print(status, round(time.monotonic() - start, 1), "
            "sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    status, seconds, heavy = done.stdout.strip().splitlines()[-1].split(" ", 2)
    assert (status, heavy) == ("2", "[]"), done.stdout + done.stderr
    assert float(seconds) < 5
    assert list(tmp_path.iterdir()) == []


def test_overrides_in_a_spec_are_checked_in_this_process_without_keras():
    code = ("import sys; from kerasmnist.runs.spec import RunSpec, SpecError\n"
            "try:\n    RunSpec(model='cnn', overrides={'pooling': 'median'})\n"
            "except SpecError as error:\n    print(error.field)\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["overrides.pooling", "[]"], done.stderr


def test_a_usage_mistake_is_quick_in_process(workdir, capsys):
    start = time.monotonic()
    status, _, _ = _invoke(["train", "--set", "num_layers=100000"], capsys)
    assert status == 2 and time.monotonic() - start < 5


def test_an_unknown_optimizer_is_refused_where_it_becomes_a_keras_optimizer():
    import keras_tuner as kt

    from kerasmnist.hypermodels import MLPHyperModel

    hp = kt.HyperParameters()
    hp.Fixed("optimizer", "bogus")  # a tuner's own fixed value, past the overrides' check
    with pytest.raises(InvalidArgumentError, match=r"'adam', 'sgd', 'rmsprop'.*'bogus'"):
        MLPHyperModel(overrides={"num_layers": 1, "units": 32}).build(hp)


def test_the_library_refuses_the_run_directories_the_command_line_does(tmp_path):
    from kerasmnist.runs import RunSpec, prepare_run_dir

    taken = Path(_file(tmp_path / "taken", ""))
    for path, found in ((taken, "which is a file"), (taken / "run", "a file")):
        with pytest.raises(InvalidArgumentError, match="`run_dir`") as raised:
            prepare_run_dir(RunSpec(), path)
        assert found in str(raised.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]
