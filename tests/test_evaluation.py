"""Tests of confusion matrices, per-class metrics, split tables, replicates, sweeps."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from kerasmnist import InvalidArgumentError, load_dataset, presets
from kerasmnist.datasets import Dataset
from kerasmnist.evaluation import (
    Replicates,
    as_probabilities,
    class_metrics,
    confusion_heatmap,
    confusion_matrix,
    confusion_text,
    cross_entropy,
    evaluate_splits,
    find_mistakes,
    model_inputs,
    replicates,
    sweep_table,
    top_confusions,
)

# Three classes, nine examples, worked by hand:
#            pred 0  pred 1  pred 2
#   true 0      2       1       0
#   true 1      0       3       1
#   true 2      1       0       1
Y_TRUE = [0, 0, 0, 1, 1, 1, 1, 2, 2]
Y_PRED = [0, 0, 1, 1, 1, 1, 2, 0, 2]
COUNTS = [[2, 1, 0], [0, 3, 1], [1, 0, 1]]


def test_confusion_matrix_counts_pairs():
    assert confusion_matrix(Y_TRUE, Y_PRED, 3).tolist() == COUNTS


def test_confusion_matrix_normalises_by_row_and_by_column():
    rows = confusion_matrix(Y_TRUE, Y_PRED, 3, normalize="row")
    np.testing.assert_allclose(rows, [[2 / 3, 1 / 3, 0], [0, 3 / 4, 1 / 4], [1 / 2, 0, 1 / 2]])
    columns = confusion_matrix(Y_TRUE, Y_PRED, 3, normalize="column")
    np.testing.assert_allclose(columns, [[2 / 3, 1 / 4, 0], [0, 3 / 4, 1 / 2], [1 / 3, 0, 1 / 2]])


def test_confusion_matrix_takes_the_argmax_of_scores_and_handles_empty_classes():
    scores = np.eye(4)[[0, 1, 1]]
    cm = confusion_matrix([0, 1, 0], scores, 4, normalize="row")
    assert cm[3].tolist() == [0, 0, 0, 0]  # class 3 never occurs: zeros, no NaN
    np.testing.assert_allclose(cm[0], [0.5, 0.5, 0, 0])


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([0, 1], [0], "Expected as many predictions as labels"),
        ([0, 3], [0, 1], r"Expected labels in \[0, 3\). Received: values from 0 to 3"),
        ([0.5, 1.0], [0, 1], "Expected integer labels"),
        ([[0, 1]], [0, 1], "Expected integer labels of shape"),
    ],
)
def test_confusion_matrix_rejects_bad_labels(y_true, y_pred, match):
    with pytest.raises(InvalidArgumentError, match=match):
        confusion_matrix(y_true, y_pred, 3)


def test_confusion_matrix_rejects_unknown_normalisation():
    with pytest.raises(InvalidArgumentError, match="Received: normalize='all'"):
        confusion_matrix(Y_TRUE, Y_PRED, 3, normalize="all")  # type: ignore[arg-type]


def test_class_metrics_match_hand_computed_values():
    m = class_metrics(np.array(COUNTS))
    np.testing.assert_allclose(m.precision, [2 / 3, 3 / 4, 1 / 2])
    np.testing.assert_allclose(m.recall, [2 / 3, 3 / 4, 1 / 2])
    np.testing.assert_allclose(m.f1, [2 / 3, 3 / 4, 1 / 2])
    assert m.support.tolist() == [3, 4, 2]
    table = m.table(["a", "b", "c"])
    assert "macro avg" in table and "0.6667" in table
    assert m.as_dict(["a", "b", "c"])["b"] == {"precision": 0.75, "recall": 0.75, "f1": 0.75,
                                               "support": 4}


def test_class_metrics_of_a_never_predicted_class_are_zero():
    m = class_metrics(np.array([[1, 1], [0, 0]]))
    assert m.precision.tolist() == [1.0, 0.0] and m.recall.tolist() == [0.5, 0.0]
    assert m.f1.tolist() == [pytest.approx(2 / 3), 0.0]


def test_top_confusions_lists_mistakes_largest_first_with_names():
    cm = np.zeros((10, 10), dtype=int)
    cm[4, 9], cm[7, 1], cm[3, 5], cm[2, 2] = 23, 11, 11, 500
    assert top_confusions(cm, k=2) == [("4", "9", 23), ("3", "5", 11)]
    assert top_confusions(np.eye(3, dtype=int)) == []
    assert top_confusions(np.array(COUNTS), ["a", "b", "c"], k=1) == [("a", "b", 1)]


def test_confusion_text_and_heatmap_show_class_names_and_values():
    text = confusion_text(np.array(COUNTS), ["T-shirt", "Trouser", "Bag"])
    assert text.splitlines()[0].split()[-3:] == ["T-shirt", "Trouser", "Bag"]
    assert text.splitlines()[3].split()[1:] == ["0", "3", "1"]
    heatmap = confusion_heatmap(np.array(COUNTS), ["a", "b", "c"], title="cm")
    cells = [list(column.cells) for column in heatmap.columns[1:]]  # by predicted class
    assert str(cells[1][1]) == "3" and str(cells[1][1].style).startswith("black on rgb(0,")
    assert str(cells[1][0].style).startswith("white on rgb(")  # a mistake: red
    assert str(cells[2][0].style) == "dim"  # nothing there
    console = Console(record=True, width=100)
    console.print(heatmap)
    assert "cm" in console.export_text()
    console = Console(record=True, width=100)
    console.print(confusion_heatmap(np.array(COUNTS), normalize="row"))
    assert "0.75" in console.export_text()


def test_evaluate_splits_matches_model_evaluate_per_split():
    ds = load_dataset("mnist_sample", validation=500)
    model = presets.build("logistic_regression")
    x, y = ds.arrays("train")
    model.fit(x[:512], y[:512], epochs=1, batch_size=128, verbose=0)
    table = evaluate_splits(model, ds)
    assert [r.split for r in table.results] == ["train", "validation", "test"]
    x_test, y_test = ds.arrays("test")
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert table["test"].loss == pytest.approx(loss, rel=1e-5)
    assert table["test"].accuracy == pytest.approx(accuracy)
    assert table["test"].error_rate == pytest.approx(100 * (1 - accuracy))
    assert table["train"].examples == 4500
    text = str(table)
    assert "error %" in text and "4,500" in text
    assert table.to_rich().row_count == 3


def test_evaluate_splits_feeds_image_models_and_skips_empty_splits():
    ds = load_dataset("mnist_sample", validation=0)
    table = evaluate_splits(presets.build("cnn_small", input_shape=(28, 28)), ds)
    assert [r.split for r in table.results] == ["train", "test"]


class _ShapeOnly:
    """Stands in for a model where only `input_shape` matters."""

    def __init__(self, *shape):
        self.input_shape = (None, *shape)


@pytest.mark.parametrize("shape", [(784,), (28, 28), (28, 28, 1)])
def test_model_inputs_reshapes_flat_or_image_batches_to_the_model_input_without_copying(shape):
    flat = np.arange(3 * 784, dtype=np.float32).reshape(3, 784)
    for x in (flat, flat.reshape(3, 28, 28, 1)):
        fed = model_inputs(_ShapeOnly(*shape), x)
        assert fed.shape == (3, *shape)
        assert np.shares_memory(fed, flat)
        assert fed.reshape(3, -1)[1, 5] == flat[1, 5]  # the same pixel order


def test_model_inputs_leaves_open_dimensions_to_the_data_and_rejects_a_wrong_size():
    images = np.zeros((2, 28, 28, 1))
    assert model_inputs(_ShapeOnly(None, None, 1), images) is images
    with pytest.raises(InvalidArgumentError, match=r"input shape \(784,\). Received: x of shape \(2, 10\)"):
        model_inputs(_ShapeOnly(784), np.zeros((2, 10)))


def test_as_probabilities_keeps_probabilities_and_softmaxes_logits():
    probabilities = np.array([[0.2, 0.8], [1.0, 0.0]])
    assert as_probabilities(probabilities).tolist() == probabilities.tolist()
    logits = np.array([[0.0, np.log(4.0)], [-1.0, -1.0]])
    np.testing.assert_allclose(as_probabilities(logits), [[0.2, 0.8], [0.5, 0.5]])
    np.testing.assert_allclose(as_probabilities([2.0, 0.0, 2.0]).sum(), 1.0)  # one example


def test_cross_entropy_reads_logits_and_probabilities_as_keras_does():
    import keras

    logits = np.array([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0], [-3.0, 4.0, 1.0]])
    labels = np.array([0, 2, 1])
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert cross_entropy(labels, logits) == pytest.approx(float(keras_loss), rel=1e-6)
    probabilities = as_probabilities(logits)
    assert cross_entropy(labels, probabilities) == pytest.approx(float(keras_loss), rel=1e-6)
    # A confident mistake stays finite from logits; from probabilities, Keras's epsilon bounds it.
    assert cross_entropy([1], [[1000.0, -1000.0]]) == pytest.approx(2000.0)
    assert cross_entropy([1], [[1.0, 0.0]]) == pytest.approx(-np.log(1e-7))
    assert np.isnan(cross_entropy([], np.zeros((0, 3))))


@pytest.mark.parametrize(("labels", "scores", "match"), [
    ([0, 3], [[0.0, 1.0], [1.0, 0.0]], r"labels in \[0, 2\)"),
    ([0], [[0.0, 1.0], [1.0, 0.0]], "one row per label"),
    ([0], [0.0, 1.0], r"\(n, classes\)"),
])
def test_cross_entropy_rejects_labels_and_scores_that_do_not_fit(labels, scores, match):
    with pytest.raises(InvalidArgumentError, match=match):
        cross_entropy(labels, scores)


def _brightest_pixel_model():
    """A 2x2-pixel classifier that predicts the index of the brightest pixel, as logits."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4, use_bias=False)])
    model.layers[0].set_weights([10 * np.eye(4, dtype="float32")])
    return model


