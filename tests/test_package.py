"""Tests of the package surface: imports, exports, docstring examples."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys

import pytest

import kerasmnist
from kerasmnist import datasets

MODULES = [
    "kerasmnist.idx", "kerasmnist.splits", "kerasmnist.datasets", "kerasmnist.filecache",
    "kerasmnist.budget", "kerasmnist.presets", "kerasmnist.hypermodels",
    "kerasmnist.hypermodels.base", "kerasmnist.hypermodels.mlp", "kerasmnist.hypermodels.cnn",
    "kerasmnist.hypermodels.tiny", "kerasmnist.evaluation", "kerasmnist.events",
    "kerasmnist.callbacks.full_eval", "kerasmnist.callbacks.event_logger",
    "kerasmnist.callbacks.epoch_checkpoint", "kerasmnist.recipes",
    "kerasmnist.losses", "kerasmnist.layers", "kerasmnist.backend", "kerasmnist._lazy",
    "kerasmnist.hypermodels.space", "kerasmnist._enum", "kerasmnist.errors", "kerasmnist.runs.spec",
    "kerasmnist.runs.prepare", "kerasmnist.runs.trials", "kerasmnist.tflite",
]


def test_import_stays_light_without_keras_tensorflow_or_textual():
    code = ("import sys, kerasmnist; kerasmnist.load_dataset('mnist_sample'); "
            "print(sorted(m for m in ('keras', 'tensorflow', 'textual', 'keras_tuner') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_exported_name_exists_and_is_documented():
    for name in kerasmnist.__all__:
        obj = getattr(kerasmnist, name)
        if name != "__version__":
            assert obj.__doc__, name


def test_model_components_load_lazily_from_the_top_level():
    code = ("import sys, kerasmnist; assert 'keras' not in sys.modules; "
            "kerasmnist.build_hypermodel; kerasmnist.presets.names(); print('keras' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    assert {"build_hypermodel", "presets", "count_params"} <= set(dir(kerasmnist))
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        kerasmnist.nonexistent  # noqa: B018


def test_run_engine_names_load_lazily_from_kerasmnist_runs():
    import kerasmnist.runs as runs

    with pytest.raises(AttributeError, match="module 'kerasmnist.runs' has no attribute 'nonexistent'"):
        runs.nonexistent  # noqa: B018
    from kerasmnist.runs import engine

    assert runs.run is engine.run and vars(runs)["run"] is engine.run  # kept after the first use


def test_errors_subclass_the_builtins_callers_catch():
    assert issubclass(kerasmnist.IdxFormatError, ValueError)
    assert issubclass(kerasmnist.DatasetNotFoundError, FileNotFoundError)
    assert issubclass(kerasmnist.ChecksumError, ValueError)
    assert issubclass(kerasmnist.InvalidArgumentError, ValueError)
    assert issubclass(kerasmnist.DownloadError, OSError)
    assert issubclass(kerasmnist.ParamBudgetExceeded, ValueError)


@pytest.mark.parametrize("module_name", MODULES)
def test_docstring_examples_run(module_name, monkeypatch):
    monkeypatch.setattr(datasets, "_REGISTRY", dict(datasets._REGISTRY))  # examples may register
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
    assert result.attempted > 0
