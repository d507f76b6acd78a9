"""A cassette's records: their values, their ordering rules, and their JSON form.

Every reader and writer of cassettes goes through here: `encode_record` / `encode_lines`
write a record's line, `parse_record` reads one back. A line whose bytes are one JSON
object on one line, in UTF-8, is stored as itself (the `json` member: the bytes between
`"json":` and the record's closing brace are the line's bytes), so writing it costs a
syntax check instead of re-escaping 2 KB, reading it back is a slice, and `jq .json`
works on a cassette. Any other line is stored as `text` (UTF-8) or `b64`.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import msgspec
import orjson
from msgspec import UNSET, Raw, UnsetType

FORMAT = "x-stream-cassette"
VERSION = 2
READABLE = (1, 2)  # version 1 stores every line as text or b64
CRLF = b"\r\n"


class CloseReason(enum.StrEnum):
    """How a recorded connection ended."""

    SERVER_CLOSED = "server-closed"
    CLIENT_STOPPED = "client-stopped"
    ERROR = "error"


@dataclass(frozen=True)
class Header:
    """What was recorded, from where, with what (secrets already removed)."""

    endpoint: str
    url: str
    method: str = "GET"
    query: Mapping[str, str] = field(default_factory=dict)
    request_headers: Mapping[str, str] = field(default_factory=dict)
    recorded_at: str = ""
    tool: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    version: int = VERSION  # of the file it was read from; writers always write VERSION
    # The filtered stream's rules in effect when recording began, each {"id", "value"[, "tag"]}:
    # None when the recorder did not ask (older cassettes, other endpoints), () when none were.
    rules: tuple[Mapping[str, str], ...] | None = None
    # API calls made around the stream (rules changes), each {"method", "path", "query",
    # "body", "status", "response"}, in order, secrets removed.
    api_calls: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Connection:
    """A response: `started` is seconds since the cassette's first request; `url` is where it
    came from when redirects led away from the header's URL (None: from there)."""

    index: int
    status: int
    reason: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    offset: float = 0.0
    started: float = 0.0
    url: str | None = None

    def header(self, name: str) -> str | None:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)


@dataclass(frozen=True)
class Line:
    """One line of the body, byte-exact, terminator included."""

    offset: float
    raw: bytes

    @property
    def is_heartbeat(self) -> bool:
        return is_blank(self.raw)

    @property
    def payload(self) -> bytes:
        """The line without its terminator."""
        return self.raw.rstrip(b"\r\n")


@dataclass(frozen=True)
class Close:
    """The end of a connection."""

    offset: float
    reason: CloseReason
    error: str | None = None


Record = Union[Connection, Line, Close]


def is_blank(raw: bytes) -> bool:
    """Whether a line is only CRs and LFs (a heartbeat); an event is told by its first byte,
    without stripping a copy of it."""
    return raw[:1] in (b"\r", b"\n", b"") and not raw.strip(b"\r\n")


def is_json_blank(raw: bytes) -> bool:
    """Whether a raw stream line holds only JSON whitespace (space, tab, CR, LF): a
    heartbeat. `bytes.isspace` would also take a vertical tab or a form feed, which JSON
    does not: such a line is not JSON."""
    return not raw.strip(b" \t\r\n")


class RecordOrder:
    """The ordering rules of a cassette's records, shared by every writer and reader."""

    def __init__(self) -> None:
        self.connection: Connection | None = None
        self.closed = True
        self.last = 0.0
        self.count = 0

    def check(self, r: Record) -> str | None:
        if isinstance(r, Connection):
            if not self.closed:
                return f"connection {r.index} starts before connection {self.count - 1} was closed"
            if r.index != self.count:
                return f"expected connection index {self.count}, found {r.index}"
            if self.connection is not None and r.started < self.connection.started:
                return f"connection {r.index} starts at {r.started}s, before the previous one"
            self.connection, self.closed, self.last = r, False, r.offset
            self.count += 1
            return None
        problem = self.line(r.offset, "close" if isinstance(r, Close) else "line")
        if problem is None and isinstance(r, Close):
            self.closed = True
        return problem

    def line(self, offset: float, kind: str = "line") -> str | None:
        """The check of a line (or close) record at `offset`, without building the record."""
        if self.connection is None or self.closed:
            return f"a {kind} record outside any connection (expected a connection record first)"
        if offset < self.last:
            return f"offset {offset} goes back in time (previous record at {self.last})"
        self.last = offset
        return None


# -- writing ---------------------------------------------------------------------------
def encode_header(h: Header) -> bytes:
    return _dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "endpoint": h.endpoint,
            "method": h.method,
            "url": h.url,
            "query": dict(h.query),
            "request_headers": dict(h.request_headers),
            "recorded_at": h.recorded_at,
            "tool": h.tool,
            "labels": dict(h.labels),
            # optional members: written only when there is something, so other readers are unchanged
            **({"rules": [dict(r) for r in h.rules]} if h.rules is not None else {}),
            **({"api_calls": [dict(c) for c in h.api_calls]} if h.api_calls else {}),
        }
    )


