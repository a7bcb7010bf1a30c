"""Tests of `kerasmnist.tflite`: conversion, export, the TFLite model and its sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kerasmnist import InvalidArgumentError, load_dataset
from kerasmnist.errors import ExportError
from kerasmnist.evaluation import evaluate_splits, find_mistakes

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from kerasmnist import presets, tflite  # noqa: E402  (after the skip: presets need Keras)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory):
    """The bundled sample: 4,500 training, 500 validation and 1,000 test images."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERASMNIST_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        return load_dataset("mnist_sample", validation=500)


@pytest.fixture(scope="module")
def trained(data):
    """avgpool5_dense (260 weights) trained for two epochs on the sample's 4,500 training images."""
    keras.utils.set_random_seed(0)
    model = presets.build("avgpool5_dense", learning_rate=0.1)  # about 80% after two epochs
    x, y = data.arrays("train")
    model.fit(x, y, epochs=2, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def flatbuffers(trained, data):
    """The trained model as float32 and as int8 flatbuffers, calibrated on 200 training images."""
    calibration = tflite.calibration_images(data, 200)
    return {"float": tflite.to_tflite(trained),
            "int8": tflite.to_tflite(trained, int8=True, calibration=calibration)}


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


# --- conversion ---------------------------------------------------------------

def test_float_tflite_predicts_what_the_keras_model_predicts(trained, data, flatbuffers):
    x, _ = data.arrays("test")
    model = tflite.TFLiteModel(flatbuffers["float"])
    assert not model.quantized and model.info.input_dtype == "float32"
    np.testing.assert_allclose(model.predict(x), trained.predict(x, verbose=0), atol=1e-4)


def test_int8_tflite_agrees_with_keras_and_keeps_its_accuracy(trained, data, flatbuffers):
    x, y = data.arrays("test")
    model = tflite.TFLiteModel(flatbuffers["int8"])
    assert model.quantized
    assert (model.info.input_dtype, model.info.output_dtype) == ("int8", "int8")
    quantized, reference = model.predict(x).argmax(axis=1), trained.predict(x, verbose=0).argmax(axis=1)
    keras_accuracy = float(np.mean(reference == y))
    assert keras_accuracy > 0.7  # trained: the comparison below means something
    assert np.mean(quantized == reference) >= 0.95
    assert abs(float(np.mean(quantized == y)) - keras_accuracy) <= 0.03


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated:UserWarning")
def test_int8_input_tensor_is_int8_with_a_scale_for_pixels_in_0_1(flatbuffers):
    interpreter = tf.lite.Interpreter(model_content=flatbuffers["int8"])
    details = interpreter.get_input_details()[0]
    assert details["dtype"] == np.int8
    scale, zero_point = details["quantization"]
    # [0, 1] spread over the 256 int8 values.
    assert scale == pytest.approx(1 / 255, rel=1e-3) and zero_point == -128


def test_weight_bytes_count_the_constants_at_their_width(flatbuffers):
    float_info = tflite.tflite_info(flatbuffers["float"])
    int8_info = tflite.tflite_info(flatbuffers["int8"])
    assert float_info.file_bytes == len(flatbuffers["float"])
    # 250 float32 kernel weights and 10 biases, and a few bytes of shape constants.
    assert 260 * 4 <= float_info.weight_bytes < 260 * 4 + 64
    # 250 int8 kernel weights and 10 int32 biases.
    assert 250 + 10 * 4 <= int8_info.weight_bytes < 250 + 10 * 4 + 64
    assert int8_info.weight_bytes < float_info.weight_bytes / 3
    assert int8_info.int8 and not float_info.int8


@pytest.mark.parametrize("name", ["tiny_150", "tiny_500", "tiny_2000"])
def test_tiny_presets_convert_with_their_reshape_shift_and_batch_norm(name, data):
    model = presets.build(name)
    if name == "tiny_2000":
        assert any(isinstance(layer, keras.layers.RandomTranslation) for layer in model.layers)
    x, _ = data.arrays("test")
    x = x[:64]
    float_model = tflite.TFLiteModel(tflite.to_tflite(model))
    np.testing.assert_allclose(float_model.predict(x), model.predict(x, verbose=0), atol=1e-4)
    int8 = tflite.to_tflite(model, int8=True, calibration=tflite.calibration_images(data, 50))
    int8_model = tflite.TFLiteModel(int8)
    assert int8_model.info.int8 and int8_model.predict(x).shape == (64, 10)


def test_int8_conversion_needs_finite_calibration_images_that_fit_the_model(trained):
    with pytest.raises(InvalidArgumentError, match="Received: calibration=None"):
        tflite.to_tflite(trained, int8=True)
    with pytest.raises(InvalidArgumentError, match="an empty array"):
        tflite.to_tflite(trained, int8=True, calibration=np.zeros((0, 784), "float32"))
    with pytest.raises(InvalidArgumentError, match="NaN or infinity"):
        tflite.to_tflite(trained, int8=True, calibration=np.full((4, 784), np.nan, "float32"))
    with pytest.raises(InvalidArgumentError, match=r"784 values each"):
        tflite.to_tflite(trained, int8=True, calibration=np.zeros((4, 100), "float32"))


def test_a_conversion_tensorflow_refuses_is_an_export_error(monkeypatch, trained):
    def refuse(*args, **kwargs):
        raise ValueError("no such backend")

    monkeypatch.setattr(type(trained), "export", refuse)
    with pytest.raises(ExportError, match="could not export the model 'avgpool5_dense'.*no such backend"):
        tflite.to_tflite(trained)


def test_calibration_images_come_from_the_training_split_only(data):
    train, _ = data.arrays("train", view="image")
    images = tflite.calibration_images(data, 100, seed=3)
    assert images.shape == (100, 28, 28, 1) and images.dtype == np.float32
    rows = {row.tobytes() for row in train}
    assert all(image.tobytes() in rows for image in images)
    assert np.array_equal(images, tflite.calibration_images(data, 100, seed=3))
    assert not np.array_equal(images, tflite.calibration_images(data, 100, seed=4))
    assert len(tflite.calibration_images(data, 10**6)) == len(train)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidArgumentError, match=rf"Received: count={bad!r}"):
            tflite.calibration_images(data, bad)


