"""Training recipes of the presets: epochs, batch size and optimizer settings.

A preset (`kerasmnist.presets`) is an architecture; its recipe is how it is
trained. `kerasmnist train --model NAME` and `kerasmnist.presets.build` use the
recipe unless told otherwise, so that the measured results in
`benchmarks/RESULTS.md` are one command each. This module does not import Keras,
so that the command line and the terminal UI read recipes cheaply.

Example:

>>> recipe("logistic_regression")
Recipe(epochs=5, batch_size=128, learning_rate=0.001, schedule='constant', weight_decay=0.0,
       label_smoothing=0.0, shift=0, teacher=None, teacher_recipe=None,
       temperature=4.0, alpha=0.1, restarts=1, restart_epochs=10)
>>> recipe("mnist_cnn").schedule
'cosine'
"""

from __future__ import annotations

from dataclasses import dataclass

from kerasmnist.errors import InvalidArgumentError

__all__ = ["PRESET_NAMES", "SCHEDULES", "Recipe", "recipe"]

PRESET_NAMES = (
    "logistic_regression", "avgpool5_dense", "conv2_maxpool9", "mlp_128", "mlp_128_128",
    "mlp_128_128_128", "mlp_64_64", "mlp_500_300", "mlp_deep_thin", "cnn_small", "cnn_medium",
    "cnn_large", "lenet5", "keras_convnet", "mnist_mlp", "mnist_cnn", "fashion_mlp",
    "fashion_cnn", "tiny_150", "tiny_500", "tiny_1000", "tiny_2000", "mnist_fast", "fashion_fast",
)
"""The preset names (`kerasmnist.presets.names()`), here without importing Keras, so that
a spec is checked (by the terminal UI, say) without loading TensorFlow."""

SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules: constant, or cosine decay to zero over the whole run."""


@dataclass(frozen=True)
class Recipe:
    """How a preset is trained.

    Attributes:
        epochs: Epochs of training.
        batch_size: Training batch size.
        learning_rate: Adam's (initial) learning rate.
        schedule: `"constant"`, or `"cosine"`: decay to zero over all the
            steps of the run (`epochs` x steps per epoch).
        weight_decay: Decoupled weight decay (AdamW) when above zero.
        label_smoothing: Label smoothing of the cross-entropy
            (`kerasmnist.losses.SparseSmoothedCrossentropy`) when above zero.
        shift: Data augmentation: each training image moves at random by up
            to `shift` pixels in each direction (a weightless
            `kerasmnist.layers.TrainingShift` at the model's input, idle at
            inference); `0` for none.
        teacher: Knowledge distillation: the name of a preset that is trained
            first (with `teacher_recipe` or its own recipe, on the same data
            and seed) and whose softened logits the preset then learns from
            (`kerasmnist.distillation.Distiller`); `None` to learn from the
            labels alone.
        teacher_recipe: How the `teacher` is trained: a recipe without a
            teacher of its own. Defaults to `None`: the teacher preset's own
            recipe. A distilled preset's result depends on its teacher, so a
            preset measured with a teacher trained one way pins that way here,
            whatever the teacher's own recipe becomes.
        temperature: The distillation's temperature (with a `teacher`).
        alpha: The weight of the labels' loss in the distillation (with a
            `teacher`); the teacher's term has `1 - alpha`.
        restarts: Random restarts: `kerasmnist train` trains this many models
            from different initialisations for `restart_epochs` epochs each and
            goes on training only the one with the best validation score (the
            run's objective); `1` for none. For tiny models, whose result
            depends on the initialisation by points, not tenths.
        restart_epochs: The epochs of each restart before the choice (counted
            in `epochs`: the chosen model goes on from there).
    """

    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 1e-3
    schedule: str = "constant"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    shift: int = 0
    teacher: str | None = None
    teacher_recipe: Recipe | None = None
    temperature: float = 4.0
    alpha: float = 0.1
    restarts: int = 1
    restart_epochs: int = 10

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise InvalidArgumentError(
                f"Invalid value for argument `schedule`. Expected one of {list(SCHEDULES)}. "
                f"Received: schedule={self.schedule!r}")
        for name in ("epochs", "batch_size", "restarts", "restart_epochs"):
            if getattr(self, name) < 1:
                raise InvalidArgumentError(
                    f"Invalid value for argument `{name}`. Expected a positive integer. "
                    f"Received: {name}={getattr(self, name)!r}")
        if self.shift < 0:
            raise InvalidArgumentError(
                "Invalid value for argument `shift`. Expected an integer >= 0 (pixels). "
                f"Received: shift={self.shift!r}")
        if not (self.learning_rate > 0 and self.weight_decay >= 0
                and 0 <= self.label_smoothing < 1):
            raise InvalidArgumentError(
                "Invalid recipe. Expected learning_rate > 0, weight_decay >= 0 and "
                f"label_smoothing in [0, 1). Received: learning_rate={self.learning_rate!r}, "
                f"weight_decay={self.weight_decay!r}, label_smoothing={self.label_smoothing!r}")
        if self.teacher is not None and self.teacher not in PRESET_NAMES:
            raise InvalidArgumentError(
                f"Invalid value for argument `teacher`. Expected None or one of "
                f"{list(PRESET_NAMES)}. Received: teacher={self.teacher!r}")
        if self.teacher_recipe is not None and (
                self.teacher is None or not isinstance(self.teacher_recipe, Recipe)
                or self.teacher_recipe.teacher is not None):
            raise InvalidArgumentError(
                "Invalid value for argument `teacher_recipe`. Expected None, or, with a "
                "`teacher`, a Recipe without a teacher of its own. Received: "
                f"teacher_recipe={self.teacher_recipe!r} with teacher={self.teacher!r}")
        if not (self.temperature > 0 and 0 <= self.alpha <= 1):
            raise InvalidArgumentError(
                "Invalid recipe. Expected temperature > 0 and alpha in [0, 1]. "
                f"Received: temperature={self.temperature!r}, alpha={self.alpha!r}")


_CLASSIC = Recipe(epochs=5)  # as a hypermodel run: RunSpec.epochs defaults to 5

RECIPES: dict[str, Recipe] = {
    "mnist_mlp": Recipe(epochs=40, batch_size=128, learning_rate=1e-3, schedule="cosine"),
    "mnist_cnn": Recipe(epochs=25, batch_size=128, learning_rate=2e-3, schedule="cosine",
                        label_smoothing=0.1),
    "fashion_mlp": Recipe(epochs=60, batch_size=128, learning_rate=1e-3, schedule="cosine",
                          label_smoothing=0.1),
    "fashion_cnn": Recipe(epochs=20, batch_size=128, learning_rate=2e-3, schedule="cosine",
                          label_smoothing=0.1),
    "tiny_150": Recipe(epochs=160, batch_size=128, learning_rate=1e-2, schedule="cosine",
                       restarts=5, restart_epochs=10),
    "tiny_500": Recipe(epochs=80, batch_size=128, learning_rate=2e-2, schedule="cosine"),
    "tiny_1000": Recipe(epochs=80, batch_size=128, learning_rate=2e-2, schedule="cosine"),
    # Measured with mnist_cnn as it was trained then: 15 epochs, no label smoothing.
    "tiny_2000": Recipe(epochs=40, batch_size=128, learning_rate=2e-2, schedule="cosine", shift=1,
                        teacher="mnist_cnn", temperature=2.0, alpha=0.5,
                        teacher_recipe=Recipe(epochs=15, batch_size=128, learning_rate=2e-3,
                                              schedule="cosine")),
    # Time to accuracy: few epochs at a high rate, cosine-decayed, so that the last steps
    # settle (benchmarks/RESULTS.md, "Fast presets").
    "mnist_fast": Recipe(epochs=3, batch_size=128, learning_rate=3e-3, schedule="cosine",
                         label_smoothing=0.1),
    "fashion_fast": Recipe(epochs=4, batch_size=128, learning_rate=5e-3, schedule="cosine",
                           label_smoothing=0.1),
}
"""Recipes of the tuned presets; every other preset trains 5 epochs at a constant 1e-3."""


def recipe(name: str) -> Recipe:
    """Returns the recipe of the preset called `name` (5 epochs, constant 1e-3, for the classic ones).

    Raises:
        InvalidArgumentError: `name` is not a preset.
    """
    if name not in PRESET_NAMES:
        raise InvalidArgumentError(
            f"Invalid value for argument `name`. Expected one of {list(PRESET_NAMES)}. "
            f"Received: name={name!r}")
    return RECIPES.get(name, _CLASSIC)
