"""Tests of `kerasmnist budget` and `kerasmnist evaluate`, called through `main()`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import load_dataset
from kerasmnist.cli import main

keras = pytest.importorskip("keras")


@pytest.fixture(autouse=True)
def wide_plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide enough that no table is squeezed; no colour forced by the environment."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


@pytest.fixture(scope="module")
def saved_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny models trained for one epoch on 500 sample images, saved as .keras files.

    `flat` takes (784,) input, `image` takes (28, 28, 1) input, `uncompiled` was
    never compiled and `three_classes` gives 3 scores instead of 10.
    """
    from kerasmnist import presets

    directory = tmp_path_factory.mktemp("models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASMNIST_CACHE_DIR", str(directory / "cache"))
        ds = load_dataset("mnist_sample", validation=0)
    keras.utils.set_random_seed(0)
    paths = {}
    for name, preset, view in (("flat", "logistic_regression", "flat"),
                               ("image", "avgpool5_dense", "image")):
        x, y = ds.arrays("train", view=view)
        model = presets.build(preset, input_shape=x.shape[1:])
        model.fit(x[:500], y[:500], epochs=1, batch_size=100, verbose=0)
        paths[name] = directory / f"{name}.keras"
        model.save(paths[name])
    uncompiled = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    paths["uncompiled"] = directory / "uncompiled.keras"
    uncompiled.save(paths["uncompiled"])
    three = presets.build("logistic_regression", num_classes=3)
    paths["three_classes"] = directory / "three_classes.keras"
    three.save(paths["three_classes"])
    return paths


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    status, out, _ = run(capsys, *argv, "--json")
    return status, json.loads(out)


# --- budget --------------------------------------------------------------------

def test_budget_of_a_preset_prints_the_total_and_each_layer(capsys):
    status, out, _ = run(capsys, "budget", "logistic_regression")
    assert status == 0
    dense = next(line for line in out.splitlines() if "Dense" in line)
    assert [cell for cell in dense.split() if cell != "│"][1:] == ["Dense", "7,850", "0", "7,850"]
    assert "7,850 weights (7,850 trainable, 0 non-trainable)" in out
    assert "Within" not in out and "Over" not in out  # no budget given, no verdict
    assert "\x1b[" not in out


def test_budget_exits_0_within_and_1_over_the_budget(capsys):
    status, out, _ = run(capsys, "budget", "avgpool5_dense", "--max-params", "260")
    assert status == 0
    assert "Within the budget of 260 (0 to spare)" in out
    status, out, _ = run(capsys, "budget", "logistic_regression", "--max-params", "5000")
    assert status == 1
    assert "Over the budget of 5,000 by 2,850" in out


def test_budget_json_gives_the_counts_and_the_verdict(capsys):
    status, doc = run_json(capsys, "budget", "logistic_regression", "--max-params", "5000")
    assert status == 1
    assert doc["params"] == 7850 and doc["budget"] == 5000
    assert doc["within_budget"] is False and doc["over_by"] == 2850
    assert sum(layer["params"] for layer in doc["layers"]) == doc["params"]
    assert [layer["type"] for layer in doc["layers"] if layer["params"]] == ["Dense"]
    status, doc = run_json(capsys, "budget", "mlp_64_64")
    assert status == 0
    assert doc["params"] == 55_050 and doc["budget"] is None and doc["within_budget"] is None


def test_budget_builds_a_preset_for_the_chosen_data_set(capsys, toy_info):
    status, doc = run_json(capsys, "budget", "logistic_regression", "--dataset", "toy")
    assert status == 0
    assert doc["params"] == 784 * 3 + 3


def test_budget_of_a_saved_model_counts_its_weights(capsys, saved_models):
    status, doc = run_json(capsys, "budget", saved_models["image"], "--max-params", "1000")
    assert status == 0
    assert doc["kind"] == "saved model" and doc["params"] == 260 and doc["within_budget"]
    assert "AveragePooling2D" in [layer["type"] for layer in doc["layers"]]


