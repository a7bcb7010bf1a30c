"""Downloading data files from a list of mirrors, verified before they land.

A mirror is used only if it delivers the whole file, verified, in time; any bad
response hands the file over to the next mirror: an HTTP error, an HTML page in
place of the file, a body shorter than its Content-Length, bytes that fail the
caller's check, or a transfer that stalls or trickles past the deadline. When
every mirror fails, `DownloadError` lists each with its reason.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from kerasmnist.errors import ChecksumError, DownloadError, InvalidArgumentError

__all__ = ["DEFAULT_DEADLINE", "MirrorFailure", "fetch"]

T = TypeVar("T")

DEFAULT_DEADLINE = 600.0
"""Seconds one mirror may take to deliver one file, when `fetch` is given none.

Ten minutes: at 1 Mbit/s, MNIST's largest file (9.9 MB) takes under two and
Fashion-MNIST's (26 MB) under four. `load_dataset` and `kerasmnist data fetch`
download with it: give a slower link more by setting
`kerasmnist.download.DEFAULT_DEADLINE`.
"""

_CHUNK = 1 << 20
_HTML_STARTS = (b"<!doctype html", b"<html")


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
    deadline: float | None = None,
) -> tuple[Path, T]:
    """Downloads `filename` from the first mirror that serves a verified copy.

    Each attempt streams into a hidden temporary file in `directory`. A response
    that is an HTTP error, an HTML page, shorter than its Content-Length, or not
    complete within `deadline` is abandoned; otherwise `check` inspects the file
    and raises `ChecksumError` (or any `ValueError`, such as `IdxFormatError`)
    if it is wrong. Either way the file is deleted and the next mirror is tried.
    Only a verified file is renamed to `directory/filename`, so nothing
    half-written or wrong is ever left behind, even on interruption.

    Args:
        filename: File name, appended to each mirror's base address.
        mirrors: Base addresses, each ending in `/`, tried in order.
        directory: Where the file lands; created if missing.
        check: Called with the temporary file; its return value is passed back.
        progress: Whether to draw a progress bar on standard error. `None` draws
            one only when standard error is a terminal. Defaults to `None`.
        timeout: Seconds to wait on a silent connection. Defaults to `30.0`.
        deadline: Seconds one mirror may take to deliver the whole file, however
            steadily it sends; checked between reads, so a mirror is dropped at
            most `min(timeout, deadline)` seconds after it. `None` uses
            `DEFAULT_DEADLINE` (600 s). Defaults to `None`.

    Returns:
        `(path, check_result)`.

    Raises:
        DownloadError: Every mirror failed; its `failures` lists a
            `MirrorFailure` for each, in order, and its message each address
            with its reason.
        InvalidArgumentError: `deadline` is not a positive number.

    Example:

    >>> import pathlib, tempfile
    >>> source = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (source / "f.bin").write_bytes(b"data")
    >>> path, size = fetch("f.bin", [source.as_uri() + "/"], source / "out",
    ...                    check=lambda p: p.stat().st_size)
    >>> path.read_bytes(), size
    (b'data', 4)
    """
    seconds = DEFAULT_DEADLINE if deadline is None else deadline
    if not seconds > 0:
        raise InvalidArgumentError(
            "Invalid value for argument `deadline`. Expected a positive number of seconds "
            f"(or None). Received: deadline={deadline!r}"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    failures: list[MirrorFailure] = []
    for base in mirrors:
        url = base + filename
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{filename}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with open(fd, "wb") as out:
                _stream(url, out, timeout, seconds, _show_progress(progress), filename)
            result = check(tmp)
            target = directory / filename
            os.replace(tmp, target)
            return target, result
        except ChecksumError as error:
            failures.append(MirrorFailure(url, str(error), checksum=True))
        except DownloadError as error:  # a response that cannot be the file
            failures.extend(error.failures)
        except (urllib.error.URLError, http.client.HTTPException, OSError, ValueError) as error:
            failures.append(MirrorFailure(url, _describe(error, min(timeout, seconds))))
        finally:
            tmp.unlink(missing_ok=True)
    raise DownloadError(filename, failures)


def _stream(url: str, out: BinaryIO, timeout: float, deadline: float, progress: bool,
            label: str) -> None:
    """Copies the body of `url` into `out`, or raises `DownloadError` saying why it is unusable."""
    end = time.monotonic() + deadline
    received = 0
    with urllib.request.urlopen(url, timeout=min(timeout, deadline)) as response:
        _check_headers(url, response)
        total = _content_length(response)
        with _progress_bar(progress, label, total) as advance:
            for chunk in _chunks(response):
                if not received and chunk.lstrip()[:14].lower().startswith(_HTML_STARTS):
                    raise _unusable(url, "expected the file, found an HTML page")
                out.write(chunk)
                received += len(chunk)
                advance(len(chunk))
                if total is not None and received >= total:
                    break  # complete: no need to wait for the end of the stream
                if time.monotonic() > end:
                    of = f" of {total}" if total is not None else ""
                    raise _unusable(url, f"not complete within the {deadline:g} s deadline: "
                                         f"{received}{of} bytes received")
    if total is not None and received != total:
        raise _unusable(url, f"short body: expected {total} bytes (its Content-Length), "
                             f"found {received}")


def _chunks(response: Any) -> Iterator[bytes]:
    """The body as it arrives: `read1` returns what one read gets, never waiting for a full chunk."""
    read = getattr(response, "read1", response.read)
    while chunk := read(_CHUNK):
        yield chunk


def _check_headers(url: str, response: Any) -> None:
    status = getattr(response, "status", None)  # None for file:// addresses
    if status is not None and status != 200:
        raise _unusable(url, f"HTTP {status} {getattr(response, 'reason', '')}: expected 200")
    kind = response.headers.get("Content-Type") or ""
    if kind.split(";")[0].strip().lower() in ("text/html", "application/xhtml+xml"):
        raise _unusable(url, f"expected the file, found an HTML page (Content-Type: {kind})")


def _content_length(response: Any) -> int | None:
    value = (response.headers.get("Content-Length") or "").strip()
    return int(value) if value.isdigit() else None


@contextlib.contextmanager
def _progress_bar(show: bool, label: str, total: int | None) -> Iterator[Callable[[int], object]]:
    """Yields the function to call with each chunk's size: a bar's, or one that does nothing."""
    if not show:
        yield lambda n: None
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
        yield lambda n: bar.advance(task, n)


def _unusable(url: str, reason: str) -> DownloadError:
    """The error of one response that cannot be the file; `fetch` collects its failure."""
    return DownloadError(url.rsplit("/", 1)[-1], [MirrorFailure(url, reason)])


def _show_progress(progress: bool | None) -> bool:
    if progress is None:
        return sys.stderr.isatty()
    return progress


def _describe(error: BaseException, timeout: float) -> str:
    reason = error.reason if isinstance(error, urllib.error.URLError) else error
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(reason, TimeoutError):
        return f"timed out: nothing arrived for {timeout:g} s"
    return str(reason) or type(reason).__name__