def test_calibration_images_of_a_name_are_those_of_the_whole_loaded_training_file():
    whole = load_dataset("mnist_sample", validation=0)
    images = tflite.calibration_images("mnist_sample", 100, seed=3)
    assert np.array_equal(images, tflite.calibration_images(whole, 100, seed=3))
    with pytest.raises(InvalidArgumentError, match=r"argument `dataset`.*Received: dataset='mnist_9000'"):
        tflite.calibration_images("mnist_9000")
    with pytest.raises(InvalidArgumentError, match=r"argument `count`"):
        tflite.calibration_images("mnist_9000", 0)  # the count is checked before the name


def test_calibration_images_of_a_name_load_from_data_dir(toy_info, tmp_path):
    source = tmp_path / "source"
    images = tflite.calibration_images("toy", 10, data_dir=source)
    whole = load_dataset("toy", data_dir=source, validation=0)
    assert np.array_equal(images, tflite.calibration_images(whole, 10))
    with pytest.raises(InvalidArgumentError, match=r"argument `data_dir`.*loaded data set 'toy'"):
        tflite.calibration_images(whole, 10, data_dir=source)


# --- the TFLite model -----------------------------------------------------------

def test_predict_gives_the_same_scores_in_any_batch_size(data, flatbuffers):
    model = tflite.TFLiteModel(flatbuffers["int8"])
    x, _ = data.arrays("test")
    whole = model.predict(x[:50])
    assert whole.dtype == np.float32 and whole.shape == (50, 10)
    np.testing.assert_array_equal(model.predict(x[:50], batch_size=7), whole)
    assert model.predict(x[:0]).shape == (0, 10)