def test_budget_trainable_only_leaves_out_non_trainable_weights(capsys, tmp_path):
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(4),
                              keras.layers.BatchNormalization(), keras.layers.Dense(10)])
    path = tmp_path / "bn.keras"
    model.save(path)
    _, every = run_json(capsys, "budget", path)
    _, trainable = run_json(capsys, "budget", path, "--trainable-only")
    assert every["non_trainable"] == 8
    assert every["params"] - trainable["params"] == 8
    assert every["params"] == model.count_params()


def test_budget_rejects_an_unknown_preset_with_exit_2(capsys):
    status, out, err = run(capsys, "budget", "mlp_9000")
    assert status == 2 and out == ""
    assert "`target`" in err and "'mlp_9000'" in err
    assert "'logistic_regression'" in err and "'lenet5'" in err
    status, doc = run_json(capsys, "budget", "missing/model.keras")
    assert status == 2 and doc["error_type"] == "InvalidArgumentError"
    assert "missing/model.keras" in doc["error"]


def test_budget_rejects_a_budget_below_one_with_exit_2(capsys):
    status, _, err = run(capsys, "budget", "logistic_regression", "--max-params", "0")
    assert status == 2
    assert "`max_params`" in err and "max_params=0" in err


# --- evaluate ------------------------------------------------------------------

def test_evaluate_prints_the_split_table_the_heatmap_and_top_mistakes(capsys, saved_models):
    status, out, _ = run(capsys, "evaluate", saved_models["flat"], "--dataset", "mnist_sample",
                         "--validation", "500")
    assert status == 0
    lines = out.splitlines()
    for split, examples in (("train", "4,500"), ("validation", "500"), ("test", "1,000")):
        row = next(line for line in lines if line.strip("│ ").startswith(split))
        assert examples in row.split()
    assert "Confusion matrix, test split" in out
    assert "Most frequent mistakes (true -> predicted):" in out
    mistakes = [re.fullmatch(r"  (\d) -> (\d): (\d+)", line) for line in lines]
    found = [(m[1], m[2], int(m[3])) for m in mistakes if m]
    assert 1 <= len(found) <= 5
    assert all(true != predicted for true, predicted, _ in found)
    assert [n for _, _, n in found] == sorted((n for _, _, n in found), reverse=True)
    assert "\x1b[" not in out


def test_evaluate_json_numbers_agree_with_each_other_and_with_keras(capsys, saved_models):
    status, doc = run_json(capsys, "evaluate", saved_models["flat"], "--dataset", "mnist_sample")
    assert status == 0
    assert list(doc["splits"]) == ["train", "validation", "test"]
    test = doc["splits"]["test"]
    assert test["examples"] == 1000
    assert test["error_rate"] == pytest.approx(100 * (1 - test["accuracy"]))
    matrix = np.array(doc["confusion"]["matrix"])
    assert doc["confusion"]["split"] == "test" and matrix.shape == (10, 10)
    assert matrix.sum() == 1000
    assert np.trace(matrix) / 1000 == pytest.approx(test["accuracy"], abs=1e-6)
    x, y = load_dataset("mnist_sample").arrays("test")
    expected = keras.saving.load_model(saved_models["flat"]).evaluate(x, y, verbose=0)
    assert test["loss"] == pytest.approx(expected[0], rel=1e-4)
    top = doc["confusion"]["top_confusions"]
    off_diagonal = matrix - np.diag(np.diag(matrix))
    assert top[0]["count"] == off_diagonal.max()
    assert all(matrix[int(t["true"]), int(t["predicted"])] == t["count"] for t in top)


def test_evaluate_feeds_image_models_the_image_view(capsys, saved_models):
    status, doc = run_json(capsys, "evaluate", saved_models["image"], "--dataset", "mnist_sample",
                           "--split", "test")
    assert status == 0
    assert list(doc["splits"]) == ["test"]
    assert doc["splits"]["test"]["examples"] == 1000
    assert np.array(doc["confusion"]["matrix"]).sum() == 1000


def test_evaluate_shows_the_confusion_of_the_chosen_split(capsys, saved_models):
    status, doc = run_json(capsys, "evaluate", saved_models["flat"], "--dataset", "mnist_sample",
                           "--validation", "300", "--split", "validation", "--split", "train")
    assert status == 0
    assert list(doc["splits"]) == ["validation", "train"]
    assert doc["confusion"]["split"] == "train"
    assert np.array(doc["confusion"]["matrix"]).sum() == 4700


