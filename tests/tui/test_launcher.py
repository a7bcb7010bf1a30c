"""The launcher: runs start as `python -m kerasmnist.cli`, the command line's own code path."""

from __future__ import annotations

import datetime
import os
import sys
import time

import pytest
from kerasmnist_tui.launcher import Launcher, cli_args, new_run_dir, resume_args

from kerasmnist.cli import build_parser
from kerasmnist.cli.runs import spec_from_args
from kerasmnist.runs.spec import RunSpec
from tests.tui.conftest import SLEEPER, fake_python, usage_error


@pytest.mark.parametrize("fields", [
    {},
    {"search": "random", "trials": 3, "epochs": 2, "limit": 500},
    {"dataset": "fashion_mnist_sample", "model": "cnn", "search": "hyperband", "validation": 500,
     "max_params": 20_000, "seed": 7, "full_eval": False},
    {"model": "logistic_regression", "epochs": 1, "validation": 0.25},
    {"search": "bayesian", "overrides": {"units_0": [64, 128], "learning_rate": (1e-4, 1e-2),
                                         "activation": "relu", "batch_norm": True}},
])
def test_cli_args_give_back_the_same_spec_through_the_commands_parser(fields):
    spec = RunSpec(**fields)
    args = build_parser().parse_args(cli_args(spec, "runs/x"))
    assert spec_from_args(args) == spec
    assert args.run_dir == "runs/x" and args.quiet and args.json


def test_plain_training_uses_train_and_a_search_uses_search():
    assert cli_args(RunSpec(), "d")[0] == "train"
    assert "--trials" not in cli_args(RunSpec(trials=3), "d")
    assert cli_args(RunSpec(search="grid", trials=3), "d")[:3] == ["search", "--search", "grid"]
    assert resume_args("d") == ["resume", "d", "--quiet", "--json"]


def test_new_run_dirs_are_named_like_the_commands_and_never_reused(tmp_path):
    spec = RunSpec(search="random")
    when = datetime.datetime(2026, 1, 2, 3, 4, 5)
    first = new_run_dir(tmp_path, spec, when)
    assert first.name == "20260102-030405-mnist_sample-mlp-random"
    first.mkdir()
    assert new_run_dir(tmp_path, spec, when).name == first.name + "-2"


@pytest.mark.skipif(os.name != "posix", reason="an executable script stands in for python")
def test_a_usage_error_is_read_back_with_the_field_it_names(tmp_path):
    python = fake_python(tmp_path, usage_error("Invalid run spec: field `epochs`: expected an integer >= 1, "
                                               "found 0"))
    launcher = Launcher(python)
    run = launcher.launch(RunSpec(), tmp_path / "run")
    run.process.wait(10)
    assert run.returncode == 2
    assert run.error_field() == "epochs"
    assert "expected an integer >= 1" in run.error()
    launcher.close()
    assert launcher.runs == []


@pytest.mark.skipif(os.name != "posix", reason="signals and an executable script")
def test_stop_sends_sigint_once_and_a_crash_reports_its_stderr(tmp_path):
    launcher = Launcher(fake_python(tmp_path, SLEEPER))
    run = launcher.launch(RunSpec(), tmp_path / "run")
    time.sleep(0.5)  # for it to set its handler
    assert launcher.active() == [run]
    assert run.stop() and not run.stop()
    assert run.process.wait(10) == 130 and run.error() is None
    crash = Launcher(fake_python(tmp_path, "import sys\nsys.exit('Traceback ...\\nBoom: it broke')"))
    crashed = crash.resume(tmp_path / "run")
    crashed.process.wait(10)
    assert crashed.error().endswith("Boom: it broke") and crashed.error_field() is None
    assert crashed.args[0] == "resume"
    for each in (launcher, crash):
        each.close()


def test_the_launcher_uses_this_interpreter_by_default():
    assert Launcher().python == sys.executable
