"""A search's trial and a plain run's replicate go on from their checkpoint; the best epoch's file stays."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import kerasmnist as km  # noqa: E402
from kerasmnist.events import EventWriter, read_events  # noqa: E402
from kerasmnist.runs import search  # noqa: E402
from kerasmnist.runs.state import RunState  # noqa: E402
from kerasmnist.runs.training import fit_data, load_data  # noqa: E402

SPEC = km.RunSpec(dataset="mnist_sample", validation=100, limit=200, search="random", trials=1, epochs=5,
                  seed=5, full_eval=False, overrides={"num_layers": 1, "units": 8, "batch_size": 64})
VALUES = (0.5, 0.9, 0.6, 0.7, 0.8)  # the trial's objective by epoch: its best, epoch 1, before the resume


class Scripted(keras.callbacks.Callback):
    """Logs scripted objective values, records each epoch's weights, interrupts once as epoch `stop` begins.

    Its copies (keras-tuner makes one per trial) are itself, so the test reads what they saw.
    """

    def __init__(self, stop: int | None = None) -> None:
        super().__init__()
        self.stop = stop
        self.trained: list[int] = []
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.stop:
            raise KeyboardInterrupt  # as a kill: the checkpoints of the epochs before are written

    def on_epoch_end(self, epoch, logs=None):
        logs["val_accuracy"] = VALUES[epoch]
        self.trained.append(epoch)
        self.weights[epoch] = self.model.get_weights()

    def __deepcopy__(self, memo):
        return self


def search_with(run_dir, data, scripted):
    with EventWriter(run_dir / "events.jsonl") as events:
        tuner = search.make_tuner(search.SearchContext(SPEC, data, run_dir, events))
        fit = fit_data(data)
        tuner.search(fit["x"], fit["y"], validation_data=fit["validation_data"], epochs=SPEC.epochs,
                     verbose=0, callbacks=[scripted])
    return tuner


@pytest.mark.parametrize("stop", [3, 2], ids=["best-before-the-checkpoint", "best-the-last-checkpointed"])
def test_keras_tuner_s_best_epoch_checkpoint_stays_the_best_epoch_s_across_a_resume(tmp_path, stop):
    data = load_data(SPEC)
    first = Scripted(stop=stop)
    with pytest.raises(KeyboardInterrupt):
        search_with(tmp_path, data, first)
    best_file = tmp_path / "search" / "trial_0" / "checkpoint.weights.h5"
    if stop == 2:  # killed before (or while) keras-tuner wrote epoch 1's weights, after the checkpoint
        best_file.write_bytes(best_file.read_bytes()[:100])
    assert (tmp_path / "checkpoints" / "trial_0" / "state.npz").is_file()

    second = Scripted()
    tuner = search_with(tmp_path, data, second)
    assert second.trained == list(range(stop, 5))
    trial = tuner.oracle.get_trial("0")
    assert trial.status == "COMPLETED" and trial.score == 0.9 and trial.best_step == 1
    model = tuner.hypermodel.build(trial.hyperparameters)
    model.load_weights(best_file)  # a fresh SaveBestEpoch would have saved epoch `stop`, then 4
    for got, want in zip(model.get_weights(), first.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)
    events = list(read_events(tmp_path / "events.jsonl"))
    assert [e.get("initial_epoch") for e in events if e["event"] == "trial_started"] == [None, stop]
    assert [e["epoch"] for e in RunState.from_events(events).trials["0"].epochs] == [0, 1, 2, 3, 4]
    assert not (tmp_path / "checkpoints").exists()  # the trial ended


def test_a_plain_run_s_replicate_goes_on_from_its_checkpoint(tmp_path):
    spec = km.RunSpec(dataset="mnist_sample", validation=100, limit=200, epochs=4, seed=2,
                      overrides={"num_layers": 1, "units": 8, "batch_size": 64})
    whole = km.run(spec, tmp_path / "whole")

    def interrupt(event):
        if event["event"] == "epoch_ended" and event["epoch"] == 2:
            raise KeyboardInterrupt  # from the log's writer: after epoch 2's line, before its checkpoint

    run_dir = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        km.run(spec, run_dir, listeners=[interrupt])
    assert (run_dir / "checkpoints" / "trial_r0" / "state.npz").is_file()
    resumed = km.resume(run_dir)
    events = list(read_events(run_dir / "events.jsonl"))
    starts = [e for e in events if e["event"] == "trial_started"]
    assert [e.get("initial_epoch") for e in starts] == [None, 2]
    trained = [e["epoch"] for e in events[events.index(starts[-1]):] if e["event"] == "epoch_ended"]
    assert trained == [2, 3]  # epoch 2 was logged, not checkpointed: trained again, folded once
    trial = RunState.from_events(events).trials["r0"]
    assert [e["epoch"] for e in trial.epochs] == [0, 1, 2, 3]
    assert resumed.splits == whole.splits  # the same model as uninterrupted, to the last bit
    assert not (run_dir / "checkpoints").exists()
