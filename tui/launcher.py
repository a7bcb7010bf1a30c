"""Runs started as `python -m kerasmnist.cli` subprocesses: the command line's own code path.

The run engine never runs in the interface's process: a crash, a slow epoch or
TensorFlow's start-up cannot freeze it, and the run directory a launch writes is
the same one `kerasmnist train` or `kerasmnist search` would write. A launch is
stopped with SIGINT, which the command turns into a graceful stop that leaves a
resumable directory (exit status 130).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kerasmnist.runs.spec import RunSpec

__all__ = ["LaunchedRun", "Launcher", "cli_args", "new_run_dir", "resume_args"]

CLI_MODULE = "kerasmnist.cli"
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

# Spec fields the `train` command does not take: they only mean something in a search.
_SEARCH_ONLY = ("trials", "executions_per_trial", "best_model", "hyperband_factor", "max_failed_trials")
# Fields always written out, so the command reads on its own.
_ALWAYS = ("dataset", "model", "epochs")
# Boolean fields: the flag that sets each to its non-default value.
_SWITCHES = {"full_eval": "--no-full-eval", "csv_log": "--no-csv", "tensorboard": "--tensorboard"}


def cli_args(
    spec: RunSpec, run_dir: str | os.PathLike[str], overrides: Mapping[str, Any] | None = None
) -> list[str]:
    """The `kerasmnist` arguments that run `spec` in `run_dir`, quietly, with a JSON result.

    Fields left at their defaults are left out, except the data set, the model
    and the epochs.

    Args:
        spec: What to run.
        run_dir: The run directory.
        overrides: Hyperparameter overrides in place of `spec.overrides`, for
            overrides not yet checked: the command checks them against the
            hypermodel's space (which needs keras-tuner) and reports a bad one
            as a usage error. Defaults to `None` (`spec.overrides`).

    Example:

    >>> spec = RunSpec(search="random", trials=3, epochs=2, limit=500)  # doctest: +SKIP
    >>> cli_args(spec, "runs/a")  # doctest: +SKIP
    ['search', '--search', 'random', '--dataset', 'mnist_sample', '--model', 'mlp', '--trials', '3',
     '--epochs', '2', '--limit', '500', '--run-dir', 'runs/a', '--quiet', '--json']
    """
    searching = spec.search != "none"
    args = ["search", "--search", spec.search] if searching else ["train"]
    for f in dataclasses.fields(spec):
        name, value = f.name, getattr(spec, f.name)
        if name in ("search", "overrides") or (not searching and name in _SEARCH_ONLY):
            continue
        if name in _SWITCHES:
            if value != f.default:
                args.append(_SWITCHES[name])
            continue
        required = name in _ALWAYS or (searching and name == "trials")
        if value is None or (value == f.default and type(value) is type(f.default) and not required):
            continue
        args += ["--" + name.replace("_", "-"), repr(value) if isinstance(value, float) else str(value)]
    for name, value in (spec.overrides if overrides is None else overrides).items():
        args += ["--set", f"{name}={_override_text(value)}"]
    return [*args, "--run-dir", str(run_dir), "--quiet", "--json"]


def resume_args(run_dir: str | os.PathLike[str]) -> list[str]:
    """The `kerasmnist` arguments that resume the run in `run_dir`."""
    return ["resume", str(run_dir), "--quiet", "--json"]


def new_run_dir(
    runs_dir: str | os.PathLike[str], spec: RunSpec, now: datetime.datetime | None = None
) -> Path:
    """A new directory name for `spec` under `runs_dir`, named as the command line names them.

    `<time>-<dataset>-<model>[-<search>]`, with `-2`, `-3`, ... added if taken.
    """
    stamp = (now or datetime.datetime.now()).strftime("%Y%m%d-%H%M%S")
    name = f"{stamp}-{spec.dataset}-{spec.model}" + (f"-{spec.search}" if spec.search != "none" else "")
    path, n = Path(runs_dir) / name, 1
    while path.exists():
        n += 1
        path = Path(runs_dir) / f"{name}-{n}"
    return path


def _override_text(value: Any) -> str:
    """A hyperparameter override as `kerasmnist --set` reads it back (see `parse_override`)."""
    if isinstance(value, tuple):
        return f"{_override_text(value[0])}..{_override_text(value[1])}"
    if isinstance(value, list):
        return "[" + ", ".join(_override_text(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(str(value))  # a TOML basic string


class LaunchedRun:
    """One `kerasmnist` process started by a `Launcher`.

    Attributes:
        run_dir: The run directory it writes.
        args: Its `kerasmnist` arguments.
        process: The process.
        started: Unix time of the launch.
        stopping: Whether a stop was asked for.
    """

    def __init__(self, run_dir: Path, args: list[str], process: subprocess.Popen[bytes],
                 stdout: Path, stderr: Path) -> None:
        self.run_dir = run_dir
        self.args = args
        self.process = process
        self.started = time.time()
        self.stopping = False
        self._stdout, self._stderr = stdout, stderr

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        """Its exit status, or `None` while it runs."""
        return self.process.poll()

    @property
    def command(self) -> str:
        """The equivalent command line, for the user to read or copy."""
        return shlex.join(["kerasmnist", *self.args])

    def stop(self) -> bool:
        """Asks the run to stop gracefully (SIGINT); returns whether a signal was sent."""
        if not self.alive or self.stopping:
            return False
        self.stopping = True
        try:
            self.process.send_signal(signal.SIGINT)
        except ProcessLookupError:
            return False
        return True

    def kill(self) -> None:
        """Ends the process at once (SIGKILL) and reaps it."""
        if self.alive:
            self.process.kill()
        self.process.wait()

    def result(self) -> dict[str, Any] | None:
        """The JSON document the command printed, once it has exited (`None` if none)."""
        if self.alive:
            return None
        try:
            value = json.loads(self._stdout.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def error(self) -> str | None:
        """Why the process failed: its JSON error, or the end of its standard error.

        `None` while it runs, and after a success or a graceful stop (exit status
        130, or death by the SIGINT it was sent).
        """
        code = self.returncode
        if code is None or code in (0, EXIT_INTERRUPTED, -signal.SIGINT):
            return None
        result = self.result() or {}
        if result.get("status") == "interrupted":
            return None
        if result.get("error"):
            return str(result["error"])
        try:
            lines = self._stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            lines = []
        return "\n".join(lines[-5:]) or f"kerasmnist exited with status {code}"

    def error_field(self) -> str | None:
        """The run-spec field a usage error names (`Invalid run spec: field `epochs`: ...`)."""
        message = self.error() if self.returncode == EXIT_USAGE else None
        match = re.search(r"field `([^`]+)`", message or "") or re.search(
            r"argument `--?([\w-]+)`", message or "")
        return match.group(1).replace("-", "_").split(".")[0] if match else None


class Launcher:
    """Starts, tracks and stops `kerasmnist` processes.

    Each process's output goes to files in a private temporary directory: its
    standard output (the JSON result) and standard error (for a crash's message).

    Args:
        python: The interpreter that runs `-m kerasmnist.cli`. Defaults to
            `sys.executable`.
        env: Extra environment variables for the processes. Defaults to none.
    """

    def __init__(self, python: str | None = None, env: dict[str, str] | None = None) -> None:
        self.python = python or sys.executable
        self.env = dict(env or {})
        self.runs: list[LaunchedRun] = []
        self._logs: Path | None = None

    def launch(self, spec: RunSpec, run_dir: str | os.PathLike[str],
               overrides: Mapping[str, Any] | None = None) -> LaunchedRun:
        """Starts a new run of `spec` in `run_dir` (with `overrides`, see `cli_args`)."""
        return self.start(cli_args(spec, Path(run_dir).absolute(), overrides), run_dir)

    def resume(self, run_dir: str | os.PathLike[str]) -> LaunchedRun:
        """Starts `kerasmnist resume` on `run_dir`."""
        return self.start(resume_args(Path(run_dir).absolute()), run_dir)

    def start(self, args: list[str], run_dir: str | os.PathLike[str]) -> LaunchedRun:
        """Starts `python -m kerasmnist.cli ARGS`, tracked under `run_dir`.

        The process gets a session of its own, so that the terminal's signals
        reach only the interface, which passes on a stop as SIGINT.
        """
        if self._logs is None:
            self._logs = Path(tempfile.mkdtemp(prefix="kerasmnist-tui-"))
        n = len(self.runs)
        stdout, stderr = self._logs / f"{n}.out", self._logs / f"{n}.err"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               **self.env}
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            process = subprocess.Popen([self.python, "-m", CLI_MODULE, *args], stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, env=env, start_new_session=True)
        launched = LaunchedRun(Path(run_dir), list(args), process, stdout, stderr)
        self.runs.append(launched)
        return launched

    def get(self, run_dir: str | os.PathLike[str]) -> LaunchedRun | None:
        """The latest process started on `run_dir`, or `None`."""
        key = _key(run_dir)
        return next((r for r in reversed(self.runs) if _key(r.run_dir) == key), None)

    def active(self) -> list[LaunchedRun]:
        """The processes still running."""
        return [r for r in self.runs if r.alive]

    def stop_all(self) -> int:
        """Asks every running process to stop; returns how many were asked."""
        return sum(r.stop() for r in self.active())

    def close(self, *, wait: float = 0.0) -> None:
        """Forgets finished processes and their output files.

        Args:
            wait: Seconds to wait for stopping processes to exit before
                forgetting them. Defaults to `0.0`. Processes still running
                are left to run (they need nothing from the interface).
        """
        deadline = time.monotonic() + wait
        for run in self.runs:
            while run.stopping and run.alive and time.monotonic() < deadline:
                time.sleep(0.05)
        self.runs = [r for r in self.runs if r.alive]
        if self._logs is not None and not self.runs:
            for path in self._logs.iterdir():
                path.unlink(missing_ok=True)
            self._logs.rmdir()
            self._logs = None


def _key(path: str | os.PathLike[str]) -> str:
    return os.path.normcase(os.path.abspath(path))
