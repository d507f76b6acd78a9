"""Validate files (cassettes, raw NDJSON dumps, directories) into located findings.

Files are streamed: findings are yielded as they are found and only counts are kept, so
an hour of the firehose is checked in constant memory. Payload lines are checked a batch
at a time (`Contract.inspect_lines`), which is what makes the fast engine fast; findings
still come out in file order.
"""

from __future__ import annotations

import gzip
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness._records import is_json_blank
from harness.cassette import FORMAT, Cassette, Close, Connection, Line
from harness.errors import InputError, UsageError
from harness.model import resolve_endpoint
from harness.validator import Contract, Violation

SUFFIXES = (".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz")
BATCH = 256  # payload lines checked together

Pending = list[tuple[bytes, dict[str, Any]]]  # raw payload line, where it was found


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
            return f.readline()
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: cannot read: {exc}") from None


def is_cassette(path: Path) -> bool:
    """Whether the file's first line is a cassette header (of any version)."""
    try:
        head = json.loads(_first_line(path))
    except (ValueError, RecursionError):  # not JSON, or nested deeper than json reads: no header
        return False
    return isinstance(head, dict) and "format" in head and head.get("format") == FORMAT


class Validation:
    """Validates files with one contract, accumulating a `Tally`."""

    def __init__(self, contract: Contract | None = None, *, endpoint: str | None = None, batch: int = BATCH) -> None:
        self.contract = contract or Contract()
        self.endpoint = resolve_endpoint(endpoint).name if endpoint else None
        self.batch = batch
        self.tally = Tally()
        self.file_base = 0  # tally.events when the current file began

    def run(self, paths: Iterable[str | Path]) -> Iterator[Finding]:
        for path in expand(paths):
            yield from self.file(path)

    def file(self, path: Path) -> Iterator[Finding]:
        self.tally.files += 1
        self.file_base = self.tally.events  # event indices count within each file
        if is_cassette(path):
            yield from self.cassette(path)
        elif self.endpoint is None:
            raise UsageError(f"{path} is not a cassette: give --endpoint NAME to validate it as raw NDJSON lines")
        else:
            yield from self.ndjson(path, self.endpoint)

    def payloads(self, endpoint: str, pending: Pending) -> Iterator[Finding]:
        """Check payload lines, in order, counting and locating what is found."""
        if not pending:
            return
        t = self.tally
        results = self.contract.inspect_lines([raw for raw, _ in pending], endpoint)
        for (_, where), (kind, violations) in zip(pending, results, strict=True):
            t.endpoints[endpoint] += 1
            if kind == "error":
                t.error_payloads += 1
            elif violations and violations[0].keyword == "json":  # not JSON: no event index
                t.events += 1
            else:
                where["event"] = t.events - self.file_base
                t.events += 1
            for v in violations:
                yield self._found(endpoint, kind, v, where)

    def _found(self, endpoint: str, kind: str, v: Violation, where: dict[str, Any]) -> Finding:
        self.tally.violations[(endpoint, v.keyword)] += 1
        return Finding(endpoint=endpoint, payload=kind, violation=v, **where)

    def ndjson(self, path: Path, endpoint: str) -> Iterator[Finding]:
        opener = gzip.open if path.suffix == ".gz" else open
        first_event = self.tally.events
        pending: Pending = []
        try:
            with opener(path, "rb") as f:
                for lineno, raw in enumerate(f, 1):
                    if is_json_blank(raw):
                        self.tally.heartbeats += 1
                        continue
                    pending.append((raw, {"file": str(path), "line": lineno}))
                    if len(pending) >= self.batch:
                        batch, pending = pending, []
                        yield from self.payloads(endpoint, batch)
        except (OSError, EOFError) as exc:
            batch, pending = pending, []
            yield from self.payloads(endpoint, batch)
            self.tally.warnings.append(
                f"{path}: read up to a cut ({exc}) after {self.tally.events - first_event} events"
            )
        yield from self.payloads(endpoint, pending)

    def cassette(self, path: Path) -> Iterator[Finding]:
        cassette = Cassette(path)
        endpoint = resolve_endpoint(cassette.header.endpoint).name
        conn: Connection | None = None
        body: list[tuple[int, Line]] = []
        pending: Pending = []
        try:
            for lineno, record in cassette.entries():
                if isinstance(record, Line) and (conn is None or conn.status == 200):
                    if record.is_heartbeat:
                        self.tally.heartbeats += 1
                    else:
                        pending.append((record.raw, {"file": str(path), "line": lineno, "offset": record.offset}))
                    if len(pending) < self.batch:
                        continue
                # anything else is reported after the lines before it
                batch, pending = pending, []
                yield from self.payloads(endpoint, batch)
                if isinstance(record, Connection):
                    conn, body = record, []
                    self.tally.connections += 1
                elif isinstance(record, Line) and conn is not None and conn.status != 200:
                    body.append((lineno, record))
                elif isinstance(record, Close) and conn is not None and conn.status != 200:
                    yield from self._http_error(path, endpoint, conn, body)
        except Exception:
            # a cut or malformed cassette: what was read before it is still reported
            batch, pending = pending, []
            yield from self.payloads(endpoint, batch)
            raise
        yield from self.payloads(endpoint, pending)
        self.tally.warnings += cassette.warnings

    def _http_error(
        self, path: Path, endpoint: str, conn: Connection, body: list[tuple[int, Line]]
    ) -> Iterator[Finding]:
        self.tally.http_errors += 1
        self.tally.endpoints[endpoint] += 1
        where: dict[str, Any] = {"file": str(path), "line": body[0][0] if body else 0}
        if body:
            where["offset"] = body[0][1].offset
        raw = b"".join(line.raw for _, line in body)
        if not raw.strip():
            return
        for v in self.contract.check_line(raw, endpoint, problem=True):
            yield self._found(endpoint, "http-error", v, where)


def validate_paths(
    paths: Iterable[str | Path], *, endpoint: str | None = None, contract: Contract | None = None
) -> tuple[list[Finding], Tally]:
    """Validate everything under `paths`; every finding in a list (for small inputs)."""
    run = Validation(contract, endpoint=endpoint)
    return list(run.run(paths)), run.tally


@dataclass(frozen=True)
class Known:
    """A violation a baseline file declares expected, with the reason why."""

    file: str
    pointer: str
    keyword: str
    reason: str = ""

    def matches(self, f: Finding) -> bool:
        name = Path(f.file).as_posix()
        return (name == self.file or name.endswith("/" + self.file)) and (
            f.violation.pointer,
            f.violation.keyword,
        ) == (self.pointer, self.keyword)


class Baseline:
    """Known violations (a JSON list of {file, pointer, keyword, reason}).

    A finding the baseline lists is reported as known instead of failing the run; an entry
    that matches nothing is stale, so the baseline keeps saying exactly what is wrong.
    """

    def __init__(self, known: Iterable[Known]) -> None:
        self.known = list(known)
        self.used: set[Known] = set()

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        try:
            entries = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(Known(e["file"], e["pointer"], e["keyword"], e.get("reason", "")) for e in entries)
        except OSError as exc:
            raise InputError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"{path}: expected a JSON list of {{file, pointer, keyword, reason}} objects ({exc!r})"
            ) from None

    def match(self, finding: Finding) -> Known | None:
        for k in self.known:
            if k.matches(finding):
                self.used.add(k)
                return k
        return None

    def stale(self) -> list[Known]:
        return [k for k in self.known if k not in self.used]
