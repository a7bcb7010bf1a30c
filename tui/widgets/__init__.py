"""The run view's and the form's widgets, one per module, each with its DEFAULT_CSS."""

from __future__ import annotations

from kerasmnist_tui.widgets.confusion import ConfusionView
from kerasmnist_tui.widgets.curves import Curves
from kerasmnist_tui.widgets.epoch_table import EpochTable
from kerasmnist_tui.widgets.form_field import FormField
from kerasmnist_tui.widgets.front import FrontView
from kerasmnist_tui.widgets.leaderboard import Leaderboard
from kerasmnist_tui.widgets.mistake_grid import MistakeGrid
from kerasmnist_tui.widgets.progress_panel import ProgressPanel

__all__ = ["ConfusionView", "Curves", "EpochTable", "FormField", "FrontView", "Leaderboard",
           "MistakeGrid", "ProgressPanel"]
