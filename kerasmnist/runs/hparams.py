"""TensorBoard's HParams dashboard for a search: the experiment, and each trial as a session.

With `RunSpec.tensorboard`, a search writes under its run directory's
`tensorboard/` (the logdir to open: `tensorboard --logdir RUN/tensorboard`):

    tensorboard/events.out.tfevents.hparams-experiment
                                the experiment: every hyperparameter of the search
                                space with its domain, and the metrics; written once
    tensorboard/<trial_id>/     a trial's session: its hyperparameters and start
                                time, and at its end its status and `score`
    tensorboard/<trial_id>/train/, validation/
                                the trial's epochs, from Keras's `TensorBoard`
                                callback: `epoch_accuracy`, `epoch_loss`, ...

A trial of several executions (`executions_per_trial`) has one session per
execution, `tensorboard/<trial_id>/execution<k>/`, grouped by the trial's id,
so that the dashboard shows their mean.

A metric is named by the key Keras logs it under (`val_accuracy`,
`train_loss`, see `metric_names`) and found where Keras's `TensorBoard`
callback writes that key (`metric_run_tag`). A session also has the trial's
`score` (its best value of the objective, by which the search ranks it: the
dashboard's `val_accuracy` is the last epoch's), and, in a search that
prunes, `pruned` (1 for a trial the pruner stopped, 0 otherwise): TensorBoard's
session statuses are success, failure, running and unknown, so a pruned
trial's session ends as a success and `pruned` tells it apart. A failed
trial's session ends as a failure.

The files are TensorBoard event files written whole (each to a temporary name,
then renamed) with TensorBoard's own protocol buffers: no TensorFlow and no
Keras, so they are the same on every Keras backend. This module imports
TensorBoard only inside its functions.

Example:

>>> import tempfile, pathlib
>>> from tensorboard.plugins.hparams import summary_v2 as hp
>>> logdir = pathlib.Path(tempfile.mkdtemp())
>>> write_experiment(logdir, [hp.HParam("units", hp.IntInterval(16, 64))],
...                  experiment_metrics(["val_accuracy"], objective="val_accuracy")).name
'events.out.tfevents.hparams-experiment'
>>> session = session_dir(logdir, "00")
>>> _ = write_session_start(session, "00", {"units": 32})
>>> _ = write_session_end(session, "COMPLETED", score=0.91)
>>> sorted(p.name.rsplit(".", 1)[-1] for p in session.iterdir())
['session-end', 'session-start']
"""

from __future__ import annotations

import itertools
import math
import os
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.fileio import atomic_path

__all__ = ["EXPERIMENT_FILE", "PRUNED_METRIC", "SCORE_METRIC", "SESSION_STATUS", "TENSORBOARD_DIR",
           "experiment_hparams", "has_experiment", "experiment_metrics", "metric_names", "metric_run_tag",
           "session_dir", "session_values", "write_experiment", "write_session_end",
           "write_session_start"]

TENSORBOARD_DIR = "tensorboard"
"""The run directory's TensorBoard logdir."""

EXPERIMENT_FILE = "events.out.tfevents.hparams-experiment"
"""The experiment's event file in the logdir (a fixed name: it is written once)."""

SCORE_METRIC = "score"
"""The metric of a trial's score, in its session's own run."""

PRUNED_METRIC = "pruned"
"""The metric that marks a pruned trial (1) from the others (0), in a search that prunes."""

SESSION_STATUS = {"COMPLETED": "STATUS_SUCCESS", "PRUNED": "STATUS_SUCCESS", "FAILED": "STATUS_FAILURE",
                  "INVALID": "STATUS_FAILURE", "RUNNING": "STATUS_RUNNING"}
"""TensorBoard's session status of each trial status; any other is `STATUS_UNKNOWN`."""

_counter = itertools.count()


# -- what the experiment declares ------------------------------------------------------------


