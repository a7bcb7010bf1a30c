"""Run specs: what a run trains or searches, from flags or a TOML file.

A `RunSpec` holds every setting of a run. It is validated field by field when it
is made, so a mistake is reported before any data is loaded, naming the field
(and the file it came from), what was expected and what was found. It round-trips
through TOML: `kerasmnist.run` writes it to the run directory as `spec.toml`, and
`kerasmnist resume` reads it back.

Hyperparameter overrides (see `kerasmnist.hypermodels.space`) go in an
`[overrides]` table: a value fixes a hyperparameter, an array restricts it to
those values, and a table `{ min = ..., max = ... }` narrows its range. They are
checked against the hypermodel's own space (`kerasmnist.hypermodels.spaces`:
its names, its choices, its ranges and the limits of what may be fixed), which
imports neither Keras nor keras-tuner, so a mistake is refused at once.

`spec.toml` is written by a TOML writer (`tomli_w`), so any string, newlines,
quotes and all, reads back as it was.

Example `spec.toml`:

    dataset = "mnist"
    validation = 10000
    model = "mlp"
    search = "hyperband"
    epochs = 20

    [overrides]
    num_layers = { min = 3, max = 5 }
    activation = ["relu", "leaky_relu"]
    batch_norm = true
"""

from __future__ import annotations

import contextvars
import dataclasses
import math
import numbers
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from kerasmnist.datasets import dataset_names
from kerasmnist.errors import InvalidArgumentError, SpecError
from kerasmnist.hypermodels.spaces import check_overrides
from kerasmnist.recipes import PRESET_NAMES, recipe

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["BEST_MODEL_CHOICES", "DEFAULT_EPOCHS", "DEFAULT_TRIALS", "HYPERMODEL_KINDS", "MAX_SEED",
           "OBJECTIVES", "PRESET_NAMES", "PRUNED_SEARCHES", "PRUNERS", "SEARCH_KINDS", "RunSpec",
           "SpecError", "check_spec", "objective_direction", "parse_override"]

HYPERMODEL_KINDS = ("mlp", "cnn", "tiny")
"""The hypermodel kinds (`kerasmnist.hypermodels.KINDS`), named here without importing Keras."""


SEARCH_KINDS = ("none", "random", "grid", "hyperband", "bayesian")
"""Values of `RunSpec.search`: plain training, or one of keras-tuner's tuners."""

PRUNERS = ("none", "median", "halving")
"""Values of `RunSpec.prune`: no pruning, or one of `kerasmnist.pruning`'s rules."""

PRUNED_SEARCHES = ("random", "grid", "bayesian")
"""The searches a pruner can stop trials of (Hyperband stops them by its own schedule)."""

DEFAULT_EPOCHS = 5
"""Epochs of a hypermodel's run when the spec names none (a preset's come from its recipe)."""

DEFAULT_TRIALS = 10
"""Trials of a random or Bayesian search when the spec names none (a grid search walks its
whole grid, Hyperband follows its own schedule)."""

MAX_SEED = 2**32 - 1
"""The largest seed: NumPy's legacy seeding, which `keras.utils.set_random_seed` calls,
takes seeds in [0, 2**32 - 1], and replicate `i` is seeded with `seed + i`."""

OBJECTIVES = ("val_accuracy", "val_loss", "train_accuracy", "train_loss")
"""Values of `RunSpec.objective`: logged metrics, the `train_` ones by the full evaluation."""

BEST_MODEL_CHOICES = ("checkpoint", "retrain")
"""Values of `RunSpec.best_model`.

- `"checkpoint"`: the best trial's own weights, at its best epoch;
- `"retrain"`: a new model with the best hyperparameters, trained on training
  and validation data together for the best trial's number of epochs.
"""


_CHECK_OVERRIDES = contextvars.ContextVar("kerasmnist_check_overrides", default=True)
"""Whether making a spec checks its overrides against the hypermodel's space (quick, and
Keras-free); off only while reading a spec a run was already made from, which an older
version may have written with values the space no longer allows."""


