"""The cassette format: a recorded stream session as versioned JSON Lines.

Line 1 is the header. Then, per connection, a `connection` record (status and headers),
one record per line received (`line`, or `heartbeat` for a blank keep-alive), and a
`close` record saying how the connection ended. Offsets are seconds since that
connection's request was sent. Lines are stored byte-exact: a JSON object as itself
(`json`), any other line as `text`, or `b64` for bytes that are not UTF-8; `eol` only
where the terminator was not CRLF. A `connection` record has `url` when redirects led its
request away from the header's `url` (a reconnection's redirect: the header says where the
first connection came from). Readers ignore members they do not know, so an optional member
like this one is added without a new version; one that changes what a record means needs
one. Version 1 (text and b64 only) is still read. A name
ending in `.gz` is read and written as gzip. Records are encoded and parsed in
`harness.cassette.records`.

    {"format": "x-stream-cassette", "version": 2, "endpoint": "search-stream", ...}
    {"kind": "connection", "index": 0, "started": 0.0, "offset": 0.0123, "status": 200, ...}
    {"kind": "line", "offset": 0.5, "json": {"data": {...}}}
    {"kind": "line", "offset": 0.6, "text": "not json"}
    {"kind": "heartbeat", "offset": 20.5}
    {"kind": "close", "offset": 31.0, "reason": "client-stopped"}
"""

from __future__ import annotations

from harness.cassette.reader import Cassette, CassetteWarning
from harness.cassette.records import (
    CRLF,
    FORMAT,
    VERSION,
    Close,
    CloseReason,
    Connection,
    Header,
    Line,
    Record,
    RecordOrder,
)
from harness.cassette.writer import CassetteWriter, write_cassette

__all__ = [
    "CRLF",
    "FORMAT",
    "VERSION",
    "Cassette",
    "CassetteWarning",
    "CassetteWriter",
    "Close",
    "CloseReason",
    "Connection",
    "Header",
    "Line",
    "Record",
    "RecordOrder",
    "write_cassette",
]
