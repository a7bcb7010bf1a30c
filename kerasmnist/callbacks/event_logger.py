"""A callback that writes each epoch's logs to the run event log."""

from __future__ import annotations

import copy
import os
import time
from typing import Any

import keras

from kerasmnist.events import EventWriter

__all__ = ["EventLogger"]


class EventLogger(keras.callbacks.Callback):
    """Appends an `epoch_ended` event, with every logged value, after each epoch.

    The event also holds the epoch's wall time (`seconds`) and the process's CPU
    time over it (`cpu_seconds`, every thread), from the start of the epoch to
    this callback's turn at its end.

    Put it after `FullEvalMetrics` in the callback list, so the full-eval metrics
    are in the logs it records.

    Args:
        events: An `EventWriter`, or the path of an `events.jsonl` to append to.
        trial_id: The trial the epochs belong to, if any. Defaults to `None`.

    Example:

    >>> import tempfile, pathlib, numpy as np, keras
    >>> from kerasmnist.events import read_events
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    >>> model.compile("sgd", "mse")
    >>> _ = model.fit(np.zeros((8, 4)), np.zeros((8, 2)), epochs=2, verbose=0,
    ...               callbacks=[EventLogger(path)])
    >>> [(e["epoch"], e["epochs"], "loss" in e["logs"]) for e in read_events(path)]
    [(0, 2, True), (1, 2, True)]
    """

    def __init__(self, events: EventWriter | str | os.PathLike[str], *,
                 trial_id: str | None = None) -> None:
        super().__init__()
        self.events = events if isinstance(events, EventWriter) else EventWriter(events)
        self.trial_id = trial_id
        self._epoch_start = 0.0
        self._cpu_start = 0.0

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._epoch_start = time.perf_counter()
        self._cpu_start = time.process_time()

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.events.epoch_ended(
            epoch, logs, seconds=time.perf_counter() - self._epoch_start,
            epochs=(self.params or {}).get("epochs"), trial_id=self.trial_id,
            cpu_seconds=round(time.process_time() - self._cpu_start, 4),
        )

    def __deepcopy__(self, memo: dict[int, Any]) -> EventLogger:
        clone = copy.copy(self)  # shares the writer: one file for every trial
        memo[id(self)] = clone
        return clone