def _bright_pixel_dataset(pixels, brightness, labels):
    """Test images each lit at one pixel, with the labels given."""
    images = np.zeros((len(labels), 2, 2), dtype=np.uint8)
    images.reshape(len(labels), 4)[np.arange(len(labels)), pixels] = brightness
    y = np.asarray(labels, dtype=np.uint8)
    empty = images[:0]
    return Dataset("lit", ("a", "b", "c", "d"), empty, y[:0], empty, y[:0], images, y)


def test_find_mistakes_returns_the_known_mistakes_most_confident_first():
    # Predicted: the lit pixel. Wrong where the label differs: examples 1, 2 and 4;
    # the brighter the pixel, the surer the model.
    ds = _bright_pixel_dataset(pixels=[0, 1, 2, 3, 0, 1], brightness=[255, 40, 255, 255, 120, 90],
                               labels=[0, 3, 1, 3, 2, 1])
    mistakes = find_mistakes(_brightest_pixel_model(), ds)
    assert mistakes.indices.tolist() == [2, 4, 1]
    assert mistakes.true.tolist() == [1, 2, 3] and mistakes.predicted.tolist() == [2, 0, 1]
    assert mistakes.errors == 3 and mistakes.examples == 6 and len(mistakes) == 3
    assert np.all(np.diff(mistakes.confidence) < 0) and mistakes.confidence[0] > 0.99
    assert mistakes.as_dicts(ds.class_names)[0] == {
        "index": 2, "true": "b", "predicted": "c", "confidence": mistakes.confidence[0]}
    assert mistakes.as_dicts()[1]["true"] == "2"
    top = find_mistakes(_brightest_pixel_model(), ds, top=2)
    assert top.indices.tolist() == [2, 4] and top.errors == 3
    assert len(find_mistakes(_brightest_pixel_model(), ds, top=0)) == 0


