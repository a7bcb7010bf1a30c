"""Tests of data-set registry, discovery, verification, views and the samples."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import zlib

import numpy as np
import pytest

from kerasmnist import (
    ChecksumError,
    DatasetError,
    DatasetInfo,
    DatasetNotFoundError,
    InvalidArgumentError,
    dataset_names,
    datasets,
    filecache,
    get_dataset_info,
    load_dataset,
    read_idx,
    register_dataset,
    write_idx,
)
from tests.helpers import make_toy_files

MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


# --- registry ----------------------------------------------------------------

@pytest.mark.parametrize("name", ["mnist", "fashion_mnist", "kmnist"])
def test_registry_describes_each_full_data_set(name):
    info = get_dataset_info(name)
    assert info.num_classes == 10
    assert set(info.files) == set(datasets.ROLES)
    assert info.mirrors and all(m.startswith("http") and m.endswith("/") for m in info.mirrors)
    digests = {**info.sha256, **info.archive_sha256}
    assert set(digests) == set(info.files.values())
    assert all(len(d) == 64 and int(d, 16) >= 0 for d in digests.values())


def test_registry_records_the_published_mnist_digest():
    info = get_dataset_info("mnist")
    assert info.sha256["train-images-idx3-ubyte.gz"].startswith("ba891046e6505d7a")


def test_get_dataset_info_normalises_spelling():
    assert get_dataset_info("Fashion-MNIST").name == "fashion_mnist"
    assert get_dataset_info(" kmnist ").class_names[0] == "o"


def test_get_dataset_info_rejects_unknown_names_listing_the_known_ones():
    with pytest.raises(InvalidArgumentError, match=r"Expected one of \[.*'mnist'.*Received: name='mnsit'"):
        get_dataset_info("mnsit")


def test_register_dataset_refuses_to_shadow_an_entry_without_overwrite(toy_info):
    with pytest.raises(InvalidArgumentError, match="info.name='toy'"):
        register_dataset(toy_info)
    register_dataset(toy_info, overwrite=True)
    assert "toy" in dataset_names()


def test_register_dataset_rejects_incomplete_file_lists():
    info = DatasetInfo("half", ("a",), files={"train_images": "x.gz"})
    with pytest.raises(InvalidArgumentError, match="Expected `files` for"):
        register_dataset(info)


# --- discovery ---------------------------------------------------------------

def test_discovery_follows_data_dir_env_keras_cache_system_order(tmp_path, monkeypatch, toy_info):
    places = {
        "data_dir": tmp_path / "explicit",
        "env": tmp_path / "env" / "toy",
        "keras": tmp_path / "keras" / "datasets" / "toy",
        "system": tmp_path / "system" / "toy",
    }
    for seed, directory in enumerate(places.values()):
        make_toy_files(directory, seed=seed + 10)
    monkeypatch.setenv("KERASMNIST_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(datasets, "SYSTEM_DATA_DIRS", (str(tmp_path / "system"),))
    for place, directory in places.items():
        data_dir = places["data_dir"] if place == "data_dir" else None
        ds = load_dataset("toy", data_dir=data_dir, verify=False, download=False)
        assert ds.files["train_images"].parent == directory, place
        if place != "data_dir":
            shutil.rmtree(directory)


def test_data_dir_may_hold_the_data_set_in_a_named_subdirectory(tmp_path, toy_info):
    make_toy_files(tmp_path / "root" / "toy")
    ds = load_dataset("toy", data_dir=tmp_path / "root", download=False)
    assert ds.files["test_labels"].parent == tmp_path / "root" / "toy"


def test_hyphenated_directory_names_are_found(tmp_path, monkeypatch):
    digests = make_toy_files(tmp_path / "env" / "toy-set")
    register_dataset(DatasetInfo("toy_set", ("a", "b", "c"), sha256=digests), overwrite=True)
    monkeypatch.setenv("KERASMNIST_DATA", str(tmp_path / "env"))
    try:
        assert len(load_dataset("toy-set", validation=0, download=False).y_train) == 60
    finally:
        datasets._REGISTRY.pop("toy_set")


def test_uncompressed_and_recompressed_copies_verify_against_content_digest(tmp_path, toy_info):
    make_toy_files(tmp_path / "raw", compress=False)
    ds = load_dataset("toy", data_dir=tmp_path / "raw", download=False)
    assert ds.files["train_images"].name == "train-images-idx3-ubyte"
    recompressed = tmp_path / "fast"
    recompressed.mkdir()
    for path in (tmp_path / "source").iterdir():
        level1 = zlib.compressobj(1, zlib.DEFLATED, 31)
        payload = gzip.decompress(path.read_bytes())
        (recompressed / path.name).write_bytes(level1.compress(payload) + level1.flush())
    assert (recompressed / "train-images-idx3-ubyte.gz").read_bytes() != (
        tmp_path / "source" / "train-images-idx3-ubyte.gz").read_bytes()
    load_dataset("toy", data_dir=recompressed, download=False)


def test_locate_names_the_directory_load_dataset_reads_without_reading_it(
    tmp_path, monkeypatch, toy_info
):
    make_toy_files(tmp_path / "env" / "toy", seed=1)
    make_toy_files(tmp_path / "explicit", seed=2)
    (tmp_path / "partial").mkdir()
    shutil.copy(tmp_path / "source" / "train-images-idx3-ubyte.gz", tmp_path / "partial")
    monkeypatch.setenv("KERASMNIST_DATA", str(tmp_path / "env"))
    directory, files = datasets.locate("toy")
    assert directory == tmp_path / "env" / "toy"
    assert list(files) == list(datasets.ROLES)
    assert load_dataset("toy", download=False, verify=False).files == files
    # An incomplete directory searched first does not count; the next complete one does.
    assert datasets.locate("toy", tmp_path / "partial")[0] == tmp_path / "env" / "toy"
    assert datasets.locate("toy", tmp_path / "explicit")[0] == tmp_path / "explicit"
    monkeypatch.delenv("KERASMNIST_DATA")
    assert datasets.locate("toy") is None


def test_recorded_digest_prefers_the_content_digest_and_names_what_it_covers():
    mnist, kmnist = get_dataset_info("mnist"), get_dataset_info("kmnist")
    assert mnist.recorded_digest("train_images") == (
        mnist.sha256["train-images-idx3-ubyte.gz"], "content")
    assert kmnist.recorded_digest("test_labels") == (
        kmnist.archive_sha256["t10k-labels-idx1-ubyte.gz"], "file")
    both = DatasetInfo("both", ("a",), sha256={"t10k-images-idx3-ubyte.gz": "c" * 64},
                       archive_sha256={"t10k-images-idx3-ubyte.gz": "f" * 64})
    assert both.recorded_digest("test_images") == ("c" * 64, "content")
    assert both.recorded_digest("train_images") is None
    with pytest.raises(InvalidArgumentError, match="Received: role='images'"):
        mnist.recorded_digest("images")


def test_verify_files_reports_each_file_ok_mismatched_missing_or_unreadable(tmp_path, toy_info):
    directory = tmp_path / "copy"
    shutil.copytree(tmp_path / "source", directory)
    assert datasets.verify_files("toy", directory).ok
    train = directory / "train-images-idx3-ubyte.gz"
    train.write_bytes(gzip.compress(gzip.decompress(train.read_bytes())[:-1] + b"\x07"))
    labels = directory / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:20])
    (directory / "t10k-images-idx3-ubyte.gz").unlink()
    check = datasets.verify_files("toy", directory)
    assert check.name == "toy" and check.directory == directory and not check.ok
    by_role = {c.role: c for c in check.files}
    assert [c.role for c in check.files] == list(datasets.ROLES)
    assert by_role["train_labels"].status == "ok" and not by_role["train_labels"].failed
    mismatch = by_role["train_images"]
    assert mismatch.status == "mismatch" and mismatch.digest_of == "content"
    assert mismatch.expected == toy_info.sha256["train-images-idx3-ubyte.gz"] != mismatch.found
    assert by_role["test_images"].status == "missing" and by_role["test_images"].path is None
    assert by_role["test_labels"].status == "unreadable" and by_role["test_labels"].detail


def test_verify_files_hashes_afresh_and_load_dataset_sees_the_ctime_change(tmp_path, toy_info):
    directory = tmp_path / "raw"
    make_toy_files(directory, compress=False)
    load_dataset("toy", data_dir=directory, download=False)  # remembers the digests
    labels = directory / "train-labels-idx1-ubyte"
    stat = labels.stat()
    damaged = bytearray(labels.read_bytes())
    damaged[-1] = (damaged[-1] + 1) % 3  # still a valid label: only the digest can tell
    labels.write_bytes(bytes(damaged))
    # Same size, time and inode; the status-change time moves on (at the clock's next tick).
    while labels.stat().st_ctime_ns == stat.st_ctime_ns:
        os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    os.utime(labels, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(ChecksumError, match="train-labels-idx1-ubyte"):
        load_dataset("toy", data_dir=directory, download=False)
    fresh = filecache.hash_file(labels)
    assert fresh.sha256 == fresh.archive_sha256 == hashlib.sha256(damaged).hexdigest()
    check = datasets.verify_files("toy", directory)
    assert {c.role: c.status for c in check.files}["train_labels"] == "mismatch"
    assert filecache.hash_file(tmp_path / "source" / "train-labels-idx1-ubyte.gz").sha256 == (
        toy_info.sha256["train-labels-idx1-ubyte.gz"])


def test_verify_files_without_data_dir_checks_what_load_dataset_finds_or_says_where_it_looked(
    tmp_path, monkeypatch, toy_info
):
    check = datasets.verify_files("toy")
    assert check.directory is None and {c.status for c in check.files} == {"missing"}
    assert check.searched == tuple(datasets.search_directories("toy"))
    monkeypatch.setenv("KERASMNIST_DATA", str(tmp_path / "env"))
    make_toy_files(tmp_path / "env" / "toy")
    check = datasets.verify_files("toy")
    assert check.ok and check.directory == tmp_path / "env" / "toy"
    unchecked = DatasetInfo("toy", ("a", "b", "c"))
    register_dataset(unchecked, overwrite=True)
    assert [c.status for c in datasets.verify_files(unchecked).files] == ["unchecked"] * 4
    assert datasets.verify_files(unchecked).ok


def test_missing_data_set_error_lists_files_directories_and_fix(tmp_path, toy_info, monkeypatch):
    monkeypatch.setenv("KERASMNIST_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("toy", data_dir=tmp_path / "empty", download=False)
    message = str(info.value)
    for name in toy_info.files.values():
        assert name in message
    assert str(tmp_path / "empty") in message and str(tmp_path / "nowhere" / "toy") in message
    assert "download=False" in message and "To fix" in message and "KERASMNIST_DATA" in message
    assert isinstance(info.value, FileNotFoundError)


# --- verification ------------------------------------------------------------

def test_checksum_mismatch_names_file_expected_and_found(tmp_path, toy_info):
    make_toy_files(tmp_path / "other", seed=99)
    with pytest.raises(ChecksumError) as info:
        load_dataset("toy", data_dir=tmp_path / "other", download=False)
    message = str(info.value)
    assert "train-images-idx3-ubyte.gz" in message
    assert toy_info.sha256["train-images-idx3-ubyte.gz"] in message and "found" in message
    assert load_dataset("toy", data_dir=tmp_path / "other", verify=False).name == "toy"


def test_archive_digest_verifies_when_content_digest_is_unknown(tmp_path):
    make_toy_files(tmp_path / "src")
    archives = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                for p in (tmp_path / "src").iterdir()}
    register_dataset(DatasetInfo("toy_arch", ("a", "b", "c"), archive_sha256=archives),
                     overwrite=True)
    try:
        load_dataset("toy_arch", data_dir=tmp_path / "src", download=False)
        make_toy_files(tmp_path / "uncompressed", compress=False)
        with pytest.raises(ChecksumError, match="SHA-256 of the file"):
            load_dataset("toy_arch", data_dir=tmp_path / "uncompressed", download=False)
    finally:
        datasets._REGISTRY.pop("toy_arch")


def test_unverifiable_files_load_with_a_warning(tmp_path):
    make_toy_files(tmp_path / "src")
    register_dataset(DatasetInfo("toy_nosum", ("a", "b", "c")), overwrite=True)
    try:
        with pytest.warns(UserWarning, match="not verified"):
            load_dataset("toy_nosum", data_dir=tmp_path / "src", download=False)
    finally:
        datasets._REGISTRY.pop("toy_nosum")


def test_repeat_load_reuses_the_remembered_digest_and_maps_the_cache(tmp_path, toy_info, monkeypatch):
    calls = []
    real = filecache._read_idx

    def spy(source, **kwargs):
        calls.append(kwargs)
        return real(source, **kwargs)

    monkeypatch.setattr(filecache, "_read_idx", spy)
    first = load_dataset("toy", data_dir=tmp_path / "source", download=False)
    assert sum(c.get("hasher") is not None for c in calls) == 4
    calls.clear()
    again = load_dataset("toy", data_dir=tmp_path / "source", download=False)
    assert len(calls) == 4 and all(c == {"mmap": True} for c in calls)
    np.testing.assert_array_equal(first.x_train, again.x_train)


def test_a_file_changed_after_verification_is_checked_again(tmp_path, toy_info):
    load_dataset("toy", data_dir=tmp_path / "source", download=False)
    labels = tmp_path / "source" / "train-labels-idx1-ubyte.gz"
    write_idx(labels, np.zeros(60, dtype=np.uint8))
    with pytest.raises(ChecksumError, match="train-labels"):
        load_dataset("toy", data_dir=tmp_path / "source", download=False)


def test_a_damaged_decompressed_cache_is_rebuilt(tmp_path, toy_info):
    first = load_dataset("toy", data_dir=tmp_path / "source", download=False)
    expected = np.array(first.x_test)
    copies = list((filecache.cache_dir() / "idx").iterdir())
    assert len(copies) == 4
    for copy in copies:  # replaced, as a crash between write and rename might leave it
        damaged = copy.with_suffix(".damaged")
        damaged.write_bytes(copy.read_bytes()[:-3])
        damaged.replace(copy)
    again = load_dataset("toy", data_dir=tmp_path / "source", download=False)
    np.testing.assert_array_equal(again.x_test, expected)
    rebuilt = list((filecache.cache_dir() / "idx").iterdir())
    assert len(rebuilt) == 4
    for copy in rebuilt:
        read_idx(copy)  # valid again: raises IdxFormatError if still damaged


def test_loaded_arrays_are_writable_without_touching_the_cache(tmp_path, toy_info):
    load_dataset("toy", data_dir=tmp_path / "source", download=False, validation=0)
    ds = load_dataset("toy", data_dir=tmp_path / "source", download=False, validation=0)
    ds.x_train[:] = 0
    fresh = load_dataset("toy", data_dir=tmp_path / "source", download=False, validation=0)
    assert fresh.x_train.any()


# --- consistency -------------------------------------------------------------

def _unverified_toy(tmp_path, name="toy_bad"):
    make_toy_files(tmp_path / "bad")
    register_dataset(DatasetInfo(name, ("a", "b", "c")), overwrite=True)
    return tmp_path / "bad"


def test_image_and_label_counts_must_agree(tmp_path):
    directory = _unverified_toy(tmp_path)
    write_idx(directory / "train-labels-idx1-ubyte.gz", np.zeros(59, dtype=np.uint8))
    try:
        expected = "found 60 images in .*train-images.* and 59 labels in .*train-labels"
        with pytest.raises(DatasetError, match=expected):
            load_dataset("toy_bad", data_dir=directory, verify=False)
    finally:
        datasets._REGISTRY.pop("toy_bad")


def test_labels_must_name_a_known_class(tmp_path):
    directory = _unverified_toy(tmp_path)
    write_idx(directory / "t10k-labels-idx1-ubyte.gz", np.full(20, 3, dtype=np.uint8))
    try:
        with pytest.raises(DatasetError, match=r"Expected integer labels in \[0, 3\).*values 3..3"):
            load_dataset("toy_bad", data_dir=directory, verify=False)
    finally:
        datasets._REGISTRY.pop("toy_bad")


# --- splits and views --------------------------------------------------------

def test_validation_is_carved_from_train_and_stratified(tmp_path, toy_info):
    ds = load_dataset("toy", data_dir=tmp_path / "source", validation=15, seed=4)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (45, 15, 20)
    assert ds.class_counts("val").tolist() == [5, 5, 5]
    # The first pixel holds the index in the training file: no overlap, no loss.
    ids = np.concatenate([ds.x_train[:, 0, 0], ds.x_val[:, 0, 0]])
    assert sorted(ids.tolist()) == list(range(60))
    same = load_dataset("toy", data_dir=tmp_path / "source", validation=15, seed=4)
    np.testing.assert_array_equal(same.x_val, ds.x_val)


def test_arrays_gives_flat_image_raw_and_one_hot_views(tmp_path, toy_info):
    ds = load_dataset("toy", data_dir=tmp_path / "source", validation=0.5)
    x, y = ds.arrays("train")
    assert x.shape == (30, 784) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    np.testing.assert_allclose(x * 255, ds.x_train.reshape(30, -1), atol=1e-4)
    assert y is ds.y_train
    x, y = ds.arrays("validation", view="image", one_hot=True)
    assert x.shape == (30, 28, 28, 1) and y.shape == (30, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y.argmax(axis=1), ds.y_val)
    assert y.sum() == 30
    x, _ = ds.arrays("test", view="raw")
    assert x is ds.x_test


def test_arrays_of_an_empty_validation_split_keep_their_shapes(tmp_path, toy_info):
    ds = load_dataset("toy", data_dir=tmp_path / "source", validation=0)
    assert ds.arrays("validation")[0].shape == (0, 784)
    assert ds.arrays("val", view="image")[0].shape == (0, 28, 28, 1)
    assert ds.arrays("val", one_hot=True)[1].shape == (0, 3)


def test_arrays_rejects_unknown_split_and_view(tmp_path, toy_info):
    ds = load_dataset("toy", data_dir=tmp_path / "source")
    with pytest.raises(InvalidArgumentError, match="Received: split='dev'"):
        ds.arrays("dev")
    with pytest.raises(InvalidArgumentError, match="Received: view='rgb'"):
        ds.arrays("train", view="rgb")  # type: ignore[arg-type]


def test_load_dataset_rejects_validation_larger_than_train(tmp_path, toy_info):
    with pytest.raises(InvalidArgumentError, match="validation=60"):
        load_dataset("toy", data_dir=tmp_path / "source", validation=60)


# --- bundled samples -----------------------------------------------------------

@pytest.mark.parametrize("name, parent", [("mnist_sample", "mnist"),
                                          ("fashion_mnist_sample", "fashion_mnist")])
def test_bundled_samples_load_offline_verified_and_stratified(name, parent):
    ds = load_dataset(name, validation=0, download=False)
    assert (len(ds.y_train), len(ds.y_test)) == (5000, 1000)
    assert ds.x_train.dtype == np.uint8 and ds.image_shape == (28, 28)
    assert ds.class_names == get_dataset_info(parent).class_names
    if parent == "mnist":
        expected = np.array(MNIST_TRAIN_COUNTS) * 5000 / 60000
        assert np.all(np.abs(ds.class_counts("train") - expected) < 1)
    else:
        assert ds.class_counts("train").tolist() == [500] * 10
        assert ds.class_counts("test").tolist() == [100] * 10


def test_bundled_samples_stay_small():
    total = sum(p.stat().st_size for p in datasets._SAMPLES_DIR.rglob("*.gz"))
    assert total <= 5 * 1024 * 1024


# --- real data (../shared/data through KERASMNIST_DATA) -------------------------

def test_real_mnist_loads_with_official_counts_and_labels(real_data):
    ds = load_dataset("mnist", validation=10000, download=False)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (50000, 10000, 10000)
    assert ds.x_train.shape == (50000, 28, 28) and ds.x_train.dtype == np.uint8
    assert (ds.class_counts("train") + ds.class_counts("val")).tolist() == MNIST_TRAIN_COUNTS
    assert ds.class_counts("test").tolist() == MNIST_TEST_COUNTS
    expected = np.array(MNIST_TRAIN_COUNTS) * 10000 / 60000
    assert np.all(np.abs(ds.class_counts("val") - expected) < 1)
    full = load_dataset("mnist", validation=0, download=False)
    assert full.y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert full.y_test[:3].tolist() == [7, 2, 1]


def test_real_fashion_mnist_loads_balanced(real_data):
    ds = load_dataset("fashion_mnist", validation=0.2, download=False)
    assert (len(ds.y_train), len(ds.y_val), len(ds.y_test)) == (48000, 12000, 10000)
    assert ds.class_counts("val").tolist() == [1200] * 10
    assert ds.class_counts("test").tolist() == [1000] * 10


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_real_files_match_their_published_checksums(real_data, name):
    info = get_dataset_info(name)
    ds = load_dataset(name, validation=0, download=False)
    for role, path in ds.files.items():
        _, digests = filecache.load_idx_file(path)
        assert digests.sha256 == info.sha256[info.files[role]]
