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


def _has_colour(pixels, rgb, tolerance=0.08):
    return bool((np.abs(pixels[..., :3] - np.asarray(rgb)) < tolerance).all(axis=-1).any())


def test_front_plot_draws_the_trials_the_front_and_the_budget_lines(tmp_path):
    from kerasmnist.pareto import FrontTrial
    from kerasmnist.runs.state import TrialStatus

    trials = [FrontTrial("run", str(i), params, score, TrialStatus.COMPLETED)
              for i, (params, score) in enumerate([(120, 0.71), (400, 0.86), (900, 0.80),
                                                   (2_500, 0.93), (40_000, 0.91)])]
    path = plots.plot_front(trials, tmp_path / "front.png", budgets=[150, 5_000], title="front")
    assert_png(path, 500)
    pixels = imread(path)
    assert _has_colour(pixels, (0.839, 0.153, 0.157))  # the front, tab:red
    assert _has_colour(pixels, (0.122, 0.467, 0.706))  # the budget lines, tab:blue
    without = imread(plots.plot_front(trials, tmp_path / "plain.png"))
    assert not _has_colour(without, (0.122, 0.467, 0.706))


def test_front_plot_of_a_loss_and_of_no_trials(tmp_path):
    from kerasmnist.errors import InvalidArgumentError
    from kerasmnist.runs.state import TrialState

    trials = [TrialState("0", params=100, score=0.9), TrialState("1", params=300, score=0.4),
              TrialState("2")]  # running: left out
    assert_png(plots.plot_front(trials, tmp_path / "loss.png", direction="min", objective="val_loss"))
    assert_png(plots.plot_front([], tmp_path / "empty.png", budgets=[150]))
    with pytest.raises(InvalidArgumentError, match="direction"):
        plots.plot_front(trials, tmp_path / "bad.png", direction="best")
    assert not (tmp_path / "bad.png").exists()


def _search_trials():
    from kerasmnist.runs.trials import TrialState, TrialStatus

    rows = [(0.2, 1e-4, "sgd", 32, None), (0.5, 1e-3, "adam", 64, 16), (0.7, 3e-3, "adam", 128, 32),
            (0.9, 1e-2, "rmsprop", 256, 64), (0.4, 3e-2, "sgd", 512, None)]
    trials = []
    for i, (score, lr, optimizer, units, units_1) in enumerate(rows):
        hps = {"learning_rate": lr, "optimizer": optimizer, "units_0": units}
        if units_1 is not None:
            hps["units_1"] = units_1
        trials.append(TrialState(str(i), hps, TrialStatus.PRUNED if i == 4 else TrialStatus.COMPLETED, score))
    trials.append(TrialState("5", {"learning_rate": 1.0}, TrialStatus.FAILED))  # no score: left out
    return trials


_BEST_YELLOW = (0.993, 0.906, 0.144)  # viridis at 1: the best, in either direction
_WORST_PURPLE = (0.267, 0.005, 0.329)  # viridis at 0


@pytest.mark.parametrize("objective", ["val_accuracy", "val_loss"])
def test_parallel_coordinates_plot_colours_the_best_yellow_in_either_direction(tmp_path, objective):
    from kerasmnist.coordinates import parallel_coordinates

    path = plots.plot_parallel_coordinates(_search_trials(), objective, tmp_path / "parallel.png")
    assert_png(path, 600)
    pixels = imread(path)
    chart = parallel_coordinates(_search_trials(), objective)
    _, colour = plots._score_colours(chart.lines, chart.direction)
    assert chart.best is not None
    assert np.allclose(colour(chart.best.score)[:3], _BEST_YELLOW, atol=0.01)
    worst = min(chart.lines, key=lambda line: line.color)
    assert np.allclose(colour(worst.score)[:3], _WORST_PURPLE, atol=0.01)
    fewer = imread(plots.plot_parallel_coordinates(_search_trials(), objective, tmp_path / "two.png",
                                                   hyperparameters=["optimizer", "units_0"], limit=1))
    assert fewer.shape[1] < pixels.shape[1]  # a narrower figure: fewer axes


def test_slice_plots_draw_a_panel_per_hyperparameter(tmp_path):
    path = plots.plot_slices(_search_trials(), "val_accuracy", tmp_path / "slices.png", columns=2)
    assert_png(path, 400)
    pixels = imread(path)
    one_row = imread(plots.plot_slices(_search_trials(), "val_accuracy", tmp_path / "row.png"))
    assert pixels.shape[0] > one_row.shape[0]  # 4 panels: two rows of two, or one row of four
    assert pixels.shape[1] < one_row.shape[1]


def test_parallel_and_slice_plots_of_no_trials_and_of_bad_arguments(tmp_path):
    from kerasmnist.errors import InvalidArgumentError

    assert_png(plots.plot_parallel_coordinates([], "val_accuracy", tmp_path / "empty.png"))
    assert_png(plots.plot_slices([], "val_accuracy", tmp_path / "empty_slices.png"))
    with pytest.raises(InvalidArgumentError, match="columns"):
        plots.plot_slices(_search_trials(), "val_accuracy", tmp_path / "bad.png", columns=0)
    with pytest.raises(InvalidArgumentError, match="hyperparameters"):
        plots.plot_parallel_coordinates(_search_trials(), "val_accuracy", tmp_path / "bad.png",
                                        hyperparameters=["depth"])
    assert not (tmp_path / "bad.png").exists()
