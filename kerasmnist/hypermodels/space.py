"""Declarations of search-space entries and the user's overrides of them.

Each hypermodel lists its space once, as a mapping from snake_case name to one of
`Int`, `Float`, `Choice` or `Boolean`. `build(hp)` declares each entry on the
`keras_tuner.HyperParameters` where its value is used, through `declare`, which
applies the user's override:

- a single value fixes the entry (`hp.Fixed`);
- a `(low, high)` tuple narrows an `Int` or `Float` range, or keeps the `Choice`
  values within it;
- a list restricts the entry to those values (`hp.Choice`).

Per-layer entries are declared as `name_0`, `name_1`, ...; an override of `name`
applies to every layer and one of `name_1` to that layer only.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import keras_tuner as kt

from kerasmnist.errors import InvalidArgumentError

__all__ = ["Boolean", "Choice", "Float", "Int", "Spec", "declare", "describe", "validate_overrides"]

Value = int | float | str | bool


@dataclass(frozen=True)
class Int:
    """An integer range; `default` may be a tuple, one value per layer."""

    min_value: int
    max_value: int
    default: int | tuple[int, ...]
    step: int = 1
    per_layer: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Float:
    """A float range, sampled linearly (with an optional step) or on a log scale."""

    min_value: float
    max_value: float
    default: float | tuple[float, ...]
    sampling: str = "linear"
    step: float | None = None
    per_layer: bool = False
    doc: str = ""


@dataclass(frozen=True)
class Choice:
    """One of a list of values."""

    values: tuple[Value, ...]
    default: Value | tuple[Value, ...]
    per_layer: bool = False
    doc: str = ""


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
    the sampled value in a search, or the `Fixed` value a user set beforehand.
    """
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
        return hp.Choice(full, values, default=default if default in values else values[0])
    if isinstance(override, tuple):
        low, high = override
        if isinstance(spec, Choice):
            kept = [v for v in spec.values if low <= v <= high]
            return hp.Choice(full, kept, default=default if default in kept else kept[0])
        default = min(max(default, low), high)
        if isinstance(spec, Int):
            return hp.Int(full, low, high, step=spec.step, default=default)
        if isinstance(spec, Float):
            return hp.Float(full, low, high, step=spec.step, sampling=spec.sampling, default=default)
        raise InvalidArgumentError(f"Invalid override `{full}`. A range needs a numeric entry.")
    return hp.Fixed(full, override)


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
    """Checks overrides against a space at construction; returns a copy.

    Raises:
        InvalidArgumentError: An unknown name, or a value of the wrong kind,
            naming the entry, what was expected and what was received.
    """
    checked = {}
    for key, value in overrides.items():
        spec = space.get(key)
        match = _LAYER_NAME.match(key)
        if spec is None and match and match["base"] in space and space[match["base"]].per_layer:
            spec = space[match["base"]]
        if spec is None:
            raise InvalidArgumentError(
                f"Invalid override `{key}`. Expected one of {sorted(space)} (per-layer "
                f"entries also as name_0, name_1, ...). Received: {key}={value!r}"
            )
        problem = _override_problem(spec, value)
        if problem:
            raise InvalidArgumentError(
                f"Invalid override `{key}`. Expected {problem}. Received: {key}={value!r}"
            )
        checked[key] = value
    return checked


def _override_problem(spec: Spec, value: Any) -> str:
    """What an override of `spec` should have been, or "" if `value` is fine."""
    scalar = _scalar_kind(spec)
    if isinstance(value, list):
        if value and all(_is_kind(v, scalar) for v in value):
            return ""
        return f"a non-empty list of {scalar} values"
    if isinstance(value, tuple):
        numeric = isinstance(spec, (Int, Float)) or (
            isinstance(spec, Choice) and all(isinstance(v, numbers.Real) for v in spec.values))
        ok = (numeric and len(value) == 2 and all(_is_kind(v, scalar) for v in value)
              and value[0] <= value[1])
        if ok and isinstance(spec, Choice):
            ok = any(value[0] <= v <= value[1] for v in spec.values)
        if ok and isinstance(spec, Float) and spec.sampling == "log":
            ok = value[0] > 0
        return "" if ok else f"a (low, high) range of {scalar} values with low <= high" + (
            " keeping at least one choice" if isinstance(spec, Choice) else "")
    return "" if _is_kind(value, scalar) else f"a {scalar} value, a list or a (low, high) range"


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
    """Renders a space as a table: name, values, default, meaning.

    The hypermodels' docstrings show their `SPACE` this way (as a Markdown
    table), so what they document is what they declare.

    Args:
        space: A hypermodel's `SPACE`.
        tablefmt: A `tabulate` table format; `"github"` gives Markdown.
            Defaults to `"simple"`, plain text.

    Example:

    >>> print(describe({"units": Choice((32, 64), default=32, doc="width")}, tablefmt="github"))
    | hyperparameter   | values   |   default | meaning   |
    |------------------|----------|-----------|-----------|
    | units            | 32, 64   |        32 | width     |
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
        label = f"{name}_i" if spec.per_layer else name
        rows.append((label, values, default, spec.doc))
    return tabulate(rows, headers=("hyperparameter", "values", "default", "meaning"),
                    tablefmt=tablefmt)


_MISSING = object()
