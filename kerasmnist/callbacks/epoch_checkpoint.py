"""A callback that checkpoints a fit's whole state after each epoch, so that a new fit goes on from it.

Keras's own `keras.callbacks.BackupAndRestore` keeps the weights, the
optimizer's state and the epoch, but not enough for a run that must survive a
`SIGKILL` and go on as if nothing happened:

- it writes the weights (`latest.weights.h5`, in place) and then the epoch
  (`training_metadata.json`) as two files: a kill during the first leaves a
  truncated file, and one between the two leaves the next epoch's weights
  with the previous epoch's number, which loads without an error and trains
  that epoch twice;
- it keeps no random state: a `Dropout` layer's seed generator starts over, and
  so does NumPy's global generator, which shuffles the data on the JAX backend,
  so the resumed epochs differ from an uninterrupted run's;
- it keeps nothing of the other callbacks (`EarlyStopping`'s patience and best
  weights) nor of the epochs before: the `History` that `fit` returns, by
  which keras-tuner scores a trial, holds the resumed epochs only.

`EpochCheckpoint` writes one file, `state.npz`: every variable of the model
(seed generators and batch-normalisation statistics included), every variable
of the optimizer, NumPy's global random state, the kept callbacks' best
weights, and a JSON record of the epoch, the logged history, the best epoch and
the kept callbacks' counters. It
is written to a temporary name and renamed, so a kill at any moment leaves the
previous checkpoint or the new one, whole. It is NumPy's zip of arrays, read
without pickle.
"""

from __future__ import annotations

import json
import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import keras
import numpy as np

from kerasmnist.errors import CheckpointError, InvalidArgumentError
from kerasmnist.events import jsonable
from kerasmnist.fileio import atomic_path

__all__ = ["CHECKPOINT_FORMAT", "STATE_FILE", "CheckpointInfo", "EpochCheckpoint", "read_checkpoint"]

STATE_FILE = "state.npz"
"""The checkpoint's file name in its directory."""
CHECKPOINT_FORMAT = 1
"""The version of the checkpoint's layout, recorded in it; another is not read."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a checkpoint says of the training it saved, its arrays aside.

    Attributes:
        epoch: The epoch a resumed fit starts at (0-based, as Keras counts): one
            past the last epoch saved.
        stopped: Whether that fit had ended there (its last epoch, or a callback
            such as `EarlyStopping` stopped it): a resumed fit trains no epoch.
        history: Each logged metric's values over the saved epochs, as
            `History.history` holds them (`None` for a value that was not finite).
        history_epochs: Those epochs' numbers, as `History.epoch`.
        best_value: The best value of the monitored metric so far, or `None`.
        best_epoch: The epoch that had it (or the latest without the metric), or
            `None`.
    """

    epoch: int
    stopped: bool = False
    history: dict[str, list[float | None]] = field(default_factory=dict)
    history_epochs: list[int] = field(default_factory=list)
    best_value: float | None = None
    best_epoch: int | None = None


def read_checkpoint(directory: str | os.PathLike[str]) -> CheckpointInfo | None:
    """What the checkpoint in `directory` holds (its record, not its arrays), or `None` if none.

    Raises:
        CheckpointError: The file is there but is not a checkpoint this version
            reads; the message names it.

    Example:

    >>> import tempfile
    >>> read_checkpoint(tempfile.mkdtemp()) is None
    True
    """
    path = Path(directory) / STATE_FILE
    if not path.exists():
        return None
    with _open(path) as arrays:
        return _info(path, _meta(path, arrays))


