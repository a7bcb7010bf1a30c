"""MNIST-family data sets: registry, discovery, verified download and splits.

`load_dataset(name)` looks for the four IDX files of a data set in, in order:

1. `data_dir` (the directory itself, or its `<name>/` sub-directory);
2. `$KERASMNIST_DATA/<name>/` (several roots may be joined with `os.pathsep`);
3. the Keras cache, `$KERAS_HOME/datasets/<name>/` (default `~/.keras`);
4. system directories such as Debian's `/usr/share/datasets/<name>/`;
5. the package itself, for the bundled samples;

and downloads what is missing into `data_dir`, or else the Keras cache. `<name>`
may be spelled with `-` or `_` (`fashion-mnist` is what Keras and Debian use).
`locate(name)` answers where that search ends without reading or downloading
anything, and `verify_files(name)` hashes the files found afresh against their
recorded SHA-256.
"""

from __future__ import annotations

import os
import warnings
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import numpy as np

from kerasmnist import filecache
from kerasmnist.download import fetch
from kerasmnist.errors import (
    ChecksumError,
    DatasetError,
    DatasetNotFoundError,
    DownloadError,
    InvalidArgumentError,
)
from kerasmnist.splits import split_indices

__all__ = [
    "Dataset",
    "DatasetCheck",
    "DatasetInfo",
    "FileCheck",
    "SPLITS",
    "ROLES",
    "dataset_names",
    "find_files",
    "get_dataset_info",
    "load_dataset",
    "locate",
    "register_dataset",
    "search_directories",
    "verify_files",
]

ROLES = ("train_images", "train_labels", "test_images", "test_labels")
"""The four files of a data set, in the order they are listed."""

SPLITS = ("train", "validation", "test")
"""Names of the parts of a `Dataset`."""

STANDARD_FILES = MappingProxyType({
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
})

SYSTEM_DATA_DIRS: tuple[str, ...] = ("/usr/share/datasets",)
"""Roots of system-wide data set directories (Debian's `dataset-*` packages)."""

_SAMPLES_DIR = Path(__file__).parent / "samples"


@dataclass(frozen=True)
class DatasetInfo:
    """Everything kerasmnist knows about one IDX data set.

    Attributes:
        name: Registry name, lower case with underscores (`"fashion_mnist"`).
        class_names: One name per label value, in label order.
        files: File name of each of the four `ROLES`. Each file may also be found
            uncompressed, without its `.gz`. Defaults to the standard MNIST names.
        sha256: SHA-256 of each file's decompressed content, by file name; a
            re-compressed or uncompressed copy of the same data verifies.
        archive_sha256: SHA-256 of each file exactly as published (compressed),
            used where the decompressed digest is not known.
        mirrors: Base addresses the files can be downloaded from, each ending in
            `/`, tried in order.
        description: One line for listings.
        license: Licence and attribution of the data.
        bundled_dir: For data shipped inside the package, its directory.
        image_shape: `(height, width)` of one image. Defaults to `(28, 28)`.
    """

    name: str
    class_names: tuple[str, ...]
    files: Mapping[str, str] = field(default_factory=lambda: dict(STANDARD_FILES))
    sha256: Mapping[str, str] = field(default_factory=dict)
    archive_sha256: Mapping[str, str] = field(default_factory=dict)
    mirrors: tuple[str, ...] = ()
    description: str = ""
    license: str = ""
    bundled_dir: Path | None = None
    image_shape: tuple[int, int] = (28, 28)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def directory_names(self) -> tuple[str, ...]:
        """Names a directory of this data set may have (`fashion-mnist` too)."""
        hyphenated = self.name.replace("_", "-")
        return (self.name,) if hyphenated == self.name else (hyphenated, self.name)

    def recorded_digest(self, role: str) -> tuple[str, Literal["content", "file"]] | None:
        """The SHA-256 recorded for one of the four files, and what it is the digest of.

        The digest of the decompressed content (`sha256`) is preferred to that of
        the published file (`archive_sha256`), since a re-compressed or
        uncompressed copy of the same data matches it too.

        Args:
            role: One of `ROLES`.

        Returns:
            `(digest, "content")` or `(digest, "file")`; `None` when no checksum
            is recorded for the file.

        Raises:
            InvalidArgumentError: `role` is not one of `ROLES`.

        Example:

        >>> get_dataset_info("kmnist").recorded_digest("test_labels")[1]
        'file'
        """
        if role not in ROLES:
            raise InvalidArgumentError(
                f"Invalid value for argument `role`. Expected one of {list(ROLES)}. "
                f"Received: role={role!r}"
            )
        filename = self.files[role]
        if filename in self.sha256:
            return self.sha256[filename], "content"
        if filename in self.archive_sha256:
            return self.archive_sha256[filename], "file"
        return None