def test_predict_rejects_a_batch_of_the_wrong_shape_and_a_bad_batch_size(data, flatbuffers):
    model = tflite.TFLiteModel(flatbuffers["float"], name="m.tflite")
    assert (model.input_shape, model.output_shape) == ((None, 784), (None, 10))
    with pytest.raises(InvalidArgumentError, match=r"shape \(None, 784\) for m.tflite.*\(3, 28, 28, 1\)"):
        model.predict(np.zeros((3, 28, 28, 1), "float32"))
    with pytest.raises(InvalidArgumentError, match="batch_size=0"):
        model.predict(np.zeros((3, 784), "float32"), batch_size=0)


def test_a_tflite_model_evaluates_and_finds_mistakes_as_a_keras_model_does(trained, data, flatbuffers):
    model = tflite.TFLiteModel(flatbuffers["float"])
    table, reference = evaluate_splits(model, data), evaluate_splits(trained, data)
    assert [r.split for r in table.results] == ["train", "validation", "test"]
    for ours, theirs in zip(table.results, reference.results, strict=True):
        assert ours.examples == theirs.examples
        assert ours.accuracy == pytest.approx(theirs.accuracy, abs=1e-6)
        assert ours.loss == pytest.approx(theirs.loss, abs=1e-4)  # cross-entropy from logits
    mistakes = find_mistakes(model, data, top=5)
    assert mistakes.indices.tolist() == find_mistakes(trained, data, top=5).indices.tolist()


def test_load_tflite_names_a_missing_damaged_or_foreign_file(tmp_path, flatbuffers):
    with pytest.raises(InvalidArgumentError, match=r"model='.*missing.tflite' \(no such file\)"):
        tflite.load_tflite(tmp_path / "missing.tflite")
    with pytest.raises(InvalidArgumentError, match=r"\(a directory\)"):
        tflite.load_tflite(tmp_path)
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"\x00" * 40)
    with pytest.raises(InvalidArgumentError, match=r"garbage.tflite', which holds b'\\x00\\x00"):
        tflite.load_tflite(garbage)
    short = tmp_path / "short.tflite"
    short.write_bytes(b"TFL")
    with pytest.raises(InvalidArgumentError, match="which has 3 bytes"):
        tflite.load_tflite(short)
    truncated = tmp_path / "truncated.tflite"
    truncated.write_bytes(flatbuffers["float"][:300])
    with pytest.raises(InvalidArgumentError, match="truncated.tflite', which is damaged"):
        tflite.load_tflite(truncated, argument="target")


def test_is_tflite_file_goes_by_suffix_or_by_the_identifier(tmp_path, flatbuffers):
    unnamed = tmp_path / "model.bin"
    unnamed.write_bytes(flatbuffers["float"])
    other = tmp_path / "other.bin"
    other.write_bytes(b"PK\x03\x04 a zip")
    assert tflite.is_tflite_file(unnamed) and tflite.is_tflite_file(tmp_path / "absent.tflite")
    assert not tflite.is_tflite_file(other) and not tflite.is_tflite_file(tmp_path / "absent.keras")
    assert tflite.load_tflite(unnamed).info.file_bytes == len(flatbuffers["float"])


# --- export -----------------------------------------------------------------------

def test_export_format_comes_from_the_suffix_or_is_named():
    assert tflite.export_format("m.TFLITE") == "tflite"
    assert tflite.export_format("out/m", "saved_model") == "saved_model"
    assert tflite.export_format("out/m.bin", "tflite") == "tflite"
    with pytest.raises(InvalidArgumentError, match="format=None for output='out/m'"):
        tflite.export_format("out/m", argument="output")
    with pytest.raises(InvalidArgumentError, match="format='onnx'"):
        tflite.export_format("m.tflite", "onnx")
    with pytest.raises(InvalidArgumentError, match="a SavedModel is a directory"):
        tflite.export_format("m.tflite", "saved_model")


