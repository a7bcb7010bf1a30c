"""`kerasmnist budget` and `kerasmnist evaluate`: weight and byte counts, and test results.

Keras is imported inside the commands, never at module level, so that
`kerasmnist --help` and the `data` commands stay fast. Both commands take a
`.tflite` file as well as a Keras model (`kerasmnist.tflite`).
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape
from rich.table import Table

from kerasmnist.backend import load_backend
from kerasmnist.cli.common import EXIT_FAILED, EXIT_OK, add_json_flag, console, emit_json
from kerasmnist.cli.data import add_split_arguments
from kerasmnist.datasets import SPLITS, Dataset, get_dataset_info, load_dataset
from kerasmnist.errors import InvalidArgumentError, UsageError

if TYPE_CHECKING:
    import keras

    from kerasmnist.budget import ByteReport, LayerParams
    from kerasmnist.tflite import TFLiteInfo, TFLiteModel

__all__ = ["register"]

_TOP_CONFUSIONS = 5


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds the `budget` and `evaluate` subcommands."""
    budget = subparsers.add_parser(
        "budget", help="count a model's weights, per layer, and its TFLite bytes against a budget",
        description="Counts the weights of a preset or a saved model, layer by layer. With "
                    "--max-params, exits with 1 when the model is over that budget. With "
                    "--max-bytes, converts the model to TFLite in memory (--int8: full-integer) "
                    "and exits with 1 when the flatbuffer is over that many bytes; a .tflite "
                    "file is measured as it is.",
    )
    budget.add_argument("target", metavar="TARGET",
                        help="a preset name (e.g. logistic_regression, mlp_128), the path "
                             "of a saved .keras model, or a .tflite file")
    budget.add_argument("--max-params", type=int, default=None, metavar="N",
                        help="the parameter budget: exit with 1 when the model has more weights")
    budget.add_argument("--max-bytes", type=int, default=None, metavar="N",
                        help="the byte budget: exit with 1 when the model's TFLite flatbuffer "
                             "(the .tflite file's size) has more bytes; the bytes of the weights "
                             "alone are shown beside it")
    budget.add_argument("--int8", action="store_true",
                        help="convert a Keras model to full-integer int8 TFLite, calibrated on "
                             "training images of --dataset, and show (and check) its bytes")
    budget.add_argument("--trainable-only", action="store_true",
                        help="count only trainable weights (as keras-tuner's max_model_size "
                             "does); by default every weight counts")
    budget.add_argument("--dataset", default="mnist", metavar="NAME",
                        help="data set whose image shape and classes a preset is built for, and "
                             "whose training images calibrate --int8 (default: mnist)")
    add_json_flag(budget)
    budget.set_defaults(func=budget_command)

    evaluate = subparsers.add_parser(
        "evaluate", help="loss, accuracy and confusion matrix of a saved model",
        description="Evaluates a saved, compiled Keras model or a TFLite model on a data set: "
                    "loss, accuracy and error rate per split, then the confusion matrix of the "
                    "test split (or of the last split chosen, when test is not among them). A "
                    "TFLite model's loss is the cross-entropy of its (dequantized) scores.",
    )
    evaluate.add_argument("model", metavar="MODEL",
                          help="a model saved with model.save('name.keras'), or a .tflite file "
                               "(see `kerasmnist export`)")
    evaluate.add_argument("--dataset", required=True, metavar="NAME",
                          help="a registered data set (see `kerasmnist data list`)")
    evaluate.add_argument("--split", action="append", choices=SPLITS, default=None,
                          help="a split to evaluate; repeat for several (default: all three)")
    add_split_arguments(evaluate)
    evaluate.add_argument("--data-dir", metavar="DIR", default=None,
                          help="a directory to search first and to download into")
    add_json_flag(evaluate)
    evaluate.set_defaults(func=evaluate_command)


