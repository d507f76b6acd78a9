"""vcrpy interop: export a cassette for `vcr.use_cassette`, import a vcrpy stream recording.

vcrpy cannot record a stream that never ends, but it replays a finished one well. An
exported interaction per connection holds the de-chunked body; the arrival offsets ride
along under `x_stream_harness` in the response, a key vcrpy keeps and ignores, so an
export imported back is the same session.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from harness._version import __version__
from harness.cassette import Cassette, Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.errors import InputError, UnknownEndpointError
from harness.model import resolve_endpoint

TIMING_KEY = "x_stream_harness"
# The body is stored de-chunked, so these would lie about it on replay.
_DROPPED = {"transfer-encoding", "content-length", "content-encoding"}


def _split_lines(body: bytes) -> list[bytes]:
    lines = body.split(b"\n")
    out = [line + b"\n" for line in lines[:-1]]
    if lines[-1]:
        out.append(lines[-1])
    return out


def export_vcr(cassette_path: str | Path, out: str | Path) -> int:
    """Write the cassette as a vcrpy YAML cassette; returns the interactions written."""
    cassette = Cassette(cassette_path)
    h = cassette.header
    interactions: list[dict[str, Any]] = []
    conn: Connection | None = None
    lines: list[Line] = []
    closed: Close | None = None

    def flush() -> None:
        if conn is None:
            return
        body = b"".join(line.raw for line in lines)
        headers: dict[str, list[str]] = {}
        for k, v in conn.headers:
            if k.lower() not in _DROPPED:
                headers.setdefault(k, []).append(v)
        headers["Content-Length"] = [str(len(body))]
        try:
            body_value: str | bytes = body.decode("utf-8")
        except UnicodeDecodeError:
            body_value = body
        timing = {
            "connection": conn.index,
            "started": conn.started,
            "offset": conn.offset,
            "headers": [list(kv) for kv in conn.headers],  # as recorded, chunked and all
            "lines": [[line.offset, len(line.raw)] for line in lines],
            "close": {"offset": closed.offset, "reason": closed.reason.value, "error": closed.error}
            if closed
            else None,
        }
        if conn.url is not None:  # where a redirect led this connection
            timing["url"] = conn.url
        interactions.append(
            {
                "request": {
                    "body": None,
                    "headers": {k: [v] for k, v in h.request_headers.items()},
                    "method": h.method,
                    "uri": h.url,
                },
                "response": {
                    "status": {"code": conn.status, "message": conn.reason},
                    "headers": headers,
                    "body": {"string": body_value},
                    TIMING_KEY: timing,
                },
            }
        )

    for record in cassette:
        if isinstance(record, Connection):
            conn, lines, closed = record, [], None
        elif isinstance(record, Line):
            lines.append(record)
        else:
            closed = record
            flush()
            conn = None
    flush()
    doc = {"interactions": interactions, "version": 1}
    Path(out).write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return len(interactions)


def import_vcr(vcr_path: str | Path, out: str | Path, *, endpoint: str | None = None) -> int:
    """Turn the stream interactions of a vcrpy / pytest-recording cassette into a cassette.

    Offsets come from the export's timing key when present; a plain vcrpy cassette keeps
    no arrival times, so every line is put at offset 0 and the cassette is labelled
    `timing: none` (replay it at any speed; the order is exact).
    """
    try:
        text = Path(vcr_path).read_text(encoding="utf-8")
        requests, responses, *_ = deserialize(text, yamlserializer)
    except OSError as exc:
        raise InputError(f"{vcr_path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise InputError(f"{vcr_path}: not a vcrpy cassette: {exc}") from None
    forced = resolve_endpoint(endpoint).name if endpoint else None
    pairs = []
    for request, response in zip(requests, responses, strict=True):
        try:
            name = forced or resolve_endpoint(urlsplit(request.uri).path).name
        except UnknownEndpointError:
            continue  # not a stream interaction (a rules call, say)
        pairs.append((name, request, response))
    if not pairs:
        raise InputError(f"{vcr_path}: no interaction with a stream endpoint (give --endpoint to force one)")
    if len({name for name, _, _ in pairs}) > 1:
        raise InputError(f"{vcr_path}: interactions with several stream endpoints: import them one at a time")
    name, first, _ = pairs[0]
    timed = all(TIMING_KEY in r for _, _, r in pairs)
    url = urlsplit(first.uri)
    header = Header(
        endpoint=name,
        url=first.uri,
        method=first.method,
        query=dict(first.query),
        request_headers={k: v for k, v in first.headers.items() if k.lower() != "authorization"},
        recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        tool=f"x-stream-harness/{__version__}",
        labels={
            "source": "imported",
            "from": Path(vcr_path).name,
            "timing": "restored" if timed else "none",
            "host": url.netloc,
        },
    )
    records: list[Record] = []
    for index, (_, _, response) in enumerate(pairs):
        records += _records(index, response)
    write_cassette(out, header, records)
    return len(pairs)


def _records(index: int, response: dict[str, Any]) -> list[Record]:
    body = response["body"]["string"]
    raw = body.encode("utf-8") if isinstance(body, str) else bytes(body)
    headers = tuple((k, v) for k, values in response.get("headers", {}).items() for v in values)
    status = response["status"]
    timing = response.get(TIMING_KEY)
    lines = _split_lines(raw)
    if timing:
        offsets = [float(o) for o, _ in timing["lines"]]
        headers = tuple((str(k), str(v)) for k, v in timing.get("headers", headers))
        conn = Connection(index, int(status["code"]), status.get("message", ""), headers,
                          float(timing["offset"]), float(timing["started"]), timing.get("url"))  # fmt: skip
        close = timing.get("close") or {"offset": offsets[-1] if offsets else 0.0, "reason": "server-closed"}
        end = Close(float(close["offset"]), CloseReason(close["reason"]), close.get("error"))
    else:
        offsets = [0.0] * len(lines)
        conn = Connection(index, int(status["code"]), status.get("message", ""), headers)
        end = Close(0.0, CloseReason.SERVER_CLOSED)
    if len(offsets) != len(lines):
        raise InputError(f"interaction {index}: {len(lines)} body lines but timing for {len(offsets)}")
    return [conn, *(Line(o, line) for o, line in zip(offsets, lines, strict=True)), end]
