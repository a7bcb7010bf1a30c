"""TensorFlow Lite: converting, exporting, running and measuring models.

A microcontroller's budget is bytes of a model, often an int8 one, not a count
of float weights. `to_tflite` converts a Keras model to a TFLite flatbuffer:
float32, or (`int8=True`) full-integer post-training quantization with int8
input and output tensors, calibrated on training images
(`calibration_images`). `export_model` writes that flatbuffer, or a
TensorFlow SavedModel, whole or not at all. `load_tflite` gives a
`TFLiteModel`, which predicts class scores from float images in [0, 1] as a
Keras model does, so that `kerasmnist.evaluation` evaluates either.
`tflite_info` measures a flatbuffer: its size and the bytes of its weights
alone.

The conversion takes Keras 3's path to TFLite: `model.export(...,
format="tf_saved_model")`, which traces the model in inference mode (dropout
off, `kerasmnist.layers.TrainingShift` idle), then
`tf.lite.TFLiteConverter.from_saved_model`, which folds batch normalisation
into the convolutions. Keras's own `format="litert"` takes the same path, but
writes the file in place and lets TensorFlow operations into the model
(`SELECT_TF_OPS`), which no microcontroller runs; here only TFLite's built-in
operations are allowed.

This module imports neither Keras nor TensorFlow until a function needs them.

Example:

>>> from kerasmnist import load_dataset, presets
>>> model = presets.build("avgpool5_dense")
>>> flatbuffer = to_tflite(model)
>>> info = tflite_info(flatbuffer)
>>> info.file_bytes == len(flatbuffer), info.input_dtype, info.weight_bytes >= 250 * 4
(True, 'float32', True)
>>> images = calibration_images(load_dataset("mnist_sample"), 100)
>>> tflite_info(to_tflite(model, int8=True, calibration=images)).input_dtype
'int8'
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kerasmnist.errors import ExportError, InvalidArgumentError
from kerasmnist.fileio import atomic_path

if TYPE_CHECKING:
    import keras

    from kerasmnist.datasets import Dataset

__all__ = [
    "CALIBRATION_IMAGES",
    "EXPORT_FORMATS",
    "TFLITE_SUFFIX",
    "ExportResult",
    "TFLiteInfo",
    "TFLiteModel",
    "calibration_images",
    "export_format",
    "export_model",
    "is_tflite_file",
    "load_tflite",
    "tflite_info",
    "to_tflite",
]

TFLITE_SUFFIX = ".tflite"
"""The suffix of a TFLite flatbuffer's file, from which `export_format` takes the format."""

EXPORT_FORMATS = ("tflite", "saved_model")
"""What `export_model` writes: a TFLite flatbuffer (one file) or a TensorFlow SavedModel (a directory)."""

CALIBRATION_IMAGES = 500
"""How many training images calibrate an int8 conversion by default (TFLite's guide asks
for a few hundred)."""

_IDENTIFIER = b"TFL3"
"""A TFLite flatbuffer's file identifier, at bytes 4 to 8."""

_SAVED_MODEL_FILE = "saved_model.pb"

_DEPRECATION = r"\s*Warning: tf\.lite\.Interpreter is deprecated"
"""TensorFlow's warning, on every interpreter made, that it moves to the ai-edge-litert package,
which is no dependency of kerasmnist; the interpreter still ships and works in TensorFlow 2.21."""


@dataclass(frozen=True)
class TFLiteInfo:
    """The size of a TFLite flatbuffer, and what its input and output hold.

    Attributes:
        file_bytes: The flatbuffer's size, as a `.tflite` file: what a device stores.
        weight_bytes: The bytes of its constant tensors alone (each buffer
            counted once): weights and biases, batch normalisation folded in,
            and the few bytes of shape constants (a `Reshape`'s target shape).
        input_dtype: The input tensor's type, `"float32"` or `"int8"` (a
            full-integer model), say.
        output_dtype: The output tensor's type.
    """

    file_bytes: int
    weight_bytes: int
    input_dtype: str
    output_dtype: str

    @property
    def int8(self) -> bool:
        """Whether the model takes int8 input: full-integer quantization."""
        return self.input_dtype == "int8"