_REGISTRY: dict[str, DatasetInfo] = {}


def register_dataset(info: DatasetInfo, *, overwrite: bool = False) -> None:
    """Adds a data set to the registry, so `load_dataset(info.name)` finds it.

    Args:
        info: The data set's description.
        overwrite: Whether to replace an entry of the same name. Defaults to
            `False`.

    Raises:
        InvalidArgumentError: The name is taken (and `overwrite` is `False`), or
            `info.files` does not name the four `ROLES`.

    Example:

    >>> info = DatasetInfo("emnist_digits", tuple("0123456789"),
    ...                    mirrors=("https://example.org/emnist/",))
    >>> register_dataset(info, overwrite=True)
    >>> "emnist_digits" in dataset_names()
    True
    """
    if info.name in _REGISTRY and not overwrite:
        raise InvalidArgumentError(
            "Invalid value for argument `info`. Expected a name not yet registered "
            f"(or overwrite=True). Received: info.name={info.name!r}"
        )
    if set(info.files) != set(ROLES):
        raise InvalidArgumentError(
            f"Invalid value for argument `info`. Expected `files` for {list(ROLES)}. "
            f"Received: files for {sorted(info.files)}"
        )
    _REGISTRY[info.name] = info


def dataset_names() -> list[str]:
    """Returns the names of every registered data set, sorted.

    Example:

    >>> {"mnist", "fashion_mnist", "kmnist", "mnist_sample"} <= set(dataset_names())
    True
    """
    return sorted(_REGISTRY)


def get_dataset_info(name: str | DatasetInfo) -> DatasetInfo:
    """Looks a data set up by name (`-` and `_` are interchangeable, case too).

    Args:
        name: A registered name, or a `DatasetInfo` (returned as is).

    Returns:
        The registry entry.

    Raises:
        InvalidArgumentError: No data set has that name.

    Example:

    >>> get_dataset_info("Fashion-MNIST").class_names[:2]
    ('T-shirt/top', 'Trouser')
    """
    if isinstance(name, DatasetInfo):
        return name
    key = str(name).strip().lower().replace("-", "_")
    if key not in _REGISTRY:
        raise InvalidArgumentError(
            f"Invalid value for argument `name`. Expected one of {dataset_names()}. "
            f"Received: name={name!r}"
        )
    return _REGISTRY[key]


