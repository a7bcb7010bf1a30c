"""Trains one candidate architecture once: the exploration behind benchmarks/RESULTS.md.

The tuned presets were chosen with this script (one seed each) before their
3-seed measurement with `kerasmnist train`. An architecture is a preset-like
name (`mlp:1024,1024:0.5:0.2` = widths, dropout, input dropout; `cnn_a`,
`cnn_f`, `cnn_v`, `cnn_vf`) or a tiny-model string of dash-separated tokens:

    cN / CN     3x3 convolution of N filters, valid / same padding (cNx5: 5x5)
    sN / SN     separable 3x3 convolution of N filters
    p[K]        max pooling (default 2, same padding)
    a[K]        average pooling (default 2)
    g / G       global average / max pooling
    w           learned pooling: a depthwise convolution over the whole map
    f           flatten
    dN          dense layer of N units, ReLU (after a flatten)
    lN          linear bottleneck: dense layer of N units, no bias, no activation
    o           no dense head: the last layer's 10 outputs are the logits
    u           the dense layer to the classes without biases (last token)

every convolution batch-normalised (prefix `t:`) or with biases instead (`tn:`);
a dense layer to the classes ends every model unless it ends in `o`. Example:

    KERASMNIST_DATA=../shared/data python benchmarks/explore.py t:c4-p-s8-p-s9-p-w \\
        --epochs 40 --lr 1e-2

prints one line per epoch and a JSON line with the weight count, the test
accuracy, and wall and CPU seconds. Validation: 5,000 images (`--validation`)
carved from the training set (seeded); the test set is evaluated once, at the end.
With `--teacher cnn_a` the candidate is distilled
(`kerasmnist.distillation.Distiller`, `--temperature`, `--alpha`) from that
architecture, trained first on the same split (its time counts in the summary).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import keras
import numpy as np
from keras import layers as L

from kerasmnist.datasets import load_dataset
from kerasmnist.distillation import Distiller
from kerasmnist.losses import SparseSmoothedCrossentropy


def _conv(x, filters, size=3, *, padding="same", bn=True, separable=False, activation="relu"):
    conv = L.SeparableConv2D if separable else L.Conv2D
    x = conv(filters, size, padding=padding, use_bias=not bn)(x)
    if bn:
        x = L.BatchNormalization()(x)
    return L.Activation(activation)(x)


def tiny(spec: str, *, bn: bool, activation: str = "relu") -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    x = inputs
    tokens = spec.split("-")
    head, head_bias = tokens[-1] != "o", tokens[-1] != "u"
    for token in tokens if head and head_bias else tokens[:-1]:
        kind, arg = token[0], token[1:]
        if kind in "cCsS":
            size = 3
            if "x" in arg:
                arg, size = arg.split("x")
            x = _conv(x, int(arg), int(size), padding="same" if kind.isupper() else "valid",
                      bn=bn, separable=kind in "sS", activation=activation)
        elif kind == "p":
            x = L.MaxPooling2D(int(arg or 2), padding="same")(x)
        elif kind == "a":
            x = L.AveragePooling2D(int(arg or 2))(x)
        elif kind == "g":
            x = L.GlobalAveragePooling2D()(x)
        elif kind == "G":
            x = L.GlobalMaxPooling2D()(x)
        elif kind == "w":
            x = L.DepthwiseConv2D(x.shape[1])(x)
        elif kind == "d":
            x = L.Dense(int(arg), activation="relu")(L.Flatten()(x))
        elif kind == "l":
            x = L.Dense(int(arg), use_bias=False)(L.Flatten()(x))
        elif kind != "f":
            raise SystemExit(f"unknown token {token!r} in {spec!r}")
    x = L.Flatten()(x)
    return keras.Model(inputs, L.Dense(10, use_bias=head_bias)(x) if head else x)


def mlp(widths, dropout, input_dropout) -> keras.Model:
    inputs = keras.Input((28, 28, 1))
    x = L.Dropout(input_dropout)(L.Flatten()(inputs))
    for units in widths:
        x = L.Dropout(dropout)(L.Dense(units, activation="relu")(x))
    return keras.Model(inputs, L.Dense(10)(x))


def cnn(filters, dropout) -> keras.Model:
    """conv f0@5x5, pool, conv f1, conv f2, pool, conv f3 [, conv f4], global pool."""
    inputs = keras.Input((28, 28, 1))
    x = L.MaxPooling2D()(_conv(inputs, filters[0], 5))
    x = L.MaxPooling2D()(_conv(_conv(x, filters[1]), filters[2]))
    for f in filters[3:]:
        x = _conv(x, f)
    x = L.Dropout(dropout)(L.GlobalAveragePooling2D()(x))
    return keras.Model(inputs, L.Dense(10)(x))


def vgg(blocks, last, dropout, head_dropout=None) -> keras.Model:
    """Blocks of two 3x3 convolutions, each block max-pooled and dropped out; one more
    convolution of `last` filters and global pooling, or (`last=None`) a flatten."""
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for f in blocks:
        x = L.Dropout(dropout)(L.MaxPooling2D()(_conv(_conv(x, f), f)))
    x = L.Flatten()(x) if last is None else L.GlobalAveragePooling2D()(_conv(x, last))
    x = L.Dropout(dropout if head_dropout is None else head_dropout)(x)
    return keras.Model(inputs, L.Dense(10)(x))


NAMED = {
    "cnn_a": lambda: cnn((16, 32, 32, 64, 64), 0.2),  # the mnist_cnn preset
    "cnn_f": lambda: cnn((32, 48, 64, 80), 0.3),
    "cnn_v": lambda: vgg((32, 64), 56, 0.2),
    "cnn_vf": lambda: vgg((32, 64), None, 0.2, 0.3),
}


def build(name: str, activation: str = "relu") -> keras.Model:
    if name.startswith(("t:", "tn:")):
        kind, spec = name.split(":", 1)
        return tiny(spec, bn=kind == "t", activation=activation)
    if name.startswith("mlp:"):
        _, widths, dropout, input_dropout = name.split(":")
        return mlp([int(w) for w in widths.split(",")], float(dropout), float(input_dropout))
    if name in NAMED:
        return NAMED[name]()
    raise SystemExit(f"unknown architecture {name!r}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("arch")
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam, cosine decay to zero")
    parser.add_argument("--label-smoothing", type=float, default=0.0)
    parser.add_argument("--weight-decay", type=float, default=0.0, help="AdamW when above 0")
    parser.add_argument("--shift", type=int, default=0,
                        help="random translation of up to this many pixels while training")
    parser.add_argument("--flip", action="store_true",
                        help="mirror training images left to right at random")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--activation", default="relu",
                        help="of a tiny model's convolutions (a Keras name: relu, elu, ...)")
    parser.add_argument("--validation", type=int, default=5000, help="validation examples")
    parser.add_argument("--teacher", help="distil from this architecture (`cnn_a`: mnist_cnn), "
                        "trained first for --teacher-epochs at 2e-3, batch 128")
    parser.add_argument("--teacher-epochs", type=int, default=15)
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--alpha", type=float, default=0.5, help="weight of the labels' loss")
    args = parser.parse_args(argv)
    if args.flip and args.teacher:
        parser.error("--flip with --teacher: the distillation shifts its images, but does not flip them")

    data = load_dataset(args.dataset, validation=args.validation, seed=args.seed)
    (x, y), val = data.arrays("train", view="image"), data.arrays("validation", view="image")
    x_test, y_test = data.arrays("test", view="image")
    start, cpu = time.time(), time.process_time()
    keras.utils.set_random_seed(args.seed)
    model = build(args.arch, args.activation)
    if args.teacher:
        teacher = build(args.teacher)
        steps = math.ceil(len(x) / 128) * args.teacher_epochs
        teacher.compile(keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
                        SparseSmoothedCrossentropy(0.0), metrics=["accuracy"])
        teacher.fit(x, y, batch_size=128, epochs=args.teacher_epochs, verbose=0)
        model = Distiller(model, teacher, temperature=args.temperature, alpha=args.alpha,
                          shift=args.shift)
    elif args.shift or args.flip:
        augment = [L.RandomFlip("horizontal")] if args.flip else []
        if args.shift:
            shift = args.shift / 28
            augment.append(L.RandomTranslation(shift, shift, fill_mode="constant"))
        model = keras.Sequential([keras.Input((28, 28, 1)), *augment, model])
    steps = math.ceil(len(x) / args.batch_size) * args.epochs
    schedule = keras.optimizers.schedules.CosineDecay(args.lr, steps)
    optimizer = (keras.optimizers.AdamW(schedule, weight_decay=args.weight_decay)
                 if args.weight_decay else keras.optimizers.Adam(schedule))
    model.compile(optimizer, SparseSmoothedCrossentropy(args.label_smoothing),
                  metrics=["accuracy"])

    def report(epoch, logs):
        print(f"epoch {epoch + 1} {time.time() - start:.0f}s loss={logs['loss']:.4f} "
              f"accuracy={logs['accuracy']:.4f} val_accuracy={logs['val_accuracy']:.4f}",
              flush=True)

    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, validation_data=val,
              verbose=0, callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=report)])
    predicted = np.argmax(model.predict(x_test, batch_size=2048, verbose=0), axis=1)
    print(json.dumps({"arch": args.arch, "dataset": args.dataset, "seed": args.seed,
                      "weights": getattr(model, "student", model).count_params(),
                      "test_accuracy": float(np.mean(predicted == y_test)),
                      "wall_s": round(time.time() - start, 1),
                      "cpu_s": round(time.process_time() - cpu, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
