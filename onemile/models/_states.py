"""The states of a model as a StrEnum, in one line."""

from __future__ import annotations

import sys
from enum import StrEnum


def states(name: str, *values: str) -> type[StrEnum]:
    """A StrEnum whose members are `values`, named after them in capitals:
    `states("ReportStatus", "open", "dismissed")` gives ReportStatus.OPEN == "open".

    Members are str: they compare equal to the strings stored in the database (no
    migration), and templates compare with them (they are template globals)."""
    module = sys._getframe(1).f_globals["__name__"]
    return StrEnum(name, {value.upper(): value for value in values}, module=module)
