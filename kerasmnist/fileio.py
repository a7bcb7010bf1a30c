"""Writing files whole or not at all: a temporary file beside the target, then a rename."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "atomic_write_json", "atomic_write_text"]


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yields a temporary path beside `target`, renamed onto it if the block succeeds.

    The temporary name keeps the target's suffix, for writers (such as
    `keras.Model.save`) that check it. On error the temporary file is removed
    and `target` is left as it was.

    Args:
        target: The file to write.
        suffix: The temporary name's ending, for writers that check more than
            the last suffix (`".weights.h5"` for `keras.Model.save_weights`).
            Defaults to `None`: the target's last suffix.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.",
                                suffix=target.suffix if suffix is None else suffix)
    os.close(fd)
    tmp = Path(name)
    tmp.chmod(0o666 & ~_umask())  # mkstemp's 0600 would hide results from other users
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(target: str | os.PathLike[str], text: str) -> None:
    """Writes `text` (UTF-8) to `target` atomically."""
    with atomic_path(target) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_json(target: str | os.PathLike[str], value: Any) -> None:
    """Writes `value` as indented JSON to `target` atomically (NaN as null)."""
    from kerasmnist.events import jsonable

    atomic_write_text(target, json.dumps(jsonable(value), indent=2, allow_nan=False) + "\n")
