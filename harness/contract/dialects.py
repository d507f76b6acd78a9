"""Which wire dialect a file matches, when it breaks the one it was checked against.

A cassette recorded from the live API carries the classic names; one written for xdk
0.10.6 carries the 2.167 names. A file with violations in one dialect and none in the
other is most likely right in the other: `harness validate` says so.
"""

from __future__ import annotations

import contextlib
import gzip
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from harness.cassette import Cassette, Connection, Line
from harness.cassette._lines import MAX_LINE
from harness.cassette.records import is_json_blank
from harness.contract._fast import FastEngine
from harness.contract._findings import is_cassette
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.errors import HarnessError
from harness.model.dialect import Dialect

__all__ = ["hint", "matching_dialects"]


def matching_dialects(files: Iterable[str], checked: Dialect | str, *, profile: Profile | str = Profile.DEFAULT,
                      engine: str = "fast", endpoint: str | None = None) -> dict[str, Dialect]:  # fmt: skip
    """Of `files` (each with violations in the `checked` dialect), those valid in the other
    dialect, with that dialect.

    Line by line, stopping at the first line the other dialect refuses too: a file that
    matches neither (a drifted contract, the usual case) costs a few lines, not a second
    validation of the whole file.
    """
    other = Dialect.parse(checked).other
    contract = Contract(profile, engine, other.value)
    found: dict[str, Dialect] = {}
    for file in dict.fromkeys(files):
        try:
            if _keeps(contract, Path(file), endpoint):
                found[file] = other
        except (HarnessError, OSError, ValueError):  # unreadable: already reported by the validation
            continue
    return found


def _keeps(contract: Contract, path: Path, endpoint: str | None) -> bool:
    """Whether every payload of `path` keeps `contract` (and there is one: a file of error
    answers only matches no dialect better than another).

    With the fast engine, a line is asked of the native checker and jsonschema-rs only: a
    hint is advice, and the reference (slow to start, and slow on the invalid line that
    usually ends the look) would only turn a rare "not proven" into "valid"."""
    seen = False
    fast = contract.engine if isinstance(contract.engine, FastEngine) else None
    for name, raw in _payloads(path, endpoint):
        if fast is not None:
            valid = fast.proves(contract.event_file(name), raw)
        else:
            valid = not contract.inspect_line(raw, name)[1]
        if not valid:
            return False
        seen = True
    return seen


def _payloads(path: Path, endpoint: str | None) -> Iterator[tuple[str, bytes]]:
    """(endpoint, raw line) of each payload of a cassette's 200 responses or an NDJSON dump."""
    if is_cassette(path):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a cut cassette was warned of by the validation
            cassette = Cassette(path)
            name, streaming = cassette.header.endpoint, False
            for record in cassette:
                if isinstance(record, Connection):
                    streaming = record.status == 200
                elif isinstance(record, Line) and streaming and not is_json_blank(record.raw):
                    yield name, record.raw
        return
    if endpoint is None:
        return
    opener = gzip.open if path.suffix == ".gz" else open
    with contextlib.closing(opener(path, "rb")) as f:
        while raw := f.readline(MAX_LINE + 1):
            if len(raw) > MAX_LINE:  # a finding of its own; read no further (memory stays bounded)
                raise ValueError(f"a line past {MAX_LINE} bytes")
            if not is_json_blank(raw):
                yield endpoint, raw


def hint(file: str, matched: Dialect) -> str:
    """One line saying what `file` matches."""
    return f"{file}: matches the {matched.value} dialect, not {matched.other.value} (try --dialect {matched.value})"