@dataclass(frozen=True)
class ExportResult:
    """What `export_model` wrote.

    Attributes:
        path: The `.tflite` file or the SavedModel directory.
        format: `"tflite"` or `"saved_model"`.
        file_bytes: Bytes written: the file's size, or the sum of the
            SavedModel's files.
        weight_bytes: The TFLite flatbuffer's weight bytes
            (`TFLiteInfo.weight_bytes`); `None` for a SavedModel.
        int8: Whether the model was quantized to full-integer int8.
    """

    path: Path
    format: str
    file_bytes: int
    weight_bytes: int | None
    int8: bool


def to_tflite(
    model: keras.Model,
    *,
    int8: bool = False,
    calibration: np.ndarray | None = None,
) -> bytes:
    """Converts a Keras model to a TFLite flatbuffer, in memory.

    Args:
        model: A built Keras model with one input (a preset, say).
        int8: Full-integer post-training quantization: int8 weights and
            activations, int8 input and output tensors (their scale and zero
            point in the flatbuffer; `TFLiteModel` applies them). Defaults to
            `False`: float32 throughout.
        calibration: With `int8`, the images whose activations set the
            quantization ranges: a few hundred training images, float in
            [0, 1], flat or as images (`calibration_images` gives them; each is
            reshaped to the model's input, `kerasmnist.evaluation.model_inputs`).
            Unused without `int8`. Defaults to `None`.

    Returns:
        The flatbuffer, as written to a `.tflite` file.

    Raises:
        InvalidArgumentError: `int8` without calibration images, or images that
            do not fit the model's input or are not finite numbers.
        ExportError: TensorFlow could not export or convert the model (a Keras
            backend that cannot export, an operation TFLite lacks).
    """
    images = _calibration_inputs(model, calibration) if int8 else None
    import tensorflow as tf
    from tensorflow.lite.python.convert_phase import ConverterError

    with tempfile.TemporaryDirectory(prefix="kerasmnist-tflite-") as directory:
        saved = Path(directory) / "saved_model"
        _write_saved_model(model, saved)
        try:
            converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
            if images is not None:
                converter.optimizations = [tf.lite.Optimize.DEFAULT]
                converter.representative_dataset = _representative(images)
                converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
                converter.inference_input_type = tf.int8
                converter.inference_output_type = tf.int8
            return bytes(converter.convert())
        except (ConverterError, ValueError, RuntimeError) as error:
            raise ExportError(
                f"TensorFlow Lite could not convert the model {model.name!r}"
                f"{' to int8' if int8 else ''}: {error}") from None


