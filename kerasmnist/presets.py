"""Named fixed architectures: the classic MNIST models, ready to train.

Every preset takes flat `(784,)` or image input (reshaping inside the model),
ends in logits, and comes compiled with Adam, sparse categorical cross-entropy
from logits and accuracy. Weight counts for 28x28 input and 10 classes:

| name | architecture | weights |
|---|---|---|
| logistic_regression | dense | 7,850 |
| avgpool5_dense | 5x5 average pool, dense | 260 |
| conv2_maxpool9 | conv 2@5x5, 9x9 max pool, dense | 142 |
| mlp_128 | 784-128-10 | 101,770 |
| mlp_128_128 | 784-128-128-10 | 118,282 |
| mlp_128_128_128 | 784-128-128-128-10 | 134,794 |
| mlp_64_64 | 784-64-64-10 | 55,050 |
| mlp_500_300 | 784-500-300-10 (LeCun's table) | 545,810 |
| mlp_deep_thin | 784-(8 x 6)-10 | 6,730 |
| cnn_small | conv 32@3x3, max pool, dense | 63,050 |
| cnn_medium | conv 32, 64 @3x3, each max-pooled, dense | 50,186 |
| cnn_large | conv 32, 64, 128, 256 @3x3, each max-pooled, dense | 398,090 |
| lenet5 | pad 2, conv 6@5x5, avg pool, conv 16@5x5, avg pool, 120, 84, 10 | 61,706 |
| keras_convnet | Keras's "simple MNIST convnet" | 34,826 |

The tuned presets below are the best configurations measured for the targets in
`benchmarks/RESULTS.md` (met or not; it says which) and come with a training
recipe (`kerasmnist.recipes`): `kerasmnist train --dataset DATASET --model NAME
--validation 5000 --replicates 3` reproduces the figures there.

| name | architecture | weights |
|---|---|---|
| mnist_mlp | 784-1024-1024-10, dropout 0.2 on the input and 0.5 after each layer | 1,863,690 |
| mnist_cnn | batch-normalised conv 16@5x5, 32, 32, 64, 64 @3x3, two max pools, global pooling | 71,002 |
| fashion_mlp | 784-1024-1024-10, dropout 0.1 on the input and 0.4 after each layer | 1,863,690 |
| fashion_cnn | batch-normalised conv 32, 32, pool, 64, 64, pool @3x3, flatten, dense; dropout | 96,938 |
| tiny_150 | centred, 2x2 avg pool, conv 2, separable 2, 2 @3x3, leaky ReLU, 7x7 avg pool, dense | 148 |
| tiny_500 | conv 4, separable 9, 11 @3x3, biases, learned pooling | 487 |
| tiny_1000 | conv 8, separable 16, 17 @3x3 with biases (no batch norm), learned pooling | 994 |
| tiny_2000 | conv 12, separable 24, 29 @3x3, batch norm, global average pooling | 1,976 |

The fast presets aim at time to accuracy on a CPU: their recipes train 3 and 4
epochs (`kerasmnist train` prints the training's CPU time).

| name | architecture | weights |
|---|---|---|
| mnist_fast | conv 16, 32, 64 @3x3, each max-pooled, flatten, dense | 29,066 |
| fashion_fast | the same, batch-normalised | 29,402 |

`tiny_2000`'s recipe moves training images by up to a pixel at random (the
only preset trained with augmentation; see `kerasmnist.recipes.Recipe.shift`)
and distils it from `mnist_cnn`, which `kerasmnist train` trains first
(`kerasmnist.recipes.Recipe.teacher`). `tiny_150`'s recipe has random restarts
(`kerasmnist.recipes.Recipe.restarts`): `kerasmnist train` starts it from 5
initialisations and trains on the one with the best validation accuracy after
10 epochs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
from keras import layers

from kerasmnist import recipes
from kerasmnist.errors import InvalidArgumentError
from kerasmnist.hypermodels.base import image_shape_for
from kerasmnist.layers import TrainingShift, standardization
from kerasmnist.losses import SparseSmoothedCrossentropy

__all__ = ["LEAKY_SLOPE", "build", "describe", "names"]

_Body = Callable[[keras.KerasTensor, int], keras.KerasTensor]

LEAKY_SLOPE = 0.1
"""The slope of `tiny_150`'s leaky ReLUs below zero."""


