"""Reading a cassette: its header and records, streamed, a cut at the end warned of, not fatal."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.cassette._lines import NumberedLines
from harness.cassette.records import (
    FORMAT,
    READABLE,
    VERSION,
    Header,
    Line,
    NotJSON,
    Record,
    RecordOrder,
    parse_record,
)
from harness.errors import CassetteFormatError, CassetteOrderError, CassetteVersionError

__all__ = ["Cassette", "CassetteWarning"]


class CassetteWarning(UserWarning):
    """A cassette was readable up to a cut (an unfinished last record)."""


def _decode_header(obj: Any, path: Path) -> Header:
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        found = obj.get("format") if isinstance(obj, dict) else type(obj).__name__
        raise CassetteFormatError(
            f'expected a header {{"format": "{FORMAT}", "version": {VERSION}, ...}}, found format {found!r}',
            path=path,
            line=1,
        )
    version = obj.get("version")
    if version not in READABLE or type(version) is not int:
        readable = " and ".join(map(str, READABLE))
        raise CassetteVersionError(
            f"cassette format version {version!r} is not supported: this harness reads versions {readable}",
            path=path,
            line=1,
        )
    try:
        return Header(
            endpoint=str(obj["endpoint"]),
            url=str(obj["url"]),
            method=str(obj.get("method", "GET")),
            query=dict(obj.get("query") or {}),
            request_headers=dict(obj.get("request_headers") or {}),
            recorded_at=str(obj.get("recorded_at", "")),
            tool=str(obj.get("tool", "")),
            labels=dict(obj.get("labels") or {}),
            version=version,
            rules=_rules(obj.get("rules")),
            api_calls=tuple(dict(c) for c in obj.get("api_calls") or ()),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CassetteFormatError(f"header is missing or has a bad member: {exc}", path=path, line=1) from None


def _rules(found: Any) -> tuple[dict[str, str], ...] | None:
    if found is None:
        return None
    if not isinstance(found, list) or not all(isinstance(r, dict) and isinstance(r.get("value"), str) for r in found):
        raise ValueError(f'rules: expected a list of {{"id", "value", "tag"}} objects, found {found!r:.80}')
    return tuple({k: str(v) for k, v in r.items() if k in ("id", "value", "tag")} for r in found)


class Cassette:
    """A cassette on disk, read lazily: iterating streams its records from the file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.warnings: list[str] = []
        with self._lines() as lines:
            first = next(lines, None)
        if first is None or not first[1].strip():
            raise CassetteFormatError("empty file: expected a cassette header", path=self.path, line=1)
        self.header = _decode_header(self._parse(first[1], 1), self.path)

    def _lines(self) -> NumberedLines:
        return NumberedLines(self.path, lambda message, line: CassetteFormatError(message, path=self.path, line=line))

    def _parse(self, data: bytes, lineno: int) -> Any:
        try:
            return json.loads(data)
        except (ValueError, RecursionError):
            snippet = data.rstrip(b"\r\n")[:60].decode("utf-8", "replace")
            raise CassetteFormatError(f"not JSON: {snippet!r}", path=self.path, line=lineno) from None

    def entries(self) -> Iterator[tuple[int, Record]]:
        """Every record with its line number in the file, checked for order."""
        order = RecordOrder()
        self.warnings = []
        with self._lines() as lines:
            next(lines, None)
            for lineno, data in lines:
                if not data.strip():
                    continue
                try:
                    record = parse_record(data)
                except NotJSON as exc:
                    if not data.endswith(b"\n"):
                        self._cut(f"line {lineno} is cut short ({len(data)} bytes, no newline): ignored")
                        return
                    raise CassetteFormatError(str(exc), path=self.path, line=lineno) from None
                except ValueError as exc:
                    raise CassetteFormatError(f"malformed record: {exc!s}", path=self.path, line=lineno) from None
                problem = order.check(record)
                if problem:
                    raise CassetteOrderError(problem, path=self.path, line=lineno)
                yield lineno, record
            if lines.truncated:
                self._cut("compressed stream ends early (the file was cut): read up to the cut")

    def _cut(self, message: str) -> None:
        text = f"{self.path}: {message}"
        self.warnings.append(text)
        warnings.warn(text, CassetteWarning, stacklevel=3)

    def __iter__(self) -> Iterator[Record]:
        return (record for _, record in self.entries())

    def events(self) -> Iterator[Line]:
        """The non-heartbeat lines of every connection, in order."""
        return (r for r in self if isinstance(r, Line) and not r.is_heartbeat)
