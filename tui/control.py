"""Cancel and resume, shared by the runs list and the run view."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from kerasmnist.runs.rundir import running_pid

if TYPE_CHECKING:
    from kerasmnist_tui.app import KerasMnistApp

__all__ = ["cancel_run", "resume_run"]


def cancel_run(app: KerasMnistApp, run_dir: Path, status: str) -> bool:
    """Asks the run in `run_dir` to stop gracefully; tells the user what happened.

    Returns:
        Whether a stop was sent.
    """
    launched = app.launcher.get(run_dir)
    if launched is not None and launched.alive:
        if launched.stop():
            app.notify(f"Stopping {run_dir.name}: the run records where it stopped and can be resumed (r).",
                       title="Cancel")
            return True
        app.notify(f"{run_dir.name} is already stopping.", title="Cancel")
        return False
    pid = running_pid(run_dir)
    if pid is not None and pid > 0:  # started elsewhere: the lock file names its process
        try:
            os.kill(pid, signal.SIGINT)
        except OSError as error:
            app.notify(f"Could not stop {run_dir.name} (process {pid}): {error.strerror}.",
                       title="Cancel", severity="warning")
            return False
        app.notify(f"Stopping {run_dir.name} (process {pid}, started elsewhere): it records where it "
                   "stopped and can be resumed (r).", title="Cancel")
        return True
    if status == "running":
        app.notify(f"{run_dir.name} was started outside this window: stop it there with Ctrl-C (or send "
                   "its process SIGINT).", title="Cancel", severity="warning")
    else:
        app.notify(f"{run_dir.name} is not running ({status}).", title="Cancel", severity="warning")
    return False


def resume_run(app: KerasMnistApp, run_dir: Path, status: str) -> bool:
    """Starts `kerasmnist resume` on an interrupted (or failed) run.

    Returns:
        Whether a process was started.
    """
    launched = app.launcher.get(run_dir)
    if (launched is not None and launched.alive) or status in ("running", "starting", "stopping"):
        app.notify(f"{run_dir.name} is already running.", title="Resume", severity="warning")
        return False
    if status == "finished":
        app.notify(f"{run_dir.name} has finished: nothing to resume.", title="Resume", severity="warning")
        return False
    app.launcher.resume(run_dir)
    app.notify(f"Resuming {run_dir.name}: completed trials are kept, an interrupted one starts over.",
               title="Resume")
    return True