def calibration_images(
    dataset: Dataset | str,
    count: int = CALIBRATION_IMAGES,
    *,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Training images to calibrate an int8 conversion: `count` of them, drawn at random.

    Args:
        dataset: The data set the model was trained on, loaded (a `Dataset`)
            or by name (`"mnist"`, ...: loaded whole, with no validation
            split, as `load_dataset(name, data_dir=data_dir, validation=0)`);
            only its training split is drawn from, never the test split.
        count: How many images. Defaults to `CALIBRATION_IMAGES` (500); all of
            them when the split has fewer.
        seed: Seed of the draw. Defaults to `0`.
        data_dir: For a data set given by name, the directory to search first
            and to download into (see `load_dataset`). Defaults to `None`.

    Returns:
        Float32 images in [0, 1], `(n, height, width, 1)`, in the split's order.

    Raises:
        InvalidArgumentError: `count` is not a positive integer, `dataset` is
            no registered data set's name, `data_dir` is given with a loaded
            data set, or the training split is empty.
        DatasetNotFoundError: A data set given by name cannot be found or
            downloaded (and the other errors of `load_dataset`).

    Example:

    >>> from kerasmnist import load_dataset
    >>> calibration_images(load_dataset("mnist_sample"), 200).shape
    (200, 28, 28, 1)
    >>> calibration_images("mnist_sample", 200).shape
    (200, 28, 28, 1)
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidArgumentError(
            "Invalid value for argument `count`. Expected a positive integer. "
            f"Received: count={count!r}")
    if isinstance(dataset, str):
        dataset = _load_by_name(dataset, data_dir)
    elif data_dir is not None:
        raise InvalidArgumentError(
            "Invalid value for argument `data_dir`. Expected it only with a data set given by "
            f"name, which is loaded from there. Received: data_dir={os.fspath(data_dir)!r} with "
            f"the loaded data set {dataset.name!r}")
    x, _ = dataset.arrays("train", view="image")
    if len(x) == 0:
        raise InvalidArgumentError(
            "Invalid value for argument `dataset`. Expected a data set with training images to "
            f"calibrate on. Received: {dataset.name!r}, whose training split is empty")
    if len(x) <= count:
        return x
    chosen = np.sort(np.random.default_rng(seed).choice(len(x), count, replace=False))
    return x[chosen]


def export_format(path: str | os.PathLike[str], format: str | None = None, *,
                  argument: str = "path") -> str:
    """The format to write `path` in: `format` if given, else `"tflite"` for a `.tflite` path.

    Args:
        path: Where the model is to be written.
        format: `"tflite"`, `"saved_model"` or `None` (from the suffix).
            Defaults to `None`.
        argument: The name of the path's argument, for error messages.
            Defaults to `"path"`.

    Returns:
        `"tflite"` or `"saved_model"`.

    Raises:
        InvalidArgumentError: `format` is unknown; it is `None` and `path` does
            not end in `.tflite`; or it is `"saved_model"` (a directory) and
            `path` ends in `.tflite`.

    Example:

    >>> export_format("tiny.tflite"), export_format("exported/tiny", "saved_model")
    ('tflite', 'saved_model')
    """
    is_tflite = Path(path).suffix.lower() == TFLITE_SUFFIX
    if format is None:
        if is_tflite:
            return "tflite"
        raise InvalidArgumentError(
            f"Invalid value for argument `format`. Expected one of {list(EXPORT_FORMATS)}, or a path "
            f"ending in {TFLITE_SUFFIX}. Received: format=None for {argument}={os.fspath(path)!r}")
    if format not in EXPORT_FORMATS:
        raise InvalidArgumentError(
            f"Invalid value for argument `format`. Expected one of {list(EXPORT_FORMATS)}. "
            f"Received: format={format!r}")
    if format == "saved_model" and is_tflite:
        raise InvalidArgumentError(
            "Invalid value for argument `format`. Expected 'tflite' for a path ending in "
            f"{TFLITE_SUFFIX} (a SavedModel is a directory). Received: format='saved_model' for "
            f"{argument}={os.fspath(path)!r}")
    return format


def export_model(
    model: keras.Model,
    path: str | os.PathLike[str],
    *,
    format: str = "tflite",
    int8: bool = False,
    calibration: np.ndarray | None = None,
    argument: str = "path",
) -> ExportResult:
    """Writes a Keras model as a TFLite flatbuffer or a TensorFlow SavedModel, atomically.

    The model is written beside `path` under a temporary name, then renamed
    onto it: on any failure nothing is left, and what `path` held is kept. A
    SavedModel replaces an earlier SavedModel (or an empty directory) at
    `path`, never another directory.

    Args:
        model: A built Keras model with one input.
        path: The `.tflite` file, or the SavedModel's directory.
        format: `"tflite"` or `"saved_model"` (`export_format` takes it from
            the path). Defaults to `"tflite"`.
        int8: Full-integer int8 quantization (`to_tflite`); TFLite only.
            Defaults to `False`.
        calibration: With `int8`, the training images to calibrate on
            (`calibration_images`). Defaults to `None`.
        argument: The name of the path's argument, for error messages.
            Defaults to `"path"`.

    Returns:
        An `ExportResult`: the path, the format, the bytes written and (for
        TFLite) the bytes of the weights.

    Raises:
        InvalidArgumentError: An unknown format, `int8` with a SavedModel,
            `int8` without calibration images, or a path that cannot be
            written (its parent is a file, say, or it is a directory that is
            no SavedModel).
        ExportError: TensorFlow could not export or convert the model.

    Example:

        export_model(model, "tiny.tflite", int8=True,
                     calibration=calibration_images(dataset))
    """
    if format not in EXPORT_FORMATS:
        raise InvalidArgumentError(
            f"Invalid value for argument `format`. Expected one of {list(EXPORT_FORMATS)}. "
            f"Received: format={format!r}")
    if int8 and format != "tflite":
        raise InvalidArgumentError(
            "Invalid value for argument `int8`. Expected int8=False for a SavedModel: "
            f"full-integer quantization is a TFLite conversion. Received: int8=True with "
            f"format={format!r}")
    target = Path(path)
    if format == "tflite":
        _check_writable_file(target, argument)
        data = to_tflite(model, int8=int8, calibration=calibration)
        try:
            with atomic_path(target) as tmp:
                tmp.write_bytes(data)
        except OSError as error:
            raise _unwritable(target, argument, error) from None
        return ExportResult(target, format, len(data), tflite_info(data).weight_bytes, int8)
    _check_replaceable_dir(target, argument)
    total = _write_saved_model_atomically(model, target, argument)
    return ExportResult(target, format, total, None, False)


def tflite_info(source: bytes | str | os.PathLike[str], *, argument: str = "model",
                name: str | None = None) -> TFLiteInfo:
    """Measures a TFLite flatbuffer: its size, its weights' bytes, its input and output types.

    Args:
        source: The flatbuffer, or the path of a `.tflite` file.
        argument: The argument's name, for error messages. Defaults to `"model"`.
        name: What to call the flatbuffer in error messages. Defaults to
            `None`: the path, or `"<bytes>"`.

    Returns:
        A `TFLiteInfo`.

    Raises:
        InvalidArgumentError: The file is missing, or the bytes are no TFLite
            flatbuffer (the message names the file, and what it found).

    Example:

    >>> tflite_info(b"not a model")
    Traceback (most recent call last):
    ...
    kerasmnist.errors.InvalidArgumentError: Invalid value for argument `model`. Expected a ... \
    Received: model='<bytes>', which holds b'a mo' there
    """
    content, name = _read(source, argument, name)
    from tensorflow.lite.python import schema_py_generated as schema

    types = {value: key.lower() for key, value in vars(schema.TensorType).items()
             if not key.startswith("_")}
    try:
        model = schema.Model.GetRootAs(content, 0)
        used: set[int] = set()
        weight_bytes = 0
        for g in range(model.SubgraphsLength()):
            subgraph = model.Subgraphs(g)
            for t in range(subgraph.TensorsLength()):
                tensor = subgraph.Tensors(t)
                index = tensor.Buffer()
                if tensor.IsVariable() or index in used or index >= model.BuffersLength():
                    continue
                used.add(index)
                buffer = model.Buffers(index)
                # Past 2 GB a buffer's data follows the flatbuffer: an offset and a size.
                weight_bytes += buffer.DataLength() or (buffer.Size() if buffer.Offset() > 1 else 0)
        main = model.Subgraphs(0)
        if main is None or main.InputsLength() < 1 or main.OutputsLength() < 1:
            raise InvalidArgumentError(
                f"Invalid value for argument `{argument}`. Expected a TensorFlow Lite model with an "
                f"input and an output. Received: {argument}={name!r}, which has none")
        input_type = types.get(main.Tensors(main.Inputs(0)).Type(), "unknown")
        output_type = types.get(main.Tensors(main.Outputs(0)).Type(), "unknown")
    except (struct.error, IndexError, TypeError, ValueError, AttributeError) as error:
        if isinstance(error, InvalidArgumentError):
            raise
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a TensorFlow Lite flatbuffer. "
            f"Received: {argument}={name!r}, which is damaged ({type(error).__name__}: {error})"
        ) from None
    return TFLiteInfo(len(content), weight_bytes, input_type, output_type)


