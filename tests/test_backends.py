"""The models and callbacks on a second Keras backend: a JAX smoke test where JAX is installed."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = """
import keras_tuner as kt, numpy as np
import keras
from kerasmnist import build_hypermodel, presets
from kerasmnist.budget import check_budget

assert keras.backend.backend() == "jax", keras.backend.backend()
x = np.random.default_rng(0).random((32, 784), dtype=np.float32)
y = np.arange(32) % 10
for kind in ("mlp", "cnn", "tiny"):
    hm = build_hypermodel(kind, max_params=10**6)
    hp = kt.HyperParameters()
    model = hm.build(hp)
    history = hm.fit(hp, model, x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0]), kind
for name, expected in (("lenet5", 61706), ("conv2_maxpool9", 142), ("mlp_500_300", 545810)):
    model = presets.build(name)
    assert check_budget(model, expected).params == expected, name
    model.fit(x, y, epochs=1, verbose=0)

from kerasmnist import FullEvalMetrics
model = presets.build("mlp_64_64")
full_eval = FullEvalMetrics({"train": (x, y)}, confusion="train")
history = model.fit(x, y, epochs=3, verbose=0, callbacks=[full_eval])
assert full_eval._fast is True
loss, accuracy = model.evaluate(x, y, verbose=0)
assert abs(history.history["train_loss"][-1] - loss) < 1e-5 * max(1.0, loss), (history.history, loss)
assert full_eval.confusion_matrix.sum() == 32
print("jax ok")
"""


# The test extra installs JAX, so CI (CI=true) runs this test; a missing JAX fails there.
@pytest.mark.skipif(importlib.util.find_spec("jax") is None and not os.environ.get("CI"),
                    reason="JAX is not installed: the JAX backend smoke test needs it "
                           "(pip install -e '.[test]')")
def test_hypermodels_presets_budget_and_full_eval_run_on_jax():
    env = dict(os.environ, KERAS_BACKEND="jax")
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run([sys.executable, "-c", SCRIPT], env=env, cwd=root,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("jax ok")