def metric_names(objective: str, *, validation: bool, full_eval: bool) -> list[str]:
    """The metrics a search's epochs log, by their Keras key: what the experiment declares.

    `accuracy` and `loss` (Keras's running values), `val_accuracy` and
    `val_loss` with a validation set, `train_accuracy` and `train_loss` with a
    full evaluation (`RunSpec.full_eval`), and the objective if it is none of
    these.

    Args:
        objective: The search's objective (`RunSpec.objective`).
        validation: Whether the search has a validation set.
        full_eval: Whether the epochs log a full evaluation of the training set.

    Returns:
        The keys, the objective's first.

    Example:

    >>> metric_names("val_accuracy", validation=True, full_eval=False)
    ['val_accuracy', 'val_loss', 'accuracy', 'loss']
    """
    names = [*(("val_accuracy", "val_loss") if validation else ()), "accuracy", "loss",
             *(("train_accuracy", "train_loss") if full_eval else ())]
    return [objective, *(name for name in names if name != objective)]


def metric_run_tag(name: str) -> tuple[str, str]:
    """Where Keras's `TensorBoard` callback writes the metric `name` of an epoch's logs.

    A `val_` key goes to the session's `validation` run, any other to its
    `train` run, as `epoch_<key without val_>`. The hparams plugin reads a
    metric of group `g` and tag `t` from the run `<session>/g`.

    Returns:
        `(group, tag)`.

    Raises:
        InvalidArgumentError: `name` is empty or is `val_` alone.

    Example:

    >>> metric_run_tag("val_accuracy"), metric_run_tag("train_loss")
    (('validation', 'epoch_accuracy'), ('train', 'epoch_train_loss'))
    """
    if not isinstance(name, str) or name in ("", "val_"):
        raise InvalidArgumentError(
            f"Invalid value for argument `name`. Expected a metric's key such as 'val_accuracy'. "
            f"Received: name={name!r}")
    if name.startswith("val_"):
        return "validation", f"epoch_{name[4:]}"
    return "train", f"epoch_{name}"


def experiment_metrics(
    names: Iterable[str], *, objective: str | None = None, pruning: bool = False
) -> list[Any]:
    """The experiment's metrics (`tensorboard.plugins.hparams.api.Metric`).

    Args:
        names: The logged metrics' keys (`metric_names`).
        objective: The search's objective, for the `score` metric's description.
            Defaults to `None`: no `score` metric.
        pruning: Whether the search prunes: adds the `pruned` metric.
            Defaults to `False`.
    """
    from tensorboard.plugins.hparams import summary_v2 as hp  # its `api` imports TensorFlow

    found = []
    for name in names:
        group, tag = metric_run_tag(name)
        dataset = hp.Metric.VALIDATION if group == "validation" else hp.Metric.TRAINING
        found.append(hp.Metric(tag, group=group, display_name=name, dataset_type=dataset))
    if objective is not None:
        found.append(hp.Metric(SCORE_METRIC, display_name=SCORE_METRIC,
                               description=f"the trial's best {objective}, which ranks it"))
    if pruning:
        found.append(hp.Metric(PRUNED_METRIC, display_name=PRUNED_METRIC,
                               description="1 for a trial the pruner stopped early, 0 otherwise"))
    return found