def test_evaluate_rejects_an_empty_validation_split(capsys, saved_models):
    status, _, err = run(capsys, "evaluate", saved_models["flat"], "--dataset", "mnist_sample",
                         "--validation", "0", "--split", "validation")
    assert status == 2
    assert "`--split`" in err and "empty" in err


def test_evaluate_rejects_a_missing_model_file_with_exit_2(capsys, tmp_path):
    status, out, err = run(capsys, "evaluate", tmp_path / "nope.keras", "--dataset", "mnist_sample")
    assert status == 2 and out == ""
    assert "`model`" in err and "nope.keras" in err and "no such file" in err


def test_evaluate_rejects_a_file_that_is_not_a_model_with_exit_2(capsys, tmp_path):
    damaged = tmp_path / "damaged.keras"
    damaged.write_bytes(b"not a zip archive")
    status, _, err = run(capsys, "evaluate", damaged, "--dataset", "mnist_sample")
    assert status == 2
    assert "`model`" in err and "not a zip archive" in err
    text = tmp_path / "model.txt"
    text.write_text("hello")
    status, doc = run_json(capsys, "evaluate", text, "--dataset", "mnist_sample")
    assert status == 2 and "Keras could not load" in doc["error"]


def test_evaluate_rejects_an_uncompiled_model_with_exit_2(capsys, saved_models):
    status, _, err = run(capsys, "evaluate", saved_models["uncompiled"], "--dataset", "mnist_sample")
    assert status == 2
    assert "Expected a compiled model" in err and "uncompiled" in err


def test_evaluate_rejects_a_model_with_the_wrong_number_of_classes(capsys, saved_models):
    status, _, err = run(capsys, "evaluate", saved_models["three_classes"], "--dataset",
                         "mnist_sample")
    assert status == 2
    assert "10 class scores" in err and "(None, 3)" in err


def test_evaluate_rejects_an_unknown_data_set_and_needs_one(capsys, saved_models):
    status, _, err = run(capsys, "evaluate", saved_models["flat"], "--dataset", "cifar10")
    assert status == 2
    assert "'cifar10'" in err and "'mnist'" in err
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", str(saved_models["flat"])])
    assert exit_info.value.code == 2
    assert "--dataset" in capsys.readouterr().err


# --- TFLite files ----------------------------------------------------------------