def test_export_writes_the_tflite_file_whole_and_reports_its_sizes(tmp_path, trained, data):
    target = tmp_path / "new" / "model.tflite"
    result = tflite.export_model(trained, target, int8=True,
                                 calibration=tflite.calibration_images(data, 100))
    assert (result.path, result.format, result.int8) == (target, "tflite", True)
    assert result.file_bytes == target.stat().st_size
    assert result.weight_bytes == tflite.tflite_info(target).weight_bytes
    assert listing(target.parent) == ["model.tflite"]  # no temporary file left
    assert tflite.load_tflite(target).quantized


def test_saved_model_export_reloads_and_serves_the_same_scores(tmp_path, trained, data):
    target = tmp_path / "saved"
    result = tflite.export_model(trained, target, format="saved_model")
    assert (result.format, result.weight_bytes, result.int8) == ("saved_model", None, False)
    assert result.file_bytes == sum(f.stat().st_size for f in target.rglob("*") if f.is_file())
    x, _ = data.arrays("test")
    loaded = tf.saved_model.load(str(target))  # held: its variables die with it
    served = loaded.serve(x[:32]).numpy()
    np.testing.assert_allclose(served, trained.predict(x[:32], verbose=0), atol=1e-5)
    tflite.export_model(trained, target, format="saved_model")  # an earlier SavedModel is replaced
    assert listing(tmp_path) == ["saved"] and (target / "saved_model.pb").is_file()


def test_export_refuses_int8_for_a_saved_model_and_int8_without_images(tmp_path, trained):
    with pytest.raises(InvalidArgumentError, match="int8=True with format='saved_model'"):
        tflite.export_model(trained, tmp_path / "saved", format="saved_model", int8=True)
    with pytest.raises(InvalidArgumentError, match="Received: calibration=None"):
        tflite.export_model(trained, tmp_path / "m.tflite", int8=True)
    with pytest.raises(InvalidArgumentError, match="format='keras'"):
        tflite.export_model(trained, tmp_path / "m.keras", format="keras")
    assert listing(tmp_path) == []


def test_export_refuses_paths_it_cannot_or_must_not_write(tmp_path, trained):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(InvalidArgumentError, match=r"output='.*file/m.tflite', which cannot be written"):
        tflite.export_model(trained, blocker / "m.tflite", argument="output")
    with pytest.raises(InvalidArgumentError, match="which cannot be written"):
        tflite.export_model(trained, blocker / "saved", format="saved_model")
    with pytest.raises(InvalidArgumentError, match="which is a directory"):
        tflite.export_model(trained, tmp_path)
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "notes.txt").write_text("mine")
    with pytest.raises(InvalidArgumentError, match="holding other files than a SavedModel"):
        tflite.export_model(trained, keep, format="saved_model")
    with pytest.raises(InvalidArgumentError, match="which is a file"):
        tflite.export_model(trained, blocker, format="saved_model")
    assert listing(tmp_path) == ["file", "keep"] and listing(keep) == ["notes.txt"]
    assert blocker.read_text() == "not a directory"


def test_a_failed_export_leaves_nothing_and_keeps_what_was_there(tmp_path, monkeypatch, trained):
    tflite.export_model(trained, tmp_path / "saved", format="saved_model")
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    (tmp_path / "m.tflite").write_bytes(b"old")

    def half_written(model, directory):
        Path(directory).mkdir()
        (Path(directory) / "saved_model.pb").write_bytes(b"partial")
        raise ExportError("the disk filled up")

    monkeypatch.setattr(tflite, "_write_saved_model", half_written)
    with pytest.raises(ExportError, match="disk filled up"):
        tflite.export_model(trained, tmp_path / "saved", format="saved_model")
    with pytest.raises(ExportError, match="disk filled up"):
        tflite.export_model(trained, tmp_path / "m.tflite")
    with pytest.raises(ExportError):
        tflite.export_model(trained, tmp_path / "other" / "saved", format="saved_model")
    assert (tmp_path / "m.tflite").read_bytes() == b"old"
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.name != "m.tflite")
    assert after == sorted([*before, "other"])  # the earlier SavedModel whole, no staging left
    assert listing(tmp_path / "other") == []  # the parent was made; no model in it
