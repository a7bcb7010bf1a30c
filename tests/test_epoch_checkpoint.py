"""EpochCheckpoint: a fit goes on from its last checkpointed epoch, exactly; a failed write loses nothing."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from kerasmnist.callbacks import EpochCheckpoint, read_checkpoint  # noqa: E402
from kerasmnist.callbacks import epoch_checkpoint as module  # noqa: E402
from kerasmnist.errors import CheckpointError, InvalidArgumentError  # noqa: E402
from kerasmnist.runs.training import trim_csv_log  # noqa: E402

EPOCHS = 4


class Interrupt(keras.callbacks.Callback):
    """Stops the fit (as a kill would) when epoch `at` begins: the checkpoints before it are written."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


class Scripted(keras.callbacks.Callback):
    """Logs scripted values of `val_score`, and records the epochs trained and their weights."""

    def __init__(self, values=(0.5, 0.9, 0.6, 0.7, 0.8, 0.95)) -> None:
        super().__init__()
        self.values = values
        self.trained: list[int] = []
        self.weights: dict[int, list[np.ndarray]] = {}

    def on_epoch_end(self, epoch, logs=None):
        logs["val_score"] = self.values[epoch]
        self.trained.append(epoch)
        self.weights[epoch] = self.model.get_weights()


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(96, 6)).astype("float32"), rng.integers(0, 3, 96)


def model(units: int = 8) -> keras.Model:
    """A small model with every kind of state: dropout's seed, batch-norm statistics, Adam's moments."""
    keras.utils.set_random_seed(11)
    inputs = keras.Input((6,))
    x = keras.layers.Dense(units)(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.3)(keras.layers.Activation("relu")(x))
    m = keras.Model(inputs, keras.layers.Dense(3)(x))
    m.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True),
              metrics=["accuracy"])
    return m


def fit(m, data, callbacks, epochs=EPOCHS):
    return m.fit(*data, epochs=epochs, batch_size=16, verbose=0, callbacks=callbacks)


def interrupted(m, data, callbacks, at):
    with pytest.raises(KeyboardInterrupt):
        fit(m, data, [*callbacks, Interrupt(at)])


def test_a_resumed_fit_trains_the_remaining_epochs_exactly_as_an_uninterrupted_one(tmp_path, data):
    whole = model()
    expected = fit(whole, data, [])
    interrupted(model(), data, [EpochCheckpoint(tmp_path)], at=2)
    assert read_checkpoint(tmp_path).epoch == 2
    scripted = Scripted()
    history = fit(resumed := model(), data, [scripted, EpochCheckpoint(tmp_path)])
    assert scripted.trained == [2, 3]
    assert history.epoch == [0, 1, 2, 3]  # the earlier epochs' logs too, for the score
    assert history.history["loss"] == expected.history["loss"]  # to the last bit: dropout's seed kept
    for got, want in zip(resumed.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)
    assert int(resumed.optimizer.iterations.numpy()) == int(whole.optimizer.iterations.numpy())
    info = read_checkpoint(tmp_path)
    assert (info.epoch, info.stopped) == (EPOCHS, True)  # the caller deletes it once the result is kept