def is_tflite_file(path: str | os.PathLike[str]) -> bool:
    """Whether `path` names a TFLite model: its suffix is `.tflite`, or its bytes say so.

    A `.tflite` file is one whatever it holds (`load_tflite` then says what is
    wrong with it); another file is one when it carries the flatbuffer's
    identifier.

    Example:

    >>> is_tflite_file("tiny.tflite"), is_tflite_file("tiny.keras")
    (True, False)
    """
    path = Path(path)
    if path.suffix.lower() == TFLITE_SUFFIX:
        return True
    try:
        with path.open("rb") as stream:
            return stream.read(8)[4:8] == _IDENTIFIER
    except OSError:
        return False


def load_tflite(path: str | os.PathLike[str], *, argument: str = "model",
                num_threads: int | None = None) -> TFLiteModel:
    """Loads a `.tflite` file into a `TFLiteModel`.

    Args:
        path: The file.
        argument: The argument's name, for error messages. Defaults to `"model"`.
        num_threads: Threads of TFLite's interpreter. Defaults to `None`
            (TFLite's default).

    Returns:
        The model, ready to `predict`.

    Raises:
        InvalidArgumentError: The file is missing, a directory, or not a
            TFLite model TensorFlow can run; the message names the file.
    """
    content, name = _read(path, argument)
    return TFLiteModel(content, name=name, argument=argument, num_threads=num_threads)


