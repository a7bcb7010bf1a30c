"""Declarations of search-space entries and the user's overrides of them.

Each hypermodel lists its space once, as a mapping from snake_case name to one of
`Int`, `Float`, `Choice` or `Boolean`. `build(hp)` declares each entry on the
`keras_tuner.HyperParameters` where its value is used, through `declare`, which
applies the user's override:

- a single value fixes the entry (`hp.Fixed`);
- a `(low, high)` tuple narrows an `Int` or `Float` range, or keeps the `Choice`
  values within it;
- a list restricts the entry to those values (`hp.Choice`).

An entry marked `opt_in` (a `Choice`) is no part of the space until an
override gives it: without one it is never declared, so the hypermodel's space
and a search's random draws are those of a space without it, and `declare`
returns `None`.

Per-layer entries are declared as `name_0`, `name_1`, ...; an override of `name`
applies to every layer and one of `name_1` to that layer only, up to the most
layers the entry marked `counts_layers` allows.

Overrides are checked (`override_problem`) before anything is built: a name the
space lacks, a value of the wrong kind, or one outside the entry's `limits` is
refused, naming the entry, what it takes and the value found. An entry's limits
are its search range or choices unless it declares wider ones: widths, for
instance, may be fixed to any size in a range, though a search samples only a
few. This module imports neither Keras nor keras-tuner (`declare` is given a
`keras_tuner.HyperParameters`), so a run spec's overrides are checked without
them.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kerasmnist.errors import InvalidArgumentError

if TYPE_CHECKING:
    import keras_tuner as kt

__all__ = ["Boolean", "Choice", "Float", "Int", "Spec", "declare", "describe", "override_problem",
           "validate_overrides"]

Value = int | float | str | bool


@dataclass(frozen=True)
class Int:
    """An integer range; `default` may be a tuple, one value per layer.

    `limits` (`(low, high)`, inclusive) are the values an override may use;
    `None`: the search range. `counts_layers` marks the entry whose value is
    the number of layers that the space's per-layer entries index.
    """

    min_value: int
    max_value: int
    default: int | tuple[int, ...]
    step: int = 1
    per_layer: bool = False
    doc: str = ""
    limits: tuple[int, int] | None = None
    counts_layers: bool = False


@dataclass(frozen=True)
class Float:
    """A float range, sampled linearly (with an optional step) or on a log scale.

    `limits` (`(low, high)`, inclusive; `high` may be `math.inf`) are the values
    an override may use; `None`: the search range. A log-scale entry's values
    are above 0, and every value is finite.
    """

    min_value: float
    max_value: float
    default: float | tuple[float, ...]
    sampling: str = "linear"
    step: float | None = None
    per_layer: bool = False
    doc: str = ""
    limits: tuple[float, float] | None = None


@dataclass(frozen=True)
class Choice:
    """One of a list of values.

    `limits` (`(low, high)`, inclusive), for numeric values only, let an
    override fix or list any value in that range, not only the choices a
    search samples; `None`: the choices only. An `opt_in` entry is declared
    only when an override gives it (its `default` is then `None`, the value
    `declare` returns without one; a range keeps the `values` within it).
    Listed or ranged, its default is the largest value: for a weight budget,
    the roomiest, so that the default model keras-tuner builds before the
    first trial fits whenever any does.
    """

    values: tuple[Value, ...]
    default: Value | tuple[Value, ...] | None
    per_layer: bool = False
    doc: str = ""
    limits: tuple[float, float] | None = None
    opt_in: bool = False


@dataclass(frozen=True)
class Boolean:
    """True or False."""

    default: bool
    per_layer: bool = False
    doc: str = ""


Spec = Int | Float | Choice | Boolean
_LAYER_NAME = re.compile(r"^(?P<base>[a-z0-9_]+?)_(?P<index>\d+)$")


def declare(
    hp: kt.HyperParameters,
    space: Mapping[str, Spec],
    overrides: Mapping[str, Any],
    name: str,
    index: int | None = None,
) -> Any:
    """Declares `name` (layer `index` of it, for a per-layer entry) on `hp`.

    Returns the value `hp` gives it: the default on a fresh `HyperParameters`,
    the sampled value in a search, or the `Fixed` value a user set beforehand;
    `None`, declaring nothing, for an `opt_in` entry that no override gives.
    """
    if _left_out(space, overrides, name):
        return None
    condition = _layer_condition(space, overrides, name, index)
    if condition is None:
        return _declare(hp, space, overrides, name, index)
    with hp.conditional_scope(*condition):
        return _declare(hp, space, overrides, name, index)


def declare_space(
    hp: kt.HyperParameters,
    space: Mapping[str, Spec],
    overrides: Mapping[str, Any],
    conditions: Mapping[str, tuple[str, list[Any]]],
) -> None:
    """Declares every entry of a space on `hp`, each layer of a per-layer entry up to the most layers.

    Each entry is declared as `declare` does (a deeper layer's in its layer
    count's conditional scope), and an entry of `conditions` (name to the
    parent entry and the parent's values under which it is used) in that scope;
    the parents first. keras-tuner calls this before any trial through a
    hypermodel's `declare_hyperparameters`, so every trial is proposed from the
    whole space, whichever process asks and whatever trials ran before.
    """
    counter = _layer_counter(space)
    most = 1 if counter is None else _most_layers(counter[1], overrides.get(counter[0]))
    later = {name for name, spec in space.items() if spec.per_layer or name in conditions}
    for name in [*(n for n in space if n not in later), *(n for n in space if n in later)]:
        for index in range(most) if space[name].per_layer else [None]:
            if name in conditions:
                with hp.conditional_scope(*conditions[name]):
                    declare(hp, space, overrides, name, index)
            else:
                declare(hp, space, overrides, name, index)


def _left_out(space: Mapping[str, Spec], overrides: Mapping[str, Any], name: str) -> bool:
    """Whether `name` is an `opt_in` entry that no override gives: not declared."""
    spec = space[name]
    return isinstance(spec, Choice) and spec.opt_in and name not in overrides


def _layer_condition(
    space: Mapping[str, Spec], overrides: Mapping[str, Any], name: str, index: int | None
) -> tuple[str, list[int]] | None:
    """The condition under which layer `index` of a per-layer entry exists: a layer count above it.

    Declared in that conditional scope, a deeper layer's entries belong to the
    space from the start (keras-tuner's tuner activates every scope once when it
    is made), so every trial is proposed from the same space whichever process
    asks and whatever ran before: a distributed search proposes the trials a
    search in one process does. `None` for an entry that always exists.
    """
    counter = _layer_counter(space)
    if index is None or not space[name].per_layer or counter is None:
        return None
    count, spec = counter
    fewest, most = int(_limits(spec)[0]), _most_layers(spec, overrides.get(count))
    if index < fewest:
        return None
    return count, list(range(index + 1, max(most, index + 1) + 1))


def _layer_counter(space: Mapping[str, Spec]) -> tuple[str, Int] | None:
    """The entry that counts the layers (`counts_layers`), with its name, or `None`."""
    return next(((key, spec) for key, spec in space.items() if isinstance(spec, Int) and spec.counts_layers),
                None)


def _declare(
    hp: kt.HyperParameters,
    space: Mapping[str, Spec],
    overrides: Mapping[str, Any],
    name: str,
    index: int | None,
) -> Any:
    spec = space[name]
    full = name if index is None else f"{name}_{index}"
    default = spec.default
    if isinstance(default, tuple):  # one per layer; the last serves any further layer
        default = default[min(index or 0, len(default) - 1)]
    override = overrides.get(full, overrides.get(name, _MISSING))
    if override is _MISSING:
        return _declare_spec(hp, spec, full, default)
    if isinstance(override, list):
        values = sorted(set(override), key=override.index)
        if isinstance(spec, Boolean) and set(values) == {True, False}:
            return hp.Boolean(full, default=default)
        return hp.Choice(full, values, default=_choice_default(spec, default, values))
    if isinstance(override, tuple):
        low, high = override
        if isinstance(spec, Choice):
            kept = [v for v in spec.values if low <= v <= high]
            return hp.Choice(full, kept, default=_choice_default(spec, default, kept))
        default = min(max(default, low), high)
        if isinstance(spec, Int):
            return hp.Int(full, low, high, step=spec.step, default=default)
        if isinstance(spec, Float):
            return hp.Float(full, low, high, step=spec.step, sampling=spec.sampling, default=default)
        raise InvalidArgumentError(f"Invalid override `{full}`. A range needs a numeric entry.")
    return hp.Fixed(full, override)


def _choice_default(spec: Spec, default: Any, values: list[Any]) -> Any:
    """The default of an entry restricted to `values`: its own if kept, else the first value;
    an `opt_in` entry's is the largest (see `Choice`)."""
    if isinstance(spec, Choice) and spec.opt_in:
        return max(values)
    return default if default in values else values[0]


def _declare_spec(hp: kt.HyperParameters, spec: Spec, name: str, default: Any) -> Any:
    if isinstance(spec, Int):
        return hp.Int(name, spec.min_value, spec.max_value, step=spec.step, default=default)
    if isinstance(spec, Float):
        return hp.Float(name, spec.min_value, spec.max_value, step=spec.step,
                        sampling=spec.sampling, default=default)
    if isinstance(spec, Choice):
        return hp.Choice(name, list(spec.values), default=default)
    return hp.Boolean(name, default=default)


def validate_overrides(space: Mapping[str, Spec], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Checks overrides against a space at construction; returns a checked copy.

    In the copy, integers given for a `Float` entry are floats (Keras's
    optimizers insist on them).

    Raises:
        InvalidArgumentError: The first override that `override_problem` refuses,
            naming it, what was expected and what was received.
    """
    problem = override_problem(space, overrides)
    if problem is not None:
        raise InvalidArgumentError(problem[1])
    return {key: _floats_for(_entry(space, key), value) for key, value in overrides.items()}


def override_problem(space: Mapping[str, Spec], overrides: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first override a space refuses: its name and the message, or `None`.

    Checks, building nothing: the name (an entry, or `name_<i>` of a per-layer
    entry with `i` below the most layers), the kind of each value, and that
    each value, each listed value and both ends of a range are within the
    entry's limits.

    Example:

    >>> space = {"units": Choice((32, 64), default=32, limits=(1, 1024))}
    >>> override_problem(space, {"units": [16, 100]}) is None  # any width within the limits
    True
    >>> print(override_problem(space, {"units": -5})[1])
    Invalid override `units`. Expected an int in [1, 1024] (a search samples 32, 64). Received: units=-5
    """
    for key, value in overrides.items():
        spec = _entry(space, key)
        expected = _unknown_name(space) if spec is None else _value_problem(spec, value)
        if expected:
            return key, _message(key, expected, value)
    for key, value in overrides.items():
        expected = _layer_problem(space, key, overrides)
        if expected:
            return key, _message(key, expected, value)
    return None


def _message(key: str, expected: str, value: Any) -> str:
    return f"Invalid override `{key}`. Expected {expected}. Received: {key}={value!r}"


def _entry(space: Mapping[str, Spec], key: str) -> Spec | None:
    """The entry an override names: itself, or the per-layer entry of `name_<i>`."""
    if not isinstance(key, str):
        return None
    if key in space:
        return space[key]
    match = _LAYER_NAME.match(key)
    if match and match["base"] in space and space[match["base"]].per_layer:
        return space[match["base"]]
    return None


def _unknown_name(space: Mapping[str, Spec]) -> str:
    return f"one of {sorted(space)} (per-layer entries also as name_0, name_1, ...)"


def _layer_problem(space: Mapping[str, Spec], key: str, overrides: Mapping[str, Any]) -> str:
    """What a per-layer override's index should have been, or "" if it is fine."""
    match = _LAYER_NAME.match(key)
    counter = _layer_counter(space)
    if key in space or match is None or counter is None:
        return ""
    name, spec = counter
    most = _most_layers(spec, overrides.get(name))
    if int(match["index"]) < most:
        return ""
    return f"a layer index below {most} ({name} is at most {most})"


def _most_layers(spec: Int, override: Any) -> int:
    """The most layers an (already checked) override of the layer count allows."""
    if isinstance(override, list):
        return int(max(override))
    if isinstance(override, tuple):
        return int(override[1])
    if override is not None:
        return int(override)
    return int(_limits(spec)[1])


def _value_problem(spec: Spec, value: Any) -> str:
    """What an override of `spec` should have been, or "" if `value` is fine."""
    kind, allowed = _scalar_kind(spec), _allowed(spec)
    if isinstance(value, list):
        if not value or not all(_is_kind(v, kind) for v in value):
            return f"a non-empty list of {kind} values, each {allowed}"
        bad = [v for v in value if not _allows(spec, v)]
        return f"a list of values, each {allowed}; {bad[0]!r} is not" if bad else ""
    if isinstance(value, tuple):
        return _range_problem(spec, value, kind)
    if not _is_kind(value, kind):
        return f"a {kind} value, a list or a (low, high) range, each {allowed}"
    return "" if _allows(spec, value) else allowed


def _range_problem(spec: Spec, value: tuple[Any, ...], kind: str) -> str:
    numeric = isinstance(spec, (Int, Float)) or (
        isinstance(spec, Choice) and all(isinstance(v, numbers.Real) for v in spec.values))
    ok = (numeric and len(value) == 2 and all(_is_kind(v, kind) for v in value)
          and value[0] <= value[1])
    if isinstance(spec, Choice):
        ok = ok and any(value[0] <= v <= value[1] for v in spec.values)
        return "" if ok else (f"a (low, high) range of {kind} values with low <= high keeping at "
                              f"least one choice of {list(spec.values)}")
    ok = ok and all(_allows(spec, v) for v in value)
    return "" if ok else f"a (low, high) range of {kind} values with low <= high, each {_allowed(spec)}"


def _limits(spec: Int | Float | Choice) -> tuple[float, float]:
    """An entry's inclusive (low, high) limits; a `Choice`'s only when it declares them."""
    if spec.limits is not None:
        return spec.limits
    if isinstance(spec, Choice):
        raise TypeError("a Choice without limits allows its values alone")
    return spec.min_value, spec.max_value


def _allows(spec: Spec, value: Any) -> bool:
    """Whether a value of the right kind is within the entry's limits."""
    if isinstance(spec, Boolean):
        return True
    if isinstance(spec, Choice) and spec.limits is None:
        return value in spec.values
    low, high = _limits(spec)
    if not low <= value <= high:  # NaN is in no range
        return False
    if isinstance(spec, Float):
        return math.isfinite(value) and (spec.sampling != "log" or value > 0)
    return True


def _allowed(spec: Spec) -> str:
    """The values an override of `spec` may use, in words."""
    if isinstance(spec, Boolean):
        return "true or false"
    if isinstance(spec, Choice) and spec.limits is None:
        return f"one of {list(spec.values)}"
    low, high = _limits(spec)
    kind = _scalar_kind(spec)
    article = "an" if kind == "int" else "a"
    if isinstance(spec, Float) and spec.sampling == "log" and low <= 0:
        text = "a float > 0" + ("" if high == math.inf else f" and <= {_number(high)}")
    elif high == math.inf:
        text = f"{article} {kind} >= {_number(low)}"
    else:
        text = f"{article} {kind} in [{_number(low)}, {_number(high)}]"
    if isinstance(spec, Choice):
        values = ", ".join(map(_number, spec.values))  # type: ignore[arg-type]
        text += f" (a range keeps those of {values})" if spec.opt_in else f" (a search samples {values})"
    return text


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _floats_for(spec: Spec | None, value: Any) -> Any:
    """`value` with integers made floats, for a `Float` entry."""
    if not isinstance(spec, Float):
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_floats_for(spec, v) for v in value)
    return float(value)


def _scalar_kind(spec: Spec) -> str:
    if isinstance(spec, Int):
        return "int"
    if isinstance(spec, Float):
        return "float"
    if isinstance(spec, Boolean):
        return "bool"
    kinds = {type(v) for v in spec.values}
    if kinds <= {int}:
        return "int"
    if kinds <= {int, float}:
        return "float"
    return "str"


def _is_kind(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "int":
        return isinstance(value, numbers.Integral)
    if kind == "float":
        return isinstance(value, numbers.Real)
    return isinstance(value, str)


def describe(space: Mapping[str, Spec], *, tablefmt: str = "simple") -> str:
    """Renders a space as a table: name, values, override limits, default, meaning.

    The hypermodels' docstrings show their `SPACE` this way (as a Markdown
    table), so what they document is what they declare. The override limits
    column shows an entry's own `limits`, where an override may go beyond the
    values a search samples.

    Args:
        space: A hypermodel's `SPACE`.
        tablefmt: A `tabulate` table format; `"github"` gives Markdown.
            Defaults to `"simple"`, plain text.

    Example:

    >>> print(describe({"units": Choice((32, 64), default=32, limits=(1, 1024), doc="width")},
    ...                tablefmt="github"))
    | hyperparameter   | values   | override limits   |   default | meaning   |
    |------------------|----------|-------------------|-----------|-----------|
    | units            | 32, 64   | 1..1024           |        32 | width     |
    """
    from tabulate import tabulate

    rows = []
    for name, spec in space.items():
        if isinstance(spec, Int):
            values = f"{spec.min_value}..{spec.max_value}" + (f" step {spec.step}" if spec.step != 1 else "")
        elif isinstance(spec, Float):
            values = f"{spec.min_value:g}..{spec.max_value:g} {spec.sampling}" + (
                f" step {spec.step:g}" if spec.step else "")
        elif isinstance(spec, Choice):
            values = ", ".join(map(str, spec.values))
        else:
            values = "True, False"
        default = spec.default
        if isinstance(default, tuple):
            default = ", ".join(map(str, default)) + " (by layer)"
        elif isinstance(spec, Choice) and spec.opt_in:
            default = "unset (opt-in)"
        label = f"{name}_i" if spec.per_layer else name
        rows.append((label, values, _limits_text(spec), default, spec.doc))
    return tabulate(rows, headers=("hyperparameter", "values", "override limits", "default", "meaning"),
                    tablefmt=tablefmt)


def _limits_text(spec: Spec) -> str:
    if isinstance(spec, Boolean) or spec.limits is None:
        return ""
    low, high = spec.limits
    if high == math.inf:
        log = isinstance(spec, Float) and spec.sampling == "log"
        return f"> {_number(low)}" if log else f">= {_number(low)}"
    return f"{_number(low)}..{_number(high)}"


_MISSING = object()