@pytest.fixture(scope="module")
def tflite_files(saved_models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The image model (avgpool5_dense, (28, 28, 1) input) as float32 and int8 .tflite files."""
    from kerasmnist import tflite
    from kerasmnist.runs.checkpoints import load_model_file

    directory = tmp_path_factory.mktemp("tflite")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASMNIST_CACHE_DIR", str(directory / "cache"))
        ds = load_dataset("mnist_sample", validation=0)
    model = load_model_file(saved_models["image"])
    paths = {"float": directory / "image.tflite", "int8": directory / "image_int8.tflite"}
    tflite.export_model(model, paths["float"])
    tflite.export_model(model, paths["int8"], int8=True, calibration=tflite.calibration_images(ds, 200))
    return paths


def test_evaluate_of_a_tflite_file_prints_the_same_tables(capsys, tflite_files):
    status, out, _ = run(capsys, "evaluate", tflite_files["int8"], "--dataset", "mnist_sample",
                         "--validation", "500")
    assert status == 0
    rows = {line.split()[1]: line for line in out.splitlines() if line.startswith("│ ")}
    assert {"train", "validation", "test"} <= set(rows)
    assert "4,500" in rows["train"] and "1,000" in rows["test"]
    assert "Confusion matrix, test split" in out
    assert "Most frequent mistakes (true -> predicted):" in out


def test_evaluate_json_of_a_tflite_file_matches_its_keras_model(capsys, saved_models, tflite_files):
    argv = ("--dataset", "mnist_sample", "--split", "test")
    _, keras_doc = run_json(capsys, "evaluate", saved_models["image"], *argv)
    status, float_doc = run_json(capsys, "evaluate", tflite_files["float"], *argv)
    _, int8_doc = run_json(capsys, "evaluate", tflite_files["int8"], *argv)
    assert status == 0
    assert set(float_doc) == set(keras_doc) and float_doc["format"] == "tflite"
    assert keras_doc["format"] == "keras"
    ours, theirs = float_doc["splits"]["test"], keras_doc["splits"]["test"]
    assert ours["accuracy"] == pytest.approx(theirs["accuracy"], abs=1e-6)
    assert ours["loss"] == pytest.approx(theirs["loss"], abs=1e-4)  # cross-entropy of the logits
    assert float_doc["confusion"]["matrix"] == keras_doc["confusion"]["matrix"]
    assert int8_doc["splits"]["test"]["accuracy"] == pytest.approx(theirs["accuracy"], abs=0.03)
    assert sum(map(sum, int8_doc["confusion"]["matrix"])) == 1000


def test_evaluate_rejects_a_damaged_tflite_file_naming_it(capsys, tmp_path, tflite_files):
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"this is no flatbuffer")
    status, out, err = run(capsys, "evaluate", garbage, "--dataset", "mnist_sample")
    assert status == 2 and out == ""
    assert "`model`" in err and "garbage.tflite" in err and "TensorFlow Lite flatbuffer" in err
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(tflite_files["float"].read_bytes()[:200])
    status, doc = run_json(capsys, "evaluate", truncated, "--dataset", "mnist_sample")
    assert status == 2 and "truncated.tflite', which is damaged" in doc["error"]


def test_budget_max_bytes_of_a_tflite_file_holds_at_its_size_and_fails_one_byte_below(
        capsys, tflite_files):
    from kerasmnist.tflite import tflite_info

    path = tflite_files["int8"]
    size = path.stat().st_size
    status, out, _ = run(capsys, "budget", path, "--max-bytes", size)
    assert status == 0
    assert f"(TFLite file, int8): {size:,} bytes, " in out
    assert f"Within the byte budget of {size:,} (0 to spare)." in out
    status, out, _ = run(capsys, "budget", path, "--max-bytes", size - 1)
    assert status == 1 and f"Over the byte budget of {size - 1:,} by 1." in out
    status, doc = run_json(capsys, "budget", path, "--max-bytes", size - 1)
    assert status == 1 and doc["within_budget"] is False and doc["params"] is None
    assert doc["tflite"] == {"bytes": size, "weight_bytes": tflite_info(path).weight_bytes,
                             "int8": True, "max_bytes": size - 1, "within_budget": False,
                             "over_by": 1}
    status, doc = run_json(capsys, "budget", path)
    assert status == 0 and doc["within_budget"] is None and doc["tflite"]["bytes"] == size


@pytest.mark.parametrize("flag", [["--max-params", "10"], ["--trainable-only"], ["--int8"]])
def test_budget_of_a_tflite_file_refuses_keras_only_flags(capsys, tflite_files, flag):
    status, doc = run_json(capsys, "budget", tflite_files["float"], *flag)
    assert status == 2 and doc["field"] == flag[0][2:].replace("-", "_")
    assert "measured as it is" in doc["error"]


def test_budget_max_bytes_converts_a_keras_model_in_memory(capsys, saved_models):
    status, doc = run_json(capsys, "budget", saved_models["image"], "--max-bytes", "100",
                           "--max-params", "1000")
    assert status == 1  # within the parameter budget, over the byte budget
    assert doc["budget"] == 1000 and doc["over_by"] == 0 and doc["within_budget"] is False
    float_sizes = doc["tflite"]
    assert float_sizes["int8"] is False and float_sizes["over_by"] == float_sizes["bytes"] - 100
    status, doc = run_json(capsys, "budget", saved_models["image"], "--max-bytes", "100000",
                           "--int8", "--dataset", "mnist_sample")
    assert status == 0 and doc["within_budget"] is True and doc["budget"] is None
    assert doc["tflite"]["int8"] is True
    assert doc["tflite"]["weight_bytes"] < float_sizes["weight_bytes"] / 3
    status, out, _ = run(capsys, "budget", "avgpool5_dense", "--int8", "--dataset", "mnist_sample")
    assert status == 0 and "As a TFLite flatbuffer (int8): " in out and "byte budget" not in out


def test_budget_rejects_a_byte_budget_below_one_with_exit_2(capsys):
    status, _, err = run(capsys, "budget", "logistic_regression", "--max-bytes", "0")
    assert status == 2 and "max_bytes=0" in err
