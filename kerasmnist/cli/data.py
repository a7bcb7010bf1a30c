"""`kerasmnist data`: list, fetch, verify and describe the registered data sets.

None of these commands imports Keras, so they answer in well under a second.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from kerasmnist.cli.common import EXIT_FAILED, EXIT_OK, add_json_flag, console, emit_json
from kerasmnist.datasets import (
    ROLES,
    SPLITS,
    Dataset,
    FileCheck,
    dataset_names,
    get_dataset_info,
    load_dataset,
    locate,
    verify_files,
)

__all__ = ["register", "validation_size"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Adds `data` and its actions `list`, `fetch`, `verify` and `info`."""
    parser = subparsers.add_parser(
        "data", help="list, fetch, verify and describe data sets",
        description="List, fetch, verify and describe the registered MNIST-family data sets.",
    )
    actions = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", help="every registered data set and where its files are",
        description="Lists every registered data set and the directory its four files are "
                    "found in, searched as load_dataset() does. Downloads nothing.",
    )
    _add_data_dir(listing, "a directory to search first")
    add_json_flag(listing)
    listing.set_defaults(func=list_datasets)

    fetch = actions.add_parser(
        "fetch", help="find or download a data set's files",
        description="Finds a data set's four files, downloading and verifying the missing "
                    "ones, and prints where they are.",
    )
    _add_name(fetch)
    _add_data_dir(fetch, "a directory to search first and to download into (default: the "
                         "Keras cache, ~/.keras/datasets/NAME)")
    add_json_flag(fetch)
    fetch.set_defaults(func=fetch_dataset)

    verify = actions.add_parser(
        "verify", help="check a data set's files against their recorded SHA-256",
        description="Hashes each of a data set's local files afresh and compares it with the "
                    "recorded SHA-256. Exits with 1 if a file is missing, unreadable or differs.",
    )
    _add_name(verify)
    _add_data_dir(verify, "check the files in this directory (or its NAME/ sub-directory) "
                          "instead of the ones load_dataset() would find")
    add_json_flag(verify)
    verify.set_defaults(func=verify_dataset)

    info = actions.add_parser(
        "info", help="split sizes, image shape, classes and class counts",
        description="Loads a data set and shows its split sizes, image shape, class names and "
                    "the number of examples of each class in each split.",
    )
    _add_name(info)
    add_split_arguments(info)
    _add_data_dir(info, "a directory to search first and to download into")
    add_json_flag(info)
    info.set_defaults(func=describe_dataset)