class TFLiteModel:
    """A TFLite model that predicts like a Keras model: float images in, class scores out.

    Images in [0, 1] are quantized with the input tensor's scale and zero point
    when the model is integer-only, and the outputs dequantized, so that an
    int8 model's scores read as its float original's (logits, for the
    presets). Examples go through TFLite's interpreter (`tf.lite.Interpreter`;
    its warning that it moves to the ai-edge-litert package is hidden, nothing
    else) in batches.

    Args:
        content: The flatbuffer.
        name: What to call it in messages (its file). Defaults to `"<bytes>"`.
        argument: The argument's name, for error messages. Defaults to `"model"`.
        num_threads: Threads of the interpreter. Defaults to `None` (TFLite's
            default).

    Attributes:
        name: The name given.
        info: The flatbuffer's `TFLiteInfo`: sizes and types.

    Raises:
        InvalidArgumentError: The bytes are no TFLite model the interpreter
            can run, or the model has other than one input and one output.

    Example:

    >>> import numpy as np
    >>> from kerasmnist import presets
    >>> tflite = TFLiteModel(to_tflite(presets.build("avgpool5_dense")))
    >>> tflite.input_shape, tflite.output_shape
    ((None, 784), (None, 10))
    >>> tflite.predict(np.zeros((3, 784), "float32")).shape
    (3, 10)
    """

    def __init__(self, content: bytes, *, name: str = "<bytes>", argument: str = "model",
                 num_threads: int | None = None) -> None:
        self.name = name
        self.info = tflite_info(content, argument=argument, name=name)
        import tensorflow as tf

        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=_DEPRECATION, category=UserWarning)
                self._interpreter = tf.lite.Interpreter(model_content=content, num_threads=num_threads)
            inputs = self._interpreter.get_input_details()
            outputs = self._interpreter.get_output_details()
        except (ValueError, RuntimeError) as error:
            raise InvalidArgumentError(
                f"Invalid value for argument `{argument}`. Expected a TensorFlow Lite model its "
                f"interpreter can run. Received: {argument}={name!r}, which it cannot: {error}"
            ) from None
        if len(inputs) != 1 or len(outputs) != 1:
            raise InvalidArgumentError(
                f"Invalid value for argument `{argument}`. Expected a TensorFlow Lite model with one "
                f"input and one output. Received: {argument}={name!r}, with {len(inputs)} inputs and "
                f"{len(outputs)} outputs")
        self._input: dict[str, Any] = inputs[0]
        self._output: dict[str, Any] = outputs[0]
        self._batch: int | None = None

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """The shape of a batch of inputs, Keras-style: `(None, 784)`, say."""
        return (None, *_dims(self._input))

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """The shape of a batch of outputs, Keras-style: `(None, 10)`, say."""
        return (None, *_dims(self._output))

    @property
    def quantized(self) -> bool:
        """Whether the model takes integer input, which `predict` quantizes."""
        return bool(np.issubdtype(self._input["dtype"], np.integer))

    def predict(self, x: np.ndarray, batch_size: int = 1024, verbose: int | str = 0) -> np.ndarray:
        """Class scores for a batch of float examples.

        Args:
            x: Examples in [0, 1] of the model's input shape, `(n, 784)` say
                (`kerasmnist.evaluation.model_inputs` reshapes them).
            batch_size: Examples per call of the interpreter. Defaults to `1024`.
            verbose: Ignored: there so that code written for
                `keras.Model.predict` (`kerasmnist.evaluation.find_mistakes`)
                runs this model too. Defaults to `0`.

        Returns:
            Float32 scores, `(n, classes)`, dequantized for an int8 model.

        Raises:
            InvalidArgumentError: `x` does not have the model's input shape, or
                `batch_size` is not a positive integer.
        """
        del verbose
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise InvalidArgumentError(
                "Invalid value for argument `batch_size`. Expected a positive integer. "
                f"Received: batch_size={batch_size!r}")
        array = np.asarray(x, dtype=np.float32)
        if array.ndim == 0 or array.shape[1:] != self.input_shape[1:]:
            raise InvalidArgumentError(
                f"Invalid value for argument `x`. Expected a batch of shape {self.input_shape} "
                f"for {self.name}. Received: x of shape {array.shape}")
        if len(array) == 0:
            return np.zeros((0, *_dims(self._output)), np.float32)
        scores = []
        for start in range(0, len(array), batch_size):
            batch = array[start:start + batch_size]
            self._resize(len(batch))
            self._interpreter.set_tensor(self._input["index"], _quantize(batch, self._input))
            self._interpreter.invoke()
            scores.append(_dequantize(self._interpreter.get_tensor(self._output["index"]), self._output))
        return np.concatenate(scores)

    def _resize(self, batch: int) -> None:
        if batch != self._batch:
            self._interpreter.resize_tensor_input(self._input["index"], [batch, *_dims(self._input)],
                                                  strict=False)
            self._interpreter.allocate_tensors()
            self._batch = batch

    def __repr__(self) -> str:
        return (f"TFLiteModel({self.name!r}, input_shape={self.input_shape}, "
                f"input_dtype={self.info.input_dtype!r}, file_bytes={self.info.file_bytes})")


