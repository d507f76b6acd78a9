"""Which wire dialect a file matches, when it breaks the one it was checked against.

A cassette recorded from the live API carries the classic names; one written for xdk
0.10.6 carries the 2.167 names. A file with violations in one dialect and none in the
other is most likely right in the other: `harness validate` says so.
"""

from __future__ import annotations

from collections.abc import Iterable

from harness.contract._parallel import ParallelValidation
from harness.contract.schemagen import Profile
from harness.model.dialect import Dialect

__all__ = ["matching_dialects"]


def matching_dialects(files: Iterable[str], checked: Dialect | str, *, profile: Profile | str = Profile.DEFAULT,
                      engine: str = "fast", endpoint: str | None = None) -> dict[str, Dialect]:  # fmt: skip
    """Of `files` (each with violations in the `checked` dialect), those valid in the other
    dialect, with that dialect."""
    other = Dialect.parse(checked).other
    run = ParallelValidation(profile, engine=engine, jobs=1, endpoint=endpoint, dialect=other.value)
    found: dict[str, Dialect] = {}
    for file in dict.fromkeys(files):
        if next(iter(run.run([file])), None) is None:
            found[file] = other
    return found


def hint(file: str, matched: Dialect) -> str:
    """One line saying what `file` matches."""
    return f"{file}: matches the {matched.value} dialect, not {matched.other.value} (try --dialect {matched.value})"
