"""Misbehaving mirrors (issue 18, fault 4): every bad response hands over to the next.

Each mirror is a threaded HTTP server on 127.0.0.1 started by the test, with one
misbehaviour: an HTML page (announced as such, or passed off as data), a body
shorter than its Content-Length, the wrong bytes, a transfer trickling a byte
every half second or stalling after the headers, an HTTP error. Behind it, a
good mirror must be used; with only bad mirrors, the error lists every mirror
with its reason. Nothing half-written is ever left in the target directory.
"""

from __future__ import annotations

import contextlib
import gzip
import http.server
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import (
    ChecksumError,
    DatasetInfo,
    DatasetNotFoundError,
    datasets,
    download,
    load_dataset,
    read_idx,
)
from kerasmnist.download import fetch
from kerasmnist.errors import DownloadError
from kerasmnist.filecache import hash_file
from tests.helpers import closed_port_url, http_server

HTML = b"<!DOCTYPE html><html><head><title>Mirror</title></head><body>Moved.</body></html>\n"
FILE = "train-labels-idx1-ubyte.gz"
DEADLINE = 1.0  # seconds a mirror may take over one file in these tests

Send = Callable[[http.server.BaseHTTPRequestHandler, bytes, threading.Event], None]


def _send(handler: http.server.BaseHTTPRequestHandler, body: bytes, *, length: int | None = None,
          content_type: str = "application/octet-stream") -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body) if length is None else length))
    handler.end_headers()
    handler.wfile.write(body)


def _html(handler, body, stop):
    _send(handler, HTML, content_type="text/html; charset=utf-8")


def _html_as_data(handler, body, stop):
    _send(handler, HTML)


