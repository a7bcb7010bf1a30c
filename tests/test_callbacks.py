"""Tests of FullEvalMetrics and EventLogger."""

from __future__ import annotations

import copy
import csv

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerasmnist import (
    EventLogger,
    EventWriter,
    FullEvalMetrics,
    InvalidArgumentError,
    build_hypermodel,
    load_dataset,
    presets,
    read_events,
)
from kerasmnist.evaluation import confusion_matrix


@pytest.fixture(scope="module")
def small():
    """The MNIST sample cut down, so each fit takes a fraction of a second."""
    ds = load_dataset("mnist_sample", validation=0.2)
    ds.x_train, ds.y_train = ds.x_train[:600], ds.y_train[:600]
    ds.x_val, ds.y_val = ds.x_val[:200], ds.y_val[:200]
    ds.x_test, ds.y_test = ds.x_test[:200], ds.y_test[:200]
    return ds


def dropout_mlp() -> keras.Model:
    """Dropout makes training-mode and inference-mode results differ visibly."""
    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dropout(0.5), keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


class Snapshot(keras.callbacks.Callback):
    """Evaluates separately at each epoch end, after FullEvalMetrics has run."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.seen = x, y, []

    def on_epoch_end(self, epoch, logs=None):
        loss, accuracy = self.model.evaluate(self.x, self.y, batch_size=97, verbose=0)
        self.seen.append((loss, accuracy, dict(logs)))


def test_logged_values_equal_a_separate_evaluate_in_inference_mode(small):
    model = dropout_mlp()
    x, y = small.arrays("train")
    snapshot = Snapshot(x, y)
    history = model.fit(x, y, epochs=2, batch_size=64, verbose=0,
                        callbacks=[FullEvalMetrics(small), snapshot])
    for loss, accuracy, logs in snapshot.seen:
        assert logs["train_loss"] == pytest.approx(loss, rel=1e-5)
        assert logs["train_accuracy"] == pytest.approx(accuracy)
    # Keras's own running average, taken with dropout on, is a different number.
    assert history.history["loss"][-1] != pytest.approx(history.history["train_loss"][-1], rel=1e-3)


def test_fast_path_includes_regularisation_losses_like_evaluate(small):
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(32, activation="relu", kernel_regularizer=keras.regularizers.L2(1e-2)),
        keras.layers.Dense(10),
    ])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    x, y = small.arrays("train")
    callback = FullEvalMetrics(small, batch_size=128)
    snapshot = Snapshot(x, y)
    model.fit(x, y, epochs=3, verbose=0, callbacks=[callback, snapshot])
    assert callback._fast is True
    for loss, accuracy, logs in snapshot.seen:
        assert logs["train_loss"] == pytest.approx(loss, rel=1e-5)
        assert logs["train_accuracy"] == pytest.approx(accuracy)


def test_models_with_other_metrics_keep_every_metric(small):
    model = dropout_mlp()
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(k=3, name="top3")])
    callback = FullEvalMetrics(small)
    history = model.fit(*small.arrays("train"), epochs=2, verbose=0, callbacks=[callback])
    assert callback._fast is False
    assert len(history.history["train_top3"]) == 2


def test_keys_follow_keras_naming_and_reach_history_and_csv_logger(small, tmp_path):
    model = dropout_mlp()
    csv_path = tmp_path / "log.csv"
    callbacks = [FullEvalMetrics(small, sets=["train", "validation", "test"]),
                 keras.callbacks.CSVLogger(str(csv_path))]
    history = model.fit(*small.arrays("train"), epochs=2, verbose=0, callbacks=callbacks)
    expected = {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                "test_accuracy"}
    assert expected <= set(history.history)
    assert all(len(history.history[k]) == 2 for k in expected)
    with open(csv_path) as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 2 and expected <= set(rows[0])
    assert float(rows[1]["test_accuracy"]) == pytest.approx(history.history["test_accuracy"][1])


def test_early_stopping_can_monitor_full_eval_metrics(small):
    model = dropout_mlp()
    stop = keras.callbacks.EarlyStopping(monitor="train_loss", patience=0, mode="min")
    model.fit(*small.arrays("train"), epochs=2, verbose=0, callbacks=[FullEvalMetrics(small), stop])
    assert stop.best is not None and np.isfinite(stop.best)


def test_every_n_epochs_evaluates_the_first_and_every_nth_epoch(small):
    class Seen(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_end(self, epoch, logs=None):
            if "train_loss" in logs:
                self.epochs.append(epoch)

    seen = Seen()
    dropout_mlp().fit(*small.arrays("train"), epochs=6, verbose=0,
                      callbacks=[FullEvalMetrics(small, every=3), seen])
    assert seen.epochs == [0, 2, 5]  # the first epoch, then the 3rd and 6th


def test_subsample_evaluates_a_fixed_fraction(small):
    callback = FullEvalMetrics(small, subsample=0.25, seed=3)
    model = dropout_mlp()
    model.fit(*small.arrays("train"), epochs=1, verbose=0, callbacks=[callback])
    x, y = callback._data.arrays("train", model)
    assert len(x) == 150
    again = FullEvalMetrics(small, subsample=0.25, seed=3)._data.arrays("train", model)
    np.testing.assert_array_equal(again[0], x)


def test_confusion_matrix_and_per_class_metrics_for_one_set(small, tmp_path):
    events = EventWriter(tmp_path / "events.jsonl")
    callback = FullEvalMetrics(small, sets=["train", "validation"], confusion="validation",
                               events=events, trial_id="t7")
    model = dropout_mlp()
    # Three epochs: the first is measured with evaluate, the later ones on the fast path.
    model.fit(*small.arrays("train"), epochs=3, verbose=0, callbacks=[callback])
    x, y = small.arrays("validation")
    expected = confusion_matrix(y, model.predict(x, verbose=0), 10)
    np.testing.assert_array_equal(callback.confusion_matrix, expected)
    assert callback.class_metrics.support.tolist() == np.bincount(y, minlength=10).tolist()
    recorded = [e for e in read_events(tmp_path / "events.jsonl") if e["event"] == "confusion"]
    assert [e["epoch"] for e in recorded] == [0, 1, 2]  # one per epoch, of the chosen set only
    event = recorded[-1]
    assert event["matrix"] == expected.tolist() and event["class_names"] == list("0123456789")
    assert sum(map(sum, event["matrix"])) == len(y) and event["trial_id"] == "t7"
    assert event["split"] == "validation" and set(event["per_class"]["0"]) == {
        "precision", "recall", "f1", "support"}
    events.close()


def test_image_models_get_image_views(small):
    model = presets.build("cnn_small", input_shape=(28, 28, 1))
    x, y = small.arrays("train", view="image")
    history = model.fit(x, y, epochs=1, verbose=0, callbacks=[FullEvalMetrics(small)])
    assert 0 <= history.history["train_accuracy"][0] <= 1


def test_a_mapping_of_named_arrays_works_too():
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 784), dtype=np.float32), rng.integers(0, 10, 64)
    model = dropout_mlp()
    history = model.fit(x, y, epochs=1, verbose=0,
                        callbacks=[FullEvalMetrics({"train": (x, y), "holdout": (x[:16], y[:16])})])
    assert {"train_loss", "holdout_loss", "holdout_accuracy"} <= set(history.history)


def test_deep_copies_share_the_data_not_duplicate_it(small):
    callback = FullEvalMetrics(small, sets=["train", "test"])
    model = dropout_mlp()
    model.fit(*small.arrays("train"), epochs=1, verbose=0, callbacks=[callback])
    clone = copy.deepcopy(callback)
    assert clone is not callback and clone._data is callback._data
    original = callback._data.arrays("train", model)
    copied = clone._data.arrays("train", model)
    assert copied[0] is original[0] and copied[1] is original[1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"sets": ["dev"]}, "Received: sets=\\['dev'\\]"),
        ({"every": 0}, "Received: every=0"),
        ({"batch_size": -1}, "Received: batch_size=-1"),
        ({"subsample": 1.5}, "Received: subsample=1.5"),
        ({"confusion": "test"}, "Received: confusion='test'"),
    ],
)
def test_invalid_settings_are_rejected_at_construction(small, kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        FullEvalMetrics(small, **kwargs)


def test_keras_tuner_can_use_a_full_eval_objective_and_the_event_log(small, tmp_path):
    events = EventWriter(tmp_path / "events.jsonl")
    hm = build_hypermodel("mlp", num_layers=1, units=[16, 32], dropout=0.0, batch_size=128)
    tuner = kt.RandomSearch(hm, objective=kt.Objective("train_accuracy", "max"), max_trials=2,
                            directory=tmp_path, project_name="p")
    tuner.search(*small.arrays("train"), epochs=2, verbose=0,
                 callbacks=[FullEvalMetrics(small), EventLogger(events)])
    trials = tuner.oracle.get_best_trials(2)
    assert all(t.score is not None and 0 <= t.score <= 1 for t in trials)
    epochs = [e for e in read_events(tmp_path / "events.jsonl") if e["event"] == "epoch_ended"]
    assert len(epochs) == 4 and all("train_accuracy" in e["logs"] for e in epochs)
    assert [e["epoch"] for e in epochs] == [0, 1, 0, 1]
    assert all(e["seconds"] > 0 for e in epochs)
    events.close()
