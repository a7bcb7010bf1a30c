"""The app's screens, one per module."""

from __future__ import annotations

from kerasmnist_tui.screens.new_run import NewRunScreen
from kerasmnist_tui.screens.quit import QuitScreen
from kerasmnist_tui.screens.run_view import RunScreen
from kerasmnist_tui.screens.runs import RunsScreen

__all__ = ["NewRunScreen", "QuitScreen", "RunScreen", "RunsScreen"]