class Dataset:
    """Images and labels of one data set, split into train, validation and test.

    The raw arrays are the files' own: `uint8` images of shape `(n, 28, 28)` and
    `uint8` labels. `arrays()` gives the views models need.

    Attributes:
        name: Registry name.
        class_names: One name per label value.
        x_train, y_train, x_val, y_val, x_test, y_test: Raw images and labels.
        files: Path of each of the four files read, by role.

    Example:

    >>> ds = load_dataset("mnist_sample", validation=0.2)
    >>> x, y = ds.arrays("train", view="image")
    >>> x.shape[1:], x.dtype.name, float(x.max()) <= 1.0
    ((28, 28, 1), 'float32', True)
    """

    def __init__(
        self,
        name: str,
        class_names: Sequence[str],
        x_train: np.ndarray,
        y_train: np.ndarray,
        x_val: np.ndarray,
        y_val: np.ndarray,
        x_test: np.ndarray,
        y_test: np.ndarray,
        files: Mapping[str, Path] | None = None,
    ) -> None:
        self.name = name
        self.class_names = tuple(class_names)
        self.x_train, self.y_train = x_train, y_train
        self.x_val, self.y_val = x_val, y_val
        self.x_test, self.y_test = x_test, y_test
        self.files = dict(files or {})

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one raw image, e.g. `(28, 28)`."""
        return tuple(self.x_train.shape[1:])

    def raw(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """Returns the raw `(images, labels)` of a split.

        Args:
            split: `"train"`, `"validation"` (or `"val"`) or `"test"`.

        Raises:
            InvalidArgumentError: Unknown split.
        """
        split = _split_name(split)
        if split == "train":
            return self.x_train, self.y_train
        if split == "validation":
            return self.x_val, self.y_val
        return self.x_test, self.y_test

    def arrays(
        self,
        split: str,
        *,
        view: Literal["flat", "image", "raw"] = "flat",
        one_hot: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Returns a split as `(x, y)` ready for `model.fit`.

        Args:
            split: `"train"`, `"validation"` (or `"val"`) or `"test"`.
            view: `"flat"` gives float32 in [0, 1] of shape `(n, 784)`; `"image"`
                float32 in [0, 1] of shape `(n, 28, 28, 1)`; `"raw"` the uint8
                images as stored. Defaults to `"flat"`.
            one_hot: Whether labels come one-hot encoded (float32, shape
                `(n, num_classes)`) instead of as integers. Defaults to `False`.

        Returns:
            `(x, y)`, new arrays (except the raw images).

        Raises:
            InvalidArgumentError: Unknown split or view.

        Example:

        >>> ds = load_dataset("mnist_sample")
        >>> x, y = ds.arrays("test", one_hot=True)
        >>> x.shape[1], y.shape[1]
        (784, 10)
        """
        images, labels = self.raw(split)
        if view == "raw":
            x = images
        elif view in ("flat", "image"):
            flat = (len(images), int(np.prod(images.shape[1:])))
            shape = flat if view == "flat" else (*images.shape, 1)
            x = images.reshape(shape).astype(np.float32)
            np.divide(x, 255.0, out=x)
        else:
            raise InvalidArgumentError(
                "Invalid value for argument `view`. Expected 'flat', 'image' or "
                f"'raw'. Received: view={view!r}"
            )
        if one_hot:
            y = np.zeros((len(labels), self.num_classes), dtype=np.float32)
            y[np.arange(len(labels)), labels] = 1.0
        else:
            y = labels
        return x, y

    def class_counts(self, split: str) -> np.ndarray:
        """Returns the number of examples of each class in a split.

        Example:

        >>> load_dataset("mnist_sample", validation=50).class_counts("validation").tolist()
        [5, 6, 5, 5, 5, 4, 5, 5, 5, 5]
        """
        labels = self.raw(split)[1]
        return np.bincount(labels, minlength=self.num_classes)

    def __len__(self) -> int:
        return len(self.y_train) + len(self.y_val) + len(self.y_test)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.y_train)}, "
            f"validation={len(self.y_val)}, test={len(self.y_test)}, "
            f"image_shape={self.image_shape}, classes={self.num_classes})"
        )