def test_find_mistakes_ranks_softmax_outputs_as_it_ranks_logits():
    import keras

    ds = _bright_pixel_dataset(pixels=[0, 1, 2, 3], brightness=[30, 200, 90, 10], labels=[1, 0, 0, 3])
    logits = _brightest_pixel_model()
    softmax = keras.Sequential([logits, keras.layers.Softmax()])
    assert find_mistakes(logits, ds).indices.tolist() == [1, 2, 0]
    assert find_mistakes(softmax, ds).indices.tolist() == [1, 2, 0]
    np.testing.assert_allclose(find_mistakes(softmax, ds).confidence,
                               find_mistakes(logits, ds).confidence, rtol=1e-5)


@pytest.mark.parametrize("top", [-1, 2.5, True])
def test_find_mistakes_rejects_a_bad_top(top):
    ds = _bright_pixel_dataset(pixels=[0], brightness=[255], labels=[1])
    with pytest.raises(InvalidArgumentError, match=f"Received: top={top!r}"):
        find_mistakes(_ShapeOnly(4), ds, top=top)


def test_find_mistakes_feeds_a_real_image_model_and_agrees_with_its_confusion_matrix():
    ds = load_dataset("mnist_sample", validation=0)
    model = presets.build("cnn_small", input_shape=(28, 28))
    x, y = ds.arrays("train")
    model.fit(x[:1024].reshape(-1, 28, 28), y[:1024], epochs=1, batch_size=128, verbose=0)
    mistakes = find_mistakes(model, ds, top=None)
    cm = confusion_matrix(ds.y_test, model.predict(model_inputs(model, ds.arrays("test")[0]),
                                                   verbose=0), 10)
    assert mistakes.errors == len(mistakes) == cm.sum() - np.trace(cm)
    assert np.all(mistakes.true != mistakes.predicted)
    assert np.array_equal(mistakes.true, ds.y_test[mistakes.indices])


def test_replicates_report_mean_and_sample_standard_deviation():
    r = replicates(lambda seed: [0.97, 0.98, 0.99][seed])
    assert r.seeds == (0, 1, 2) and r.values == (0.97, 0.98, 0.99)
    assert r.mean == pytest.approx(0.98) and r.std == pytest.approx(0.01)
    custom = replicates(lambda seed: seed, seeds=[5, 7])
    assert custom.values == (5.0, 7.0) and custom.std == pytest.approx(np.std([5, 7], ddof=1))
    assert Replicates((1,), (0.5,)).std == 0.0
    assert "±" in str(r)


@pytest.mark.parametrize("kwargs, match", [({"n": 0}, "Received: n=0"), ({"seeds": []}, "seeds")])
def test_replicates_rejects_no_runs(kwargs, match):
    with pytest.raises(InvalidArgumentError, match=match):
        replicates(lambda seed: 0.0, **kwargs)


def test_sweep_table_lays_out_rows_by_columns_with_replicates():
    r = Replicates((0, 1), (0.9, 0.92))
    text = sweep_table({("small", "1e-3"): 0.95, ("small", "1e-2"): r, ("large", "1e-3"): 0.97},
                       row_label="model", column_label="lr")
    lines = text.splitlines()
    assert lines[0].split() == ["model", "\\", "lr", "1e-3", "1e-2"]
    assert lines[2].split()[:2] == ["small", "0.9500"] and "0.9100 ± 0.0141" in lines[2]
    assert lines[3].split() == ["large", "0.9700"]
