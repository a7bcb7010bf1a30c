"""Downloading data files from a list of mirrors, verified before they land."""

from __future__ import annotations

import http.client
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from kerasmnist.errors import ChecksumError, DownloadError

__all__ = ["MirrorFailure", "fetch"]

T = TypeVar("T")

_CHUNK = 1 << 20


@dataclass(frozen=True)
class MirrorFailure:
    """Why one mirror did not deliver a file.

    Attributes:
        url: The address tried.
        reason: What went wrong, in words.
        checksum: Whether the file arrived but failed verification.
    """

    url: str
    reason: str
    checksum: bool = False


def fetch(
    filename: str,
    mirrors: Sequence[str],
    directory: str | os.PathLike[str],
    *,
    check: Callable[[Path], T],
    progress: bool | None = None,
    timeout: float = 30.0,
) -> tuple[Path, T]:
    """Downloads `filename` from the first mirror that serves a verified copy.

    Each attempt streams into a hidden temporary file in `directory`; `check`
    then inspects that file and raises `ChecksumError` if it is wrong, in which
    case the file is deleted and the next mirror is tried. Only a verified file
    is renamed to `directory/filename`, so nothing half-written or wrong is
    ever left behind, even on interruption.

    Args:
        filename: File name, appended to each mirror's base address.
        mirrors: Base addresses, each ending in `/`, tried in order.
        directory: Where the file lands; created if missing.
        check: Called with the temporary file; its return value is passed back.
        progress: Whether to draw a progress bar on standard error. `None` draws
            one only when standard error is a terminal. Defaults to `None`.
        timeout: Seconds to wait on a silent connection. Defaults to `30.0`.

    Returns:
        `(path, check_result)`.

    Raises:
        DownloadError: Every mirror failed; its `failures` lists a
            `MirrorFailure` for each.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    failures: list[MirrorFailure] = []
    for base in mirrors:
        url = base + filename
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with open(fd, "wb") as out:
                _stream(url, out, timeout, _show_progress(progress), filename)
            result = check(tmp)
            target = directory / filename
            os.replace(tmp, target)
            return target, result
        except ChecksumError as error:
            failures.append(MirrorFailure(url, str(error), checksum=True))
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            failures.append(MirrorFailure(url, _describe(error)))
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(filename, failures)


def _stream(url: str, out: BinaryIO, timeout: float, progress: bool, label: str) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        total = response.headers.get("Content-Length")
        total = int(total) if total and total.isdigit() else None
        if not progress:
            while chunk := response.read(_CHUNK):
                out.write(chunk)
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                   TransferSpeedColumn(), TimeRemainingColumn())
        with Progress(*columns, transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task(label, total=total)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                bar.advance(task, len(chunk))


def _show_progress(progress: bool | None) -> bool:
    if progress is None:
        return sys.stderr.isatty()
    return progress


def _describe(error: BaseException) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return str(error.reason)
    return str(error) or type(error).__name__
