"""`kerasmnist export`: a model as a TFLite flatbuffer (float32 or int8) or a SavedModel.

The library does the work (`kerasmnist.tflite.export_model`); this module finds
the model (a `.keras` file or a run directory's best model) and, for `--int8`,
the training images to calibrate on: those of `--dataset`, or of the run's own
data set. TensorFlow is imported inside the command.
"""

from __future__ import annotations

import argparse

from kerasmnist.backend import load_backend
from kerasmnist.cli.common import EXIT_OK, add_json_flag, console, emit_json
from kerasmnist.errors import UsageError
from kerasmnist.runs.rundir import MODEL_FILE, best_model_source
from kerasmnist.tflite import CALIBRATION_IMAGES, EXPORT_FORMATS, TFLITE_SUFFIX, export_format

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `export` subcommand."""
    export = subparsers.add_parser(
        "export", help="write a model as a TFLite flatbuffer (float or int8) or a SavedModel",
        description="Writes a saved Keras model, or a run's best model, as a TensorFlow Lite "
                    "flatbuffer or a TensorFlow SavedModel directory, whole or not at all. "
                    f"--int8 quantizes it to full integers, calibrated on {CALIBRATION_IMAGES} "
                    "training images. `kerasmnist evaluate FILE.tflite` evaluates the result; "
                    "`kerasmnist budget FILE.tflite --max-bytes N` checks its size.",
    )
    export.add_argument("model", metavar="MODEL",
                        help="a model saved with model.save('name.keras'), or a run directory "
                             f"(its {MODEL_FILE})")
    export.add_argument("-o", "--output", required=True, metavar="FILE",
                        help=f"the {TFLITE_SUFFIX} file, or the SavedModel's directory, to write")
    export.add_argument("--format", choices=EXPORT_FORMATS, default=None,
                        help=f"what to write (default: tflite for an output ending in {TFLITE_SUFFIX})")
    export.add_argument("--int8", action="store_true",
                        help="full-integer post-training quantization: int8 weights, activations, "
                             "input and output (tflite only)")
    export.add_argument("--dataset", default=None, metavar="NAME",
                        help="the data set whose training images calibrate --int8 (default: a "
                             "run's own; needed for a .keras file)")
    export.add_argument("--data-dir", metavar="DIR", default=None,
                        help="a directory to search first and to download into")
    add_json_flag(export)
    export.set_defaults(func=export_command)


def export_command(args: argparse.Namespace) -> int:
    """Runs `kerasmnist export`."""
    output_format = export_format(args.output, args.format, argument="output")
    model_path, run_dataset = best_model_source(args.model, argument="model")
    dataset: str | None = args.dataset or run_dataset
    calibrated = args.int8 and output_format == "tflite"
    if calibrated and dataset is None:
        raise UsageError("dataset", (
            "Invalid value for argument `--dataset`. Expected the data set whose training images "
            f"calibrate --int8 (a .keras file names none). Received: no --dataset for "
            f"{args.model!r}"))
    load_backend()
    from kerasmnist.runs.checkpoints import load_model_file
    from kerasmnist.tflite import calibration_images, export_model

    model = load_model_file(model_path, argument="model")
    calibration = (calibration_images(dataset, data_dir=args.data_dir) if calibrated and dataset
                   else None)
    result = export_model(model, args.output, format=output_format, int8=args.int8,
                          calibration=calibration, argument="output")
    if args.json:
        emit_json({
            "model": args.model, "model_file": str(model_path), "output": str(result.path),
            "format": result.format, "int8": result.int8, "bytes": result.file_bytes,
            "weight_bytes": result.weight_bytes,
            "calibration": ({"dataset": dataset, "images": len(calibration)}
                            if calibration is not None else None),
        })
        return EXIT_OK
    out = console()
    kind = f"{result.format}, int8" if result.int8 else result.format
    weights = (f", {result.weight_bytes:,} of them weights" if result.weight_bytes is not None
               else "")
    out.print(f"Wrote {result.path} ({kind}): {result.file_bytes:,} bytes{weights}.",
              markup=False)
    if calibration is not None:
        out.print(f"Calibrated on {len(calibration):,} training images of {dataset}.", markup=False)
    return EXIT_OK