def validation_size(text: str) -> int | float:
    """Parses `--validation`: a count of examples (`5000`) or a fraction (`0.1`).

    Raises:
        argparse.ArgumentTypeError: `text` is neither an integer nor a number.
    """
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count of examples (e.g. 5000) or a fraction of the training file "
            f"(e.g. 0.1), received {text!r}"
        ) from None


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds `--validation` and `--seed`, passed on to `load_dataset`."""
    parser.add_argument("--validation", type=validation_size, default=0.1, metavar="V",
                        help="validation set carved from the training file: a count or a "
                             "fraction (default: 0.1)")
    parser.add_argument("--seed", type=int, default=0, metavar="S",
                        help="seed of the validation split (default: 0)")


def list_datasets(args: argparse.Namespace) -> int:
    """Runs `kerasmnist data list`."""
    entries: list[dict[str, Any]] = []
    for name in dataset_names():
        info = get_dataset_info(name)
        found = locate(info, args.data_dir)
        entries.append({
            "name": info.name,
            "description": info.description,
            "num_classes": info.num_classes,
            "class_names": list(info.class_names),
            "image_shape": list(info.image_shape),
            "bundled": info.bundled_dir is not None,
            "downloadable": bool(info.mirrors),
            "found": found is not None,
            "directory": str(found[0]) if found else None,
            "files": {role: str(path) for role, path in found[1].items()} if found else {},
        })
    if args.json:
        emit_json({"datasets": entries})
        return EXIT_OK
    table = Table(title="Registered data sets")
    table.add_column("name", no_wrap=True)
    table.add_column("classes", justify="right")
    table.add_column("description")
    table.add_column("local files", overflow="fold")  # a path must stay whole, never "…"
    for entry in entries:
        if entry["found"]:
            where = escape(entry["directory"])
        elif entry["downloadable"]:
            where = f"[yellow]not found[/] (kerasmnist data fetch {entry['name']})"
        else:
            where = "[red]not found[/] (no download mirror)"
        table.add_row(entry["name"], str(entry["num_classes"]), escape(entry["description"]), where)
    console().print(table)
    return EXIT_OK


def fetch_dataset(args: argparse.Namespace) -> int:
    """Runs `kerasmnist data fetch`."""
    info = get_dataset_info(args.name)
    already = locate(info, args.data_dir)
    dataset = load_dataset(info, data_dir=args.data_dir, validation=0, download=True)
    directory = _directory_of(dataset)
    result = {
        "name": info.name,
        "downloaded": already is None,
        "directory": str(directory),
        "files": {role: str(path) for role, path in dataset.files.items()},
        "train_examples": len(dataset.y_train),
        "test_examples": len(dataset.y_test),
    }
    if args.json:
        emit_json(result)
        return EXIT_OK
    out = console()
    how = "downloaded to" if already is None else "found in"
    out.print(f"{info.name}: {how} {escape(str(directory))}")
    for role, path in dataset.files.items():
        out.print(f"  {role:<13} {escape(str(path))}")
    height, width = dataset.image_shape
    checked = all(info.recorded_digest(role) is not None for role in ROLES)
    out.print(f"{len(dataset.y_train):,} training and {len(dataset.y_test):,} test images of "
              f"{height}x{width}, {dataset.num_classes} classes"
              + ("; checksums verified." if checked else "; no checksums recorded."))
    return EXIT_OK


def verify_dataset(args: argparse.Namespace) -> int:
    """Runs `kerasmnist data verify`; exits with 1 unless every file verifies."""
    result = verify_files(args.name, args.data_dir)
    checks, directory, ok = result.files, result.directory, result.ok
    if args.json:
        emit_json({
            "name": result.name,
            "directory": str(directory) if directory else None,
            "searched": [str(d) for d in result.searched] if directory is None else [],
            "ok": ok,
            "files": [{"role": c.role, "file": c.filename, "path": str(c.path) if c.path else None,
                       "status": c.status, "expected": c.expected, "found": c.found,
                       "digest_of": c.digest_of, "detail": c.detail} for c in checks],
        })
        return EXIT_OK if ok else EXIT_FAILED
    out = console()
    if directory is None:
        out.print(f"{result.name}: no file found. Searched, in order:")
        for searched in result.searched:
            out.print(f"  {escape(str(searched))}")
    else:
        out.print(f"{result.name}: verifying the files in {escape(str(directory))}")
    for check in checks:
        out.print(_check_line(check))
    failures = sum(check.failed for check in checks)
    if failures:
        out.print(f"[red]{failures} of {len(checks)} files failed verification.[/]")
    elif all(check.status == "unchecked" for check in checks):
        out.print(f"No checksum is recorded for {result.name}: nothing could be verified.")
    else:
        out.print("[green]Every file matches its recorded SHA-256.[/]")
    return EXIT_OK if ok else EXIT_FAILED


def describe_dataset(args: argparse.Namespace) -> int:
    """Runs `kerasmnist data info`."""
    info = get_dataset_info(args.name)
    dataset = load_dataset(info, data_dir=args.data_dir, validation=args.validation, seed=args.seed)
    sizes = {split: len(dataset.raw(split)[1]) for split in SPLITS}
    counts = {split: dataset.class_counts(split) for split in SPLITS}
    if args.json:
        emit_json({
            "name": info.name,
            "description": info.description,
            "image_shape": list(dataset.image_shape),
            "num_classes": dataset.num_classes,
            "class_names": list(dataset.class_names),
            "validation": args.validation,
            "seed": args.seed,
            "sizes": sizes,
            "class_counts": counts,
            "files": {role: str(path) for role, path in dataset.files.items()},
        })
        return EXIT_OK
    out = console()
    out.print(f"{info.name}: {escape(info.description)}")
    shape = "x".join(str(d) for d in dataset.image_shape)
    out.print(f"Images of {shape} pixels, {dataset.num_classes} classes; "
              f"validation={args.validation} (seed {args.seed}) of the training file.")
    out.print("Files: " + escape(str(_directory_of(dataset))))
    table = Table(title="Examples per class")
    table.add_column("class")
    for split in SPLITS:
        table.add_column(split, justify="right")
    for label, name in enumerate(dataset.class_names):
        table.add_row(escape(_class_label(label, name)),
                      *(f"{int(counts[split][label]):,}" for split in SPLITS))
    table.add_section()
    table.add_row("total", *(f"{sizes[split]:,}" for split in SPLITS), style="bold")
    out.print(table)
    return EXIT_OK


def _add_name(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME",
                        help="a registered data set (see `kerasmnist data list`)")


def _add_data_dir(parser: argparse.ArgumentParser, help_text: str) -> None:
    parser.add_argument("--data-dir", metavar="DIR", default=None, help=help_text)


def _check_line(check: FileCheck) -> str:
    name = escape(str(check.path) if check.path else check.filename)
    if check.status == "ok":
        return f"  [green]OK[/]          {name}"
    if check.status == "missing":
        return f"  [red]MISSING[/]     {escape(check.filename)}"
    if check.status == "unchecked":
        return f"  [yellow]UNCHECKED[/]   {name} (no checksum recorded)"
    if check.status == "unreadable":
        return f"  [red]UNREADABLE[/]  {name}: {escape(check.detail)}"
    what = "decompressed content" if check.digest_of == "content" else "file"
    return (f"  [red]MISMATCH[/]    {name}\n"
            f"      expected SHA-256 of the {what} {check.expected}\n"
            f"      found                          {check.found}")


def _directory_of(dataset: Dataset) -> Path:
    """The directory of a loaded data set's files (`load_dataset` takes all four from one)."""
    return next(iter(dataset.files.values())).parent


def _class_label(label: int, name: str) -> str:
    return name if name == str(label) else f"{label} {name}"
