"""The end of a run: the chosen model measured once on the test set, and the files written.

`finish` picks the best of the trained models, evaluates it on every split,
measures each replicate's test accuracy, saves the model and its
hyperparameters; `write_results` writes `results.json`, `results.txt` and
`confusion.txt`, each to a temporary name renamed into place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np
from tabulate import tabulate

from kerasmnist.datasets import Dataset
from kerasmnist.evaluation import (
    Replicates,
    confusion_matrix,
    confusion_text,
    evaluate_splits,
    model_inputs,
    top_confusions,
)
from kerasmnist.events import EventWriter
from kerasmnist.fileio import atomic_path, atomic_write_json, atomic_write_text
from kerasmnist.runs.rundir import MODEL_FILE, RESULTS_FILE, run_state
from kerasmnist.runs.spec import RunSpec
from kerasmnist.runs.state import Spend, TrialState, rank_trials
from kerasmnist.runs.training import better
from kerasmnist.runs.trials import training_time_text

__all__ = ["RunResult", "finish", "write_results"]


@dataclass
class RunResult:
    """What a run produced. `to_dict()` is the content of `results.json`.

    Attributes:
        run_dir: The run directory.
        spec: The run's spec (resolved).
        splits: Loss, accuracy and error rate % of the final model per split.
        params: The final model's weight count.
        best_trial: The id of the best trial (or replicate).
        best_hyperparameters: Its hyperparameters.
        trials: Every trial: id, status, score, params, hyperparameters.
        replicates: Test accuracy of each replicate with mean and standard
            deviation, or `None` for a single model.
        class_names: The data set's class names.
        confusion: The test confusion matrix (counts; rows true).
        top_confusions: The largest off-diagonal cells, `(true, predicted, count)`.
        seconds: Wall time of this session of the run.
        trained_on_validation: Whether the final model was retrained on the
            validation set too (`best_model = "retrain"`), so that its
            validation figures are not held-out measures.
        time_limit_reached: Whether the search stopped at `max_minutes` with
            trials left.
        spend: What the trials spent and pruning saved (`Spend.to_dict()`:
            epochs, CPU seconds, trials pruned, epochs and CPU seconds saved),
            or `None`.
        status: `"finished"`.
    """

    run_dir: Path
    spec: RunSpec
    splits: list[dict[str, Any]]
    params: int
    best_trial: str
    best_hyperparameters: dict[str, Any]
    trials: list[dict[str, Any]]
    replicates: dict[str, Any] | None
    class_names: list[str]
    confusion: np.ndarray
    top_confusions: list[tuple[str, str, int]]
    seconds: float
    trained_on_validation: bool = False
    time_limit_reached: bool = False
    spend: dict[str, Any] | None = None
    status: str = "finished"

    @property
    def test_accuracy(self) -> float:
        """The final model's accuracy on the test set."""
        return float(next(s["accuracy"] for s in self.splits if s["split"] == "test"))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["run_dir"] = str(self.run_dir)
        values["spec"] = self.spec.to_dict()
        values["confusion"] = self.confusion.tolist()
        values["test_accuracy"] = self.test_accuracy
        values["top_confusions"] = [list(t) for t in self.top_confusions]
        return values

    def summary(self) -> dict[str, Any]:
        """What the `run_ended` event records."""
        return {"test_accuracy": self.test_accuracy, "splits": self.splits, "params": self.params,
                "best_trial": self.best_trial, "best_hyperparameters": self.best_hyperparameters,
                "replicates": self.replicates, "seconds": self.seconds}


