"""Tests of `kerasmnist data list|fetch|verify|info`, called through `main()`."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerasmnist import datasets, load_dataset, write_idx
from kerasmnist.cli import data as cli_data
from kerasmnist.cli import main
from kerasmnist.datasets import ROLES, DatasetInfo, find_files, get_dataset_info, register_dataset
from kerasmnist.errors import ChecksumError
from tests.helpers import make_toy_files

SAMPLE_DIR = get_dataset_info("mnist_sample").bundled_dir


@pytest.fixture(autouse=True)
def wide_plain_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Wide enough that no path is folded; no colour forced by the environment."""
    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.delenv("FORCE_COLOR", raising=False)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    status, out, _ = run(capsys, *argv, "--json")
    return status, json.loads(out)


@pytest.fixture
def sample_copy(tmp_path: Path) -> Path:
    """A copy of the bundled MNIST sample's four files, to damage at will."""
    target = tmp_path / "copy"
    shutil.copytree(SAMPLE_DIR, target)
    return target


@pytest.fixture
def remote_toy(tmp_path: Path) -> Iterator[DatasetInfo]:
    """A registered data set `toy_remote` whose only mirror is a file:// directory."""
    source = tmp_path / "mirror"
    digests = make_toy_files(source)
    info = DatasetInfo("toy_remote", ("a", "b", "c"), sha256=digests,
                       mirrors=(source.as_uri() + "/",))
    register_dataset(info, overwrite=True)
    yield info
    datasets._REGISTRY.pop("toy_remote", None)


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --- list ----------------------------------------------------------------------

def test_data_list_shows_every_data_set_and_where_its_files_are(capsys):
    status, out, _ = run(capsys, "data", "list")
    assert status == 0
    for name in datasets.dataset_names():
        assert name in out
    sample_line = next(line for line in out.splitlines() if " mnist_sample " in line)
    assert str(SAMPLE_DIR) in sample_line
    mnist_line = next(line for line in out.splitlines() if " mnist " in line)
    assert "not found" in mnist_line and "kerasmnist data fetch mnist" in mnist_line
    assert "\x1b[" not in out  # plain text when not a terminal


def test_data_list_json_reports_found_and_missing_data_sets(capsys):
    status, doc = run_json(capsys, "data", "list")
    assert status == 0
    entries = {entry["name"]: entry for entry in doc["datasets"]}
    assert set(entries) == set(datasets.dataset_names())
    sample = entries["mnist_sample"]
    assert sample["found"] and sample["bundled"] and sample["directory"] == str(SAMPLE_DIR)
    assert set(sample["files"]) == set(ROLES)
    assert entries["fashion_mnist_sample"]["class_names"][-1] == "Ankle boot"
    mnist = entries["mnist"]
    assert not mnist["found"] and mnist["downloadable"] and mnist["directory"] is None
    assert mnist["num_classes"] == 10 and mnist["image_shape"] == [28, 28]


def test_data_list_searches_the_given_directory_first(capsys, sample_copy):
    status, doc = run_json(capsys, "data", "list", "--data-dir", str(sample_copy))
    assert status == 0
    entries = {entry["name"]: entry for entry in doc["datasets"]}
    # The copy holds MNIST-named files, so every data set with standard names matches it.
    assert entries["mnist"]["directory"] == str(sample_copy)
    assert entries["mnist_sample"]["directory"] == str(sample_copy)


def test_data_list_finds_real_data_through_the_environment(capsys, real_data):
    status, doc = run_json(capsys, "data", "list")
    assert status == 0
    mnist = next(entry for entry in doc["datasets"] if entry["name"] == "mnist")
    assert mnist["found"]
    assert Path(mnist["directory"]) == real_data / "mnist"


# --- fetch ---------------------------------------------------------------------

def test_data_fetch_reports_files_already_present(capsys):
    status, out, _ = run(capsys, "data", "fetch", "mnist_sample")
    assert status == 0
    assert f"found in {SAMPLE_DIR}" in out
    assert "5,000 training and 1,000 test images" in out
    status, doc = run_json(capsys, "data", "fetch", "mnist_sample")
    assert status == 0 and doc["downloaded"] is False
    assert doc["files"]["train_images"] == str(SAMPLE_DIR / "train-images-idx3-ubyte.gz")
    assert (doc["train_examples"], doc["test_examples"]) == (5000, 1000)