def search_directories(
    name: str | DatasetInfo, data_dir: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Returns the directories `load_dataset` searches, in order.

    Args:
        name: Data set name or `DatasetInfo`.
        data_dir: An explicit directory to search first. Defaults to `None`.

    Example:

    >>> [p.as_posix() for p in search_directories("fashion_mnist", "data")][:3]
    ['data', 'data/fashion-mnist', 'data/fashion_mnist']
    """
    info = get_dataset_info(name)
    names = info.directory_names
    roots: list[Path] = []
    if data_dir is not None:
        roots.append(Path(data_dir))
        roots += [Path(data_dir) / n for n in names]
    for root in filter(None, os.environ.get("KERASMNIST_DATA", "").split(os.pathsep)):
        roots += [Path(root) / n for n in names]
    roots += [_keras_datasets_dir() / n for n in names]
    roots += [Path(root) / n for root in SYSTEM_DATA_DIRS for n in names]
    if info.bundled_dir is not None:
        roots.append(info.bundled_dir)
    return list(dict.fromkeys(roots))


def find_files(directory: str | os.PathLike[str], name: str | DatasetInfo) -> dict[str, Path]:
    """Returns the files of a data set that one directory holds, by role.

    Each file counts under its registered name and with or without `.gz`. Nothing
    is read or downloaded; `load_dataset` uses the first of `search_directories()`
    that holds all four.

    Args:
        directory: The directory to look in.
        name: Data set name or `DatasetInfo`.

    Returns:
        `{role: path}` for each of the `ROLES` found, in that order; a role with
        no file is left out.

    Example:

    >>> sample = get_dataset_info("mnist_sample").bundled_dir
    >>> list(find_files(sample, "mnist_sample")) == list(ROLES)
    True
    """
    info = get_dataset_info(name)
    found = {}
    for role in ROLES:
        path = next((p for p in _candidates(Path(directory), info.files[role]) if p.is_file()), None)
        if path is not None:
            found[role] = path
    return found


def locate(
    name: str | DatasetInfo, data_dir: str | os.PathLike[str] | None = None
) -> tuple[Path, dict[str, Path]] | None:
    """Returns where `load_dataset` would take a data set's files from, if anywhere.

    The first of `search_directories(name, data_dir)` that holds all four files
    (see `find_files`). Nothing is read or downloaded.

    Args:
        name: Data set name or `DatasetInfo`.
        data_dir: An explicit directory to search first. Defaults to `None`.

    Returns:
        `(directory, {role: path})`, or `None` when no directory holds all four
        files (`load_dataset` would then download them).

    Example:

    >>> directory, files = locate("mnist_sample")
    >>> directory == get_dataset_info("mnist_sample").bundled_dir, list(files) == list(ROLES)
    (True, True)
    """
    info = get_dataset_info(name)
    return _first_complete(search_directories(info, data_dir), info)


@dataclass(frozen=True)
class FileCheck:
    """The verification of one file of a data set.

    Attributes:
        role: One of `ROLES`.
        filename: The file's registered name.
        path: Where it was found; `None` when missing.
        status: `"ok"`, `"mismatch"`, `"missing"`, `"unreadable"`, or
            `"unchecked"` when no checksum is recorded for it.
        expected: The recorded digest, if any.
        found: The digest computed, if any.
        digest_of: `"content"` (decompressed) or `"file"` (as stored), as
            `DatasetInfo.recorded_digest` says; `None` when nothing is recorded.
        detail: Why the file is unreadable, if it is.
    """

    role: str
    filename: str
    path: Path | None
    status: Literal["ok", "mismatch", "missing", "unreadable", "unchecked"]
    expected: str | None = None
    found: str | None = None
    digest_of: Literal["content", "file"] | None = None
    detail: str = ""

    @property
    def failed(self) -> bool:
        """Whether the file is missing, unreadable or differs from its checksum."""
        return self.status in ("mismatch", "missing", "unreadable")


@dataclass(frozen=True)
class DatasetCheck:
    """The verification of a data set's four files, from `verify_files`.

    Attributes:
        name: Registry name.
        directory: The directory the files were taken from; `None` when no
            directory holds any of them.
        searched: The directories looked in, in order.
        files: One `FileCheck` per role, in the order of `ROLES`.
    """

    name: str
    directory: Path | None
    searched: tuple[Path, ...]
    files: tuple[FileCheck, ...]

    @property
    def ok(self) -> bool:
        """Whether no file is missing, unreadable or different from its checksum."""
        return not any(check.failed for check in self.files)


def verify_files(
    name: str | DatasetInfo, data_dir: str | os.PathLike[str] | None = None
) -> DatasetCheck:
    """Hashes a data set's local files afresh and compares them with their recorded SHA-256.

    Unlike `load_dataset`, it trusts no remembered digest (see
    `kerasmnist.filecache.hash_file`), raises nothing for a bad file and
    downloads nothing: each file gets a `FileCheck` saying what was found.

    Args:
        name: Data set name or `DatasetInfo`.
        data_dir: The directory to check (itself, or its `<name>/`
            sub-directory) instead of the files `load_dataset` would find.
            Defaults to `None`.

    Returns:
        A `DatasetCheck` of the first directory holding all four files, or, when
        none does, of the first holding any (the others then "missing").

    Raises:
        InvalidArgumentError: Unknown name.

    Example:

    >>> check = verify_files("mnist_sample")
    >>> check.ok, [f.status for f in check.files]
    (True, ['ok', 'ok', 'ok', 'ok'])
    """
    info = get_dataset_info(name)
    if data_dir is not None:
        directories = [Path(data_dir), *(Path(data_dir) / n for n in info.directory_names)]
    else:
        directories = search_directories(info)
    found = _first_complete(directories, info)
    if found is None:  # report what there is: a missing file is a finding too
        found = next(((d, f) for d in directories if (f := find_files(d, info))), None)
    directory, paths = found if found is not None else (None, {})
    files = tuple(_check_file(info, role, paths.get(role)) for role in ROLES)
    return DatasetCheck(info.name, directory, tuple(directories), files)


def load_dataset(
    name: str | DatasetInfo,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    validation: int | float = 0.1,
    stratify: bool = True,
    seed: int = 0,
    download: bool = True,
    verify: bool = True,
    progress: bool | None = None,
) -> Dataset:
    """Loads a data set of the MNIST family, finding or downloading its files.

    The validation set is carved from the training file, never from the test
    file. The first load of a file checks its SHA-256 and remembers it; repeat
    loads of the unchanged file skip the check and memory-map kerasmnist's
    private, decompressed copy of it (never the file itself), so they take
    milliseconds. A file changed in any way since, even with its modification
    time put back, is read and checked again. A cache directory that cannot be
    written (read-only, full disk) only slows loads down, with one warning (see
    `kerasmnist.filecache`).

    Args:
        name: A registered name (see `dataset_names()`: `"mnist"`,
            `"fashion_mnist"`, `"kmnist"`, the bundled `"mnist_sample"` and
            `"fashion_mnist_sample"`, ...) or a `DatasetInfo`.
        data_dir: Directory to search first and to download into. Defaults to
            `None` (download into the Keras cache).
        validation: Size of the validation set: a count of examples, or a
            fraction of the training file. Defaults to `0.1`, as in the Keras
            MNIST examples.
        stratify: Whether the validation set keeps each class's share of the
            training file (to within one example). Defaults to `True`.
        seed: Seed of the validation split. Defaults to `0`.
        download: Whether to download missing files. Defaults to `True`.
        verify: Whether to check files against their recorded SHA-256.
            Defaults to `True`.
        progress: Whether to show a download progress bar; `None` shows one when
            standard error is a terminal. Defaults to `None`.

    Returns:
        A `Dataset`.

    Raises:
        DatasetNotFoundError: The files were found nowhere and could not be
            downloaded. The message lists the files, each directory searched
            and how to fix it.
        ChecksumError: A file does not match its recorded digest.
        DatasetError: The files disagree (image and label counts, label range,
            image shapes).
        IdxFormatError: A file is not valid IDX.
        InvalidArgumentError: Unknown name, or `validation` out of range.

    Example:

    >>> ds = load_dataset("mnist_sample", validation=500)
    >>> len(ds.y_val), ds.class_names[:3]
    (500, ('0', '1', '2'))
    """
    info = get_dataset_info(name)
    searched = search_directories(info, data_dir)
    found = _first_complete(searched, info)
    if found is not None:
        paths = found[1]
    else:
        paths = _download_missing(info, searched, data_dir, download, verify, progress)
    arrays = {role: _load_verified(paths[role], info, role, verify)[0] for role in ROLES}
    _check_consistency(info, arrays, paths)
    train_idx, val_idx = split_indices(
        arrays["train_labels"], validation, stratify=stratify, seed=seed
    )
    x_all, y_all = arrays["train_images"], arrays["train_labels"]
    if len(val_idx):
        x_train, y_train = x_all[train_idx], y_all[train_idx]
        x_val, y_val = x_all[val_idx], y_all[val_idx]
    else:  # no copy of the training file when nothing is held out
        x_train, y_train = x_all, y_all
        x_val, y_val = x_all[:0], y_all[:0]
    return Dataset(
        info.name, info.class_names, x_train, y_train, x_val, y_val,
        arrays["test_images"], arrays["test_labels"], files=paths,
    )


def _split_name(split: str) -> str:
    key = "validation" if split == "val" else split
    if key not in SPLITS:
        raise InvalidArgumentError(
            f"Invalid value for argument `split`. Expected one of {list(SPLITS)} or "
            f"'val'. Received: split={split!r}"
        )
    return key


def _keras_datasets_dir() -> Path:
    home = os.environ.get("KERAS_HOME") or Path.home() / ".keras"
    return Path(home) / "datasets"


def _candidates(directory: Path, filename: str) -> list[Path]:
    stem = filename[:-3] if filename.endswith(".gz") else filename
    return [directory / filename, directory / stem, directory / f"{stem}.gz"]


def _first_complete(
    directories: Sequence[Path], info: DatasetInfo
) -> tuple[Path, dict[str, Path]] | None:
    """The first directory holding all four files: the one `load_dataset` reads."""
    for directory in directories:
        found = find_files(directory, info)
        if len(found) == len(ROLES):
            return directory, found
    return None


def _download_missing(
    info: DatasetInfo,
    searched: list[Path],
    data_dir: str | os.PathLike[str] | None,
    download: bool,
    verify: bool,
    progress: bool | None,
) -> dict[str, Path]:
    target = Path(data_dir) if data_dir is not None else _keras_datasets_dir() / info.directory_names[0]
    if not download:
        raise _not_found(info, searched, "downloading is turned off (download=False)")
    if not info.mirrors:
        raise _not_found(info, searched, f"no download mirror is known for {info.name!r}")
    paths: dict[str, Path] = {}
    for role in ROLES:
        filename = info.files[role]
        present = next((p for p in _candidates(target, filename) if p.is_file()), None)
        if present is not None:
            paths[role] = present
            continue

        def check(tmp: Path, role: str = role) -> filecache.FileDigests:
            return _load_verified(tmp, info, role, verify, remember=False)[1]

        try:
            path, digests = fetch(filename, info.mirrors, target, check=check, progress=progress)
        except DownloadError as error:
            if any(f.checksum for f in error.failures):
                raise ChecksumError(str(error)) from None
            raise _not_found(info, searched, str(error)) from None
        except OSError as error:  # the target directory cannot be created
            raise _not_found(info, searched, f"cannot write to {target}: {error}") from None
        filecache.remember_digests(path, digests)
        paths[role] = path
    return paths


def _not_found(info: DatasetInfo, searched: list[Path], why: str) -> DatasetNotFoundError:
    files = "\n".join(f"  {info.files[r]}" for r in ROLES)
    dirs = "\n".join(f"  {d}" for d in searched)
    return DatasetNotFoundError(
        f"Could not find data set {info.name!r}. Expected its four IDX files (each "
        f"gzip-compressed or not, with or without .gz):\n{files}\n"
        f"in one of these directories, searched in order:\n{dirs}\n"
        f"Download failed: {why}.\n"
        f"To fix: put the four files in one of the directories above, set "
        f"KERASMNIST_DATA to a directory holding {info.directory_names[0]}/, pass "
        f"data_dir=..., or load with download=True where the network is reachable."
    )


def _load_verified(
    path: Path, info: DatasetInfo, role: str, verify: bool, *, remember: bool = True
) -> tuple[np.ndarray, filecache.FileDigests]:
    array, digests = filecache.load_idx_file(path, remember=remember)
    if verify:
        _verify(path, info, role, digests)
    return array, digests


def _verify(path: Path, info: DatasetInfo, role: str, digests: filecache.FileDigests) -> None:
    check = _compare(info, role, path, digests)
    if check.status == "unchecked":
        warnings.warn(
            f"No checksum is recorded for {check.filename} of {info.name!r}; {path} is not "
            "verified. Pass verify=False to silence this warning.",
            stacklevel=4,
        )
    elif check.failed:
        what = "decompressed content" if check.digest_of == "content" else "file"
        raise ChecksumError(
            f"Checksum mismatch for {path} ({info.name!r} {check.filename}): expected SHA-256 "
            f"of the {what} {check.expected}, found {check.found}. The file is damaged or is "
            "not the official one: delete it to download it again, or pass verify=False "
            "to use it anyway."
        )


def _check_file(info: DatasetInfo, role: str, path: Path | None) -> FileCheck:
    """Verifies one file from its bytes on disk now, whatever the cache remembers."""
    filename = info.files[role]
    if path is None:
        return FileCheck(role, filename, None, "missing")
    recorded = info.recorded_digest(role)
    if recorded is None:
        return FileCheck(role, filename, path, "unchecked")
    try:
        digests = filecache.hash_file(path)
    except (OSError, EOFError, zlib.error) as error:
        return FileCheck(role, filename, path, "unreadable", recorded[0], None, recorded[1],
                         str(error) or type(error).__name__)
    return _compare(info, role, path, digests)


def _compare(
    info: DatasetInfo, role: str, path: Path, digests: filecache.FileDigests
) -> FileCheck:
    """The one comparison of a file's digests with the recorded one, for loading and verifying."""
    filename = info.files[role]
    recorded = info.recorded_digest(role)
    if recorded is None:
        return FileCheck(role, filename, path, "unchecked")
    expected, digest_of = recorded
    found = digests.sha256 if digest_of == "content" else digests.archive_sha256
    return FileCheck(role, filename, path, "ok" if found == expected else "mismatch",
                     expected, found, digest_of)


def _check_consistency(
    info: DatasetInfo, arrays: Mapping[str, np.ndarray], paths: Mapping[str, Path]
) -> None:
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        image_path, label_path = paths[f"{split}_images"], paths[f"{split}_labels"]
        if images.ndim < 2 or labels.ndim != 1:
            raise DatasetError(
                f"Expected images of shape (n, height, width) in {image_path} and labels "
                f"of shape (n,) in {label_path}, found {images.shape} and {labels.shape}"
            )
        if len(images) != len(labels):
            raise DatasetError(
                f"Expected as many labels as images, found {len(images)} images in "
                f"{image_path} and {len(labels)} labels in {label_path}"
            )
        if labels.dtype.kind not in "iu" or (
            len(labels) and (labels.min() < 0 or labels.max() >= info.num_classes)
        ):
            raise DatasetError(
                f"Expected integer labels in [0, {info.num_classes}) in {label_path}, "
                f"found dtype {labels.dtype}"
                + (f" and values {labels.min()}..{labels.max()}" if len(labels) else "")
            )
    if arrays["train_images"].shape[1:] != tuple(info.image_shape):
        raise DatasetError(
            f"Expected images of shape {tuple(info.image_shape)} for {info.name!r}, found "
            f"{arrays['train_images'].shape[1:]} in {paths['train_images']}"
        )
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise DatasetError(
            f"Expected train and test images of one shape, found "
            f"{arrays['train_images'].shape[1:]} in {paths['train_images']} and "
            f"{arrays['test_images'].shape[1:]} in {paths['test_images']}"
        )


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",  # torchvision
    "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow tutorials
    "http://yann.lecun.com/exdb/mnist/",
)
_FASHION_MIRRORS = (
    "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # Keras
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # torchvision
)
_KMNIST_MIRRORS = ("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",)  # torchvision

