"""Every exception class lives in `kerasmnist.errors`, subclasses a built-in, and reads as data."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys

import kerasmnist_tui
import pytest

import kerasmnist
import kerasmnist.errors as errors


def _modules(package):
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.endswith("__main__"):
            yield importlib.import_module(info.name)


def test_no_exception_class_is_defined_outside_the_errors_module():
    outside = []
    for package in (kerasmnist, kerasmnist_tui):
        for module in _modules(package):
            for name, value in vars(module).items():
                # Control-flow signals (BaseException, not Exception) are no errors; the
                # search's `MoreTrials` and `TimeUp` are such.
                if (inspect.isclass(value) and issubclass(value, Exception)
                        and value.__module__ == module.__name__ and module is not errors):
                    outside.append(f"{module.__name__}.{name}")
    assert outside == []


@pytest.mark.parametrize("name", errors.__all__)
def test_every_public_error_subclasses_the_package_base_and_a_builtin(name):
    value = getattr(errors, name)
    if not inspect.isclass(value):
        return
    assert issubclass(value, errors.KerasMnistError)
    builtins = {ValueError, RuntimeError, OSError, FileNotFoundError}
    assert any(issubclass(value, b) for b in builtins) or name == "KerasMnistError"


def test_importing_the_errors_does_not_load_tensorflow_until_a_tuner_error_is_asked_for():
    code = ("import sys, kerasmnist.errors as e; a = 'tensorflow' in sys.modules; "
            "e.TrialFailed; print(a, 'keras_tuner' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_error_details_give_the_field_of_a_spec_error_as_data():
    details = errors.error_details(errors.SpecError("overrides.units", "expected a list, found 3"))
    assert details == {"error": "Invalid run spec: field `overrides.units`: expected a list, found 3",
                       "error_type": "SpecError", "field": "overrides", "detail": "expected a list, found 3"}
    assert errors.error_details(errors.RunError("no trial"))["field"] is None
