"""Downloads, against HTTP servers the tests start on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from kerasmnist import ChecksumError, DatasetInfo, DatasetNotFoundError, datasets, load_dataset
from kerasmnist.download import fetch
from kerasmnist.errors import DownloadError, InvalidArgumentError
from kerasmnist.filecache import cache_dir
from tests.helpers import closed_port_url, http_server, make_toy_files


@contextmanager
def serve(directory: Path, *, status: int | None = None) -> Iterator[tuple[str, list[str]]]:
    """Serves `directory` (or answers every request with `status`)."""
    requests: list[str] = []

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(directory), **kwargs)

        def do_GET(self):
            requests.append(self.path)
            if status is not None:
                self.send_error(status)
            else:
                super().do_GET()

        def log_message(self, *args):
            pass

    with http_server(Handler) as url:
        yield url, requests


def register(mirrors: tuple[str, ...], digests: dict[str, str]) -> DatasetInfo:
    info = DatasetInfo("toy_remote", ("a", "b", "c"), sha256=digests, mirrors=mirrors)
    datasets.register_dataset(info, overwrite=True)
    return info


def test_download_fetches_verifies_and_is_not_repeated(tmp_path, toy_remote):
    served, digests = toy_remote
    target = tmp_path / "data"
    with serve(served) as (url, requests):
        register((url,), digests)
        ds = load_dataset("toy_remote", data_dir=target, validation=0)
        assert sorted(requests) == sorted(f"/{name}" for name in digests)
    assert sorted(p.name for p in target.iterdir()) == sorted(digests)
    memos = [json.loads(p.read_text()) for p in (cache_dir() / "digests").iterdir()]
    assert sorted(m["path"] for m in memos) == sorted(str(target.resolve() / n) for n in digests)
    expected = load_dataset("toy_remote", data_dir=served, validation=0, download=False)
    np.testing.assert_array_equal(ds.x_train, expected.x_train)
    # The server is gone: a second load needs no network.
    again = load_dataset("toy_remote", data_dir=target, validation=0)
    assert again.files["train_images"].parent == target


def test_download_goes_to_the_keras_cache_without_data_dir(tmp_path, toy_remote, monkeypatch):
    served, digests = toy_remote
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    with serve(served) as (url, _):
        register((url,), digests)
        ds = load_dataset("toy_remote")
    assert ds.files["test_images"].parent == tmp_path / "kh" / "datasets" / "toy-remote"


def test_checksum_mismatch_raises_and_leaves_no_file_behind(tmp_path, toy_remote):
    served, digests = toy_remote
    wrong = {name: "0" * 64 for name in digests}
    target = tmp_path / "data"
    with serve(served) as (url, _):
        register((url,), wrong)
        with pytest.raises(ChecksumError, match="expected SHA-256 of the decompressed content 0000"):
            load_dataset("toy_remote", data_dir=target)
    assert list(target.iterdir()) == []  # not even a hidden .part file


@pytest.mark.parametrize("failure", ["refused", "404", "500"])
def test_a_failing_first_mirror_falls_through_to_the_next(tmp_path, toy_remote, failure):
    served, digests = toy_remote
    status = None if failure == "refused" else int(failure)
    with serve(served) as (good, requests), serve(served, status=status) as (bad, bad_requests):
        first = closed_port_url() if failure == "refused" else bad
        register((first, good), digests)
        ds = load_dataset("toy_remote", data_dir=tmp_path / "data", validation=0)
    assert len(ds.y_train) == 60 and len(requests) == 4
    if failure != "refused":
        assert len(bad_requests) == 4


def test_a_bad_first_mirror_copy_falls_through_to_a_good_one(tmp_path, toy_remote):
    served, digests = toy_remote
    make_toy_files(tmp_path / "corrupt", seed=5)
    with serve(tmp_path / "corrupt") as (bad, _), serve(served) as (good, _):
        register((bad, good), digests)
        ds = load_dataset("toy_remote", data_dir=tmp_path / "data", validation=0)
    assert ds.files["train_images"].parent == tmp_path / "data"


def test_no_server_at_all_gives_dataset_not_found(tmp_path, toy_remote):
    _, digests = toy_remote
    url = closed_port_url()
    register((url,), digests)
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("toy_remote", data_dir=tmp_path / "data")
    message = str(info.value)
    assert url + "train-images-idx3-ubyte.gz" in message and "Download failed" in message
    assert not any((tmp_path / "data").iterdir())


def test_only_missing_files_are_downloaded(tmp_path, toy_remote):
    served, digests = toy_remote
    target = tmp_path / "data"
    target.mkdir()
    for name in ("train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (target / name).write_bytes((served / name).read_bytes())
    with serve(served) as (url, requests):
        register((url,), digests)
        load_dataset("toy_remote", data_dir=target)
    assert sorted(requests) == ["/t10k-images-idx3-ubyte.gz", "/train-labels-idx1-ubyte.gz"]


def test_fetch_reports_each_mirror_failure(tmp_path):
    urls = (closed_port_url(), closed_port_url())
    with pytest.raises(DownloadError) as info:
        fetch("f.gz", urls, tmp_path, check=lambda p: None)
    assert [f.url for f in info.value.failures] == [u + "f.gz" for u in urls]
    assert isinstance(info.value, OSError)


def test_fetch_with_progress_bar_downloads_the_same_bytes(tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "blob.bin").write_bytes(bytes(range(256)) * 9000)
    with serve(tmp_path / "srv") as (url, _):
        path, size = fetch("blob.bin", (url,), tmp_path / "out", check=lambda p: p.stat().st_size,
                           progress=True)
    assert size == 256 * 9000 and path.read_bytes() == bytes(range(256)) * 9000


def test_fetch_removes_the_partial_file_when_interrupted(tmp_path):
    (tmp_path / "srv").mkdir()
    (tmp_path / "srv" / "blob.bin").write_bytes(b"x" * 1000)

    def interrupt(path):
        raise KeyboardInterrupt

    with serve(tmp_path / "srv") as (url, _), pytest.raises(KeyboardInterrupt):
        fetch("blob.bin", (url,), tmp_path / "out", check=interrupt)
    assert list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("deadline", [0, -1.0])
def test_fetch_rejects_a_deadline_that_is_not_positive(tmp_path, deadline):
    with pytest.raises(InvalidArgumentError, match=rf"`deadline`.*Received: deadline={deadline}"):
        fetch("f.gz", (closed_port_url(),), tmp_path, check=lambda p: None, deadline=deadline)