def _dumps(obj: Mapping[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _offset(offset: float) -> bytes:
    return orjson.dumps(round(offset, 6))


_SKIP = msgspec.json.Decoder(Raw).decode  # a syntax check: skips the value, builds nothing


def _verbatim(payload: bytes) -> bool:
    """Whether a line can be stored as itself: one JSON object, UTF-8, on one line.

    msgspec refuses a few texts `json.loads` takes (NaN, a lone surrogate escape): those
    go to `text`, which keeps them just as well. A CR or LF can only be whitespace in a
    valid object; the caller makes sure there is none.
    """
    if payload[:1] != b"{" or payload[-1:] != b"}":
        return False
    try:
        _SKIP(payload)  # msgspec skips strings without checking their UTF-8...
        if not payload.isascii():
            payload.decode("utf-8")  # ...so check it: a cassette is UTF-8 throughout
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):  # too deep for msgspec: text keeps it
        return False
    return True


def _line_record(line: bytes, heartbeat: bytes, raw: bytes, single: bool) -> bytes:
    """A line's record; `line` and `heartbeat` are the record's start for either kind;
    `single`: `raw` holds no CR or LF but its terminator."""
    if raw[-3:] == b"}\r\n":  # the usual event: no need to look for its terminator
        payload, tail = raw[:-2], b""
    else:
        payload = raw.rstrip(b"\r\n")
        eol = raw[len(payload) :]
        tail = b"" if eol == CRLF else b',"eol":' + orjson.dumps(eol.decode("latin-1"))
        if not payload:
            return heartbeat + tail + b"}\n"
    if (single or (payload.find(10) < 0 and payload.find(13) < 0)) and _verbatim(payload):
        return b"".join((line, tail, b',"json":', payload, b"}\n"))
    try:
        stored = b',"text":' + orjson.dumps(payload.decode("utf-8"))
    except UnicodeDecodeError:
        stored = b',"b64":"' + base64.b64encode(payload) + b'"'
    return line + tail + stored + b"}\n"


def encode_lines(raws: list[bytes], offset: float, *, split: bool = False) -> bytes:
    """The records of lines that arrived together, all at `offset`.

    `split`: each line holds one LF, at its end (as `LineSplitter` cuts them), so only a
    CR needs looking for, and that once for the whole batch.
    """
    at = _offset(offset)
    line, heartbeat = b'{"kind":"line","offset":' + at, b'{"kind":"heartbeat","offset":' + at
    if split:
        out = b"".join([_line_record(line, heartbeat, raw, True) for raw in raws])
        if out.find(13) < 0:  # JSON strings escape theirs: a CR here is inside a verbatim line
            return out
    return b"".join([_line_record(line, heartbeat, raw, False) for raw in raws])


def encode_record(r: Record) -> bytes:
    """A record's line in the file, newline included."""
    if isinstance(r, Line):
        return encode_lines([r.raw], r.offset)
    if isinstance(r, Connection):
        conn: dict[str, Any] = {
            "kind": "connection",
            "index": r.index,
            "started": round(r.started, 6),
            "offset": round(r.offset, 6),
            "status": r.status,
            "reason": r.reason,
            "headers": [list(h) for h in r.headers],
        }
        if r.url is not None:  # optional: readers ignore members they do not know
            conn["url"] = r.url
        return _dumps(conn)
    out = {"kind": "close", "offset": round(r.offset, 6), "reason": r.reason.value}
    if r.error is not None:
        out["error"] = r.error
    return _dumps(out)


# -- reading ---------------------------------------------------------------------------
class NotJSON(ValueError):
    """A record's line is not JSON at all (as opposed to JSON that is no record)."""


class _Wire(msgspec.Struct, gc=False):
    # every member any record kind has: one decoder for every record
    kind: str
    offset: float | UnsetType = UNSET
    json: Raw | UnsetType = UNSET
    text: str | UnsetType = UNSET
    b64: str | UnsetType = UNSET
    eol: str | UnsetType = UNSET
    index: int | UnsetType = UNSET
    started: float = 0.0
    status: int | UnsetType = UNSET
    reason: str = ""
    headers: list[tuple[str, str]] = []
    error: str | None = None
    url: str | None = None


_WIRE = msgspec.json.Decoder(_Wire).decode
_KINDS = ("line", "heartbeat", "connection", "close")


def parse_record(data: bytes) -> Record:
    """A record from its line in the file: NotJSON, or ValueError if it is no record."""
    try:
        w = _WIRE(data)
    except msgspec.ValidationError as exc:
        raise ValueError(str(exc)) from None
    except RecursionError:  # 10^5 "[": JSON maybe, but no record reads so
        raise ValueError("nested too deep to read") from None
    except msgspec.DecodeError:
        snippet = data.rstrip(b"\r\n")[:60].decode("utf-8", "replace")
        raise NotJSON(f"not JSON: {snippet!r}") from None
    if w.offset is UNSET:
        raise ValueError(f"a {w.kind} record without its offset" if w.kind in _KINDS else _unknown(w.kind))
    kind = w.kind
    if kind == "line" or kind == "heartbeat":
        eol = CRLF if w.eol is UNSET else w.eol.encode("latin-1")
        if w.json is not UNSET:
            if w.text is not UNSET or w.b64 is not UNSET:
                raise ValueError("a line record holds one of json, text or b64, found more")
            return Line(w.offset, b"".join((w.json, eol)))
        if w.b64 is not UNSET:
            return Line(w.offset, base64.b64decode(w.b64, validate=True) + eol)
        return Line(w.offset, (w.text.encode() if w.text is not UNSET else b"") + eol)
    if kind == "connection":
        if w.index is UNSET or w.status is UNSET:
            raise ValueError("a connection record needs its index and status")
        headers = tuple((k, v) for k, v in w.headers)
        return Connection(w.index, w.status, w.reason, headers, w.offset, w.started, w.url)
    if kind == "close":
        try:
            reason = CloseReason(w.reason)
        except ValueError:
            valid = ", ".join(r.value for r in CloseReason)
            raise ValueError(f"a close record's reason is one of {valid}, found {w.reason!r}") from None
        return Close(w.offset, reason, w.error)
    raise ValueError(_unknown(kind))


def _unknown(kind: str) -> str:
    return f"unknown record kind {kind!r}: expected {', '.join(_KINDS[:-1])} or {_KINDS[-1]}"