def experiment_hparams(
    space: Iterable[Any], *, extra: Mapping[str, tuple[int, int]] | None = None
) -> list[Any]:
    """The experiment's hyperparameters (`tensorboard.plugins.hparams.api.HParam`) of a keras-tuner space.

    A `Choice` or `Boolean` has its values, an `Int` or `Float` its interval
    (whatever its step or sampling), a `Fixed` its one value. Conditional
    entries (a deeper layer's) are there too: a trial without them leaves them
    empty.

    Args:
        space: keras-tuner hyperparameters (`HyperParameters.space`).
        extra: Integer hyperparameters a trial's values have beyond the space
            (Hyperband's `tuner/epochs`), with their interval. Defaults to none.

    Raises:
        InvalidArgumentError: A hyperparameter of a kind TensorBoard cannot show,
            or a name twice.
    """
    import keras_tuner as kt  # keras-tuner imports Keras: only where a search has it loaded
    from tensorboard.plugins.hparams import summary_v2 as hp  # its `api` imports TensorFlow

    found: dict[str, Any] = {}
    for entry in space:
        domain: Any
        if isinstance(entry, kt.engine.hyperparameters.Boolean):
            domain = hp.Discrete([False, True])
        elif isinstance(entry, kt.engine.hyperparameters.Choice):
            domain = hp.Discrete(list(entry.values))
        elif isinstance(entry, kt.engine.hyperparameters.Int):
            domain = hp.IntInterval(int(entry.min_value), int(entry.max_value))
        elif isinstance(entry, kt.engine.hyperparameters.Float):
            domain = hp.RealInterval(float(entry.min_value), float(entry.max_value))
        elif isinstance(entry, kt.engine.hyperparameters.Fixed):
            domain = hp.Discrete([entry.value])
        else:
            raise InvalidArgumentError(
                f"Invalid hyperparameter `{getattr(entry, 'name', entry)}`. Expected a keras-tuner Choice, "
                f"Boolean, Int, Float or Fixed. Received: {type(entry).__name__}")
        _add(found, hp.HParam(entry.name, domain))
    for name, (low, high) in (extra or {}).items():
        _add(found, hp.HParam(name, hp.IntInterval(low, high)))
    return list(found.values())


def _add(found: dict[str, Any], hparam: Any) -> None:
    if hparam.name in found:
        raise InvalidArgumentError(f"Invalid search space. Expected each hyperparameter once. "
                                   f"Received: {hparam.name!r} twice")
    found[hparam.name] = hparam


# -- writing -------------------------------------------------------------------------------


def has_experiment(logdir: str | os.PathLike[str]) -> bool:
    """Whether `logdir` holds the experiment (`write_experiment`)."""
    return (Path(logdir) / EXPERIMENT_FILE).is_file()


def write_experiment(
    logdir: str | os.PathLike[str],
    hparams: Sequence[Any],
    metrics: Sequence[Any],
    *,
    time_created: float | None = None,
) -> Path | None:
    """Writes the experiment (hyperparameters and metrics) in `logdir`, unless it is there already.

    Written once, so that a resumed search, its next processes and its
    workers leave the dashboard the one experiment the search began with
    (its space and metrics are those of its spec, which a resume keeps).

    Args:
        logdir: The TensorBoard logdir (`RUN/tensorboard`).
        hparams: The hyperparameters (`experiment_hparams`).
        metrics: The metrics (`experiment_metrics`).
        time_created: The experiment's Unix time. Defaults to `None`: now.

    Returns:
        The file written, or `None` when the experiment was there.
    """
    from tensorboard.plugins.hparams import summary_v2

    target = Path(logdir) / EXPERIMENT_FILE
    if target.is_file():
        return None
    summary = summary_v2.hparams_config_pb(hparams, metrics, time_created_secs=time_created or time.time())
    _write_events(target, [(0, summary)])
    return target


def session_dir(
    logdir: str | os.PathLike[str], trial_id: str, execution: int = 0, executions: int = 1
) -> Path:
    """A trial's session: `logdir/<trial_id>`, or `logdir/<trial_id>/execution<k>` of several executions.

    Example:

    >>> session_dir("tb", "03").as_posix(), session_dir("tb", "03", 1, 2).as_posix()
    ('tb/03', 'tb/03/execution1')
    """
    if executions > 1:
        return Path(logdir) / trial_id / f"execution{execution}"
    return Path(logdir) / trial_id


def session_values(hyperparameters: Mapping[str, Any]) -> dict[str, bool | int | float | str]:
    """The values a session records: those of a type TensorBoard shows (`None`s and others left out).

    Example:

    >>> session_values({"units": 32, "rate": 0.5, "tuner/trial_id": None})
    {'units': 32, 'rate': 0.5}
    """
    values: dict[str, bool | int | float | str] = {}
    for name, value in hyperparameters.items():
        value = value.item() if hasattr(value, "item") and not isinstance(value, str) else value
        if isinstance(value, (bool, int, float, str)):
            values[name] = value
    return values


