"""Keras's batch normalisation against the fused one, per epoch of the presets that use it.

For each preset with batch normalisation, builds it as `kerasmnist.presets.build`
does, then a copy whose `BatchNormalization` layers are `FusedBatchNormalization`
below (same weights), and trains each for one epoch on the same training images at
the preset's batch size, alternating the two kinds `--repeats` times in this one
process. Prints the median CPU seconds (user and system) of an epoch of each, and the
ratio: Keras's epoch over the fused one, so that above 1 the fused kernel is faster,
whatever the machine's speed that day. First it prints how far the two layers' outputs,
gradients and moving statistics differ in one training step.

    KERASMNIST_DATA=... python benchmarks/bench_batchnorm.py [--images 12800] [--repeats 3]
        [--presets fashion_fast,mnist_cnn,fashion_cnn,tiny_2000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import keras
import numpy as np

from kerasmnist import datasets, presets, recipes


class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that trains with TensorFlow's fused kernel
    (`FusedBatchNormV3`): the same normalisation and moving statistics as Keras's
    layer, to float rounding (`_largest_difference`), and Keras's own computation
    wherever the kernel does not apply. Measured here, not used by any preset
    (benchmarks/RESULTS.md, "Fused batch normalisation, not adopted")."""

    def _fuses(self, inputs: Any, training: Any, mask: Any) -> bool:
        return (training is True and self.trainable and mask is None
                and keras.backend.backend() == "tensorflow"
                and len(inputs.shape) == 4 and self.axis in (-1, 3)
                and keras.backend.standardize_dtype(inputs.dtype) == "float32"
                and self.center and self.scale and not self.renorm and not self.synchronized)

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        """Normalises `inputs`: with the fused kernel when training on TensorFlow."""
        if not self._fuses(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf  # the TensorFlow backend is in use, so it is installed

        empty = tf.constant([], dtype=inputs.dtype)
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=self.gamma, offset=self.beta, mean=empty, variance=empty,
            epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        # The kernel returns the unbiased variance; Keras's moving variance is the biased one.
        count = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), inputs.dtype)
        variance = variance * (count - 1.0) / tf.maximum(count, 1.0)
        momentum = self.momentum
        self.moving_mean.assign(self.moving_mean * momentum + mean * (1.0 - momentum))
        self.moving_variance.assign(self.moving_variance * momentum + variance * (1.0 - momentum))
        return outputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=12_800, help="training images per epoch")
    parser.add_argument("--repeats", type=int, default=3, help="epochs of each kind")
    parser.add_argument("--presets", default="fashion_fast,mnist_cnn,fashion_cnn,tiny_2000")
    args = parser.parse_args()
    data = datasets.load_dataset("mnist", validation=0, download=False)
    x = (data.x_train[: args.images].astype("float32") / 255.0).reshape(-1, 28, 28, 1)
    y = data.y_train[: args.images].astype("int32")
    print(f"largest difference from Keras's layer in a training step: {_largest_difference():.1e}")
    print("| preset | Keras CPU-s per epoch | fused CPU-s per epoch | Keras / fused "
          "| wall s, Keras / fused |")
    print("|---|---|---|---|---|")
    for name in args.presets.split(","):
        batch = recipes.recipe(name).batch_size
        keras.utils.set_random_seed(0)
        plain = presets.build(name, input_shape=(28, 28, 1), augment=False)
        fused = _fused_copy(plain)
        times: dict[str, list[tuple[float, float]]] = {"keras": [], "fused": []}
        for model in (plain, fused):  # warm-up: tracing and the first allocations
            model.fit(x[: 2 * batch], y[: 2 * batch], batch_size=batch, epochs=1, verbose=0)
        for _ in range(args.repeats):
            for kind, model in (("keras", plain), ("fused", fused)):
                times[kind].append(_epoch(model, x, y, batch))
        cpu = {k: statistics.median(c for c, _ in v) for k, v in times.items()}
        wall = {k: statistics.median(w for _, w in v) for k, v in times.items()}
        print(f"| {name} | {cpu['keras']:.2f} | {cpu['fused']:.2f} | {cpu['keras'] / cpu['fused']:.2f} "
              f"| {wall['keras'] / wall['fused']:.2f} |", flush=True)


def _fused_copy(model: keras.Model) -> keras.Model:
    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if type(layer) is keras.layers.BatchNormalization:
            return FusedBatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    copy.compile(optimizer=model.optimizer.__class__.from_config(model.optimizer.get_config()),
                 loss=model.loss, metrics=["accuracy"])
    return copy


def _epoch(model: keras.Model, x: np.ndarray, y: np.ndarray, batch: int) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()  # as the run engine times a fit
    model.fit(x, y, batch_size=batch, epochs=1, verbose=0)
    return time.process_time() - cpu, time.perf_counter() - wall


def _largest_difference() -> float:
    """The largest absolute difference between Keras's layer and the fused one over a
    training step's outputs, gradients and moving statistics, from the same weights."""
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(2.0, 3.0, (16, 6, 6, 5)).astype("float32"))
    upstream = tf.constant(rng.normal(size=x.shape).astype("float32"))
    results = []
    for layer in (keras.layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)):
        layer.build(x.shape)
        layer.gamma.assign(np.linspace(0.5, 1.5, 5, dtype="float32"))
        with tf.GradientTape() as tape:
            tape.watch(x)
            outputs = layer(x, training=True)
            loss = tf.reduce_sum(outputs * upstream)
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        results.append([outputs, *grads, layer.moving_mean, layer.moving_variance,
                        layer(x, training=False)])
    return max(float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(*results, strict=True))


if __name__ == "__main__":
    main()
