"""Tests of TensorBoard's HParams for a search: read back with TensorBoard's own reader and plugin."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import keras_tuner as kt
import pytest
from tensorboard.backend.event_processing import plugin_event_multiplexer
from tensorboard.plugins.hparams import api_pb2, metadata
from tensorboard.plugins.hparams import metrics as hparams_metrics
from tensorboard.plugins.hparams import summary_v2 as hp
from tensorboard.util import tensor_util

from kerasmnist.errors import InvalidArgumentError
from kerasmnist.runs import RunSpec, engine, hparams, run_state

SMALL = {"dataset": "mnist_sample", "validation": 200, "limit": 300}
FIXED = {"num_layers": 1, "units": 16, "activation": "relu", "batch_norm": False, "dropout": 0.0,
         "l1": 0.0, "l2": 0.0, "kernel_initializer": "glorot_uniform", "optimizer": "sgd", "momentum": 0.9,
         "batch_size": 32}
"""Every MLP hyperparameter but the learning rate fixed (the pruned grid search)."""


def read_logdir(logdir):
    """TensorBoard's own reading of a logdir: the multiplexer, and the hparams plugin's summaries."""
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(logdir))
    multiplexer.Reload()
    content = multiplexer.PluginRunToTagToContent(metadata.PLUGIN_NAME)
    experiments = [metadata.parse_experiment_plugin_data(tags[metadata.EXPERIMENT_TAG])
                   for tags in content.values() if metadata.EXPERIMENT_TAG in tags]
    starts = {run: metadata.parse_session_start_info_plugin_data(tags[metadata.SESSION_START_INFO_TAG])
              for run, tags in content.items() if metadata.SESSION_START_INFO_TAG in tags}
    ends = {run: metadata.parse_session_end_info_plugin_data(tags[metadata.SESSION_END_INFO_TAG])
            for run, tags in content.items() if metadata.SESSION_END_INFO_TAG in tags}
    return multiplexer, experiments, starts, ends


def value_of(proto):
    kind = proto.WhichOneof("kind")
    return {"number_value": proto.number_value, "string_value": proto.string_value,
            "bool_value": proto.bool_value}[kind]


def scalars(multiplexer, session, metric_name):
    run, tag = hparams_metrics.run_tag_from_session_and_metric(session, metric_name)
    if tag not in multiplexer.Runs().get(run, {}).get("tensors", []):
        return []
    return [float(tensor_util.make_ndarray(e.tensor_proto)) for e in multiplexer.Tensors(run, tag)]


@pytest.fixture(scope="module")
def search_run(tmp_path_factory):
    """A random search of 3 trials, with TensorBoard logs, of one or two layers."""
    run_dir = tmp_path_factory.mktemp("hparams") / "run"
    spec = RunSpec(**SMALL, search="random", trials=3, epochs=2, tensorboard=True,
                   overrides={"num_layers": [1, 2], "units": 16, "batch_size": 64})
    engine.run(spec, run_dir, trials_per_process=None)
    return run_dir, run_state(run_dir), read_logdir(run_dir / "tensorboard")


def test_a_search_writes_one_experiment_with_every_hyperparameter_and_metric(search_run):
    run_dir, state, (_, experiments, _, _) = search_run
    (experiment,) = experiments
    declared = {info.name: info for info in experiment.hparam_infos}
    logged = [trial.hyperparameters for trial in state.trials.values()]
    varying = {name for name in set().union(*logged) if len({repr(t.get(name)) for t in logged}) > 1}
    assert {"learning_rate", "optimizer", "num_layers"} <= varying  # the search varied them
    assert any("units_1" in t for t in logged) and not all("units_1" in t for t in logged)
    assert set().union(*logged) <= set(declared)  # a second layer's too: declared before any trial
    assert declared["units_0"].domain_discrete.values[0].number_value == 16  # fixed: its one value
    assert declared["learning_rate"].HasField("domain_interval")
    optimizers = {v.string_value for v in declared["optimizer"].domain_discrete.values}
    assert optimizers == {"adam", "rmsprop", "sgd"}
    metric_names = [info.display_name for info in experiment.metric_infos]
    assert metric_names == ["val_accuracy", "val_loss", "accuracy", "loss", "train_accuracy", "train_loss",
                            "score"]
    groups = {info.display_name: (info.name.group, info.name.tag, info.dataset_type)
              for info in experiment.metric_infos}
    assert groups["val_loss"] == ("validation", "epoch_loss", api_pb2.DATASET_VALIDATION)
    assert groups["train_accuracy"] == ("train", "epoch_train_accuracy", api_pb2.DATASET_TRAINING)
    assert [p.name for p in (run_dir / "tensorboard").glob("events*")] == [hparams.EXPERIMENT_FILE]


def test_each_trial_is_a_session_with_the_hyperparameters_of_its_event_log(search_run):
    _, state, (_, _, starts, ends) = search_run
    assert set(starts) == set(ends) == set(state.trials) and len(starts) == 3
    for trial_id, trial in state.trials.items():
        start = starts[trial_id]
        assert start.group_name == trial_id and start.start_time_secs > 0
        assert {name: value_of(v) for name, v in start.hparams.items()} == trial.hyperparameters
        assert ends[trial_id].status == api_pb2.STATUS_SUCCESS


def test_each_declared_metric_has_values_in_each_session(search_run):
    _, state, (multiplexer, (experiment,), starts, _) = search_run
    for session in starts:
        trial = state.trials[session]
        for info in experiment.metric_infos:
            values = scalars(multiplexer, session, info.name)
            if info.display_name == "score":
                assert values == [pytest.approx(trial.score)]
            else:  # one per epoch, as the event log has them
                logged = [epoch["logs"][info.display_name] for epoch in trial.epochs]
                assert values == pytest.approx(logged), (session, info.display_name)


def test_the_hparams_dashboard_serves_every_session_with_every_metric(search_run):
    from tensorboard.backend import application
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.hparams import hparams_plugin
    from werkzeug import test as werkzeug_test
    from werkzeug import wrappers

    run_dir, state, (multiplexer, _, _, _) = search_run
    logdir = str(run_dir / "tensorboard")
    context = base_plugin.TBContext(logdir=logdir, multiplexer=multiplexer,
                                    data_provider=data_provider.MultiplexerDataProvider(multiplexer, logdir))
    client = werkzeug_test.Client(application.TensorBoardWSGI([hparams_plugin.HParamsPlugin(context)]),
                                  wrappers.Response)
    request = {"experimentName": "", "startIndex": 0, "sliceSize": 100, "colParams": [],
               "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"]}
    response = client.post("/data/plugin/hparams/session_groups", data=json.dumps(request),
                           content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    groups = {g["name"]: g for g in json.loads(response.get_data(as_text=True))["sessionGroups"]}
    assert set(groups) == set(state.trials)
    for trial_id, group in groups.items():
        assert group["hparams"]["learning_rate"] == state.trials[trial_id].hyperparameters["learning_rate"]
        values = group["metricValues"]
        assert len(values) == 7 and all(math.isfinite(m["value"]) for m in values)


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory):
    """A grid search in this process: the first rate learns, the second is pruned, the third fails (NaN)."""
    run_dir = tmp_path_factory.mktemp("hparams_pruned") / "run"
    spec = RunSpec(**SMALL, search="grid", trials=3, epochs=2, tensorboard=True, full_eval=False,
                   prune="median", prune_warmup_epochs=1, prune_warmup_trials=1,
                   overrides={**FIXED, "learning_rate": [0.1, 1e-9, 1e30]})
    engine.run(spec, run_dir, trials_per_process=None)
    return run_dir, run_state(run_dir), read_logdir(run_dir / "tensorboard")


def test_pruned_and_failed_trials_are_sessions_with_their_status(pruned_run):
    _, state, (multiplexer, (experiment,), starts, ends) = pruned_run
    statuses = {trial_id: str(trial.status) for trial_id, trial in state.trials.items()}
    assert sorted(statuses.values()) == ["COMPLETED", "FAILED", "PRUNED"]
    assert set(starts) == set(ends) == set(statuses)
    expected = {"COMPLETED": api_pb2.STATUS_SUCCESS, "PRUNED": api_pb2.STATUS_SUCCESS,
                "FAILED": api_pb2.STATUS_FAILURE}
    assert {t: ends[t].status for t in statuses} == {t: expected[s] for t, s in statuses.items()}
    names = [info.display_name for info in experiment.metric_infos]
    assert names == ["val_accuracy", "val_loss", "accuracy", "loss", "score", "pruned"]  # no full eval
    pruned = next(info.name for info in experiment.metric_infos if info.display_name == "pruned")
    assert {t: scalars(multiplexer, t, pruned) for t in statuses} == {
        t: [1.0 if s == "PRUNED" else 0.0] for t, s in statuses.items()}
    score = next(info.name for info in experiment.metric_infos if info.display_name == "score")
    failed = next(t for t, s in statuses.items() if s == "FAILED")
    assert scalars(multiplexer, failed, score) == []  # a failed trial has no score


# -- the module alone ------------------------------------------------------------------------


def test_the_experiment_is_written_once(tmp_path):
    first = hparams.write_experiment(tmp_path, [hp.HParam("units", hp.IntInterval(16, 64))],
                                     hparams.experiment_metrics(["loss"]), time_created=1.0)
    again = hparams.write_experiment(tmp_path, [hp.HParam("other", hp.IntInterval(1, 2))],
                                     hparams.experiment_metrics(["loss"]), time_created=2.0)
    assert first == tmp_path / hparams.EXPERIMENT_FILE and again is None
    assert hparams.has_experiment(tmp_path)
    _, (experiment,), _, _ = read_logdir(tmp_path)
    assert [info.name for info in experiment.hparam_infos] == ["units"]
    assert experiment.time_created_secs == 1.0


def test_a_resumed_trial_keeps_one_session_with_its_first_start(tmp_path):
    session = hparams.session_dir(tmp_path, "07")
    hparams.write_session_start(session, "07", {"units": 32}, start_time=100.0)
    hparams.write_session_start(session, "07", {"units": 32}, start_time=200.0)
    hparams.write_session_end(session, "COMPLETED", score=0.5)
    _, _, starts, ends = read_logdir(tmp_path)
    assert list(starts) == ["07"] and starts["07"].start_time_secs == 100.0
    assert ends["07"].status == api_pb2.STATUS_SUCCESS


@pytest.mark.parametrize(("status", "expected"), [
    ("COMPLETED", api_pb2.STATUS_SUCCESS), ("PRUNED", api_pb2.STATUS_SUCCESS),
    ("FAILED", api_pb2.STATUS_FAILURE), ("INVALID", api_pb2.STATUS_FAILURE),
    ("STOPPED", api_pb2.STATUS_UNKNOWN)])
def test_a_session_ends_with_the_status_of_its_trial(tmp_path, status, expected):
    session = hparams.session_dir(tmp_path, "1")
    hparams.write_session_start(session, "1", {})
    hparams.write_session_end(session, status, score=math.nan, pruned=status == "PRUNED")
    multiplexer, _, _, ends = read_logdir(tmp_path)
    assert ends["1"].status == expected
    tensors = multiplexer.Runs()["1"]["tensors"]
    assert hparams.SCORE_METRIC not in tensors and hparams.PRUNED_METRIC in tensors  # NaN: no score


def test_several_executions_are_sessions_of_one_group(tmp_path):
    paths = [hparams.session_dir(tmp_path, "3", k, 2) for k in range(2)]
    for path in paths:
        hparams.write_session_start(path, "3", {"units": 8})
    _, _, starts, _ = read_logdir(tmp_path)
    assert sorted(starts) == ["3/execution0", "3/execution1"]
    assert {start.group_name for start in starts.values()} == {"3"}


def test_session_values_keep_what_tensorboard_shows():
    import numpy as np

    values = hparams.session_values({"a": np.float32(0.5), "b": np.int64(3), "c": True, "d": "adam",
                                     "tuner/trial_id": None, "e": [1, 2]})
    assert values == {"a": 0.5, "b": 3, "c": True, "d": "adam"}
    assert type(values["b"]) is int


def test_a_session_needs_a_trial_id(tmp_path):
    with pytest.raises(InvalidArgumentError, match=r"`trial_id`.*Received: trial_id=''"):
        hparams.write_session_start(tmp_path, "", {})


def test_metric_names_and_where_keras_writes_them():
    assert hparams.metric_names("val_loss", validation=False, full_eval=True) == [
        "val_loss", "accuracy", "loss", "train_accuracy", "train_loss"]
    assert hparams.metric_names("train_accuracy", validation=True, full_eval=True)[0] == "train_accuracy"
    assert hparams.metric_run_tag("val_loss") == ("validation", "epoch_loss")
    assert hparams.metric_run_tag("accuracy") == ("train", "epoch_accuracy")
    with pytest.raises(InvalidArgumentError, match="`name`"):
        hparams.metric_run_tag("val_")


def test_the_experiment_has_each_kind_of_hyperparameter_with_its_domain():
    space = kt.HyperParameters()
    space.Choice("optimizer", ["adam", "sgd"])
    space.Boolean("batch_norm")
    space.Int("units", 16, 64, step=16)
    space.Float("learning_rate", 1e-4, 1e-1, sampling="log")
    space.Fixed("layers", 2)
    with space.conditional_scope("optimizer", ["sgd"]):
        space.Float("momentum", 0.5, 0.9)
    declared = hparams.experiment_hparams(space.space, extra={"tuner/epochs": (0, 3)})
    found = {h.name: h.domain for h in declared}
    assert found["optimizer"].values == ["adam", "sgd"] and found["batch_norm"].values == [False, True]
    assert (found["units"].min_value, found["units"].max_value) == (16, 64)
    assert isinstance(found["units"], hp.IntInterval) and isinstance(found["learning_rate"], hp.RealInterval)
    assert found["layers"].values == [2] and found["momentum"].max_value == 0.9
    assert (found["tuner/epochs"].min_value, found["tuner/epochs"].max_value) == (0, 3)


def test_the_experiment_rejects_what_tensorboard_cannot_show():
    with pytest.raises(InvalidArgumentError, match="Expected a keras-tuner Choice"):
        hparams.experiment_hparams([object()])
    with pytest.raises(InvalidArgumentError, match="'units' twice"):
        hparams.experiment_hparams([_fixed("units")], extra={"units": (1, 2)})


def _fixed(name):
    space = kt.HyperParameters()
    space.Fixed(name, 3)
    return space.space[0]


def test_the_module_writes_without_tensorflow_or_keras(tmp_path):
    """So that the sessions are the same on every backend (JAX's included)."""
    script = (
        "import sys\n"
        "from kerasmnist.runs import hparams\n"
        f"s = hparams.session_dir({str(tmp_path)!r}, '0')\n"
        "hparams.write_session_start(s, '0', {'units': 3})\n"
        "hparams.write_session_end(s, 'PRUNED', score=0.5, pruned=True)\n"
        "loaded = [m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]\n"
        "print(loaded)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"
    _, _, starts, ends = read_logdir(tmp_path)
    assert set(starts) == set(ends) == {"0"}


def test_docstring_examples_run():
    import doctest

    result = doctest.testmod(hparams)
    assert result.failed == 0 and result.attempted > 0
