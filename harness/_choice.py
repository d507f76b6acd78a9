"""Parsing a value of a closed set, with an error that lists the valid values."""

from __future__ import annotations

import enum
from typing import TypeVar

from harness.errors import UsageError

E = TypeVar("E", bound=enum.StrEnum)


def parse_choice(cls: type[E], value: str, what: str) -> E:
    """`cls(value)`, or a `UsageError` naming `what`, the valid values and what was found."""
    try:
        return cls(value)
    except ValueError:
        valid = ", ".join(m.value for m in cls)
        raise UsageError(f"{what}: expected one of {valid}, found {value!r}") from None