def test_a_failed_write_leaves_the_previous_checkpoint_whole_and_loadable(tmp_path, data, monkeypatch):
    checkpoint = EpochCheckpoint(tmp_path)
    interrupted(saved := model(), data, [checkpoint], at=2)
    before = (tmp_path / "state.npz").read_bytes()

    def savez(stream, **arrays):  # a disk that fills up half way through the write
        stream.write(before[: len(before) // 2])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(module.np, "savez", savez)
    with pytest.raises(OSError, match="No space left"):
        fit(model(), data, [EpochCheckpoint(tmp_path)])  # restores epoch 2, trains it, fails to save
    monkeypatch.undo()
    assert (tmp_path / "state.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.npz"]  # no temporary file left
    restored = model()
    scripted = Scripted()
    fit(restored, data, [scripted, EpochCheckpoint(tmp_path)], epochs=2)  # nothing to train: loaded
    assert scripted.trained == []
    for got, want in zip(restored.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_goes_on_with_its_patience_and_best_weights(tmp_path, data):
    def early():
        return keras.callbacks.EarlyStopping("val_score", mode="max", patience=2, restore_best_weights=True)

    whole, scripted = model(), Scripted()
    fit(whole, data, [scripted, early()], epochs=6)
    assert scripted.trained == [0, 1, 2, 3]  # best at 1, no better at 2 and 3: stopped
    stopping = early()
    interrupted(model(), data, [Scripted(), stopping, EpochCheckpoint(tmp_path, keep=[stopping])], at=3)
    stopping, scripted = early(), Scripted()
    fit(resumed := model(), data, [scripted, stopping, EpochCheckpoint(tmp_path, keep=[stopping])], epochs=6)
    assert scripted.trained == [3] and stopping.stopped_epoch == 3
    for got, want in zip(resumed.get_weights(), whole.get_weights(), strict=True):  # epoch 1's, restored
        np.testing.assert_array_equal(got, want)
    assert read_checkpoint(tmp_path).stopped  # killed after the stop, before the end: nothing to train
    stopping, scripted = early(), Scripted()
    history = fit(again := model(), data, [scripted, stopping, EpochCheckpoint(tmp_path, keep=[stopping])],
                  epochs=6)
    assert scripted.trained == [] and history.history["val_score"] == [0.5, 0.9, 0.6, 0.7]
    for got, want in zip(again.get_weights(), whole.get_weights(), strict=True):
        np.testing.assert_array_equal(got, want)


def test_the_best_epoch_s_weights_file_is_written_again_when_that_epoch_was_the_last_saved(tmp_path, data):
    best = tmp_path / "best" / "checkpoint.weights.h5"
    scripted = Scripted()
    interrupted(model(), data, [scripted, EpochCheckpoint(tmp_path, monitor="val_score", best_path=best)],
                at=2)  # epoch 1 was the best, and the kill came before its weights were written
    assert read_checkpoint(tmp_path).best_epoch == 1 and not best.exists()
    fit(model(), data, [Scripted(), EpochCheckpoint(tmp_path, monitor="val_score", best_path=best)])
    loaded = model()
    loaded.load_weights(best)
    for got, want in zip(loaded.get_weights(), scripted.weights[1], strict=True):
        np.testing.assert_array_equal(got, want)


def test_a_checkpoint_that_does_not_fit_the_model_is_refused_naming_the_variable(tmp_path, data):
    interrupted(model(units=8), data, [EpochCheckpoint(tmp_path)], at=1)
    mismatch = r"does not fit the model: model variable 0 .*\(6, 4\).*\(6, 8\)"
    with pytest.raises(CheckpointError, match=mismatch):
        fit(model(units=4), data, [EpochCheckpoint(tmp_path)])
    (tmp_path / "state.npz").write_bytes(b"PK\x03\x04 cut short")
    with pytest.raises(CheckpointError, match="cannot be read"):
        read_checkpoint(tmp_path)


def test_invalid_settings_are_refused_at_construction(tmp_path):
    with pytest.raises(InvalidArgumentError, match="Received: mode='up'"):
        EpochCheckpoint(tmp_path, mode="up")
    with pytest.raises(InvalidArgumentError, match="best_path"):
        EpochCheckpoint(tmp_path, monitor="val_loss", best_path=tmp_path / "best.h5")
    with pytest.raises(InvalidArgumentError, match="Received: CSVLogger"):
        EpochCheckpoint(tmp_path, keep=[keras.callbacks.CSVLogger(str(tmp_path / "log.csv"))])


def test_a_resumed_csv_log_drops_the_rows_to_train_again_keeping_its_line_ends(tmp_path):
    path = tmp_path / "0.csv"
    path.write_bytes(b"epoch,loss\r\n0,0.9\r\n1,0.5\r\n2,0.4\r\n")
    trim_csv_log(path, 2)
    assert path.read_bytes() == b"epoch,loss\r\n0,0.9\r\n1,0.5\r\n"
    trim_csv_log(tmp_path / "missing.csv", 2)
    assert not (tmp_path / "missing.csv").exists()
