"""Findings, the tally, and what every file validation shares: the files a path names,
whether a file is a cassette, counting and locating what is found, HTTP error bodies."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cassette import FORMAT, Connection, Line
from harness.cassette._lines import MAX_LINE
from harness.contract.checker import Contract
from harness.contract.validator import Violation
from harness.errors import InputError
from harness.model import resolve_endpoint

SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")


@dataclass(frozen=True)
class Finding:
    """A violation and where it was found."""

    file: str
    line: int
    endpoint: str
    payload: str  # "event", "error" (in-stream error payload) or "http-error" (error body)
    violation: Violation
    event: int | None = None  # index among the file's events
    offset: float | None = None  # arrival offset, for cassettes

    def as_dict(self) -> dict[str, Any]:
        v = self.violation
        return {
            "file": self.file,
            "line": self.line,
            "event": self.event,
            "offset": self.offset,
            "endpoint": self.endpoint,
            "payload": self.payload,
            "pointer": v.pointer,
            "keyword": v.keyword,
            "schema_location": v.schema_location,
            "message": v.message,
        }

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        if self.event is not None:
            where += f" event {self.event}"
        if self.offset is not None:
            where += f" @{self.offset:.6f}s"
        return f"{where} ({self.payload}) {self.violation}"


@dataclass
class Tally:
    """Counts over everything validated so far."""

    files: int = 0
    events: int = 0
    error_payloads: int = 0
    heartbeats: int = 0
    http_errors: int = 0
    connections: int = 0
    violations: Counter[tuple[str, str]] = field(default_factory=Counter)  # (endpoint, keyword)
    endpoints: Counter[str] = field(default_factory=Counter)  # payloads per endpoint
    warnings: list[str] = field(default_factory=list)

    @property
    def violation_count(self) -> int:
        return sum(self.violations.values())

    def as_dict(self) -> dict[str, Any]:
        per_endpoint: dict[str, dict[str, int]] = {}
        for (endpoint, keyword), n in sorted(self.violations.items()):
            per_endpoint.setdefault(endpoint, {})[keyword] = n
        return {
            "files": self.files,
            "events": self.events,
            "error_payloads": self.error_payloads,
            "heartbeats": self.heartbeats,
            "http_errors": self.http_errors,
            "connections": self.connections,
            "violations": self.violation_count,
            "payloads_per_endpoint": dict(sorted(self.endpoints.items())),
            "violations_per_endpoint": per_endpoint,
            "warnings": list(self.warnings),
        }

    def summary(self) -> str:
        lines = [
            f"{self.files} file(s): {self.events} event(s), {self.error_payloads} error payload(s), "
            f"{self.heartbeats} heartbeat(s), {self.http_errors} HTTP error(s), {self.violation_count} violation(s)"
        ]
        for endpoint, n in sorted(self.endpoints.items()):
            kinds = {k: c for (e, k), c in sorted(self.violations.items()) if e == endpoint}
            detail = ", ".join(f"{k}: {c}" for k, c in kinds.items()) or "all valid"
            lines.append(f"  {endpoint}: {n} payload(s); {detail}")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def expand(paths: Iterable[str | Path]) -> Iterator[Path]:
    """Files to validate: the paths given, directories searched recursively."""
    for p in map(Path, paths):
        if p.is_dir():
            yield from sorted(f for f in p.rglob("*") if f.is_file() and f.name.endswith(SUFFIXES))
        elif p.is_file():
            yield p
        else:
            raise InputError(f"{p}: no such file or directory")


def _first_line(path: Path) -> bytes:
    try:
        with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as f:
            return f.readline(MAX_LINE + 1)  # a longer first line is no header
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def is_cassette(path: Path) -> bool:
    """Whether the file's first line is a cassette header (of any version)."""
    try:
        head = json.loads(_first_line(path))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than json reads: no header
        return False
    return isinstance(head, dict) and "format" in head and head.get("format") == FORMAT


class Validating:
    """A validation's state: its contract, the endpoint of NDJSON files, the tally."""

    def __init__(self, contract: Contract | None = None, *, endpoint: str | None = None) -> None:
        self.contract = contract or Contract()
        self.endpoint = resolve_endpoint(endpoint).name if endpoint else None
        self.tally = Tally()
        self.file_base = 0  # tally.events when the current file began

    def _found(self, endpoint: str, kind: str, v: Violation, file: str, line: int, event: int | None = None,
               offset: float | None = None) -> Finding:  # fmt: skip
        self.tally.violations[(endpoint, v.keyword)] += 1
        return Finding(file, line, endpoint, kind, v, event, offset)

    def _http_error(
        self, path: Path, endpoint: str, conn: Connection, body: list[tuple[int, Line]]
    ) -> Iterator[Finding]:
        self.tally.http_errors += 1
        self.tally.endpoints[endpoint] += 1
        first, offset = (body[0][0], body[0][1].offset) if body else (0, None)
        raw = b"".join(line.raw for _, line in body)
        if not raw.strip():
            return
        for v in self.contract.check_line(raw, endpoint, problem=True):
            yield self._found(endpoint, "http-error", v, str(path), first, offset=offset)