def write_session_start(
    session: str | os.PathLike[str],
    trial_id: str,
    hyperparameters: Mapping[str, Any],
    *,
    start_time: float | None = None,
) -> Path:
    """Starts a trial's session: its hyperparameters' values, its id (the session's group) and start time.

    A trial that starts again (resumed) writes its start again; TensorBoard
    keeps the first.

    Args:
        session: The session's directory (`session_dir`).
        trial_id: The trial's id.
        hyperparameters: The trial's values (`session_values` keeps those shown).
        start_time: Unix time. Defaults to `None`: now.

    Returns:
        The file written.

    Raises:
        InvalidArgumentError: `trial_id` is not a non-empty string.
    """
    from tensorboard.plugins.hparams import summary_v2

    if not isinstance(trial_id, str) or not trial_id:
        raise InvalidArgumentError(
            f"Invalid value for argument `trial_id`. Expected a non-empty string. "
            f"Received: trial_id={trial_id!r}")
    summary = summary_v2.hparams_pb(session_values(hyperparameters), trial_id=trial_id,
                                    start_time_secs=start_time or time.time())
    return _write_events(_event_file(session, "session-start"), [(0, summary)])


def write_session_end(
    session: str | os.PathLike[str],
    status: str,
    *,
    score: float | None = None,
    pruned: bool | None = None,
    end_time: float | None = None,
) -> Path:
    """Ends a trial's session: its status (`SESSION_STATUS`), its `score` and, when pruning, `pruned`.

    Args:
        session: The session's directory (`session_dir`).
        status: The trial's status (`COMPLETED`, `PRUNED`, `FAILED`, ...).
        score: The trial's score; `None` or not finite writes none. Defaults to `None`.
        pruned: Whether the pruner stopped the trial; `None` (a search without
            pruning) writes no `pruned`. Defaults to `None`.
        end_time: Unix time. Defaults to `None`: now.

    Returns:
        The file written.
    """
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    code = api_pb2.Status.Value(SESSION_STATUS.get(status, "STATUS_UNKNOWN"))
    end = plugin_data_pb2.SessionEndInfo(status=code, end_time_secs=end_time or time.time())
    summary = summary_pb2.Summary()  # as `summary_v2.hparams_pb` writes a session's start
    summary.value.add(tag=metadata.SESSION_END_INFO_TAG, tensor=metadata.NULL_TENSOR,
                      metadata=metadata.create_summary_metadata(
                          plugin_data_pb2.HParamsPluginData(session_end_info=end)))
    summaries = [(0, summary)]
    if score is not None and math.isfinite(score):
        summaries.append((0, _scalar(SCORE_METRIC, float(score))))
    if pruned is not None:
        summaries.append((0, _scalar(PRUNED_METRIC, float(pruned))))
    return _write_events(_event_file(session, "session-end"), summaries)


def _scalar(tag: str, value: float) -> Any:
    """A scalar summary as `tf.summary.scalar` writes it (what the scalars and hparams plugins read)."""
    import numpy as np
    from tensorboard.compat.proto import summary_pb2
    from tensorboard.plugins.scalar import metadata
    from tensorboard.util import tensor_util

    summary = summary_pb2.Summary()
    summary.value.add(tag=tag, metadata=metadata.create_summary_metadata(display_name=tag, description=""),
                      tensor=tensor_util.make_tensor_proto(np.float32(value)))
    return summary


def _event_file(directory: str | os.PathLike[str], kind: str) -> Path:
    """A new event file's path in `directory`, unique to this process and moment, ending with `kind`."""
    return Path(directory) / (f"events.out.tfevents.{time.time():.6f}.{socket.gethostname()}."
                              f"{os.getpid()}.{next(_counter)}.{kind}")


def _write_events(target: Path, summaries: Sequence[tuple[int, Any]]) -> Path:
    """Writes an event file whole: the file version, then each `(step, summary)`."""
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    now = time.time()
    with atomic_path(target) as tmp, open(tmp, "wb") as stream:
        writer = RecordWriter(stream)
        writer.write(event_pb2.Event(wall_time=now, file_version="brain.Event:2").SerializeToString())
        for step, summary in summaries:
            writer.write(event_pb2.Event(wall_time=now, step=step, summary=summary).SerializeToString())
    return target
