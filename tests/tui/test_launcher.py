"""The launcher: the library prepares a run directory, `kerasmnist resume DIR` runs it."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from kerasmnist_tui.launcher import Launcher, resume_args

from kerasmnist.errors import SpecError, error_details
from kerasmnist.runs.spec import RunSpec
from tests.tui.conftest import SLEEPER, fake_python, usage_error, wait_ready

posix_only = pytest.mark.skipif(os.name != "posix", reason="signals and an executable script")


@posix_only
def test_launch_writes_the_resolved_spec_through_the_library_and_runs_resume(runs_dir, tmp_path,
                                                                             stop_launches):
    launcher = Launcher(fake_python(tmp_path, SLEEPER))
    stop_launches.append(launcher)
    spec = RunSpec(model="mnist_cnn", limit=500)
    run = launcher.launch(spec, runs_dir / "a")
    assert RunSpec.from_toml(runs_dir / "a" / "spec.toml") == spec.resolved() != spec
    assert run.args == resume_args((runs_dir / "a").absolute()) == [
        "resume", str((runs_dir / "a").absolute()), "--quiet", "--json"]
    assert run.command == f"kerasmnist resume {runs_dir / 'a'}"
    assert launcher.get(runs_dir / "a") is run


@posix_only
def test_a_usage_error_is_read_back_as_data_with_the_field_it_names(tmp_path):
    detail = "Invalid override `nonsense`. Expected one of ['units', ...]. Received: nonsense=1"
    launcher = Launcher(fake_python(tmp_path, usage_error("overrides.nonsense", detail)))
    run = launcher.resume(tmp_path / "run")
    run.process.wait(10)
    assert run.returncode == 2
    expected = error_details(SpecError("overrides.nonsense", detail, source="runs/x/spec.toml"))
    assert run.error_details() == expected
    assert expected["field"] == "overrides" and expected["error_type"] == "SpecError"
    assert run.error() == expected["error"]
    launcher.close()
    assert launcher.runs == []


@posix_only
def test_stop_sends_sigint_once_and_a_crash_reports_its_stderr(tmp_path):
    launcher = Launcher(fake_python(tmp_path, SLEEPER))
    run = launcher.resume(tmp_path / "run")
    wait_ready(run)
    assert launcher.active() == [run]
    assert run.stop() and not run.stop()
    assert run.process.wait(10) == 130
    assert run.error() is None and run.error_details() is None
    crash = Launcher(fake_python(tmp_path, "import sys\nsys.exit('Traceback ...\\nBoom: it broke')"))
    crashed = crash.resume(tmp_path / "run")
    crashed.process.wait(10)
    assert crashed.error().endswith("Boom: it broke")
    assert crashed.error_details()["field"] is None and crashed.error_details()["error_type"] is None
    assert crashed.args[0] == "resume"
    for each in (launcher, crash):
        each.close()


def test_the_launcher_uses_this_interpreter_by_default():
    assert Launcher().python == sys.executable


LAUNCH_SCRIPT = """
import json, sys
from kerasmnist_tui.launcher import Launcher
from kerasmnist.runs.prepare import new_run_dir
from kerasmnist.runs.spec import check_spec
spec, errors = check_spec({"model": "cnn", "search": "random", "overrides": {"filters_0": 32}},
                          check_overrides=False)
run = Launcher(sys.argv[2]).launch(spec, new_run_dir(sys.argv[1], spec))
run.process.wait(10)
print(json.dumps(sorted(m for m in ("keras", "tensorflow", "keras_tuner") if m in sys.modules)))
"""


@posix_only
def test_preparing_and_launching_a_run_with_overrides_loads_no_keras(runs_dir, tmp_path):
    out = subprocess.run([sys.executable, "-c", LAUNCH_SCRIPT, str(runs_dir), fake_python(tmp_path, "")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split() == ["[]"]
    [run_dir] = runs_dir.iterdir()
    assert RunSpec.from_toml(run_dir / "spec.toml", check_overrides=False).overrides == {"filters_0": 32}
