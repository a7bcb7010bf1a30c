"""Tests of `kerasmnist export`, called through `main()`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import load_dataset
from kerasmnist.cli import main
from kerasmnist.runs import RunSpec

keras = pytest.importorskip("keras")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """avgpool5_dense trained for one epoch on the sample, saved as a .keras file and as the
    best model of a run directory on mnist_sample."""
    from kerasmnist import presets

    directory = tmp_path_factory.mktemp("export")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASMNIST_CACHE_DIR", str(directory / "cache"))
        ds = load_dataset("mnist_sample", validation=0)
    keras.utils.set_random_seed(0)
    x, y = ds.arrays("train")
    model = presets.build("avgpool5_dense", learning_rate=0.1)
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    model.save(directory / "model.keras")
    run_dir = directory / "run"
    run_dir.mkdir()
    (run_dir / "spec.toml").write_text(RunSpec(dataset="mnist_sample", model="tiny").to_toml())
    shutil.copy(directory / "model.keras", run_dir / "best_model.keras")
    return {"model": directory / "model.keras", "run": run_dir}


def run(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, dict]:
    status, out, _ = run(capsys, *argv, "--json")
    return status, json.loads(out)


def test_export_writes_a_float_tflite_file_and_says_what_it_wrote(capsys, saved, tmp_path):
    target = tmp_path / "model.tflite"
    status, out, _ = run(capsys, "export", saved["model"], "-o", target)
    assert status == 0
    size = target.stat().st_size
    assert f"Wrote {target} (tflite): {size:,} bytes, " in out and "of them weights." in out
    assert "Calibrated" not in out


def test_export_int8_calibrates_on_the_data_set_given_and_evaluates(capsys, saved, tmp_path):
    from kerasmnist.tflite import load_tflite

    target = tmp_path / "int8.tflite"
    status, doc = run_json(capsys, "export", saved["model"], "-o", target, "--int8",
                           "--dataset", "mnist_sample")
    assert status == 0
    assert (doc["format"], doc["int8"], doc["bytes"]) == ("tflite", True, target.stat().st_size)
    assert doc["calibration"] == {"dataset": "mnist_sample", "images": 500}
    assert doc["weight_bytes"] == load_tflite(target).info.weight_bytes
    assert load_tflite(target).quantized
    status, evaluated = run_json(capsys, "evaluate", target, "--dataset", "mnist_sample",
                                 "--split", "test")
    assert status == 0 and evaluated["format"] == "tflite"
    assert evaluated["splits"]["test"]["accuracy"] > 0.5


def test_export_of_a_run_directory_takes_its_best_model_and_data_set(capsys, saved, tmp_path):
    target = tmp_path / "run.tflite"
    status, doc = run_json(capsys, "export", saved["run"], "-o", target, "--int8")
    assert status == 0
    assert doc["model_file"] == str(saved["run"] / "best_model.keras")
    assert doc["calibration"]["dataset"] == "mnist_sample"


def test_export_writes_a_saved_model_that_serves_the_keras_scores(capsys, saved, tmp_path):
    import tensorflow as tf

    target = tmp_path / "saved"
    status, doc = run_json(capsys, "export", saved["model"], "-o", target, "--format", "saved_model")
    assert status == 0
    assert (doc["format"], doc["weight_bytes"], doc["calibration"]) == ("saved_model", None, None)
    x = np.random.default_rng(0).random((4, 784), dtype=np.float32)
    loaded = tf.saved_model.load(str(target))
    expected = keras.saving.load_model(saved["model"]).predict(x, verbose=0)
    np.testing.assert_allclose(loaded.serve(x).numpy(), expected, atol=1e-5)


@pytest.mark.parametrize(("extra", "field", "match"), [
    (["--int8"], "dataset", "Expected the data set whose training images calibrate --int8"),
    (["--int8", "--dataset", "mnist_sample", "--format", "saved_model"], None,
     "int8=True with format='saved_model'"),
])
def test_export_refuses_int8_without_images_or_for_a_saved_model(capsys, saved, tmp_path, extra, field,
                                                                 match):
    name = "saved" if "saved_model" in extra else "m.tflite"
    status, doc = run_json(capsys, "export", saved["model"], "-o", tmp_path / name, *extra)
    assert status == 2 and doc["field"] == field and match in doc["error"]
    assert list(tmp_path.iterdir()) == []


def test_export_needs_a_format_unless_the_output_ends_in_tflite(capsys, saved, tmp_path):
    status, _, err = run(capsys, "export", saved["model"], "-o", tmp_path / "model")
    assert status == 2
    assert "Received: format=None for output=" in err and "ending in .tflite" in err
    assert list(tmp_path.iterdir()) == []


def test_export_rejects_missing_models_and_runs_without_one(capsys, saved, tmp_path):
    status, _, err = run(capsys, "export", tmp_path / "missing.keras", "-o", tmp_path / "m.tflite")
    assert status == 2 and "missing.keras' (no such file)" in err
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    shutil.copy(saved["run"] / "spec.toml", unfinished / "spec.toml")
    status, _, err = run(capsys, "export", unfinished, "-o", tmp_path / "m.tflite")
    assert status == 2 and "best_model.keras" in err and "has none yet" in err
    status, _, err = run(capsys, "export", tmp_path, "-o", tmp_path / "m.tflite")
    assert status == 2 and "a directory without spec.toml" in err
    assert not (tmp_path / "m.tflite").exists()


def test_export_to_a_place_that_cannot_be_written_fails_with_exit_2(capsys, saved, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("in the way")
    status, _, err = run(capsys, "export", saved["model"], "-o", blocker / "m.tflite")
    assert status == 2
    assert "Invalid value for argument `output`" in err and "which cannot be written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
