"""What the `stream_replay` fixture gives a test: the replay server, and what it saw of the consumer."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from harness.errors import HarnessError, UsageError
from harness.model import resolve_endpoint
from harness.model.params import parse_query
from harness.replay.log import ConnectionLog, End, LineKind
from harness.replay.server import ReplayServer
from harness.testing._recording import RecordingProxy

POLL = 0.01  # seconds between looks at the log while waiting for connections


@dataclass(frozen=True)
class SeenRequest:
    """One request the consumer sent: `at` in seconds since the replay started; headers as sent,
    credentials redacted (`Bearer <redacted>`); `status` the replay's answer (None: none yet)."""

    index: int
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    at: float
    status: int | None
    end: End | None
    tunnel: str | None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lname), None)

    def __str__(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        where = self.path + (f"?{query}" if query else "")
        return f"#{self.index} {self.method} {where} -> {self.status} at {self.at:.3f} s"


def seen(log: ConnectionLog, origin: float) -> SeenRequest:
    parts = urlsplit(log.target)
    try:
        query = parse_query(parts.query)
    except HarnessError:  # a parameter given twice: the last one, as most servers read it
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
    return SeenRequest(log.index, log.method, parts.path, query, dict(log.headers), log.started - origin,
                       log.status, log.end, log.tunnel)  # fmt: skip


def _path(endpoint: str) -> str:
    return endpoint if endpoint.startswith("/") else resolve_endpoint(endpoint).path


def encode_push(payload: Any) -> bytes:
    """Bytes as they are; anything else as one JSON line with its CRLF (a str is taken as JSON text)."""
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode().rstrip(b"\r\n") + b"\r\n"
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + b"\r\n"


def _recorded_lines(log: ConnectionLog) -> int:
    return sum(1 for line in log.lines if line.kind in (LineKind.EVENT, LineKind.HEARTBEAT))


class StreamReplay:
    """The replay server of one test (its attributes: `base_url`, `url()`, `inject()`, `log`...),
    and the consumer's side: `requests`, `assert_requested()`, `all_played`, `push()`, `wait_connections()`."""

    def __init__(self, server: ReplayServer | RecordingProxy) -> None:
        self.server = server
        self.origin = time.monotonic()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.server, name)

    @property
    def requests(self) -> list[SeenRequest]:
        """Every request the consumer sent, in order of arrival."""
        return [seen(log, self.origin) for log in list(self.server.log) if log.method]

    def assert_requested(self, endpoint: str | None = None, *, method: str = "GET",
                         query: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None,
                         times: int | None = None) -> list[SeenRequest]:  # fmt: skip
        """The requests matching (endpoint name or path; `query` and `headers`: these values at least);
        fails listing every request seen unless some match (exactly `times` of them, if given)."""
        __tracebackhide__ = True
        path = _path(endpoint) if endpoint is not None else None
        every = self.requests
        found = [
            r
            for r in every
            if r.method == method.upper()
            and (path is None or r.path == path)
            and all(r.query.get(k) == str(v) for k, v in (query or {}).items())
            and all(r.header(k) == v for k, v in (headers or {}).items())
        ]
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        parts = [method.upper(), path or "<any path>"]
        parts += [f"query {dict(query)}"] if query else []
        parts += [f"headers {dict(headers)}"] if headers else []
        wanted = " ".join(parts)
        count = "at least 1" if times is None else str(times)
        listed = "\n  ".join(map(str, every)) or "(none)"
        raise AssertionError(f"expected {count} request(s) {wanted}, found {len(found)}; requests seen:\n  {listed}")

    @property
    def unplayed(self) -> list[str]:
        """The recorded connections not served to their end, as `endpoint#n`."""
        logs = list(self.server.log)
        out = []
        for name, recording in self.server.recordings.items():
            sent: dict[int, int] = {}
            for log in logs:
                if log.endpoint == name and log.recorded is not None:
                    sent[log.recorded] = sent.get(log.recorded, 0) + _recorded_lines(log)
            out += [f"{name}#{n}" for n, rec in enumerate(recording.connections)
                    if n not in sent or (rec.status == 200 and sent[n] < rec.lines)]  # fmt: skip
        return out

    @property
    def all_played(self) -> bool:
        """Whether every recorded connection was served to its end."""
        return not self.unplayed

    def push(self, payload: Any) -> int:
        """Write `payload` into the open stream(s) now: bytes as they are, anything else as a JSON
        line. Returns into how many; UsageError when no stream is open."""
        written = self.server.push(encode_push(payload))
        if not written:
            raise UsageError("push: no stream is open (wait for the consumer: stream_replay.wait_connections(1))")
        return written

    def streams(self) -> int:
        """How many connections were answered with a stream so far."""
        return sum(1 for log in list(self.server.log) if log.status == 200)

    def wait_connections(self, n: int = 1, timeout: float = 10.0) -> None:
        """Wait until `n` connections were answered with a stream (then `push` reaches them);
        fails after `timeout` seconds saying what came."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        while self.streams() < n:
            if time.monotonic() >= deadline:
                listed = "\n  ".join(map(str, self.requests)) or "(none)"
                raise AssertionError(f"expected {n} stream connection(s) within {timeout:g} s, "
                                     f"found {self.streams()}; requests seen:\n  {listed}")  # fmt: skip
            time.sleep(POLL)
