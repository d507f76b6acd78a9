"""The oracle of file validation: the straightforward sequential reading that
`harness.contract.report.Validation` (blocks, the native checker over whole records, `-j N`) must
agree with, finding for finding. It reads cassettes through `harness.cassette.Cassette`
and NDJSON dumps line by line, and checks payloads a batch at a time."""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from harness.cassette import Cassette, Close, Connection, Line
from harness.cassette.records import is_json_blank
from harness.contract._findings import Finding, Validating, expand, is_cassette
from harness.contract.checker import Contract
from harness.errors import UsageError
from harness.model import resolve_endpoint

BATCH = 256  # payload lines checked together

Pending = list[tuple[bytes, dict[str, Any]]]  # raw payload line, where it was found


class SequentialValidation(Validating):
    """Validates files one line after the other, in this process."""

    def __init__(self, contract: Contract | None = None, *, endpoint: str | None = None, batch: int = BATCH) -> None:
        super().__init__(contract, endpoint=endpoint)
        self.batch = batch

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
                yield self._found(endpoint, kind, v, **where)

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