_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
_FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}
# Only the digests of the published archives are known for Kuzushiji-MNIST.
_KMNIST_ARCHIVE_SHA256 = {
    "train-images-idx3-ubyte.gz": "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4",
    "train-labels-idx1-ubyte.gz": "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17",
    "t10k-images-idx3-ubyte.gz": "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5",
    "t10k-labels-idx1-ubyte.gz": "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c",
}
_DIGITS = tuple("0123456789")
_FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                    "Shirt", "Sneaker", "Bag", "Ankle boot")
_MNIST_LICENSE = "CC BY-SA 3.0, Yann LeCun and Corinna Cortes"
_FASHION_LICENSE = "MIT, Zalando SE"

for _info in (
    DatasetInfo("mnist", _DIGITS, sha256=_MNIST_SHA256, mirrors=_MNIST_MIRRORS,
                description="MNIST handwritten digits (LeCun, Cortes, Burges)",
                license=_MNIST_LICENSE),
    DatasetInfo("fashion_mnist", _FASHION_CLASSES, sha256=_FASHION_SHA256,
                mirrors=_FASHION_MIRRORS,
                description="Fashion-MNIST clothing images (Zalando Research)",
                license=_FASHION_LICENSE),
    DatasetInfo("kmnist", ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
                archive_sha256=_KMNIST_ARCHIVE_SHA256, mirrors=_KMNIST_MIRRORS,
                description="Kuzushiji-MNIST cursive Japanese characters (ROIS-DS CODH)",
                license="CC BY-SA 4.0, ROIS-DS Center for Open Data in the Humanities"),
):
    register_dataset(_info)

