"""Module attributes imported on first access, so that heavy imports wait until used.

`import kerasmnist` and `import kerasmnist.runs` must not load Keras (the
command line and the terminal UI start without it), yet both offer names whose
modules do. Each such package gives `lazy_getattr` the names and the module of
each, and takes the function it returns as its module-level `__getattr__`
(PEP 562).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_getattr"]


def lazy_getattr(namespace: dict[str, Any], modules: Mapping[str, str]) -> Callable[[str], Any]:
    """Returns a module `__getattr__` that imports each name's module on first access.

    The value found is stored in `namespace`, so later accesses do not call
    `__getattr__` again. A name that is a sub-module of the package
    (`kerasmnist.evaluation`) gives the module itself.

    Args:
        namespace: The package's `globals()`.
        modules: `{name: module}`, the module each lazy name is imported from.

    Returns:
        The function to bind to `__getattr__` at the package's top level; for
        any other name it raises `AttributeError`, as Python's own lookup does.

    Example:

    >>> namespace = {"__name__": "package"}
    >>> getter = lazy_getattr(namespace, {"dumps": "json"})
    >>> getter("dumps")({"a": 1}), "dumps" in namespace
    ('{"a": 1}', True)
    """
    package = namespace["__name__"]

    def __getattr__(name: str) -> Any:
        if name not in modules:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(modules[name])
        value = module if module.__name__ == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value
        return value

    return __getattr__
