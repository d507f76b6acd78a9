"""The connections API of the replay: `GET /2/connections` and the three DELETEs that end streams.

Every stream the replayer serves is a connection with a UUID, from its head until it ends.
Ending one through the API ends its stream as a server-side close does: an
`operational-disconnect` payload (`ForceDisconnect`), then the body's last chunk. The answer
goes out once the connections named have ended (their slot counted free for
`max_connections`), so a client that reconnects at once after `DELETE /2/connections/all`
gets in: the documented way out of a 429 TooManyConnections.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import socket
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from harness._wire import Request
from harness.errors import ParameterError
from harness.model.connections import (
    CONNECTION,
    HISTORY,
    MAX_UUIDS,
    STREAM_ID_OF,
    STREAM_IDS,
)
from harness.model.params import check_query, invalid_request_body, parse_query
from harness.replay._http_server import problem
from harness.replay.log import ConnectionLog, End

PREFIX = "/2/connections"
KEEP_INACTIVE = 1000  # past connections remembered for GET ?status=inactive
KILL_GRACE = 0.5  # seconds a killed stream has to end by itself (its payload, its last chunk)
KILL_WAIT = 5.0  # seconds a kill waits in all for the streams it ended to finish
MAX_BODY = 64 * 1024
FORCED = "operator_disconnect"
# ASCII digits only, few enough for int(): str.isdigit() also takes "²" (which int() refuses)
_TOKEN = re.compile(r"p[0-9]{1,9}\Z")
_COUNT = re.compile(r"[0-9]{1,19}\Z")
_REASONS = {
    End.COMPLETED: "server_closed_connection",
    End.DROPPED: "server_dropped_connection",
    End.VANISHED: "client_closed_connection",
    End.STOPPED: "server_shutdown",
    End.ERROR: "internal_error",
}
_DEFAULT_FIELDS = tuple(f.name for f in CONNECTION.fields if f.default)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Entry:
    """One stream connection: active until `disconnected_at` is set."""

    id: str
    endpoint_name: str
    client_ip: str
    connected_at: str
    log: ConnectionLog
    disconnected_at: str | None = None
    disconnect_reason: str | None = None
    ended: threading.Event = field(default_factory=threading.Event, repr=False)
    sock: socket.socket | None = field(default=None, repr=False)  # closed when the stream does not end

    def as_json(self, fields: Iterable[str]) -> dict[str, str]:
        values = {
            "id": self.id,
            "client_ip": self.client_ip,
            "connected_at": self.connected_at,
            "endpoint_name": self.endpoint_name,
            "disconnected_at": self.disconnected_at,
            "disconnect_reason": self.disconnect_reason,
        }
        return {k: v for k, v in values.items() if k in fields and v is not None}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


def _bad(message: str, parameter: str, params: dict[str, str]) -> Answer:
    return Answer(400, invalid_request_body(ParameterError(message, parameter=parameter), params))


class ConnectionTable:
    """The replayer's stream connections, active and (the latest `keep`) past.

    `wake(index)` wakes the stream of the accepted connection `index` (its waiter), so that a
    kill takes effect at once.
    """

    def __init__(self, wake: Callable[[int], None], keep: int = KEEP_INACTIVE) -> None:
        self._wake, self._keep = wake, keep
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Entry] = OrderedDict()

    # -- the server's side ---------------------------------------------------------------------
    def open(self, endpoint: str, log: ConnectionLog, sock: socket.socket | None = None) -> Entry:
        """A stream connection of `endpoint` (a short name) on `sock` begins."""
        name = STREAM_ID_OF.get(endpoint)
        entry = Entry(str(uuid.uuid4()), name or "", log.peer.rpartition(":")[0], _now(), log, sock=sock)
        if name is None:  # a stream the API has no name for (activity): not listed, not ended by it
            return entry
        with self._lock:
            self._entries[entry.id] = entry
            inactive = [k for k, e in self._entries.items() if e.disconnected_at is not None]
            for key in inactive[: max(0, len(inactive) - self._keep)]:
                del self._entries[key]
        return entry

    def close(self, entry: Entry) -> None:
        """The stream has ended (and its `max_connections` slot is free again)."""
        with self._lock:
            entry.disconnected_at = _now()
            end = entry.log.end
            entry.disconnect_reason = FORCED if entry.log.killed else _REASONS.get(end, str(end)) if end else "unknown"
        entry.ended.set()

    def active(self) -> list[Entry]:
        with self._lock:
            return [e for e in self._entries.values() if e.disconnected_at is None]

    def kill(self, entries: list[Entry]) -> None:
        """End these streams; returns once they have ended (or after KILL_WAIT).

        A stream that has not ended after KILL_GRACE (blocked writing to a client that does not
        read) has its connection shut down, as the live API closes it: its slot is free at once.
        """
        start = time.monotonic()
        for entry in entries:
            entry.log.killed = FORCED
            self._wake(entry.log.index)
        for entry in entries:
            if not entry.ended.wait(max(0.0, start + KILL_GRACE - time.monotonic())) and entry.sock is not None:
                with contextlib.suppress(OSError):  # the plain socket's, under TLS too: its own thread closes it
                    socket.socket.shutdown(entry.sock, socket.SHUT_RDWR)
        for entry in entries:
            entry.ended.wait(max(0.0, start + KILL_WAIT - time.monotonic()))

    # -- the API -------------------------------------------------------------------------------
    @staticmethod
    def handles(path: str) -> bool:
        return path == PREFIX or path.startswith(PREFIX + "/")

    def answer(self, request: Request, rfile: BinaryIO) -> Answer:
        """The answer to one call of the API (authorization already checked: `harness.replay._api`)."""
        path = request.path.rstrip("/") or "/"
        rest = path[len(PREFIX) + 1 :] if path != PREFIX else ""
        if "/" in rest:
            return Answer(404, _problem(404, "Not Found Error", f"no resource at {request.path}"))
        if request.method == "GET" and not rest:
            return self._history(request)
        if request.method != "DELETE":
            allowed = "GET or DELETE" if not rest else "DELETE"
            detail = f"{request.method} {request.path}: expected {allowed}"
            return Answer(405, _problem(405, "Method Not Allowed", detail))
        if rest == "all":
            return self._kill_answer(self.active(), None)
        if rest:
            if rest not in STREAM_IDS:
                params = {"endpoint_id": rest}
                return _bad(f"endpoint_id: expected one of {', '.join(STREAM_IDS)}, found {rest!r}", "endpoint_id",
                            params)  # fmt: skip
            return self._kill_answer([e for e in self.active() if e.endpoint_name == rest], None)
        return self._kill_uuids(request, rfile)

    def _history(self, request: Request) -> Answer:
        params: dict[str, str] = {}
        try:
            params = parse_query(request.target.partition("?")[2])
            check_query(HISTORY, params)
        except ParameterError as exc:
            return Answer(400, invalid_request_body(exc, params))
        status = params.get("status", "active")
        wanted = set(params["endpoints"].split(",")) if "endpoints" in params else None
        fields = set(params["connection.fields"].split(",")) | set(_DEFAULT_FIELDS) if "connection.fields" in params \
            else set(_DEFAULT_FIELDS)  # fmt: skip
        with self._lock:
            found = [
                e
                for e in self._entries.values()
                if (status == "all" or (e.disconnected_at is None) == (status == "active"))
                and (wanted is None or e.endpoint_name in wanted)
            ]
        start = 0
        if "pagination_token" in params:
            token = params["pagination_token"]
            start = int(token[1:]) if _TOKEN.match(token) else -1
            if not 0 < start < len(found):
                return _bad(f"pagination_token: not a token of this replay's, found {token!r}", "pagination_token",
                            params)  # fmt: skip
        size = int(params.get("max_results", "10"))
        page = found[start : start + size]
        body: dict[str, Any] = {}
        if page:
            body["data"] = [e.as_json(fields) for e in page]
        meta: dict[str, Any] = {"result_count": len(page)}
        if start + size < len(found):
            meta["next_token"] = f"p{start + size}"
        body["meta"] = meta
        return Answer(200, body)

    def _kill_uuids(self, request: Request, rfile: BinaryIO) -> Answer:
        try:
            body = _json_body(request, rfile)
        except ValueError as exc:
            return Answer(400, _problem(400, "Invalid Request", str(exc)))
        uuids = body.get("uuids") if isinstance(body, dict) else None
        if (
            not isinstance(uuids, list)
            or not 1 <= len(uuids) <= MAX_UUIDS
            or not all(isinstance(u, str) for u in uuids)
        ):
            shown = json.dumps(uuids)[:200] if isinstance(body, dict) and "uuids" in body else "nothing"
            message = f"uuids: expected a list of 1 to {MAX_UUIDS} connection UUIDs (strings), found {shown}"
            return _bad(message, "uuids", {})
        with self._lock:
            known = dict(self._entries)
        targets = [known[u] for u in dict.fromkeys(uuids) if u in known and known[u].disconnected_at is None]
        return self._kill_answer(targets, list(dict.fromkeys(uuids)))

    def _kill_answer(self, targets: list[Entry], named: list[str] | None) -> Answer:
        self.kill(targets)
        ended = {e.id for e in targets}
        results = [{"uuid": e.id, "success": True, "error_message": ""} for e in targets]
        failed = 0
        for u in named or ():
            if u not in ended:
                failed += 1
                results.append({"uuid": u, "success": False, "error_message": "Connection not found"})
        data = {"successful_kills": len(ended), "failed_kills": failed, "results": results}
        return Answer(200, {"data": data})


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return dict(json.loads(problem(status, title, detail)))


def _json_body(request: Request, rfile: BinaryIO) -> Any:
    """The request's JSON body (Content-Length framing); ValueError saying what is wrong."""
    ctype = (request.header("Content-Type") or "").split(";")[0].strip().lower()
    if ctype != "application/json":
        raise ValueError(f"expected a body of Content-Type application/json, found {ctype or 'none'}")
    if (request.header("Transfer-Encoding") or "").lower() not in ("", "identity"):
        raise ValueError("expected a body framed by Content-Length, found Transfer-Encoding")
    length = request.header("Content-Length") or ""
    if not _COUNT.match(length) or int(length) > MAX_BODY:
        raise ValueError(f"expected a Content-Length of at most {MAX_BODY} bytes, found {length[:40] or 'none'}")
    try:
        data = rfile.read(int(length))
    except OSError as exc:  # TimeoutError included: the body is due with the head
        raise ValueError(f"the body did not come whole: {exc}") from None
    if len(data) != int(length):
        raise ValueError(f"the body ended after {len(data)} of its {length} bytes")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:  # RecursionError: nested too deep
        raise ValueError(f"the body is not JSON: {exc}") from None