def budget_command(args: argparse.Namespace) -> int:
    """Runs `kerasmnist budget`; exits with 1 when over `--max-params` or `--max-bytes`."""
    from kerasmnist.tflite import is_tflite_file

    if is_tflite_file(args.target):
        return _tflite_budget(args)
    model, kind = _budget_target(args.target, args.dataset)
    from kerasmnist.budget import ByteBudget, ParamBudget, check_budget, count_params, layer_params
    from kerasmnist.tflite import calibration_images, tflite_info, to_tflite

    calibration = None
    if args.int8:  # invalid budgets fail before the data set loads
        for budget_class, value in ((ParamBudget, args.max_params), (ByteBudget, args.max_bytes)):
            if value is not None:
                budget_class(value)
        calibration = calibration_images(args.dataset)
    sizes: ByteReport | TFLiteInfo | None = None
    if args.max_params is not None or args.max_bytes is not None:
        report = check_budget(model, args.max_params, max_bytes=args.max_bytes,
                              int8=args.int8 and args.max_bytes is not None,
                              calibration=calibration, trainable_only=args.trainable_only)
        layers, params, within = report.layers, report.params, report.within_budget
        sizes = report.tflite
    else:
        layers = layer_params(model)
        params = count_params(model, trainable_only=args.trainable_only)
        within = None
    if sizes is None and args.int8:
        sizes = tflite_info(to_tflite(model, int8=True, calibration=calibration))
    over_by = max(0, params - args.max_params) if args.max_params is not None else None
    trainable = sum(layer.trainable for layer in layers)
    non_trainable = sum(layer.non_trainable for layer in layers)
    status = EXIT_FAILED if within is False else EXIT_OK
    if args.json:
        emit_json({
            "target": args.target, "kind": kind, "params": params,
            "trainable": trainable, "non_trainable": non_trainable,
            "trainable_only": args.trainable_only,
            "layers": [{"name": layer.name, "type": layer.kind, "trainable": layer.trainable,
                        "non_trainable": layer.non_trainable, "params": layer.total}
                       for layer in layers],
            "budget": args.max_params,
            "within_budget": within,
            "over_by": over_by,
            "tflite": _sizes_json(sizes),
        })
        return status
    out = console()
    out.print(_layer_table(f"{escape(args.target)} ({kind})", layers))
    counted = "trainable weights" if args.trainable_only else "weights"
    out.print(f"{params:,} {counted} ({trainable:,} trainable, {non_trainable:,} non-trainable).")
    if over_by == 0:
        out.print(f"[green]Within the budget of {args.max_params:,}[/] "
                  f"({args.max_params - params:,} to spare).")
    elif over_by is not None:
        out.print(f"[red]Over the budget of {args.max_params:,} by {over_by:,}.[/]")
    _print_sizes(out, "As a TFLite flatbuffer", sizes)
    return status


def _tflite_budget(args: argparse.Namespace) -> int:
    """`kerasmnist budget FILE.tflite`: the file's bytes (and its weights') against `--max-bytes`."""
    for flag, given in (("--max-params", args.max_params is not None),
                        ("--trainable-only", args.trainable_only), ("--int8", args.int8)):
        if given:
            raise UsageError(flag[2:].replace("-", "_"), (
                f"Invalid value for argument `{flag}`. Expected it only for a Keras model: a "
                f"TFLite file is measured as it is, in bytes (--max-bytes). Received: {flag} "
                f"with target={args.target!r}"))
    load_backend()
    from kerasmnist.budget import ByteBudget
    from kerasmnist.tflite import tflite_info

    byte_budget = ByteBudget(args.max_bytes) if args.max_bytes is not None else None
    sizes: ByteReport | TFLiteInfo = (byte_budget.check(args.target) if byte_budget is not None
                                      else tflite_info(args.target, argument="target"))
    within = getattr(sizes, "within_budget", None)
    if args.json:
        emit_json({
            "target": args.target, "kind": "TFLite file", "params": None, "trainable": None,
            "non_trainable": None, "trainable_only": False, "layers": [], "budget": None,
            "within_budget": within, "over_by": None, "tflite": _sizes_json(sizes),
        })
    else:
        _print_sizes(console(), escape(args.target), sizes, what="TFLite file, ")
    return EXIT_FAILED if within is False else EXIT_OK


def _sizes_json(sizes: ByteReport | TFLiteInfo | None) -> dict[str, Any] | None:
    if sizes is None:
        return None
    budget = getattr(sizes, "budget", None)
    return {"bytes": sizes.file_bytes, "weight_bytes": sizes.weight_bytes, "int8": sizes.int8,
            "max_bytes": budget, "within_budget": getattr(sizes, "within_budget", None),
            "over_by": max(0, sizes.file_bytes - budget) if budget is not None else None}


def _print_sizes(out: Any, title: str, sizes: ByteReport | TFLiteInfo | None, *,
                 what: str = "") -> None:
    if sizes is None:
        return
    kind = "int8" if sizes.int8 else "float32"
    out.print(f"{title} ({what}{kind}): {sizes.file_bytes:,} bytes, {sizes.weight_bytes:,} of them "
              "weights.")
    budget = getattr(sizes, "budget", None)
    if budget is not None and sizes.file_bytes <= budget:
        out.print(f"[green]Within the byte budget of {budget:,}[/] "
                  f"({budget - sizes.file_bytes:,} to spare).")
    elif budget is not None:
        out.print(f"[red]Over the byte budget of {budget:,} by {sizes.file_bytes - budget:,}.[/]")