class EpochCheckpoint(keras.callbacks.Callback):
    """Checkpoints the whole training state after each epoch; a later fit goes on from it.

    After each epoch it writes `state.npz` in `directory` (see the module's
    docstring), atomically. At the start of a fit it restores the checkpoint
    that `directory` holds, if any: the fit then trains from the epoch after
    the saved one (through `model._initial_epoch`, as Keras's
    `BackupAndRestore` does), with the same weights, optimizer state and random
    state, so that its epochs equal an uninterrupted fit's (bit for bit on the
    TensorFlow and JAX backends, up to the float noise of threaded kernels); and
    the `History` it returns holds the saved epochs' logs before its own, so
    that a score taken from it (keras-tuner's trial score) is of every epoch.

    The checkpoint outlives the fit: deleting it once the result is kept is the
    caller's job (a crash after `fit` returns must not lose the epochs first).
    The model must be built as the saved one was; a checkpoint that does not
    fit it raises `CheckpointError`.

    Put it after the callbacks that log an epoch (`EventLogger`, `CSVLogger`):
    a kill between their write and the checkpoint's leaves an epoch logged
    twice, which a reader folds (`RunState` keeps the later one), never an
    epoch trained and not logged. Put it after the callbacks in `keep` too,
    whose state it restores once they have reset it (`on_train_begin`).

    Args:
        directory: Where the checkpoint lives; made when first written.
        monitor: A logged metric whose best epoch it tracks, as keras-tuner's
            `SaveBestEpoch` tracks a trial's objective (a strict improvement; an
            epoch that does not log it counts as the best); the checkpoint
            records it (`CheckpointInfo.best_value`). Defaults to `None`.
        mode: `"min"` or `"max"`, for `monitor`. Defaults to `"max"`.
        best_path: A `.weights.h5` file that a later callback writes with the
            best epoch's weights (keras-tuner's `SaveBestEpoch`). When the last
            saved epoch was the best, a resumed fit writes it again from the
            restored state, atomically: the kill may have come before or during
            that callback's write. Needs `monitor`. Defaults to `None`.
        keep: `EarlyStopping` callbacks of the same fit whose state it keeps
            (patience count, best value, epoch and weights), so that a resumed
            fit stops where an uninterrupted one would. Defaults to none.

    Raises:
        InvalidArgumentError: An invalid `mode`, a `best_path` without
            `monitor` or not ending in `.weights.h5`, or a `keep` entry that is
            not an `EarlyStopping`.

    Example:

    >>> import tempfile, numpy as np, keras
    >>> directory = tempfile.mkdtemp()
    >>> def model():
    ...     m = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    ...     m.compile("adam", "mse")
    ...     return m
    >>> class Interrupt(keras.callbacks.Callback):
    ...     def on_epoch_end(self, epoch, logs=None):
    ...         if epoch == 1:
    ...             raise KeyboardInterrupt
    >>> x, y = np.zeros((8, 4)), np.zeros((8, 2))
    >>> try:
    ...     model().fit(x, y, epochs=4, verbose=0, callbacks=[EpochCheckpoint(directory), Interrupt()])
    ... except KeyboardInterrupt:
    ...     pass
    >>> read_checkpoint(directory).epoch
    2
    >>> model().fit(x, y, epochs=4, verbose=0, callbacks=[EpochCheckpoint(directory)]).epoch
    [0, 1, 2, 3]
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        monitor: str | None = None,
        mode: str = "max",
        best_path: str | os.PathLike[str] | None = None,
        keep: Sequence[keras.callbacks.Callback] = (),
    ) -> None:
        super().__init__()
        if mode not in ("min", "max"):
            raise InvalidArgumentError(
                f"Invalid value for argument `mode`. Expected 'min' or 'max'. Received: mode={mode!r}")
        if best_path is not None and (monitor is None or not str(best_path).endswith(".weights.h5")):
            raise InvalidArgumentError(
                f"Invalid value for argument `best_path`. Expected a path ending in '.weights.h5', "
                f"with a `monitor`. Received: best_path={str(best_path)!r}, monitor={monitor!r}")
        for callback in keep:
            if not isinstance(callback, keras.callbacks.EarlyStopping):
                raise InvalidArgumentError(
                    f"Invalid value for argument `keep`. Expected `EarlyStopping` callbacks. "
                    f"Received: {type(callback).__name__}")
        self.directory = Path(directory)
        self.monitor = monitor
        self.mode = mode
        self.best_path = Path(best_path) if best_path is not None else None
        self.keep = list(keep)
        self.restored: CheckpointInfo | None = None
        """What the current fit was restored from, or `None` when it started afresh."""
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self._history: dict[str, list[float | None]] = {}
        self._epochs: list[int] = []

    @property
    def path(self) -> Path:
        """The checkpoint file."""
        return self.directory / STATE_FILE

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self.best_value = self.best_epoch = None
        self._history, self._epochs = {}, []
        self.restored = self._restore()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self._epochs.append(epoch)
        for key, value in logs.items():
            self._history.setdefault(key, []).append(_number(value))
        self._track_best(epoch, logs)
        epochs = (self.params or {}).get("epochs")
        stopped = bool(self.model.stop_training) or (epochs is not None and epoch + 1 >= epochs)
        self._save(epoch + 1, stopped)

    def on_train_end(self, logs: dict[str, Any] | None = None) -> None:
        if self.restored is None:
            return
        self.model._initial_epoch = None  # Keras keeps it: a later fit of this model would skip epochs
        history = getattr(self.model, "history", None)
        if isinstance(history, keras.callbacks.History):
            before = self.restored.history
            new = history.history
            history.history = {key: [_nan(v) for v in before.get(key, [])] + list(new.get(key, []))
                               for key in {**before, **new}}
            history.epoch = [*self.restored.history_epochs, *getattr(history, "epoch", [])]

    # -- saving -------------------------------------------------------------------------

    def _track_best(self, epoch: int, logs: Mapping[str, Any]) -> None:
        if self.monitor is None:
            return
        value = logs.get(self.monitor)
        if value is None:  # keras-tuner's SaveBestEpoch saves every such epoch
            self.best_epoch = epoch
            return
        value = float(value)
        if self.best_value is None:
            better = value > -math.inf if self.mode == "max" else value < math.inf  # NaN never is
        else:
            better = value > self.best_value if self.mode == "max" else value < self.best_value
        if better:
            self.best_value, self.best_epoch = value, epoch

    def _save(self, epoch: int, stopped: bool) -> None:
        arrays: dict[str, np.ndarray] = {}
        for i, variable in enumerate(self.model.variables):
            arrays[f"model/{i}"] = variable.numpy()
        for i, variable in enumerate(_optimizer_variables(self.model)):
            arrays[f"optimizer/{i}"] = variable.numpy()
        kept = []
        for j, callback in enumerate(self.keep):
            weights = callback.best_weights
            for i, array in enumerate(weights or []):
                arrays[f"keep/{j}/{i}"] = np.asarray(array)
            kept.append({"wait": callback.wait, "stopped_epoch": callback.stopped_epoch,
                         "best": callback.best, "best_epoch": callback.best_epoch,
                         "best_weights": None if weights is None else len(weights)})
        kind, keys, position, has_gauss, gauss = np.random.get_state()  # type: ignore[misc]
        arrays["random/numpy"] = np.asarray(keys)
        meta = {"format": CHECKPOINT_FORMAT, "epoch": epoch, "stopped": stopped,
                "numpy_random": [kind, int(position), int(has_gauss), float(gauss)],
                "history": self._history, "history_epochs": self._epochs,
                "best_value": self.best_value, "best_epoch": self.best_epoch, "keep": kept,
                "model_variables": len(self.model.variables),
                "optimizer_variables": len(_optimizer_variables(self.model))}
        arrays["meta"] = np.array(json.dumps(jsonable(meta), allow_nan=False))
        with atomic_path(self.path) as tmp, open(tmp, "wb") as stream:
            np.savez(stream, **arrays)  # type: ignore[arg-type]  # numpy's stubs type the kwargs as bool

    # -- restoring ----------------------------------------------------------------------

    def _restore(self) -> CheckpointInfo | None:
        path = self.path
        if not path.exists():
            return None
        if not hasattr(self.model, "_initial_epoch"):  # without it, fit would train every epoch again
            raise CheckpointError(f"Cannot go on from the checkpoint {path}: Keras {keras.__version__} has "
                                  f"no `Model._initial_epoch`, through which fit skips the epochs done")
        with _open(path) as arrays:
            meta = _meta(path, arrays)
            info = _info(path, meta)
            optimizer = self.model.optimizer
            if optimizer is not None and not optimizer.built:  # its variables, to load into
                optimizer.build(self.model.trainable_variables)
            pairs = _pairs(path, arrays, "model", self.model.variables, meta.get("model_variables"))
            pairs += _pairs(path, arrays, "optimizer", _optimizer_variables(self.model),
                            meta.get("optimizer_variables"))
            kept = meta.get("keep")
            if not isinstance(kept, list) or len(kept) != len(self.keep):
                raise CheckpointError(f"The checkpoint {path} keeps the state of "
                                      f"{len(kept) if isinstance(kept, list) else 'no'} early-stopping "
                                      f"callbacks; this fit has {len(self.keep)}")
            random = meta.get("numpy_random")
            if not isinstance(random, list) or len(random) != 4 or "random/numpy" not in arrays:
                raise CheckpointError(f"The checkpoint {path} has no valid NumPy random state: {random!r}")
            for variable, value in pairs:  # only once every one fits: nothing half restored
                variable.assign(value)
            np.random.set_state((random[0], arrays["random/numpy"], *random[1:]))
            for j, (callback, state) in enumerate(zip(self.keep, kept, strict=True)):
                _restore_early_stopping(path, arrays, j, callback, state)
        self._history = {key: list(values) for key, values in info.history.items()}
        self._epochs = list(info.history_epochs)
        self.best_value, self.best_epoch = info.best_value, info.best_epoch
        # Keras's own BackupAndRestore sets this: fit reads it after on_train_begin.
        self.model._initial_epoch = max(info.epoch, (self.params or {}).get("epochs", 0)) \
            if info.stopped else info.epoch
        if self.best_path is not None and info.best_epoch is not None and info.best_epoch == info.epoch - 1:
            with atomic_path(self.best_path, suffix=".weights.h5") as tmp:
                self.model.save_weights(tmp)
        return info


def _optimizer_variables(model: keras.Model) -> list[Any]:
    optimizer = getattr(model, "optimizer", None)
    return list(optimizer.variables) if optimizer is not None else []


def _open(path: Path) -> Any:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"The checkpoint {path} cannot be read ({error}); delete it to train "
                              f"from the start") from None


def _meta(path: Path, arrays: Any) -> dict[str, Any]:
    try:
        meta = json.loads(str(arrays["meta"]))
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise CheckpointError(f"The checkpoint {path} has no readable record ({error!r}); delete it "
                              f"to train from the start") from None
    if not isinstance(meta, dict) or meta.get("format") != CHECKPOINT_FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else meta
        raise CheckpointError(f"The checkpoint {path} is not of format {CHECKPOINT_FORMAT}: found "
                              f"{found!r}")
    return meta


def _info(path: Path, meta: Mapping[str, Any]) -> CheckpointInfo:
    epoch, history, epochs = meta.get("epoch"), meta.get("history"), meta.get("history_epochs")
    best_epoch = meta.get("best_epoch")
    if not (isinstance(epoch, int) and _count(epoch) is not None and isinstance(history, dict)
            and isinstance(epochs, list) and all(_count(e) is not None for e in epochs)
            and all(isinstance(v, list) for v in history.values())
            and (best_epoch is None or _count(best_epoch) is not None)):
        raise CheckpointError(f"The checkpoint {path} has an invalid record: epoch {epoch!r}")
    return CheckpointInfo(epoch, bool(meta.get("stopped")),
                          {str(k): [_number(v) for v in values] for k, values in history.items()},
                          [int(e) for e in epochs], _number(meta.get("best_value")), best_epoch)


def _pairs(path: Path, arrays: Any, group: str, variables: Sequence[Any],
           count: Any) -> list[tuple[Any, np.ndarray]]:
    """The variables with their saved values, checked: the same number, each of the same shape."""
    if count != len(variables):
        raise CheckpointError(f"The checkpoint {path} does not fit the model: it holds {count} {group} "
                              f"variables, the model has {len(variables)}")
    pairs = []
    for i, variable in enumerate(variables):
        value = arrays[f"{group}/{i}"]
        if tuple(value.shape) != tuple(variable.shape):
            raise CheckpointError(f"The checkpoint {path} does not fit the model: {group} variable {i} "
                                  f"({variable.path}) has shape {tuple(variable.shape)}, the "
                                  f"checkpoint's {tuple(value.shape)}")
        pairs.append((variable, value))
    return pairs


def _restore_early_stopping(path: Path, arrays: Any, j: int, callback: keras.callbacks.EarlyStopping,
                            state: Any) -> None:
    if not isinstance(state, dict):
        raise CheckpointError(f"The checkpoint {path} has an invalid early-stopping state: {state!r}")
    callback.wait = int(state.get("wait") or 0)
    callback.stopped_epoch = int(state.get("stopped_epoch") or 0)
    callback.best = _number(state.get("best"))
    callback.best_epoch = int(state.get("best_epoch") or 0)
    count = state.get("best_weights")
    callback.best_weights = (None if count is None
                             else [arrays[f"keep/{j}/{i}"] for i in range(int(count))])


def _number(value: Any) -> float | None:
    """A logged value as a float; `None` for one that is missing or not finite (JSON has no NaN)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _nan(value: float | None) -> float:
    return float("nan") if value is None else value


def _count(value: Any) -> int | None:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return value if ok else None
