"""Tests of the plots: each writes a valid, non-empty PNG."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib", reason="the plots extra (matplotlib) is not installed")

from matplotlib.image import imread  # noqa: E402

from kerasmnist import (
    load_dataset,  # noqa: E402
    plots,  # noqa: E402
)
from kerasmnist.evaluation import Replicates, confusion_matrix  # noqa: E402


@pytest.fixture(scope="module")
def ds():
    return load_dataset("fashion_mnist_sample", validation=0.1)


def assert_png(path, min_width=200):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = imread(path)
    assert pixels.shape[1] >= min_width and pixels.shape[0] >= 100
    assert pixels.std() > 0.01  # something was drawn, not a blank canvas
    assert not list(path.parent.glob(".*.png"))  # no temporary left behind


def test_history_plot_draws_every_set_it_finds(tmp_path):
    history = {"loss": [1.0, 0.5], "train_loss": [0.9, 0.4], "val_loss": [1.1, 0.6],
               "accuracy": [0.6, 0.8], "val_accuracy": [0.55, 0.75]}
    assert_png(plots.plot_history(history, tmp_path / "curves.png", title="run"), 800)


def test_confusion_plot(tmp_path, ds):
    cm = confusion_matrix(ds.y_test, np.roll(ds.y_test, 1), 10)
    for normalize in ("column", "row", None):
        assert_png(plots.plot_confusion(cm, tmp_path / f"cm_{normalize}.png",
                                        class_names=ds.class_names, normalize=normalize))


def test_misclassified_grid_titles_true_and_predicted(tmp_path, ds):
    predicted = ds.y_test.copy()
    predicted[:5] = (predicted[:5] + 1) % 10
    assert_png(plots.plot_misclassified(ds.x_test, ds.y_test, predicted, tmp_path / "wrong.png",
                                        class_names=ds.class_names))
    flat, _ = ds.arrays("test")
    assert_png(plots.plot_misclassified(flat, ds.y_test, np.eye(10)[predicted],
                                        tmp_path / "wrong_flat.png"))
    assert_png(plots.plot_misclassified(ds.x_test, ds.y_test, ds.y_test, tmp_path / "none.png"), 100)


def test_sample_and_mistake_grids_title_true_and_predicted_classes(tmp_path, ds, monkeypatch):
    drawn = []
    real_grid = plots._grid

    def spy(pictures, titles, path, *, empty):
        drawn.append((pictures.shape, list(titles), empty))
        return real_grid(pictures, titles, path, empty=empty)

    monkeypatch.setattr(plots, "_grid", spy)
    names = ds.class_names
    predicted = ds.y_test.copy()
    predicted[[3, 7]] = (predicted[[3, 7]] + 1) % 10
    plots.plot_misclassified(ds.x_test, ds.y_test, np.eye(10)[predicted], tmp_path / "w.png",
                             class_names=names)
    assert drawn[-1] == ((2, 28, 28), [f"{names[ds.y_test[i]]} -> {names[predicted[i]]}"
                                       for i in (3, 7)], "no misclassified images")
    assert_png(plots.plot_samples(ds.x_test, ds.y_test, tmp_path / "s.png", predicted=predicted,
                                  max_images=4))
    assert drawn[-1][:2] == ((4, 28, 28), [f"{ds.y_test[i]} -> {predicted[i]}" for i in range(4)])
    plots.plot_samples(ds.x_test[:3].reshape(3, -1), ds.y_test[:3], tmp_path / "n.png",
                       class_names=names)
    assert drawn[-1] == ((3, 28, 28), [names[label] for label in ds.y_test[:3]], "no images")


def test_probabilities_plot_accepts_probabilities_or_logits(tmp_path, ds):
    assert_png(plots.plot_probabilities(ds.x_test[0], np.full(10, 0.1), tmp_path / "p.png",
                                        class_names=ds.class_names, true_label=int(ds.y_test[0])))
    assert_png(plots.plot_probabilities(ds.x_test[0], np.linspace(-3, 3, 10), tmp_path / "l.png"))


def test_distribution_samples_and_replicates(tmp_path, ds):
    assert_png(plots.plot_class_distribution(ds, tmp_path / "dist.png"))
    assert_png(plots.plot_class_distribution(ds.class_counts("test"), tmp_path / "counts.png"))
    assert_png(plots.plot_samples(ds.x_train, ds.y_train, tmp_path / "samples.png",
                                  class_names=ds.class_names))
    results = {"1e-4": Replicates((0, 1, 2), (0.97, 0.98, 0.975)),
               "1e-3": Replicates((0, 1, 2), (0.96, 0.962, 0.958))}
    assert_png(plots.plot_replicates(results, tmp_path / "replicates.png", title="decay"))