# Bundled samples: stratified subsets (5,000 train, 1,000 test) of the official
# files, made by tools/make_samples.py; their licences are in samples/.
_SAMPLE_SHA256 = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "0bebf4c8e9ca8a8f69513b25d1e623b2cb7a5d81747bd33cf272bc1859c7ae46",
        "train-labels-idx1-ubyte.gz": "eefdbddc26c20cd33a5fcfa5525d6bc19241a4ddb73e7d4bd0a58c39b8cacc38",
        "t10k-images-idx3-ubyte.gz": "a5030a027abd0676610790d8bc22a8a35ec51a78d1d77b37148522ca05e85d8d",
        "t10k-labels-idx1-ubyte.gz": "ad31f56281f6254c54859362dcbd7896c9f5d49f25fa9432f9a6945bc3b23717",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "9bc859bbfe35b5ac5493e97c9c90238b3c5db0a98385eb7701452b20d8da5585",
        "train-labels-idx1-ubyte.gz": "406b3e5697025bd7a23f1fb941c61d492dda540d80c391c9db3d2bd10ebfcb27",
        "t10k-images-idx3-ubyte.gz": "79626771eb283d3cf118ade1f711af55fd0d943d2f811c945286041c9f818f08",
        "t10k-labels-idx1-ubyte.gz": "437058f730ed63258620fe09b3b3a7ee67d7a9f047643c4b0b5803051ec3b91f",
    },
}
for _full, _digests in _SAMPLE_SHA256.items():
    _parent = _REGISTRY[_full]
    register_dataset(DatasetInfo(
        f"{_full}_sample", _parent.class_names, sha256=_digests,
        description=f"Bundled sample of {_parent.name}: 5,000 train and 1,000 test images",
        license=_parent.license, bundled_dir=_SAMPLES_DIR / _full,
    ))