def evaluate_command(args: argparse.Namespace) -> int:
    """Runs `kerasmnist evaluate`."""
    from kerasmnist.evaluation import (
        confusion_heatmap,
        confusion_matrix,
        evaluate_splits,
        model_inputs,
        top_confusions,
    )

    info = get_dataset_info(args.dataset)
    model, model_format = _load_evaluated(args.model)  # a bad file fails before the data loads
    dataset = load_dataset(info, data_dir=args.data_dir, validation=args.validation, seed=args.seed)
    _check_model_fits(model, dataset, args.model)
    splits = list(dict.fromkeys(args.split or SPLITS))
    table = evaluate_splits(model, dataset, splits=splits)
    evaluated = [result.split for result in table.results]
    if not evaluated:
        raise InvalidArgumentError(
            f"Invalid value for argument `--split`. Expected a split with examples. Received: "
            f"--split {' --split '.join(splits)}, with --validation {args.validation} leaving "
            "the validation split empty"
        )
    confusion_split = "test" if "test" in evaluated else evaluated[-1]
    x, y = dataset.arrays(confusion_split, view="image")
    scores = model.predict(model_inputs(model, x), batch_size=1024, verbose=0)
    cm = confusion_matrix(y, scores, dataset.num_classes)
    mistakes = top_confusions(cm, dataset.class_names, k=_TOP_CONFUSIONS)
    if args.json:
        emit_json({
            "model": args.model, "format": model_format, "dataset": dataset.name,
            "validation": args.validation, "seed": args.seed,
            "splits": {r.split: {"examples": r.examples, "loss": r.loss, "accuracy": r.accuracy,
                                 "error_rate": r.error_rate} for r in table.results},
            "confusion": {
                "split": confusion_split, "class_names": list(dataset.class_names), "matrix": cm,
                "top_confusions": [{"true": t, "predicted": p, "count": n} for t, p, n in mistakes],
            },
        })
        return EXIT_OK
    out = console()
    out.print(table.to_rich(title=f"{escape(args.model)} on {dataset.name}"))
    out.print(confusion_heatmap(
        cm, dataset.class_names,
        title=f"Confusion matrix, {confusion_split} split (rows true, columns predicted)",
    ))
    if mistakes:
        out.print("Most frequent mistakes (true -> predicted):")
        for true, predicted, count in mistakes:
            out.print(f"  {escape(true)} -> {escape(predicted)}: {count:,}")
    else:
        out.print(f"No mistakes on the {confusion_split} split.")
    return EXIT_OK


def _budget_target(target: str, dataset_name: str) -> tuple[keras.Model, str]:
    """Builds the preset called `target`, or loads the model saved at `target`."""
    load_backend()
    from kerasmnist import presets

    if target in presets.names():
        info = get_dataset_info(dataset_name)
        model = presets.build(target, input_shape=(math.prod(info.image_shape),),
                              num_classes=info.num_classes)
        return model, f"preset, for {info.name}"
    if Path(target).is_file():
        return _load_model(target, "target", compile=False), "saved model"
    raise InvalidArgumentError(
        f"Invalid value for argument `target`. Expected a preset name (one of "
        f"{presets.names()}) or the path of a saved .keras model. Received: target={target!r}, "
        "which is neither a preset nor an existing file"
    )


def _load_evaluated(path: str) -> tuple[keras.Model | TFLiteModel, str]:
    """The model `evaluate` is given, and its format: `"tflite"` or `"keras"` (compiled)."""
    from kerasmnist.tflite import is_tflite_file, load_tflite

    if is_tflite_file(path):
        load_backend()
        return load_tflite(path, argument="model"), "tflite"
    return _load_model(path, "model", compile=True), "keras"


def _load_model(path: str, argument: str, *, compile: bool) -> keras.Model:
    """Loads a saved model (`kerasmnist.runs.checkpoints.load_model_file`)."""
    load_backend()
    from kerasmnist.runs.checkpoints import load_model_file

    return load_model_file(path, compile=compile, argument=argument)



def _check_model_fits(model: keras.Model | TFLiteModel, dataset: Dataset, path: str) -> None:
    """Checks that a Keras model is compiled and that its input and output fit the data set."""
    pixels = math.prod(dataset.image_shape)
    input_shape: Any = model.input_shape
    output_shape: Any = model.output_shape
    problem = None
    if not getattr(model, "compiled", True):  # a TFLite model needs no loss: it has its own
        problem = ("a compiled model (saved after model.compile(...) with a loss for integer "
                   "labels, as kerasmnist's presets are)", "an uncompiled model")
    elif (not isinstance(input_shape, tuple) or None in input_shape[1:]
          or math.prod(input_shape[1:]) != pixels):
        problem = (f"a model taking {dataset.name} images of {pixels} pixels, flat or as an image",
                   f"input shape {input_shape}")
    elif not isinstance(output_shape, tuple) or output_shape[-1] != dataset.num_classes:
        problem = (f"a model giving {dataset.num_classes} class scores",
                   f"output shape {output_shape}")
    if problem is not None:
        raise InvalidArgumentError(
            f"Invalid value for argument `model`. Expected {problem[0]}. Received: "
            f"model={path!r}, {problem[1]}"
        )


def _layer_table(title: str, layers: tuple[LayerParams, ...]) -> Table:
    table = Table(title=title)
    table.add_column("layer")
    table.add_column("type")
    for header in ("trainable", "non-trainable", "params"):
        table.add_column(header, justify="right")
    for layer in layers:
        table.add_row(escape(layer.name), layer.kind, f"{layer.trainable:,}",
                      f"{layer.non_trainable:,}", f"{layer.total:,}")
    return table