def _dims(details: dict[str, Any]) -> tuple[int, ...]:
    """A tensor's shape but its first (batch) dimension."""
    return tuple(int(d) for d in details["shape"][1:])


def _quantize(batch: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(details["dtype"])
    scale, zero_point = details["quantization"]
    if not np.issubdtype(dtype, np.integer):
        return batch.astype(dtype, copy=False)
    limits = np.iinfo(dtype)
    return np.clip(np.round(batch / scale + zero_point), limits.min, limits.max).astype(dtype)


def _dequantize(values: np.ndarray, details: dict[str, Any]) -> np.ndarray:
    scale, zero_point = details["quantization"]
    if not np.issubdtype(values.dtype, np.integer):
        return values.astype(np.float32, copy=False)
    return ((values.astype(np.float32) - zero_point) * scale).astype(np.float32)


def _load_by_name(name: str, data_dir: str | os.PathLike[str] | None) -> Dataset:
    """The data set called `name`, whole: its training file, with no validation split."""
    from kerasmnist.datasets import dataset_names, get_dataset_info, load_dataset

    try:
        info = get_dataset_info(name)
    except InvalidArgumentError:
        raise InvalidArgumentError(
            f"Invalid value for argument `dataset`. Expected a loaded data set or the name of a "
            f"registered one (one of {dataset_names()}). Received: dataset={name!r}") from None
    return load_dataset(info, data_dir=data_dir, validation=0)


def _calibration_inputs(model: keras.Model, calibration: np.ndarray | None) -> np.ndarray:
    """The calibration images as the model takes them, float32, checked."""
    from kerasmnist.evaluation import model_inputs

    if calibration is None or len(calibration) == 0:
        raise InvalidArgumentError(
            "Invalid value for argument `calibration`. Expected training images to calibrate "
            "the int8 conversion on (a few hundred; see `calibration_images`). Received: "
            f"calibration={'None' if calibration is None else 'an empty array'}")
    images = np.asarray(calibration, dtype=np.float32)
    if not np.all(np.isfinite(images)):
        raise InvalidArgumentError(
            "Invalid value for argument `calibration`. Expected images of finite values in "
            "[0, 1]. Received: an array holding NaN or infinity")
    return model_inputs(model, images)


def _representative(images: np.ndarray) -> Any:
    """TFLite's representative data set: one example at a time, in the model's input shape."""

    def examples() -> Iterator[list[np.ndarray]]:
        for i in range(len(images)):
            yield [images[i:i + 1]]

    return examples


def _write_saved_model(model: keras.Model, directory: Path) -> None:
    """`model.export` as a SavedModel, in inference mode; its failures as `ExportError`."""
    try:
        model.export(str(directory), format="tf_saved_model", verbose=False)
    except (ValueError, TypeError, RuntimeError, NotImplementedError) as error:
        raise ExportError(f"Keras could not export the model {model.name!r} as a SavedModel: "
                          f"{error}") from None


def _write_saved_model_atomically(model: keras.Model, target: Path, argument: str) -> int:
    """Exports into a temporary directory beside `target`, then swaps it in; returns its bytes."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    except OSError as error:
        raise _unwritable(target, argument, error) from None
    old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
    try:
        _write_saved_model(model, staging / "model")
        total = sum(f.stat().st_size for f in (staging / "model").rglob("*") if f.is_file())
        if target.exists():
            os.replace(target, old)
        try:
            os.replace(staging / "model", target)
        except OSError:
            if old.exists():
                os.replace(old, target)
            raise
    except OSError as error:
        raise _unwritable(target, argument, error) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
    return total


def _check_writable_file(target: Path, argument: str) -> None:
    if target.is_dir():
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected the path of a {TFLITE_SUFFIX} file "
            f"to write. Received: {argument}={os.fspath(target)!r}, which is a directory")


def _check_replaceable_dir(target: Path, argument: str) -> None:
    """A SavedModel replaces only an earlier one or an empty directory, never other files."""
    problem = None
    if target.exists() and not target.is_dir():
        problem = "a file"
    elif target.is_dir() and any(target.iterdir()) and not (target / _SAVED_MODEL_FILE).is_file():
        problem = f"a directory holding other files than a SavedModel ({_SAVED_MODEL_FILE})"
    if problem is not None:
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a new directory for the SavedModel "
            f"(or an earlier SavedModel to replace). Received: {argument}={os.fspath(target)!r}, "
            f"which is {problem}")


def _unwritable(target: Path, argument: str, error: OSError) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"Invalid value for argument `{argument}`. Expected a path that can be written. Received: "
        f"{argument}={os.fspath(target)!r}, which cannot be written: {error.strerror or error}"
        + (f" ({error.filename})" if error.filename and os.fspath(error.filename) != os.fspath(target)
           else ""))


def _read(source: bytes | str | os.PathLike[str], argument: str,
          name: str | None = None) -> tuple[bytes, str]:
    """The flatbuffer's bytes and a name for messages; checks its identifier."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        content, name = bytes(source), name or "<bytes>"
    else:
        name = name or os.fspath(source)
        path = Path(source)
        if not path.is_file():
            what = "a directory" if path.is_dir() else "no such file"
            raise InvalidArgumentError(
                f"Invalid value for argument `{argument}`. Expected the path of a {TFLITE_SUFFIX} "
                f"file. Received: {argument}={name!r} ({what})")
        try:
            content = path.read_bytes()
        except OSError as error:
            raise InvalidArgumentError(
                f"Invalid value for argument `{argument}`. Expected a {TFLITE_SUFFIX} file that can "
                f"be read. Received: {argument}={name!r}: {error.strerror or error}") from None
    if content[4:8] != _IDENTIFIER:
        found = f"holds {content[4:8]!r} there" if len(content) >= 8 else f"has {len(content)} bytes"
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a TensorFlow Lite flatbuffer (file "
            f"identifier {_IDENTIFIER!r} at bytes 4-8). Received: {argument}={name!r}, which {found}")
    return content, name