def _short(handler, body, stop):
    _send(handler, body[: len(body) // 2], length=len(body))


def _wrong_bytes(handler, body, stop):
    content = bytearray(gzip.decompress(body))
    content[-1] = (content[-1] + 1) % 3  # still valid: another of the three classes
    _send(handler, gzip.compress(bytes(content)))


def _trickle(handler, body, stop):
    _send(handler, b"", length=len(body))
    for byte in body:
        handler.wfile.write(bytes([byte]))
        handler.wfile.flush()
        if stop.wait(0.5):
            return


def _stall(handler, body, stop):
    _send(handler, b"", length=len(body))
    handler.wfile.flush()
    stop.wait(60)


def _status(code: int) -> Send:
    def send(handler, body, stop):
        handler.send_error(code)

    return send


# name: (how the mirror answers, words its reason must hold)
BAD_MIRRORS: dict[str, tuple[Send, str]] = {
    "html_page": (_html, "HTML"),
    "html_page_sent_as_data": (_html_as_data, "HTML"),
    "short_body": (_short, "Content-Length"),
    "wrong_bytes": (_wrong_bytes, "Checksum mismatch"),
    "trickle": (_trickle, "deadline"),
    "stall_after_headers": (_stall, "timed out"),
    "http_404": (_status(404), "HTTP 404"),
    "http_500": (_status(500), "HTTP 500"),
}


@contextmanager
def mirror(served: Path, send: Send | None = None) -> Iterator[tuple[str, list[str]]]:
    """Serves the files of `served`: as they are, or through `send(handler, body, stop)`."""
    requests: list[str] = []
    stop = threading.Event()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requests.append(self.path)
            path = served / self.path.lstrip("/")
            if not path.is_file():
                self.send_error(404)
            elif send is None:
                _send(self, path.read_bytes())
            else:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    send(self, path.read_bytes(), stop)  # the client may give up, as it should

        def log_message(self, *args):
            pass

    with http_server(Handler, on_stop=stop.set) as url:
        yield url, requests


def _verifier(expected: str) -> Callable[[Path], str]:
    """The check `load_dataset` makes of a downloaded file: valid IDX, right digest."""

    def check(path: Path) -> str:
        found = hash_file(path).sha256
        read_idx(path)
        if found != expected:
            raise ChecksumError(f"Checksum mismatch for {path}: expected {expected}, found {found}")
        return found

    return check


@pytest.mark.parametrize("bad", list(BAD_MIRRORS))
def test_fetch_hands_a_bad_mirror_over_to_the_next(tmp_path, toy_remote, bad):
    directory, digests = toy_remote
    send, _ = BAD_MIRRORS[bad]
    with mirror(directory, send) as (bad_url, bad_requests), mirror(directory) as (good_url, requests):
        path, digest = fetch(FILE, (bad_url, good_url), tmp_path / "out",
                             check=_verifier(digests[FILE]), deadline=DEADLINE)
    assert bad_requests == [f"/{FILE}"] and requests == [f"/{FILE}"]
    assert digest == digests[FILE] and path.read_bytes() == (directory / FILE).read_bytes()
    assert [p.name for p in (tmp_path / "out").iterdir()] == [FILE]  # no .part left


@pytest.mark.parametrize("bad", ["html_page", "html_page_sent_as_data", "short_body", "wrong_bytes",
                                 "http_404", "http_500"])
def test_load_dataset_downloads_from_the_good_mirror_behind_a_bad_one(tmp_path, toy_remote, bad):
    directory, digests = toy_remote
    target = tmp_path / "data"
    with mirror(directory, BAD_MIRRORS[bad][0]) as (bad_url, _), mirror(directory) as (good_url, requests):
        info = DatasetInfo("toy_remote", ("a", "b", "c"), sha256=digests, mirrors=(bad_url, good_url))
        datasets.register_dataset(info, overwrite=True)
        ds = load_dataset("toy_remote", data_dir=target, validation=0)
    assert sorted(requests) == sorted(f"/{name}" for name in digests)
    assert sorted(p.name for p in target.iterdir()) == sorted(digests)
    expected = load_dataset("toy_remote", data_dir=directory, validation=0, download=False)
    np.testing.assert_array_equal(ds.x_train, expected.x_train)
    np.testing.assert_array_equal(ds.y_test, expected.y_test)


def test_load_dataset_gives_up_on_a_trickling_mirror_at_the_default_deadline(tmp_path, toy_remote,
                                                                             monkeypatch):
    directory, digests = toy_remote
    monkeypatch.setattr(download, "DEFAULT_DEADLINE", DEADLINE)
    with mirror(directory, _trickle) as (slow, _), mirror(directory) as (good, requests):
        info = DatasetInfo("toy_remote", ("a", "b", "c"), sha256=digests, mirrors=(slow, good))
        datasets.register_dataset(info, overwrite=True)
        load_dataset("toy_remote", data_dir=tmp_path / "data", validation=0, verify=True)
    assert len(requests) == 4


def test_all_bad_mirrors_give_an_error_listing_each_with_its_reason(tmp_path, toy_remote):
    directory, digests = toy_remote
    refused = closed_port_url()
    with ExitStack() as stack:
        urls = [stack.enter_context(mirror(directory, send))[0] for send, _ in BAD_MIRRORS.values()]
        with pytest.raises(DownloadError) as raised:
            fetch(FILE, (*urls, refused), tmp_path / "out", check=_verifier(digests[FILE]),
                  deadline=DEADLINE)
    failures = raised.value.failures
    assert [f.url for f in failures] == [u + FILE for u in (*urls, refused)]
    for failure, (name, (_, words)) in zip(failures[:-1], BAD_MIRRORS.items(), strict=True):
        assert words in failure.reason, (name, failure.reason)
        assert failure.checksum == (name == "wrong_bytes")
    assert "refused" in failures[-1].reason
    message = str(raised.value)
    assert all(f"{f.url}: {f.reason}" in message for f in failures)
    assert list((tmp_path / "out").iterdir()) == []


def test_load_dataset_with_only_bad_mirrors_names_each_in_its_error(tmp_path, toy_remote):
    directory, digests = toy_remote
    with mirror(directory, _html) as (html, _), mirror(directory, _short) as (short, _):
        info = DatasetInfo("toy_remote", ("a", "b", "c"), sha256=digests, mirrors=(html, short))
        datasets.register_dataset(info, overwrite=True)
        with pytest.raises(DatasetNotFoundError) as raised:
            load_dataset("toy_remote", data_dir=tmp_path / "data")
    message = str(raised.value)
    assert html + "train-images-idx3-ubyte.gz: " in message and "HTML" in message
    assert short + "train-images-idx3-ubyte.gz: " in message and "Content-Length" in message
    assert list((tmp_path / "data").iterdir()) == []