def _dense_stack(*widths: int) -> _Body:
    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        x = layers.Flatten()(x)
        for units in widths:
            x = layers.Dense(units, activation="relu")(x)
        return layers.Dense(num_classes)(x)

    return body


def _conv_stack(*filters: int) -> _Body:
    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        for f in filters:
            x = layers.Conv2D(f, 3, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D(2, padding="same")(x)
        return layers.Dense(num_classes)(layers.Flatten()(x))

    return body


def _avgpool5_dense(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    x = layers.AveragePooling2D(5)(x)
    return layers.Dense(num_classes)(layers.Flatten()(x))


def _conv2_maxpool9(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    x = layers.Conv2D(2, 5, activation="relu")(x)
    x = layers.MaxPooling2D(9)(x)
    return layers.Dense(num_classes)(layers.Flatten()(x))


def _lenet5(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    x = layers.ZeroPadding2D(2)(x)
    x = layers.Conv2D(6, 5, activation="relu")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Conv2D(16, 5, activation="relu")(x)
    x = layers.AveragePooling2D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(120, activation="relu")(x)
    x = layers.Dense(84, activation="relu")(x)
    return layers.Dense(num_classes)(x)


def _keras_convnet(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)
    x = layers.Dropout(0.5)(layers.Flatten()(x))
    return layers.Dense(num_classes)(x)


def _dropout_mlp(*widths: int, dropout: float, input_dropout: float = 0.0) -> _Body:
    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        x = layers.Flatten()(x)
        if input_dropout:
            x = layers.Dropout(input_dropout)(x)
        for units in widths:
            x = layers.Dropout(dropout)(layers.Dense(units, activation="relu")(x))
        return layers.Dense(num_classes)(x)

    return body


def _conv_bn(x: keras.KerasTensor, filters: int, size: int = 3, *,
             padding: str = "same") -> keras.KerasTensor:
    """Convolution without bias, batch normalisation, ReLU."""
    x = layers.Conv2D(filters, size, padding=padding, use_bias=False)(x)
    return layers.Activation("relu")(layers.BatchNormalization()(x))


def _bn_cnn(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    x = layers.MaxPooling2D(2)(_conv_bn(x, 16, 5))
    x = layers.MaxPooling2D(2)(_conv_bn(_conv_bn(x, 32), 32))
    x = _conv_bn(_conv_bn(x, 64), 64)
    x = layers.Dropout(0.2)(layers.GlobalAveragePooling2D()(x))
    return layers.Dense(num_classes)(x)


def _vgg_cnn(*blocks: int, dropout: float, head_dropout: float) -> _Body:
    """VGG-style blocks of two batch-normalised 3x3 convolutions, each block max-pooled
    and dropped out; then a dense layer on the flattened map, so that the classifier
    sees where each feature is, which global pooling would lose."""

    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        for filters in blocks:
            x = layers.MaxPooling2D(2)(_conv_bn(_conv_bn(x, filters), filters))
            x = layers.Dropout(dropout)(x)
        x = layers.Dropout(head_dropout)(layers.Flatten()(x))
        return layers.Dense(num_classes)(x)

    return body


def _fast_cnn(*widths: int, batch_norm: bool) -> _Body:
    """3x3 convolutions, each max-pooled, then a dense layer on the flattened map: few
    multiplications per image (1.9 million for 16, 32, 64), so an epoch is cheap.

    Batch normalisation lets a high rate train the model in fewer epochs, but Keras's
    (unfused) batch normalisation about doubles the CPU time of an epoch on a CPU
    (benchmarks/RESULTS.md, "Fast presets"): without it the convolutions have biases."""

    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        for filters in widths:
            if batch_norm:
                x = _conv_bn(x, filters)
            else:
                x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
            x = layers.MaxPooling2D(2)(x)
        return layers.Dense(num_classes)(layers.Flatten()(x))

    return body


def _tiny_cnn(first: int, second: int, third: int, *, learned_pooling: bool = False,
              batch_norm: bool = True) -> _Body:
    """A 3x3 convolution and two separable ones, the first two max-pooled.

    Without `batch_norm` the convolutions have biases instead of batch
    normalisation (4 weights per channel), which buys wider layers in a budget.
    The head is global average pooling, or (`learned_pooling`) a max pooling
    and a depthwise convolution over the whole last feature map: one weight per
    position and channel, so that where a stroke is still counts, for few weights.
    """

    def unit(x: keras.KerasTensor, layer: layers.Layer) -> keras.KerasTensor:
        x = layer(x)
        return layers.Activation("relu")(layers.BatchNormalization()(x) if batch_norm else x)

    def body(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
        x = unit(x, layers.Conv2D(first, 3, use_bias=not batch_norm))
        x = unit(layers.MaxPooling2D(2, padding="same")(x),
                 layers.SeparableConv2D(second, 3, use_bias=not batch_norm))
        x = unit(layers.MaxPooling2D(2, padding="same")(x),
                 layers.SeparableConv2D(third, 3, use_bias=not batch_norm))
        if learned_pooling:
            x = layers.MaxPooling2D(2, padding="same")(x)
            x = layers.Flatten()(layers.DepthwiseConv2D(x.shape[1])(x))
        else:
            x = layers.GlobalAveragePooling2D()(x)
        return layers.Dense(num_classes)(x)

    return body


def _tiny_150(x: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    """Three stacked 3x3 convolutions of 2 filters, the last two separable (24 weights
    each against 38), average-pooled to 2x2, and logits without biases, which pay for
    the third convolution. On one seed (benchmarks/RESULTS.md, sixth round): two
    convolutions max-pooled 86.89%, average-pooled 90.11%, this 91.18%.

    No dead starts, by their two causes (benchmarks/RESULTS.md, "Dead starts"):
    centred inputs (`kerasmnist.layers.standardization`), so that no first filter
    starts with a negative output everywhere, and leaky ReLUs, whose gradient is
    never zero, so that no layer of two channels dies under the recipe's high rate
    in the first steps: a ReLU layer whose outputs are all zero passes no gradient
    back and never comes alive again."""
    x = layers.AveragePooling2D(2)(standardization()(x))
    x = layers.LeakyReLU(LEAKY_SLOPE)(layers.Conv2D(2, 3, padding="same")(x))
    x = layers.LeakyReLU(LEAKY_SLOPE)(layers.SeparableConv2D(2, 3, padding="same")(x))
    x = layers.LeakyReLU(LEAKY_SLOPE)(layers.SeparableConv2D(2, 3, padding="same")(x))
    x = layers.AveragePooling2D(7)(x)
    return layers.Dense(num_classes, use_bias=False)(layers.Flatten()(x))


_PRESETS: dict[str, tuple[_Body, str]] = {
    "logistic_regression": (_dense_stack(), "softmax regression: one dense layer"),
    "avgpool5_dense": (_avgpool5_dense, "5x5 average pooling, then dense"),
    "conv2_maxpool9": (_conv2_maxpool9, "2-filter 5x5 convolution, 9x9 max pooling, dense"),
    "mlp_128": (_dense_stack(128), "784-128-10 MLP"),
    "mlp_128_128": (_dense_stack(128, 128), "784-128-128-10 MLP"),
    "mlp_128_128_128": (_dense_stack(128, 128, 128), "784-128-128-128-10 MLP"),
    "mlp_64_64": (_dense_stack(64, 64), "784-64-64-10 MLP"),
    "mlp_500_300": (_dense_stack(500, 300), "784-500-300-10 MLP from LeCun's table"),
    "mlp_deep_thin": (_dense_stack(*[8] * 6), "deep, thin 784-(8 x 6)-10 MLP"),
    "cnn_small": (_conv_stack(32), "one 32-filter 3x3 convolution, max pooling, dense"),
    "cnn_medium": (_conv_stack(32, 64), "32- and 64-filter convolutions, each max-pooled"),
    "cnn_large": (_conv_stack(32, 64, 128, 256), "four convolutions of 32 to 256 filters"),
    "lenet5": (_lenet5, "LeNet-5 with ReLU: conv 6@5x5, avg pool, conv 16@5x5, 120-84-10"),
    "keras_convnet": (_keras_convnet, 'the Keras "simple MNIST convnet" example'),
    "mnist_mlp": (_dropout_mlp(1024, 1024, dropout=0.5, input_dropout=0.2),
                  "784-1024-1024-10 MLP, dropout 0.2 on the input, 0.5 after each hidden layer"),
    "mnist_cnn": (_bn_cnn, "five batch-normalised convolutions, global average pooling, "
                  "label smoothing: MNIST's tuned CNN"),
    "fashion_mlp": (_dropout_mlp(1024, 1024, dropout=0.4, input_dropout=0.1),
                    "784-1024-1024-10 MLP, dropout 0.1 on the input, 0.4 after each hidden "
                    "layer, label smoothing"),
    "fashion_cnn": (_vgg_cnn(32, 64, dropout=0.2, head_dropout=0.3),
                    "VGG-style: batch-normalised 3x3 convolutions 32, 32, pool, 64, 64, pool, "
                    "dense on the flattened map, label smoothing: Fashion-MNIST's tuned CNN"),
    "tiny_150": (_tiny_150, "2x2 average pool, conv 2, separable 2, 2 @3x3 with leaky ReLUs, "
                 "7x7 average pool, dense without biases: the 150-weight challenge"),
    "tiny_500": (_tiny_cnn(4, 9, 11, learned_pooling=True, batch_norm=False),
                 "conv 4, separable 9 and 11 @3x3 with biases, learned pooling: under 500 weights"),
    "tiny_1000": (_tiny_cnn(8, 16, 17, learned_pooling=True, batch_norm=False),
                  "conv 8, separable 16 and 17 @3x3 with biases, learned pooling: under 1,000"),
    "tiny_2000": (_tiny_cnn(12, 24, 29),
                  "conv 12, separable 24 and 29 @3x3, batch norm, global pooling, distilled "
                  "from mnist_cnn on images shifted up to a pixel: under 2,000"),
    "mnist_fast": (_fast_cnn(16, 32, 64, batch_norm=False),
                   "conv 16, 32, 64 @3x3, each max-pooled, dense: 99% on MNIST in 3 epochs"),
    "fashion_fast": (_fast_cnn(16, 32, 64, batch_norm=True),
                     "batch-normalised conv 16, 32, 64 @3x3, each max-pooled, dense: "
                     "Fashion-MNIST in 4 epochs"),
}


def names() -> list[str]:
    """Returns the preset names, in the order of the table above.

    Example:

    >>> names()[:3]
    ['logistic_regression', 'avgpool5_dense', 'conv2_maxpool9']
    """
    return list(_PRESETS)


def describe(name: str) -> str:
    """Returns a one-line description of a preset.

    Example:

    >>> describe("mlp_500_300")
    "784-500-300-10 MLP from LeCun's table"
    """
    return _PRESETS[_checked(name)][1]


def build(
    name: str,
    *,
    input_shape: Sequence[int] = (784,),
    num_classes: int = 10,
    learning_rate: float | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    augment: bool = True,
    recipe: recipes.Recipe | None = None,
) -> keras.Model:
    """Builds and compiles a preset with the optimizer, loss and augmentation of its recipe.

    The optimizer is Adam (AdamW where the recipe has weight decay). A recipe
    with the cosine schedule decays the learning rate to zero over
    `epochs * steps_per_epoch` steps; without `steps_per_epoch` the rate stays
    constant, since the length of the run is unknown. A recipe with a `shift`
    puts a `kerasmnist.layers.TrainingShift` layer after the input: it moves
    training images by up to that many pixels and passes images through
    unchanged at inference, however the model is called. A recipe with a
    `teacher` is distilled by the run engine (`kerasmnist train`), which trains
    the teacher first; `build` gives the student alone, compiled to learn from
    the labels (wrap it in a `kerasmnist.distillation.Distiller` to distil it).
    Likewise a recipe's random `restarts` are the run engine's: `build` gives one
    model.

    Args:
        name: One of `names()`.
        input_shape: Shape of one example: flat `(784,)`, `(28, 28)` or
            `(28, 28, 1)`. Defaults to `(784,)`.
        num_classes: Number of classes. Defaults to `10`.
        learning_rate: Adam's (initial) learning rate. Defaults to the
            recipe's (`kerasmnist.recipes.recipe(name)`).
        epochs: Epochs the cosine schedule spans. Defaults to the recipe's.
        steps_per_epoch: Batches per epoch, for the cosine schedule:
            `ceil(training examples / batch size)`. Defaults to `None`.
        augment: Whether to put the recipe's shift layer in the model;
            `False` for a student of `kerasmnist.distillation.Distiller`, which
            shifts the images itself so that its teacher sees the same ones.
            Defaults to `True`.
        recipe: The recipe to train by (`kerasmnist.recipes.Recipe`).
            Defaults to `None`: the preset's own, `kerasmnist.recipes.recipe(name)`.

    Returns:
        A compiled Keras model giving logits.

    Raises:
        InvalidArgumentError: Unknown name or unusable input shape.

    Example:

    >>> build("avgpool5_dense").count_params()
    260
    """
    body = _PRESETS[_checked(name)][0]
    recipe = recipes.recipe(name) if recipe is None else recipe
    image_shape = image_shape_for(input_shape)
    inputs = keras.Input(tuple(input_shape))
    x = inputs if tuple(input_shape) == image_shape else layers.Reshape(image_shape)(inputs)
    if recipe.shift and augment:
        height, width = image_shape[:2]
        x = TrainingShift(recipe.shift / height, recipe.shift / width, fill_mode="constant",
                          name="shift")(x)
    model = keras.Model(inputs, body(x, num_classes), name=name)
    model.compile(
        optimizer=_optimizer(recipe, learning_rate, epochs, steps_per_epoch),
        loss=(SparseSmoothedCrossentropy(recipe.label_smoothing) if recipe.label_smoothing
              else keras.losses.SparseCategoricalCrossentropy(from_logits=True)),
        metrics=["accuracy"],
    )
    return model


def _optimizer(
    recipe: recipes.Recipe, learning_rate: float | None, epochs: int | None,
    steps_per_epoch: int | None,
) -> keras.optimizers.Optimizer:
    rate: float | keras.optimizers.schedules.LearningRateSchedule
    rate = recipe.learning_rate if learning_rate is None else learning_rate
    if recipe.schedule == "cosine" and steps_per_epoch:
        steps = max(1, int(steps_per_epoch) * int(epochs or recipe.epochs))
        rate = keras.optimizers.schedules.CosineDecay(rate, steps)
    if recipe.weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=recipe.weight_decay)
    return keras.optimizers.Adam(rate)


def _checked(name: str) -> str:
    if name not in _PRESETS:
        raise InvalidArgumentError(
            f"Invalid value for argument `name`. Expected one of {names()}. "
            f"Received: name={name!r}"
        )
    return name