@dataclass(frozen=True)
class RunSpec:
    """Every setting of a run. Validated on construction.

    Attributes:
        dataset: A registered data-set name. Defaults to `"mnist_sample"`, the
            bundled sample, so that a run works offline.
        validation: Validation examples carved from the training file: a count,
            or a fraction in [0, 1). Defaults to `0.1`.
        model: A hypermodel kind (`"mlp"`, `"cnn"`, `"tiny"`) or a preset name
            (`kerasmnist.presets.names()`). Defaults to `"mlp"`.
        overrides: Hyperparameter overrides of a hypermodel. Defaults to none.
        search: `"none"` (train one configuration: the hypermodel's defaults with
            the overrides, or the preset), `"random"`, `"grid"`, `"hyperband"` or
            `"bayesian"`. Defaults to `"none"`.
        trials: The most trials a random, grid or Bayesian search runs. `None`
            resolves (`resolved()`) to the search kind's default:
            `DEFAULT_TRIALS` (10) for a random or Bayesian search; a grid
            search stays `None` and walks its whole grid, as Hyperband follows
            its own schedule. Defaults to `None`.
        epochs: Epochs per trial; for Hyperband, the most epochs of one model.
            `None` resolves (`resolved()`) to a preset's recipe's epochs, or
            `DEFAULT_EPOCHS` (5) for a hypermodel. Defaults to `None`.
        batch_size: Training batch size. `None` resolves to a preset's
            recipe's; for a hypermodel it stays `None`: each trial uses its
            `batch_size` hyperparameter (128 unless overridden or searched).
            Defaults to `None`.
        early_stopping: Stop a trial after this many epochs without improvement
            of the objective, keeping its best weights; `None` never stops early.
            Defaults to `None`.
        max_params: Parameter budget; configurations over it are never trained.
            Defaults to `None`.
        seed: Seed of the split, the weights and the search, in [0,
            `MAX_SEED`] (with replicates, `seed + replicates - 1` too).
            Defaults to `0`.
        replicates: Models trained per final configuration with seeds `seed`,
            `seed + 1`, ...; the results report their mean and standard
            deviation. With a search, needs `best_model = "retrain"`. Defaults to
            `1`.
        executions_per_trial: Models trained per trial in a search, their scores
            averaged. Defaults to `1`.
        best_model: `"checkpoint"` or `"retrain"`; see `BEST_MODEL_CHOICES`.
            Defaults to `"checkpoint"`.
        objective: The logged metric that ranks trials: `val_accuracy`,
            `val_loss`, or the full-eval `train_accuracy`, `train_loss`. Names
            ending in `loss` are minimised, others maximised. Defaults to
            `"val_accuracy"`.
        limit: Train on only the first `limit` training examples (after the
            validation split), for quick runs. Defaults to `None` (all).
        full_eval: Evaluate the whole training set in inference mode after
            each epoch (`FullEvalMetrics`). Defaults to `True`.
        csv_log: Write each trial's epochs to `logs/<trial>.csv`. Defaults to
            `True`.
        tensorboard: Write TensorBoard logs to `tensorboard/`: each trial's
            (or replicate's) curves and, for a search, the HParams dashboard's
            experiment and one session per trial (`kerasmnist.runs.hparams`).
            Defaults to `False`.
        hyperband_factor: Hyperband's reduction factor. Defaults to `3`.
        max_failed_trials: Stop a search after this many consecutive failed
            trials (over budget, or a loss that became NaN). Defaults to `10`.
        max_minutes: Start no new trial of a search once this many minutes
            have passed since the run (or its resumption) started; the trial
            under way finishes. `None`: no limit. Defaults to `None`.
        deterministic: Keras/TensorFlow op determinism, so that the same spec
            trains the same weights bit for bit; slower. Defaults to `False`.
        prune: Stop a random, grid or Bayesian search's hopeless trials early:
            `"none"`, `"median"` (`kerasmnist.pruning.MedianRule`) or
            `"halving"` (`kerasmnist.pruning.HalvingRule`, asynchronous
            successive halving). Defaults to `"none"`.
        prune_warmup_epochs: Median pruning: epochs a trial trains before it
            can be pruned. Defaults to `2`.
        prune_warmup_trials: Median pruning: trials that complete before any
            is pruned. Defaults to `5`.
        prune_min_epochs: Successive halving: the first rung's epochs (the
            next rungs are `prune_factor` times more each). Defaults to `1`.
        prune_factor: Successive halving: a trial goes on past a rung only in
            the best 1/`prune_factor` of the trials that reached it. Defaults
            to `3`.
    """

    dataset: str = "mnist_sample"
    validation: int | float = 0.1
    model: str = "mlp"
    overrides: Mapping[str, Any] = field(default_factory=dict)
    search: str = "none"
    trials: int | None = None
    epochs: int | None = None
    batch_size: int | None = None
    early_stopping: int | None = None
    max_params: int | None = None
    seed: int = 0
    replicates: int = 1
    executions_per_trial: int = 1
    best_model: str = "checkpoint"
    objective: str = "val_accuracy"
    limit: int | None = None
    full_eval: bool = True
    csv_log: bool = True
    tensorboard: bool = False
    hyperband_factor: int = 3
    max_failed_trials: int = 10
    max_minutes: float | None = None
    deterministic: bool = False
    prune: str = "none"
    prune_warmup_epochs: int = 2
    prune_warmup_trials: int = 5
    prune_min_epochs: int = 1
    prune_factor: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "overrides", dict(self.overrides))
        self.validate()

    # -- construction ----------------------------------------------------------------

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, source: str | None = None) -> RunSpec:
        """Makes a spec from a mapping (as read from TOML), checking every field.

        Raises:
            SpecError: An unknown or invalid field, naming it and `source`.
        """
        known = {f.name for f in dataclasses.fields(cls)}
        for key in values:
            if key not in known:
                raise SpecError(str(key), f"unknown field; expected one of {sorted(known)}", source)
        values = dict(values)
        if "overrides" in values:
            values["overrides"] = _overrides_from_toml(values["overrides"], source)
        try:
            return cls(**values)
        except SpecError as error:
            if source is None or error.source is not None:
                raise
            raise SpecError(error.field, error.detail, source) from None

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], *, check_overrides: bool = True) -> RunSpec:
        """Reads a spec from a TOML file.

        Args:
            path: The file.
            check_overrides: Whether to check the overrides against the
                hypermodel's search space. Reading the spec of an existing run
                (to list it, say) skips it, so that a spec an older version
                wrote is still listed. Defaults to `True`.

        Raises:
            SpecError: Text that is not UTF-8 or not valid TOML (field
                `"(file)"`), or an unknown or invalid field, naming the file.
            OSError: The file cannot be read (`FileNotFoundError` if it does
                not exist).
        """
        path = Path(path)
        try:
            values = tomllib.loads(path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as error:
            raise SpecError("(file)", f"not UTF-8 text: {error.reason} at byte {error.start}",
                            str(path)) from None
        except tomllib.TOMLDecodeError as error:
            raise SpecError("(file)", f"not valid TOML: {error}", str(path)) from None
        token = _CHECK_OVERRIDES.set(check_overrides)
        try:
            return cls.from_dict(values, source=str(path))
        finally:
            _CHECK_OVERRIDES.reset(token)

    def replace(self, **changes: Any) -> RunSpec:
        """Returns a copy with some fields changed (validated)."""
        return dataclasses.replace(self, **changes)

    # -- output ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain JSON types (ranges as `[low, high]` lists)."""
        values = dataclasses.asdict(self)
        values["overrides"] = {k: list(v) if isinstance(v, tuple) else v
                               for k, v in self.overrides.items()}
        return values

    def to_toml(self) -> str:
        """The spec as TOML, which `from_toml` reads back equal.

        Written by `tomli_w`, so every string is escaped as TOML needs. Fields
        that are `None` are left out (they are the defaults); an override's
        range becomes a table `{ min = ..., max = ... }`.

        Example:

        >>> text = RunSpec(overrides={"activation": "tanh", "learning_rate": (1e-4, 1e-2)}).to_toml()
        >>> print(text[text.index("[overrides]"):].strip())
        [overrides]
        activation = "tanh"
        <BLANKLINE>
        [overrides.learning_rate]
        min = 0.0001
        max = 0.01
        """
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                                  if f.name != "overrides" and getattr(self, f.name) is not None}
        if self.overrides:
            values["overrides"] = {key: {"min": value[0], "max": value[1]} if isinstance(value, tuple)
                                   else value for key, value in self.overrides.items()}
        return "# kerasmnist run spec\n" + tomli_w.dumps(values, multiline_strings=False)

    # -- derived ---------------------------------------------------------------------

    @property
    def is_preset(self) -> bool:
        """Whether `model` names a preset rather than a hypermodel kind."""
        return self.model not in HYPERMODEL_KINDS

    @property
    def direction(self) -> str:
        """`"min"` for an objective that is a loss, else `"max"` (`objective_direction`)."""
        return objective_direction(self.objective)

    @property
    def epoch_count(self) -> int:
        """The epochs the run trains: `epochs`, or what `None` resolves to."""
        if self.epochs is not None:
            return self.epochs
        return recipe(self.model).epochs if self.is_preset else DEFAULT_EPOCHS

    def resolved(self) -> RunSpec:
        """The spec with the fields a preset's recipe decides filled in.

        This is the one place where a preset's recipe meets a spec: `run`,
        `prepare_run_dir`, the command line and the terminal UI all call it, and
        `spec.toml` records its result. A field given explicitly is kept.

        Example:

        >>> RunSpec(model="mnist_cnn").resolved().epochs
        25
        >>> RunSpec(model="mnist_cnn", epochs=2).resolved().epochs  # given explicitly: kept
        2
        >>> RunSpec(model="mlp").resolved().batch_size is None  # each trial's hyperparameter
        True
        >>> RunSpec(search="random").resolved().trials, RunSpec(search="grid").resolved().trials
        (10, None)
        """
        batch_size = self.batch_size
        if batch_size is None and self.is_preset:
            batch_size = recipe(self.model).batch_size
        trials = self.trials
        if trials is None and self.search in ("random", "bayesian"):
            trials = DEFAULT_TRIALS
        if (self.epochs, self.batch_size, self.trials) == (self.epoch_count, batch_size, trials):
            return self
        token = _CHECK_OVERRIDES.set(False)  # unchanged, and checked (or not) when made
        try:
            return self.replace(epochs=self.epoch_count, batch_size=batch_size, trials=trials)
        finally:
            _CHECK_OVERRIDES.reset(token)

    # -- validation ------------------------------------------------------------------

    def validate(self) -> None:
        """Checks every field and their combinations.

        Raises:
            SpecError: The first invalid field found.
        """
        _check_choice("dataset", self.dataset, dataset_names())
        _check_validation(self.validation)
        for name in ("replicates", "executions_per_trial", "max_failed_trials"):
            _check_int(name, getattr(self, name), minimum=1)
        self._check_seed()
        _check_int("hyperband_factor", self.hyperband_factor, minimum=2)
        for name in ("trials", "epochs", "batch_size", "early_stopping", "max_params", "limit"):
            if getattr(self, name) is not None:
                _check_int(name, getattr(self, name), minimum=1)
        if self.max_minutes is not None and (
                isinstance(self.max_minutes, bool) or not isinstance(self.max_minutes, numbers.Real)
                or not 0 < self.max_minutes < math.inf):
            raise SpecError("max_minutes", f"expected a number of minutes > 0, found "
                            f"{self.max_minutes!r}")
        for name in ("full_eval", "csv_log", "tensorboard", "deterministic"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(name, f"expected true or false, found {getattr(self, name)!r}")
        _check_choice("search", self.search, SEARCH_KINDS)
        _check_choice("best_model", self.best_model, BEST_MODEL_CHOICES)
        self._check_pruning()
        _check_objective(self.objective, self.validation, self.full_eval)
        self._check_model()
        if self.replicates > 1 and self.search != "none" and self.best_model != "retrain":
            raise SpecError("replicates", "replicates of a search's best model are retrained: "
                            "set best_model = \"retrain\" (or replicates = 1)")
        if self.best_model == "retrain" and self.search == "none":
            raise SpecError("best_model", "\"retrain\" needs a search; with search = \"none\" "
                            "use \"checkpoint\"")

    def _check_pruning(self) -> None:
        _check_choice("prune", self.prune, PRUNERS)
        for name in ("prune_warmup_epochs", "prune_warmup_trials"):
            _check_int(name, getattr(self, name), minimum=0)
        _check_int("prune_min_epochs", self.prune_min_epochs, minimum=1)
        _check_int("prune_factor", self.prune_factor, minimum=2)
        if self.prune != "none" and self.search not in PRUNED_SEARCHES:
            why = ("Hyperband stops trials by its own schedule" if self.search == "hyperband"
                   else "plain training has no trials to compare")
            raise SpecError("prune", f"pruning needs a {', '.join(PRUNED_SEARCHES)} search ({why}); "
                            f"found search = {self.search!r} with prune = {self.prune!r}")
        if self.prune != "none" and self.executions_per_trial != 1:
            raise SpecError("prune", f"pruning compares one model per trial; found executions_per_trial = "
                            f"{self.executions_per_trial} with prune = {self.prune!r}")

    def _check_seed(self) -> None:
        _check_int("seed", self.seed, minimum=0, maximum=MAX_SEED)
        if self.seed + self.replicates - 1 > MAX_SEED:
            raise SpecError("seed", f"expected an integer in [0, {MAX_SEED - self.replicates + 1}] "
                            f"with {self.replicates} replicates (replicate i is seeded with seed + i, "
                            f"at most {MAX_SEED}), found {self.seed!r}")

    def _check_model(self) -> None:
        if not isinstance(self.model, str):
            raise SpecError("model", f"expected a string, found {self.model!r}")
        if self.model in HYPERMODEL_KINDS:
            if self.overrides and _CHECK_OVERRIDES.get():
                problem = check_overrides(self.model, self.overrides)  # Keras-free
                if problem is not None:
                    raise SpecError(f"overrides.{problem[0]}", problem[1])
            return
        if self.model not in PRESET_NAMES:
            raise SpecError("model", f"expected a hypermodel kind {list(HYPERMODEL_KINDS)} or a "
                            f"preset {list(PRESET_NAMES)}, found {self.model!r}")
        if self.search != "none":
            raise SpecError("search", f"preset {self.model!r} has no hyperparameters to search; "
                            f"use search = \"none\", or a hypermodel kind {list(HYPERMODEL_KINDS)}")
        if self.overrides:
            raise SpecError("overrides", f"preset {self.model!r} takes no overrides; found "
                            f"{sorted(self.overrides)}")


def objective_direction(objective: str) -> str:
    """Whether an objective is minimised (`"min"`: a loss) or maximised (`"max"`).

    Example:

    >>> objective_direction("val_loss"), objective_direction("val_accuracy")
    ('min', 'max')
    """
    return "min" if objective.endswith("loss") else "max"


def check_spec(
    values: Mapping[str, Any], *, check_overrides: bool = True
) -> tuple[RunSpec | None, dict[str, str]]:
    """Checks spec fields and reports every bad one as data, for a form.

    Each field is checked alone (so that every bad field is reported at once),
    then all of them together.

    Args:
        values: `RunSpec` fields and values.
        check_overrides: Whether to check a hypermodel's overrides against its
            space (quick, and Keras-free). Defaults to `True`.

    Returns:
        The spec (or `None` if a field is bad) and the message of each bad
        field by field name (an override's error is reported as `"overrides"`).

    Example:

    >>> spec, errors = check_spec({"epochs": 0, "seed": -1})
    >>> spec, sorted(errors)
    (None, ['epochs', 'seed'])
    """
    errors: dict[str, str] = {}
    values = dict(values)
    overrides = values.pop("overrides", {})

    def attempt(**fields: Any) -> RunSpec | None:
        token = _CHECK_OVERRIDES.set(check_overrides)
        try:
            return RunSpec(**fields)
        except SpecError as error:
            errors.setdefault(error.field.split(".")[0], error.detail)
            return None
        except TypeError as error:  # a field RunSpec does not have
            errors.setdefault("(form)", str(error))
            return None
        finally:
            _CHECK_OVERRIDES.reset(token)

    for name, value in values.items():
        attempt(**{name: value})
    if overrides:
        attempt(model=values.get("model", RunSpec.model), overrides=overrides)
    if errors:
        return None, errors
    return attempt(**values, overrides=overrides), errors


def parse_override(text: str) -> tuple[str, Any]:
    """Parses a command-line override `name=value`.

    The value is read as a TOML value (`2`, `1e-3`, `true`, `"relu"`,
    `[64, 128]`), as a range `low..high`, or else as a bare string.

    Example:

    >>> parse_override("units=[64, 128]"), parse_override("learning_rate=1e-4..1e-2")
    (('units', [64, 128]), ('learning_rate', (0.0001, 0.01)))
    >>> parse_override("activation=relu")
    ('activation', 'relu')

    Raises:
        InvalidArgumentError: No `=`, or an empty name.
    """
    name, sep, raw = text.partition("=")
    name, raw = name.strip(), raw.strip()
    if not sep or not name:
        raise InvalidArgumentError(
            f"Invalid value for argument `--set`. Expected name=value. Received: {text!r}")
    if ".." in raw and not raw.startswith(("[", '"', "'")):
        low, _, high = raw.partition("..")
        return name, (_toml_scalar(low.strip()), _toml_scalar(high.strip()))
    return name, _toml_scalar(raw)


def _toml_scalar(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def _overrides_from_toml(values: Any, source: str | None) -> dict[str, Any]:
    if not isinstance(values, Mapping):
        raise SpecError("overrides", f"expected a table, found {values!r}", source)
    result: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, Mapping):
            if set(value) != {"min", "max"}:
                raise SpecError(f"overrides.{key}", "a range is written { min = ..., max = ... }; "
                                f"found {dict(value)!r}", source)
            value = (value["min"], value["max"])
        result[key] = value
    return result


def _check_int(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> None:
    if not isinstance(value, bool) and isinstance(value, numbers.Integral) and (
            minimum <= int(value) and (maximum is None or int(value) <= maximum)):
        return
    expected = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    raise SpecError(name, f"expected an integer {expected}, found {value!r}")


def _check_choice(name: str, value: Any, choices: Any) -> None:
    if value not in choices:
        raise SpecError(name, f"expected one of {list(choices)}, found {value!r}")


def _check_validation(value: Any) -> None:
    ok = not isinstance(value, bool) and (
        (isinstance(value, numbers.Integral) and int(value) >= 0)
        or (isinstance(value, float) and 0.0 <= value < 1.0))
    if not ok:
        raise SpecError("validation", f"expected a count >= 0 or a fraction in [0, 1), found {value!r}")


def _check_objective(objective: Any, validation: float, full_eval: bool) -> None:
    _check_choice("objective", objective, OBJECTIVES)
    if objective.startswith("val_") and validation == 0:
        raise SpecError("objective", f"{objective!r} needs a validation set; set validation "
                        "above 0 or use train_accuracy")
    if objective.startswith("train_") and not full_eval:
        raise SpecError("objective", f"{objective!r} is measured by the full evaluation; set "
                        "full_eval = true")
