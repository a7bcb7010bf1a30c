"""Tests of `kerasmnist.backend`: quieting TensorFlow and loading Keras for the front ends."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import warnings

import pytest

from kerasmnist.backend import quiet_backend


@pytest.fixture
def clean_log_settings(monkeypatch):
    """Leaves the environment, the TensorFlow logger and the warning filters as they were."""
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    logger = logging.getLogger("tensorflow")
    level = logger.level
    with warnings.catch_warnings():
        yield logger
    logger.setLevel(level)


def test_quiet_backend_silences_tensorflow_and_the_skipped_optimizer_warning(clean_log_settings):
    quiet_backend()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    assert clean_log_settings.level == logging.ERROR
    with warnings.catch_warnings(record=True) as caught:
        warnings.warn("Skipping variable loading for optimizer 'adam'", UserWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["something else"]


def test_quiet_backend_keeps_a_level_the_user_chose(clean_log_settings, monkeypatch):
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "1")
    quiet_backend()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "1"


def test_quiet_backend_verbose_changes_nothing(clean_log_settings):
    clean_log_settings.setLevel(logging.INFO)
    quiet_backend(verbose=True)
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    assert clean_log_settings.level == logging.INFO


def _fresh_interpreter(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "0"  # the most TensorFlow would say, were stderr not hidden
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=300)


def test_importing_the_module_loads_no_keras():
    out = _fresh_interpreter("import sys, kerasmnist.backend, kerasmnist._lazy; "
                             "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_load_backend_hides_tensorflow_start_up_lines_and_gives_standard_error_back():
    code = ("import json, sys\n"
            "from kerasmnist.backend import load_backend\n"
            "load_backend()\n"
            "import keras\n"
            "print('after', file=sys.stderr)\n"
            "print(json.dumps({'keras': 'keras' in sys.modules, 'backend': keras.backend.backend()}))\n")
    out = _fresh_interpreter(code)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["keras"] is True
    assert out.stderr.strip() == "after"
