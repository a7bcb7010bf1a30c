"""The question asked before quitting while runs started here are still going."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label

__all__ = ["QuitScreen"]


class QuitScreen(ModalScreen[str]):
    """Asks what to do with active runs; dismisses with `"stop"`, `"leave"` or `"cancel"`.

    Args:
        active: How many runs are active.
    """

    BINDINGS = [
        Binding("escape", "choose('cancel')", "Cancel"),
        Binding("s", "choose('stop')", "Stop runs and quit"),
        Binding("l", "choose('leave')", "Leave them running"),
    ]

    def __init__(self, active: int) -> None:
        super().__init__()
        self.active = active

    def compose(self) -> ComposeResult:
        runs = "1 run started here is" if self.active == 1 else f"{self.active} runs started here are"
        with Vertical(id="quit-dialog"):
            yield Label(f"{runs} still going.", id="quit-question")
            yield Label("Stopping leaves a resumable directory; runs left going keep writing their "
                        "directories and show up the next time.", id="quit-detail")
            with Horizontal(id="quit-buttons"):
                yield Button("Stop and quit (s)", variant="error", id="stop")
                yield Button("Leave running, quit (l)", variant="primary", id="leave")
                yield Button("Cancel (esc)", id="cancel")

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(str(event.button.id))

    def action_choose(self, choice: str) -> None:
        """Dismisses the dialog with `choice`."""
        self.dismiss(choice)
