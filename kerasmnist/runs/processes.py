"""The processes of a run: starting, watching and stopping the children that run trials.

Two kinds of run use children, through the one loop here (`watch`):

- a long search continues in fresh processes (`continue_in_children`), one after
  another, so that TensorFlow's memory of the models built never piles up;
- a distributed search (`run_workers`) runs keras-tuner's chief and workers side
  by side on this machine.

Each child is `python -m kerasmnist.runs.worker RUN_DIR` (`worker_command`), its
output in `RUN_DIR/workers/<name>.log`; the children append to the run's event
log, and the loop hands each new event to the run's listeners.

A child never outlives the process that started it, nor writes the run
directory without its lock: it inherits the parent's lock (an open descriptor,
`LOCK_FD_VARIABLE`), and it asks the kernel to kill it when the parent dies
(`bind_to_parent`), so that killing the parent at any moment, even with
SIGKILL, leaves no process behind and a directory that resumes. This module
imports neither Keras nor keras-tuner.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerasmnist.errors import RunError
from kerasmnist.events import EventTail
from kerasmnist.runs.rundir import EVENTS_FILE, RunLock

__all__ = ["EXIT_MORE_TRIALS", "EXIT_STATUS", "EXIT_TIME_UP", "LOCK_FD_VARIABLE", "PARENT_VARIABLE", "Child",
           "Listener", "bind_to_parent", "continue_in_children", "inherited_lock", "rss_mb", "run_workers",
           "spawn", "watch", "worker_command"]

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
LOCK_FD_VARIABLE = "KERASMNIST_RUN_LOCK_FD"
"""The environment variable naming the descriptor of the run's lock that a child inherits."""
PARENT_VARIABLE = "KERASMNIST_PARENT_PID"
"""The environment variable holding the process id of a child's parent."""
_PR_SET_PDEATHSIG = 1  # prctl(2)


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


def spawn(
    run_dir: Path, name: str, command: Sequence[str], env: Mapping[str, str], *, lock: RunLock | None = None
) -> Child:
    """Starts `command` as the child `name` of the run in `run_dir`, logging to `workers/<name>.log`.

    Args:
        run_dir: The run directory.
        name: The child's name.
        command: Its command line.
        env: Its environment.
        lock: The run's lock, held by this process, for the child to share.
    """
    logs = run_dir / "workers"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{name}.log"
    env = {k: v for k, v in env.items() if k != LOCK_FD_VARIABLE}
    env[PARENT_VARIABLE] = str(os.getpid())
    pass_fds: tuple[int, ...] = ()
    if lock is not None and lock.fd >= 0:
        env[LOCK_FD_VARIABLE] = str(lock.fd)
        pass_fds = (lock.fd,)
    with open(log_path, "wb") as log:
        process = subprocess.Popen(list(command), env=env, stdout=log, stderr=subprocess.STDOUT,
                                   pass_fds=pass_fds)
    return Child(name, process, log_path)


def bind_to_parent() -> None:
    """Makes this process (a child started by `spawn`) end when its parent does.

    On Linux the kernel kills it the moment the parent dies (`PR_SET_PDEATHSIG`
    with SIGKILL: its trial is left to be restarted on resume, as after any
    kill); elsewhere a thread checks the parent once a second. A process whose
    parent is already gone ends at once. Does nothing in a process that
    `spawn` did not start.
    """
    expected = os.environ.get(PARENT_VARIABLE, "")
    if not expected.isdigit():
        return
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0:
            _end_if_orphaned(int(expected))  # the parent may have died before the call
            return
    threading.Thread(target=_watch_parent, args=(int(expected),), name="kerasmnist-parent-watch",
                     daemon=True).start()


def _watch_parent(parent: int) -> None:
    while True:
        _end_if_orphaned(parent)
        time.sleep(1.0)


def _end_if_orphaned(parent: int) -> None:
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGKILL)


def inherited_lock(run_dir: str | os.PathLike[str]) -> RunLock | None:
    """The run's lock, if this process's parent handed it down (`spawn`'s `lock`), else `None`.

    Raises:
        RunError: The descriptor handed down is not the run's lock file.
    """
    fd = os.environ.get(LOCK_FD_VARIABLE, "")
    return RunLock.inherited(run_dir, int(fd)) if fd.isdigit() else None


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
    run_dir: Path,
    trials_per_process: int | None,
    listeners: Sequence[Listener],
    deadline: float | None,
    lock: RunLock | None = None,
) -> bool:
    """Runs the rest of a search in fresh processes, `trials_per_process` trials each.

    Args:
        run_dir: The run directory.
        trials_per_process: Trials each process runs, or `None` for all.
        listeners: Given each event the children write.
        deadline: Unix time after which no trial starts, or `None`.
        lock: The run's lock, held by this process, which the children share.

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
                      worker_command(run_dir, max_trials=trials_per_process, deadline=deadline), env,
                      lock=lock)
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
    run_dir: Path,
    workers: int,
    port: int,
    listeners: Sequence[Listener],
    *,
    poll_interval: float = 0.5,
    lock: RunLock | None = None,
) -> None:
    """Runs keras-tuner's distributed search: a chief on `127.0.0.1:port` and `workers` workers.

    Returns when every worker is done (the chief, which serves for ever, is then
    stopped). The children share `lock`, the run's lock held by this process.

    Raises:
        RunError: A worker failed; the end of its output is in the message.
    """
    tail = _tail_from_now(run_dir)
    children = []
    for tuner_id in ["chief", *(f"worker{i}" for i in range(workers))]:
        env = {**os.environ, "KERASTUNER_TUNER_ID": tuner_id, "KERASTUNER_ORACLE_IP": "127.0.0.1",
               "KERASTUNER_ORACLE_PORT": str(port)}
        children.append(spawn(run_dir, tuner_id, worker_command(run_dir), env, lock=lock))
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


def rss_mb() -> float | None:
    """The process's resident memory now, in MiB (Linux), or `None`."""
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            pages = int(stream.read().split()[1])
        return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _tail_from_now(run_dir: Path) -> EventTail:
    tail = EventTail(run_dir / EVENTS_FILE)
    tail.poll()  # the listeners have seen everything so far
    return tail
