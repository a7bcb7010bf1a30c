"""One field of a form: its label, its control, a hint, and its error right below it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import Label, Static

__all__ = ["FormField"]


class FormField(Vertical):
    """A labelled control whose error, when set, shows next to it and marks it invalid.

    Args:
        label: The field's label.
        control: The input widget (an `Input`, a `Select`, ...).
        hint: A short help text on the right of the control. Defaults to `""`.
        field: The name of the value it edits (a `RunSpec` field). Defaults to
            the control's id.
    """

    DEFAULT_CSS = """
    FormField {
        height: auto;
        margin: 0 0 1 0;
    }
    FormField > Horizontal {
        height: auto;
    }
    FormField .form-field--label {
        width: 20;
        padding: 0 1 0 0;
        text-style: bold;
    }
    FormField .form-field--control {
        width: 1fr;
        max-width: 48;
    }
    FormField .form-field--hint {
        width: 1fr;
        padding: 0 0 0 2;
        color: $text-muted;
    }
    FormField .form-field--error {
        display: none;
        padding: 0 0 0 20;
        color: $text-error;
    }
    FormField.-invalid .form-field--error {
        display: block;
    }
    FormField.-invalid .form-field--label {
        color: $text-error;
    }
    """

    def __init__(self, label: str, control: Widget, *, hint: str = "", field: str | None = None) -> None:
        super().__init__(id=f"field-{field or control.id}")
        self.label = label
        self.control = control
        self.control.add_class("form-field--control")
        self.hint = hint
        self.field = field or str(control.id)
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Label(self.label, classes="form-field--label")
            yield self.control
            yield Static(self.hint, classes="form-field--hint")
        yield Static("", classes="form-field--error")

    def set_error(self, message: str | None) -> None:
        """Shows `message` under the control, or clears the error with `None`."""
        self.error = message
        self.set_class(message is not None, "-invalid")
        self.query_one(".form-field--error", Static).update(message or "")
