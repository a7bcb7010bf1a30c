"""The model of any trial of a run, reloaded from what its run directory keeps.

A search's trial keeps its best epoch's weights in keras-tuner's project beside
its hyperparameters (`search/trial_<id>/checkpoint.weights.h5` and
`trial.json`): its model is rebuilt by the run's hypermodel (the spec's
overrides and budget) from those hyperparameters, and the weights loaded, as
keras-tuner's own `Tuner.load_model` does. A replicate, of plain training
(`replicates/r0`) or of a search's retrained best model (`final/final_r0`),
keeps its whole model (`model.keras`). `load_model_file` loads any saved model, a run's
`best_model.keras` among them.
"""

from __future__ import annotations

import os
import warnings
import zipfile
from pathlib import Path

import keras
import keras_tuner as kt

# The presets' layer and loss, registered so that saved replicates load:
from kerasmnist import layers, losses  # noqa: F401
from kerasmnist.datasets import Dataset
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs import training
from kerasmnist.runs.rundir import load_spec
from kerasmnist.runs.search import TUNER_PROJECT

__all__ = ["CHECKPOINT_FILE", "load_model_file", "load_trial_model"]

CHECKPOINT_FILE = "checkpoint.weights.h5"
"""keras-tuner's name for a trial's best-epoch weights (multi-backend Keras), in `search/trial_<id>/`."""

_REPLICATE_DIRS = ("replicates", "final")


def load_model_file(path: str | os.PathLike[str], *, compile: bool = False,
                    argument: str = "model") -> keras.Model:
    """A model saved with `model.save("name.keras")`, with kerasmnist's layers and losses registered.

    Args:
        path: The `.keras` file (a run's `best_model.keras`, say).
        compile: Whether to restore its optimizer and loss too. Defaults to `False`
            (enough to predict).
        argument: The argument's name, for the error message.

    Returns:
        The model.

    Raises:
        InvalidArgumentError: `path` is missing, a directory, not a zip archive,
            not loadable by Keras, or not a model; the message names `argument`.
    """
    name = os.fspath(path)
    if not Path(path).is_file():
        what = "a directory" if Path(path).is_dir() else "no such file"
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected the path of a model saved with "
            f"model.save('name.keras'). Received: {argument}={name!r} ({what})")
    if Path(path).suffix == ".keras" and not zipfile.is_zipfile(path):
        # Keras itself would report such a file as "not found".
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a Keras model saved with "
            f"model.save('name.keras'), a zip archive. Received: {argument}={name!r}, which is "
            "not a zip archive (damaged or not a model)")
    try:
        model = keras.saving.load_model(path, compile=compile)
    except (ValueError, TypeError, KeyError, OSError, zipfile.BadZipFile) as error:
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a Keras model saved with "
            f"model.save('name.keras'). Received: {argument}={name!r}, which Keras could not "
            f"load: {error}") from None
    if not isinstance(model, keras.Model):
        raise InvalidArgumentError(
            f"Invalid value for argument `{argument}`. Expected a Keras model. Received: "
            f"{argument}={name!r}, which holds a {type(model).__name__}")
    return model


def load_trial_model(
    run_dir: str | os.PathLike[str],
    trial_id: str,
    *,
    data: Dataset | None = None,
) -> keras.Model:
    """The model trial `trial_id` of a run trained, with its best epoch's weights, compiled.

    Args:
        run_dir: The run directory.
        trial_id: A trial's id, as the run's events and `results.json` give it
            (`"03"`; `"r0"` or `"final_r0"` for a replicate).
        data: The run's data set, from which a search trial's hypermodel takes
            its input shape and classes. Defaults to `None`: the spec's,
            loaded (`training.load_data`).

    Returns:
        The model, compiled as it trained (a search trial's, with a fresh
        optimizer state) or as it was saved.

    Raises:
        InvalidArgumentError: `run_dir` holds no run, or the run keeps no model of
            `trial_id` (a failed trial has none), naming where it looked.

    Example:

        run = kerasmnist.run(RunSpec(model="tiny", search="random", trials=3), "runs/t")
        model = load_trial_model("runs/t", run.trials[1]["trial_id"])
    """
    run_dir = Path(run_dir)
    spec = load_spec(run_dir)
    trial_dir = run_dir / TUNER_PROJECT / f"trial_{trial_id}"
    checkpoint = trial_dir / CHECKPOINT_FILE
    if checkpoint.is_file() and (trial_dir / "trial.json").is_file():
        trial = kt.engine.trial.Trial.load(str(trial_dir / "trial.json"))
        hypermodel = training.hypermodel(spec, data if data is not None else training.load_data(spec))
        model = hypermodel.build(trial.hyperparameters)
        with warnings.catch_warnings():  # the optimizer starts afresh: its state is not restored
            warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
            model.load_weights(checkpoint)
        return model
    saved = [run_dir / name / str(trial_id) / "model.keras" for name in _REPLICATE_DIRS]
    for path in saved:
        if path.is_file():
            return keras.saving.load_model(path)
    raise InvalidArgumentError(
        f"Invalid value for argument `trial_id`. Expected a trial of the run in {str(run_dir)!r} "
        f"that kept its model ({checkpoint} with trial.json beside it, or "
        f"{' or '.join(map(str, saved))}). Received: trial_id={trial_id!r}, which has none "
        f"(a failed trial keeps no model)")
