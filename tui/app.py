"""The kerasmnist-tui app: its CSS, its bindings and how its screens connect."""

from __future__ import annotations

import os
from pathlib import Path

from kerasmnist_tui.index import RunIndex
from kerasmnist_tui.launcher import Launcher
from kerasmnist_tui.screens import NewRunScreen, QuitScreen, RunScreen, RunsScreen
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

__all__ = ["KerasMnistApp"]


class KerasMnistApp(App[None]):
    """Launches kerasmnist runs and follows them live, from the runs list to each run.

    Args:
        runs_dir: Where run directories are (and new ones go). Defaults to `"runs"`.
        launcher: Prepares run directories and starts and stops their `kerasmnist resume`
            processes. Defaults to a new `Launcher`.
        poll_interval: Seconds between reads of an open run's event log. Defaults to `0.5`.
        refresh_interval: Seconds between reads of the runs directory. Defaults to `1.5`.

    Example:

    >>> app = KerasMnistApp("runs")  # then app.run(), or `kerasmnist-tui`
    """

    CSS_PATH = "app.tcss"
    TITLE = "kerasmnist"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        runs_dir: str | os.PathLike[str] = "runs",
        *,
        launcher: Launcher | None = None,
        poll_interval: float = 0.5,
        refresh_interval: float = 1.5,
    ) -> None:
        super().__init__()
        self.runs_dir = Path(runs_dir)
        self.launcher = launcher or Launcher()
        self.index = RunIndex(self.runs_dir)
        self.poll_interval = poll_interval
        self.refresh_interval = refresh_interval

    def get_default_screen(self) -> Screen[None]:
        return RunsScreen()

    def new_run(self) -> None:
        """Opens the new-run form."""
        self.push_screen(NewRunScreen())

    def open_run(self, run_dir: str | os.PathLike[str], *, replace: bool = False) -> None:
        """Opens the run view of `run_dir` (in place of the current screen with `replace`)."""
        screen = RunScreen(Path(run_dir))
        if replace:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    async def action_quit(self) -> None:
        """Quits; asks first when runs started here are still going."""
        active = self.launcher.active()
        if not active:
            self.exit()
        elif not isinstance(self.screen, QuitScreen):
            self.push_screen(QuitScreen(len(active)), self._quit_chosen)

    def _quit_chosen(self, choice: str | None) -> None:
        if choice == "stop":
            self.launcher.stop_all()
            self.exit()
        elif choice == "leave":
            self.exit()

    def on_unmount(self) -> None:
        self.launcher.close()