def test_data_fetch_downloads_missing_files_into_the_data_dir(capsys, remote_toy, tmp_path):
    target = tmp_path / "downloads"
    status, doc = run_json(capsys, "data", "fetch", "toy_remote", "--data-dir", str(target))
    assert status == 0
    assert doc["downloaded"] is True and doc["directory"] == str(target)
    assert sorted(p.name for p in target.iterdir()) == sorted(remote_toy.files.values())
    assert (doc["train_examples"], doc["test_examples"]) == (60, 20)
    status, out, _ = run(capsys, "data", "fetch", "toy_remote", "--data-dir", str(target))
    assert status == 0 and f"found in {target}" in out


def test_data_fetch_fails_with_exit_1_when_no_mirror_answers(capsys, remote_toy, tmp_path):
    dead = DatasetInfo("toy_remote", remote_toy.class_names, sha256=remote_toy.sha256,
                       mirrors=(closed_port_url(),))
    register_dataset(dead, overwrite=True)
    status, out, err = run(capsys, "data", "fetch", "toy_remote", "--data-dir", str(tmp_path / "d"))
    assert status == 1
    assert out == ""
    assert "Could not find data set 'toy_remote'" in err and "Could not download" in err
    status, doc = run_json(capsys, "data", "fetch", "toy_remote", "--data-dir", str(tmp_path / "d"))
    assert status == 1 and doc["error_type"] == "DatasetNotFoundError"


def test_data_fetch_rejects_an_unknown_name_with_exit_2(capsys):
    status, out, err = run(capsys, "data", "fetch", "no_such_set")
    assert status == 2
    assert "`name`" in err and "'no_such_set'" in err and "'mnist_sample'" in err


# --- verify --------------------------------------------------------------------

def test_data_verify_passes_the_bundled_sample(capsys):
    status, out, _ = run(capsys, "data", "verify", "mnist_sample")
    assert status == 0
    assert out.count("OK") == 4
    assert "Every file matches its recorded SHA-256" in out


