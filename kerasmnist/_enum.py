"""`StrEnum`: enumerations whose members are their string values (`enum.StrEnum` from 3.11)."""

from __future__ import annotations

import enum

__all__ = ["StrEnum"]


class StrEnum(str, enum.Enum):
    """A string enumeration: members compare equal to their values and print as them.

    Example:

    >>> class Colour(StrEnum):
    ...     RED = "red"
    >>> Colour.RED == "red", f"{Colour.RED}", str(Colour.RED)
    (True, 'red', 'red')
    """

    def __str__(self) -> str:
        return str(self.value)  # f-strings, Rich and `str()` show "red", not "Colour.RED"

    def __format__(self, spec: str) -> str:
        return str(self.value).__format__(spec)
