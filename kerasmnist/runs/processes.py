"""The processes of a run: starting, watching and stopping the children that run trials.

Two kinds of run use children, through the one loop here (`watch`):

- a long search continues in fresh processes (`continue_in_children`), one after
  another, so that TensorFlow's memory of the models built never piles up;
- a distributed search (`run_workers`) runs keras-tuner's chief and workers side
  by side on this machine.

Each child is `python -m kerasmnist.runs.worker RUN_DIR` (`worker_command`), its
output in `RUN_DIR/workers/<name>.log`; the children append to the run's event
log, and the loop hands each new event to the run's listeners. This module
imports neither Keras nor keras-tuner.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasmnist.errors import RunError
from kerasmnist.events import EventTail
from kerasmnist.runs.rundir import EVENTS_FILE

__all__ = ["EXIT_MORE_TRIALS", "EXIT_STATUS", "EXIT_TIME_UP", "Child", "Listener", "continue_in_children",
           "run_workers", "spawn", "watch", "worker_command"]

Listener = Callable[[dict[str, Any]], None]

EXIT_MORE_TRIALS = 75
"""Exit status of a search process that ran its share of trials and left the rest."""
EXIT_TIME_UP = 76
"""Exit status of a search process that stopped at the search's time limit."""
EXIT_STATUS = {"done": 0, "more": EXIT_MORE_TRIALS, "time": EXIT_TIME_UP}
"""The exit status of a search process for each outcome of `kerasmnist.runs.engine.search_worker`."""

WORKER_MODULE = "kerasmnist.runs.worker"
STOP_TIMEOUT = 30.0
"""Seconds a child is given to stop after a signal before it is killed."""


def worker_command(
    run_dir: str | os.PathLike[str], *, max_trials: int | None = None, deadline: float | None = None
) -> list[str]:
    """The command of a search process on `run_dir` (see `kerasmnist.runs.worker`)."""
    command = [sys.executable, "-m", WORKER_MODULE, str(run_dir)]
    if max_trials:
        command += ["--max-trials", str(max_trials)]
    if deadline is not None:
        command += ["--deadline", repr(deadline)]
    return command


@dataclass
class Child:
    """A process started by `spawn`.

    Attributes:
        name: Its name in the run (`chief`, `worker0`, `continue-1`).
        process: The process.
        log: The file holding its standard output and error.
    """

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def alive(self) -> bool:
        """Whether it is still running."""
        return self.process.poll() is None

    def exited(self) -> bool:
        """Whether it has ended (for `watch`'s `until`)."""
        return not self.alive

    def output_tail(self, lines: int = 5) -> str:
        """The last lines of its output."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, signum: int = signal.SIGINT, timeout: float = STOP_TIMEOUT) -> None:
        """Sends `signum` (a graceful stop) and waits; kills it after `timeout` seconds."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signum)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        if self.alive:
            self.process.kill()
            self.process.wait()


def spawn(run_dir: Path, name: str, command: Sequence[str], env: Mapping[str, str]) -> Child:
    """Starts `command` as the child `name` of the run in `run_dir`, logging to `workers/<name>.log`."""
    logs = run_dir / "workers"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{name}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(command), env=dict(env), stdout=log, stderr=subprocess.STDOUT)
    return Child(name, process, log_path)


def watch(
    children: Sequence[Child],
    tail: EventTail,
    listeners: Sequence[Listener],
    *,
    until: Callable[[], bool],
    poll_interval: float = 0.2,
) -> None:
    """Hands the children's new events to `listeners` until `until()` holds.

    If this process is interrupted meanwhile (Ctrl-C, SIGTERM turned into
    `KeyboardInterrupt`), every child is asked to stop (SIGINT: a search process
    leaves its trial to be restarted), waited for, and the interruption goes on.
    """
    try:
        while not until():
            relay(tail, listeners)
            time.sleep(poll_interval)
        relay(tail, listeners)
    except BaseException:
        for child in children:
            child.stop()
        raise


def relay(tail: EventTail, listeners: Sequence[Listener]) -> None:
    """Hands each event appended since the last call to every listener."""
    for event in tail.poll():
        for listener in listeners:
            listener(event)


def continue_in_children(
    run_dir: Path, trials_per_process: int | None, listeners: Sequence[Listener], deadline: float | None
) -> bool:
    """Runs the rest of a search in fresh processes, `trials_per_process` trials each.

    Returns:
        Whether the search stopped at its time limit (`deadline`).

    Raises:
        RunError: A search process failed; the end of its output is in the message.
    """
    tail = _tail_from_now(run_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERASTUNER_")}
    number = 0
    while True:  # one process after another, until one ends the search
        number += 1
        child = spawn(run_dir, f"continue-{number}",
                      worker_command(run_dir, max_trials=trials_per_process, deadline=deadline), env)
        watch([child], tail, listeners, until=child.exited)
        code = child.process.returncode
        if code == EXIT_STATUS["done"]:
            return False
        if code == EXIT_TIME_UP:
            return True
        if code != EXIT_MORE_TRIALS:
            raise RunError(f"The search process failed (exit status {code}); the end of its output "
                           f"({child.log}):\n{child.output_tail()}")


def run_workers(
    run_dir: Path, workers: int, port: int, listeners: Sequence[Listener], *, poll_interval: float = 0.5
) -> None:
    """Runs keras-tuner's distributed search: a chief on `127.0.0.1:port` and `workers` workers.

    Returns when every worker is done (the chief, which serves for ever, is then
    stopped).

    Raises:
        RunError: A worker failed; the end of its output is in the message.
    """
    tail = _tail_from_now(run_dir)
    children = []
    for tuner_id in ["chief", *(f"worker{i}" for i in range(workers))]:
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(port)}
        children.append(spawn(run_dir, tuner_id, worker_command(run_dir), env))
    chief, rest = children[0], children[1:]
    watch(children, tail, listeners, poll_interval=poll_interval,
          until=lambda: chief.exited() or all(c.exited() for c in rest))
    for child in rest:
        child.process.wait()
    chief.stop(signal.SIGTERM)
    failed = [c for c in rest if c.process.returncode != 0]
    if failed:
        raise RunError(f"Distributed search process(es) {sorted(c.name for c in failed)} failed (exit "
                       f"status {failed[0].process.returncode}); the end of {failed[0].name}'s output:\n"
                       + failed[0].output_tail())


def _tail_from_now(run_dir: Path) -> EventTail:
    tail = EventTail(run_dir / EVENTS_FILE)
    tail.poll()  # the listeners have seen everything so far
    return tail