def finish(
    spec: RunSpec,
    run_dir: Path,
    data: Dataset,
    models: Mapping[str, tuple[keras.Model, float]],
    best_hp: dict[str, Any],
    events: EventWriter,
) -> RunResult:
    """Chooses the best model, measures it (the test set once) and saves it.

    Args:
        spec: The run's spec.
        run_dir: The run directory.
        data: The data set (with its validation split).
        models: The trained models by trial id, each with its score.
        best_hp: The hyperparameters they were trained with.
        events: The run's event log (gets the test confusion matrix).

    Returns:
        The result, with `seconds` still 0.
    """
    best_id = next(iter(models))
    for trial_id, (_, score) in models.items():
        if better(score, models[best_id][1], spec.direction):
            best_id = trial_id
    model = models[best_id][0]
    table = evaluate_splits(model, data)
    x_test, y_test = data.arrays("test")
    cm = confusion_matrix(y_test, _predict(model, x_test), data.num_classes)
    names = list(data.class_names)
    events.confusion(cm, names, split="test", trial_id=best_id)
    stats = None
    if len(models) > 1:
        accuracies = {k: float(np.mean(np.argmax(_predict(m, x_test), axis=1) == y_test))
                      for k, (m, _) in models.items()}
        reps = Replicates(tuple(range(len(accuracies))), tuple(accuracies.values()))
        stats = {"metric": "test_accuracy", "values": accuracies, "mean": reps.mean,
                 "std": reps.std, "median": float(np.median(list(accuracies.values())))}
    with atomic_path(run_dir / MODEL_FILE) as tmp:
        model.save(tmp)
    atomic_write_json(run_dir / "best_hyperparameters.json", best_hp)
    state = run_state(run_dir)
    return RunResult(
        run_dir=run_dir,
        spec=spec,
        splits=[{"split": r.split, "examples": r.examples, "loss": r.loss, "accuracy": r.accuracy,
                 "error_rate": r.error_rate} for r in table.results],
        params=int(model.count_params()),
        best_trial=best_id,
        best_hyperparameters=best_hp,
        trials=state.trial_table(),
        replicates=stats,
        class_names=names,
        confusion=cm,
        top_confusions=top_confusions(cm, names),
        seconds=0.0,
        spend=state.spend().to_dict(),
    )


def _predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict(model_inputs(model, x), batch_size=1024, verbose=0))


def write_results(result: RunResult) -> None:
    """Writes `results.json`, `results.txt` and `confusion.txt` into the run directory."""
    run_dir = result.run_dir
    atomic_write_json(run_dir / RESULTS_FILE, result.to_dict())
    rows = [(s["split"], s["examples"], f"{s['loss']:.4f}", f"{s['accuracy']:.4f}",
             f"{s['error_rate']:.2f}") for s in result.splits]
    text = [f"Best: {result.best_trial} ({result.params:,} weights)", "",
            tabulate(rows, headers=["split", "examples", "loss", "accuracy", "error %"]), ""]
    if result.trained_on_validation:
        text += ["(retrained on training and validation data: validation is not held out)", ""]
    if result.time_limit_reached:
        text += [f"(the search stopped at its time limit of {result.spec.max_minutes} minutes)", ""]
    if result.replicates:
        reps = result.replicates
        text += [f"Test accuracy over {len(reps['values'])} replicates: "
                 + f"{reps['mean']:.4f} +/- {reps['std']:.4f}, median {reps['median']:.4f}", ""]
    trials = [TrialState.from_dict(t) for t in result.trials]
    training = training_time_text(trials)
    if training is not None:
        text += [training, ""]
    ranked = rank_trials(trials, result.spec.objective)
    trial_rows = [(t.trial_id, t.status.value, "" if t.score is None else f"{t.score:.4f}", t.params or "")
                  for t in ranked]
    text += [tabulate(trial_rows, headers=["trial", "status", result.spec.objective, "weights"])]
    if result.spend is not None:
        text += ["", "Spent: " + Spend(**result.spend).describe()]
    atomic_write_text(run_dir / "results.txt", "\n".join(text) + "\n")
    confusion = [confusion_text(result.confusion, result.class_names), "",
                 "Top confusions (true -> predicted: count):"]
    confusion += [f"  {t} -> {p}: {n}" for t, p, n in result.top_confusions]
    atomic_write_text(run_dir / "confusion.txt", "\n".join(confusion) + "\n")
