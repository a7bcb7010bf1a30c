"""What kerasmnist-tui's full screens share: the app, typed."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.screen import Screen

if TYPE_CHECKING:
    from kerasmnist_tui.app import KerasMnistApp

__all__ = ["AppScreen"]


class AppScreen(Screen[None]):
    """A screen of `KerasMnistApp`, with the app's runs directory, launcher and index at hand."""

    @property
    def kapp(self) -> KerasMnistApp:
        """The app, typed."""
        return cast("KerasMnistApp", self.app)
