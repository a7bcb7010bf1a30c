"""Runs prepared here and run by `python -m kerasmnist.cli resume DIR`, each in its own process.

A new run goes in two steps. The interface writes the run directory with the
library's Keras-free `kerasmnist.runs.prepare.prepare_run_dir` (the resolved
`spec.toml`, nothing else), then starts `kerasmnist resume DIR --quiet --json`
on it: the command line's own code path, which reads the spec, checks what the
interface could not check without keras-tuner (a hypermodel's overrides) and
runs. The run engine never runs in the interface's process: a crash, a slow
epoch or TensorFlow's start-up cannot freeze it.

A process that fails prints one JSON document (`kerasmnist.errors.error_details`:
`error`, `error_type`, `field`, `detail`), which `LaunchedRun.error_details`
reads back as data. A run is stopped with SIGINT, which the command turns into
a graceful stop that leaves a resumable directory (exit status 130).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kerasmnist.runs.prepare import prepare_run_dir
from kerasmnist.runs.spec import RunSpec

__all__ = ["LaunchedRun", "Launcher", "resume_args"]

CLI_MODULE = "kerasmnist.cli"
EXIT_INTERRUPTED = 130


def resume_args(run_dir: str | os.PathLike[str]) -> list[str]:
    """The `kerasmnist` arguments that run (or resume) the run in `run_dir`, quietly, with a JSON result.

    Example:

    >>> resume_args("runs/a")
    ['resume', 'runs/a', '--quiet', '--json']
    """
    return ["resume", str(run_dir), "--quiet", "--json"]


class LaunchedRun:
    """One `kerasmnist resume` process started by a `Launcher`.

    Attributes:
        run_dir: The run directory it runs.
        args: Its `kerasmnist` arguments.
        process: The process.
        stdout: The file holding its standard output (the JSON document).
        stderr: The file holding its standard error (a crash's message).
        started: Unix time of the launch.
        stopping: Whether a stop was asked for.
    """

    def __init__(self, run_dir: Path, args: list[str], process: subprocess.Popen[bytes],
                 stdout: Path, stderr: Path) -> None:
        self.run_dir = run_dir
        self.args = args
        self.process = process
        self.stdout, self.stderr = stdout, stderr
        self.started = time.time()
        self.stopping = False

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
        """The command that runs it from a terminal, for the user to read or copy."""
        return shlex.join(["kerasmnist", "resume", str(self.run_dir)])

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
            value = json.loads(self.stdout.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def error_details(self) -> dict[str, Any] | None:
        """Why the process failed, as data: `error`, `error_type`, `field` and `detail`.

        The JSON error document the command printed (see
        `kerasmnist.errors.error_details`); `field` names the run-spec field a
        spec error is about (`"overrides"`), else it is `None`. A process that
        printed no document (a crash) gives the end of its standard error as
        `error`, and `None` for the rest.

        Returns:
            `None` while it runs, and after a success or a graceful stop (exit
            status 130, or death by the SIGINT it was sent).
        """
        code = self.returncode
        if code is None or code in (0, EXIT_INTERRUPTED, -signal.SIGINT):
            return None
        result = self.result() or {}
        if result.get("status") == "interrupted":
            return None
        if result.get("error"):
            return {"error": str(result["error"]), "error_type": result.get("error_type"),
                    "field": result.get("field"), "detail": result.get("detail")}
        try:
            lines = self.stderr.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            lines = []
        message = "\n".join(lines[-5:]) or f"kerasmnist exited with status {code}"
        return {"error": message, "error_type": None, "field": None, "detail": None}

    def error(self) -> str | None:
        """Why the process failed, as a message (see `error_details`); `None` if it did not."""
        details = self.error_details()
        return None if details is None else str(details["error"])


class Launcher:
    """Prepares, starts, tracks and stops `kerasmnist` processes.

    Each process's output goes to files in a private temporary directory: its
    standard output (the JSON result) and standard error (for a crash's message).

    Args:
        python: The interpreter that runs `-m kerasmnist.cli`. Defaults to
            `sys.executable`.
        env: Extra environment variables for the processes. Defaults to none.

    Example:

    >>> launcher = Launcher()  # doctest: +SKIP
    >>> run = launcher.launch(RunSpec(epochs=1, limit=500), "runs/quick")  # doctest: +SKIP
    >>> run.command  # doctest: +SKIP
    'kerasmnist resume runs/quick'
    """

    def __init__(self, python: str | None = None, env: dict[str, str] | None = None) -> None:
        self.python = python or sys.executable
        self.env = dict(env or {})
        self.runs: list[LaunchedRun] = []
        self._logs: Path | None = None

    def launch(self, spec: RunSpec, run_dir: str | os.PathLike[str]) -> LaunchedRun:
        """Writes `spec` into `run_dir` (`prepare_run_dir`), then runs it (`resume`).

        Raises:
            SpecError: The spec already in `run_dir` is invalid.
            InvalidArgumentError: `run_dir` is a file, or holds a different run.
        """
        prepare_run_dir(spec, run_dir)
        return self.resume(run_dir)

    def resume(self, run_dir: str | os.PathLike[str]) -> LaunchedRun:
        """Starts `kerasmnist resume` on `run_dir`, a prepared or an interrupted run.

        The process gets a session of its own, so that the terminal's signals
        reach only the interface, which passes on a stop as SIGINT.
        """
        if self._logs is None:
            self._logs = Path(tempfile.mkdtemp(prefix="kerasmnist-tui-"))
        n = len(self.runs)
        stdout, stderr = self._logs / f"{n}.out", self._logs / f"{n}.err"
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": os.environ.get("TF_CPP_MIN_LOG_LEVEL", "3"),
               **self.env}
        args = resume_args(Path(run_dir).absolute())
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            process = subprocess.Popen([self.python, "-m", CLI_MODULE, *args], stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err, env=env, start_new_session=True)
        launched = LaunchedRun(Path(run_dir), args, process, stdout, stderr)
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