def test_data_verify_reports_a_file_whose_content_changed(capsys, sample_copy):
    labels = sample_copy / "t10k-labels-idx1-ubyte.gz"
    changed = load_dataset("mnist_sample", validation=0).y_test.copy()
    changed[0] = (changed[0] + 1) % 10
    write_idx(labels, changed, compress=True)  # valid IDX, wrong data
    status, out, _ = run(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 1
    assert out.count("OK") == 3
    mismatch = next(line for line in out.splitlines() if "MISMATCH" in line)
    assert str(labels) in mismatch
    assert get_dataset_info("mnist_sample").sha256[labels.name] in out
    assert "1 of 4 files failed verification" in out


def test_data_verify_hashes_afresh_instead_of_trusting_the_digest_cache(capsys, sample_copy):
    packed = sample_copy / "train-images-idx3-ubyte.gz"
    images = sample_copy / "train-images-idx3-ubyte"
    images.write_bytes(gzip.decompress(packed.read_bytes()))
    packed.unlink()
    load_dataset("mnist_sample", data_dir=sample_copy)  # remembers the copy's digests
    stat = images.stat()
    with open(images, "r+b") as stream:  # same size, same inode, one pixel changed
        stream.seek(-1, os.SEEK_END)
        last = stream.read(1)
        stream.seek(-1, os.SEEK_END)
        stream.write(bytes([last[0] ^ 0xFF]))
    os.utime(images, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ChecksumError):  # the ctime moved: the cached digests no longer vouch for it
        load_dataset("mnist_sample", data_dir=sample_copy)
    status, doc = run_json(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 1 and doc["ok"] is False
    statuses = {entry["role"]: entry["status"] for entry in doc["files"]}
    assert statuses == {"train_images": "mismatch", "train_labels": "ok", "test_images": "ok",
                        "test_labels": "ok"}
    entry = next(e for e in doc["files"] if e["role"] == "train_images")
    assert entry["digest_of"] == "content" and entry["found"] != entry["expected"]


def test_data_verify_reports_a_truncated_file_as_unreadable(capsys, sample_copy):
    images = sample_copy / "t10k-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:1000])
    status, doc = run_json(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 1
    entry = next(e for e in doc["files"] if e["role"] == "test_images")
    assert entry["status"] == "unreadable" and entry["detail"]
    status, out, _ = run(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 1 and "UNREADABLE" in out


def test_data_verify_reports_missing_files(capsys, sample_copy):
    (sample_copy / "train-labels-idx1-ubyte.gz").unlink()
    status, doc = run_json(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 1
    assert doc["directory"] == str(sample_copy)
    assert [e["status"] for e in doc["files"]] == ["ok", "missing", "ok", "ok"]
    empty = sample_copy.parent / "empty"
    empty.mkdir()
    status, out, _ = run(capsys, "data", "verify", "mnist_sample", "--data-dir", str(empty))
    assert status == 1
    assert out.count("MISSING") == 4 and str(empty) in out


def test_data_verify_accepts_an_uncompressed_copy(capsys, sample_copy):
    images = sample_copy / "t10k-images-idx3-ubyte.gz"
    (sample_copy / "t10k-images-idx3-ubyte").write_bytes(gzip.decompress(images.read_bytes()))
    images.unlink()
    assert find_files(sample_copy, "mnist_sample")["test_images"].suffix == ""
    status, doc = run_json(capsys, "data", "verify", "mnist_sample", "--data-dir", str(sample_copy))
    assert status == 0 and doc["ok"] is True


def test_data_verify_checks_the_real_mnist_files(capsys, real_data):
    status, doc = run_json(capsys, "data", "verify", "mnist")
    assert status == 0
    assert Path(doc["directory"]) == real_data / "mnist"
    assert [e["status"] for e in doc["files"]] == ["ok"] * 4


# --- info ----------------------------------------------------------------------

def test_data_info_shows_sizes_shape_classes_and_counts(capsys):
    status, out, _ = run(capsys, "data", "info", "fashion_mnist_sample", "--validation", "500")
    assert status == 0
    assert "28x28" in out and "10 classes" in out
    assert "9 Ankle boot" in out
    total = next(line for line in out.splitlines() if "total" in line)
    assert [cell for cell in total.split() if cell[0].isdigit()] == ["4,500", "500", "1,000"]
    coats = next(line for line in out.splitlines() if "4 Coat" in line)
    assert [cell for cell in coats.split() if cell[0].isdigit()][1:] == ["450", "50", "100"]


def test_data_info_json_matches_the_loaded_data_set(capsys):
    status, doc = run_json(capsys, "data", "info", "mnist_sample", "--validation", "0.2",
                           "--seed", "3")
    assert status == 0
    expected = load_dataset("mnist_sample", validation=0.2, seed=3)
    assert doc["sizes"] == {"train": 4000, "validation": 1000, "test": 1000}
    for split in ("train", "validation", "test"):
        assert doc["class_counts"][split] == expected.class_counts(split).tolist()
        assert sum(doc["class_counts"][split]) == doc["sizes"][split]
    assert doc["image_shape"] == [28, 28] and doc["class_names"] == list("0123456789")
    assert (doc["validation"], doc["seed"]) == (0.2, 3)


def test_data_info_passes_validation_and_seed_to_the_loader(capsys, monkeypatch):
    calls = []

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return load_dataset(*args, **kwargs)

    monkeypatch.setattr(cli_data, "load_dataset", spy)
    status, doc = run_json(capsys, "data", "info", "mnist_sample", "--validation", "37",
                           "--seed", "5")
    assert status == 0 and doc["sizes"]["validation"] == 37
    assert calls[0]["validation"] == 37 and isinstance(calls[0]["validation"], int)
    assert calls[0]["seed"] == 5


def test_data_info_rejects_a_validation_size_out_of_range(capsys):
    status, out, err = run(capsys, "data", "info", "mnist_sample", "--validation", "5000")
    assert status == 2
    assert "`validation`" in err and "validation=5000" in err


def test_data_info_rejects_a_validation_size_that_is_not_a_number(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data", "info", "mnist_sample", "--validation", "lots"])
    assert exit_info.value.code == 2
    assert "'lots'" in capsys.readouterr().err


def test_data_without_an_action_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["data"])
    assert exit_info.value.code == 2
    assert "ACTION" in capsys.readouterr().err


def test_help_and_data_commands_do_not_import_keras():
    code = ("import sys, contextlib, io; from kerasmnist.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            "    status = main(['data', 'list']) + main(['data', 'info', 'mnist_sample'])\n"
            "    try:\n"
            "        main(['--help'])\n"
            "    except SystemExit:\n"
            "        pass\n"
            "assert status == 0 and 'budget' in out.getvalue() and 'evaluate' in out.getvalue()\n"
            "print(sorted(m for m in ('keras', 'tensorflow', 'keras_tuner') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
