"""Full-data evaluation in inference mode at the end of each epoch."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import keras
import numpy as np

from kerasmnist.datasets import Dataset
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.evaluation import ClassMetrics, class_metrics, confusion_matrix, model_inputs

if TYPE_CHECKING:
    from kerasmnist.events import EventWriter

__all__ = ["FullEvalMetrics"]

_PREFIXES = {"train": "train_", "validation": "val_", "val": "val_"}


class FullEvalMetrics(keras.callbacks.Callback):
    """Evaluates the model on whole data sets, in inference mode, after each epoch.

    Keras's own training loss and accuracy are running averages taken while the
    weights change, with dropout and regularisation active, so they cannot be
    compared with validation metrics measured at the end of the epoch. This
    callback measures the chosen sets the way validation is measured and adds
    the results to the epoch's `logs` under Keras's naming scheme: `train_loss`,
    `train_accuracy`, `val_loss`, `test_accuracy`, and so on. History,
    CSVLogger, EarlyStopping, ModelCheckpoint, TensorBoard and keras-tuner
    objectives such as `kt.Objective("train_accuracy", "max")` see them; put this
    callback first in the list so the others do.

    The sets are evaluated after the first epoch and then after every `every`-th
    (epochs `every`, `2 * every`, ... counting from 1), so that CSVLogger, which
    fixes its columns at the first epoch, has them from the start.
    Copies of the callback (keras-tuner deep-copies callbacks for each trial)
    share the data instead of duplicating it.

    Args:
        data: A `Dataset`, whose splits are named "train", "validation" and
            "test", or a mapping from a set's name to its `(x, y)` arrays.
        sets: The names of the sets to evaluate. Defaults to `None`: "train"
            for a `Dataset`, every set of a mapping.
        every: Evaluate every this many epochs. Defaults to `1`.
        batch_size: Evaluation batch size; large, since no gradients are kept.
            Defaults to `4096`.
        subsample: Evaluate a fixed random fraction of each set, in `(0, 1]`.
            Defaults to `None` (all of it).
        seed: Seed of the subsample. Defaults to `0`.
        confusion: The name of one set whose confusion matrix and per-class
            metrics to compute as well (available as `confusion_matrix` and
            `class_metrics`, and written to `events`). Defaults to `None`.
        class_names: Class names for the confusion matrix. Defaults to the
            data set's, or the class indices.
        events: An `EventWriter` to record each confusion matrix in. Defaults
            to `None`.
        trial_id: The trial the recorded confusion matrices belong to.
            Defaults to `None`.

    Raises:
        InvalidArgumentError: An unknown set name, or an invalid setting.

    Example:

    >>> from kerasmnist import load_dataset, presets
    >>> ds = load_dataset("mnist_sample", validation=0.2)
    >>> model = presets.build("logistic_regression")
    >>> history = model.fit(*ds.arrays("train"), validation_data=ds.arrays("validation"),
    ...                     epochs=1, verbose=0, callbacks=[FullEvalMetrics(ds)])
    >>> sorted(k for k in history.history if k.startswith(("train_", "val_")))
    ['train_accuracy', 'train_loss', 'val_accuracy', 'val_loss']
    """

    def __init__(
        self,
        data: Dataset | Mapping[str, tuple[np.ndarray, np.ndarray]],
        *,
        sets: Sequence[str] | None = None,
        every: int = 1,
        batch_size: int = 4096,
        subsample: float | None = None,
        seed: int = 0,
        confusion: str | None = None,
        class_names: Sequence[str] | None = None,
        events: EventWriter | None = None,
        trial_id: str | None = None,
    ) -> None:
        super().__init__()
        self._data = _SharedSets(data, sets, subsample, seed)
        for name, value in (("every", every), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidArgumentError(
                    f"Invalid value for argument `{name}`. Expected a positive integer. "
                    f"Received: {name}={value!r}"
                )
        if confusion is not None and confusion not in self._data.names:
            raise InvalidArgumentError(
                f"Invalid value for argument `confusion`. Expected one of the evaluated sets "
                f"{list(self._data.names)}. Received: confusion={confusion!r}"
            )
        self.every = every
        self.batch_size = batch_size
        self.confusion = confusion
        self.class_names = list(class_names) if class_names is not None else (
            list(data.class_names) if isinstance(data, Dataset) else None)
        self.events = events
        self.trial_id = trial_id
        self._fast: bool | None = None
        self.confusion_matrix: np.ndarray | None = None
        """The latest confusion matrix of the `confusion` set (counts)."""
        self.class_metrics: ClassMetrics | None = None
        """Precision, recall and F1 of each class, from `confusion_matrix`."""

    @property
    def sets(self) -> tuple[str, ...]:
        """The names of the evaluated sets."""
        return self._data.names

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.confusion_matrix = None
        self.class_metrics = None
        self._fast = None  # decided afresh for each model; see _evaluate

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs if logs is not None else {}
        if epoch != 0 and (epoch + 1) % self.every:  # the first, then every n-th epoch
            return
        for name in self._data.names:
            x, y = self._data.arrays(name, self.model)
            scores, predictions = self._evaluate(x, y, predict=name == self.confusion)
            prefix = _PREFIXES.get(name, f"{name}_")
            for key, value in scores.items():
                logs[prefix + key] = float(value)
            if predictions is not None:
                self._record_confusion(y, predictions, epoch)

    def _evaluate(
        self, x: np.ndarray, y: np.ndarray, *, predict: bool
    ) -> tuple[dict[str, float], np.ndarray | None]:
        """Loss and metrics of the model on `(x, y)`, in inference mode.

        The first call asks `model.evaluate`. When that reports exactly loss and
        accuracy for integer labels, later calls compute the same two numbers
        from the model's compiled predict step, `model.compute_loss` (which
        adds the regularisation losses, as `evaluate` does) and the argmax:
        identical values at about half the cost, since `evaluate` wraps the
        arrays in a new data pipeline each time. Otherwise it stays with `evaluate`.
        """
        if not self._fast:
            scores = self.model.evaluate(x, y, batch_size=self.batch_size, verbose=0,
                                         return_dict=True)
            if self._fast is None:
                self._fast = set(scores) == {"loss", "accuracy"} and y.ndim == 1
            return scores, self._predict(x) if predict else None
        logits = self._predict(x)
        loss = self.model.compute_loss(x=None, y=y, y_pred=logits, training=False)
        accuracy = float(np.mean(logits.argmax(axis=-1) == y))
        scores = {"loss": float(keras.ops.convert_to_numpy(loss)), "accuracy": accuracy}
        return scores, logits if predict else None

    def _predict(self, x: np.ndarray) -> np.ndarray:
        step = self.batch_size
        return np.concatenate([keras.ops.convert_to_numpy(self.model.predict_on_batch(x[i:i + step]))
                               for i in range(0, len(x), step)])

    def _record_confusion(self, y: np.ndarray, scores: np.ndarray, epoch: int) -> None:
        num_classes = scores.shape[-1]
        self.confusion_matrix = confusion_matrix(y, scores, num_classes)
        self.class_metrics = class_metrics(self.confusion_matrix)
        if self.events is not None:
            names = self.class_names or [str(i) for i in range(num_classes)]
            self.events.confusion(self.confusion_matrix, names, split=str(self.confusion),
                                  epoch=epoch, trial_id=self.trial_id,
                                  per_class=self.class_metrics.as_dict(names))

    def __deepcopy__(self, memo: dict[int, Any]) -> FullEvalMetrics:
        clone = copy.copy(self)  # shares the data (and the event writer)
        memo[id(self)] = clone
        clone.confusion_matrix = None
        clone.class_metrics = None
        return clone


class _SharedSets:
    """The evaluation sets, prepared once and shared by every copy of the callback.

    Arrays are made on first use, in the shape the model takes (`model_inputs`),
    and kept for later epochs and trials.
    """

    def __init__(
        self,
        data: Dataset | Mapping[str, tuple[np.ndarray, np.ndarray]],
        sets: Sequence[str] | None,
        subsample: float | None,
        seed: int,
    ) -> None:
        available: tuple[str, ...]
        if isinstance(data, Dataset):
            available = ("train", "validation", "test", "val")
            names = tuple(sets) if sets is not None else ("train",)
        elif isinstance(data, Mapping):
            available = tuple(data)
            names = tuple(sets) if sets is not None else tuple(data)
        else:
            raise InvalidArgumentError(
                "Invalid value for argument `data`. Expected a Dataset or a mapping of "
                f"name -> (x, y). Received: data of type {type(data).__name__}"
            )
        unknown = [n for n in names if n not in available]
        if unknown or not names:
            raise InvalidArgumentError(
                f"Invalid value for argument `sets`. Expected names from {list(available)}. "
                f"Received: sets={list(names)}"
            )
        if subsample is not None and not (isinstance(subsample, float | int)
                                          and not isinstance(subsample, bool) and 0 < subsample <= 1):
            raise InvalidArgumentError(
                "Invalid value for argument `subsample`. Expected a fraction in (0, 1]. "
                f"Received: subsample={subsample!r}"
            )
        self.names = names
        self._data = data
        self._subsample = subsample
        self._seed = seed
        self._cache: dict[tuple[str, tuple[int, ...]], tuple[np.ndarray, np.ndarray]] = {}


    def arrays(self, name: str, model: keras.Model) -> tuple[np.ndarray, np.ndarray]:
        key = (name, tuple(d or 0 for d in model.input_shape[1:]))
        if key not in self._cache:
            if isinstance(self._data, Dataset):
                x, y = self._data.arrays(name, view="image")
            else:
                x, y = self._data[name]
            x, y = np.asarray(x), np.asarray(y)
            if self._subsample is not None and self._subsample < 1:
                rng = np.random.default_rng(self._seed)
                keep = np.sort(rng.choice(len(x), size=max(1, round(self._subsample * len(x))),
                                          replace=False))
                x, y = x[keep], y[keep]
            self._cache[key] = (model_inputs(model, x), y)
        return self._cache[key]
