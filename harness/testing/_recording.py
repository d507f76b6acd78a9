"""Recording through the consumer, vcrpy's way: the test's consumer talks to a proxy on loopback;
its own requests (query, fields, rules calls) go upstream, and each stream response is written
into the cassette, line by line with its arrival time, while it is forwarded to the consumer.

One stream is recorded at a time (X allows one connection: a second at once gets X's 429);
each reconnection of the consumer is the cassette's next connection. The recording ends at
`max_events` (over all connections), `duration`, or the test's end: the open stream then ends
cleanly for the consumer, and further stream connections get a 410 saying why. Non-stream
requests (the filtered stream's rules) are forwarded as they are and kept in the header's
`api_calls`. Every string written passes the recorder's redaction (the consumer's token and the
recording token included).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlencode, urlsplit

from harness._version import __version__
from harness._wire import BadRequest, Request, send_response
from harness.cassette import Cassette, CassetteWriter, CloseReason, Connection, Header, write_cassette
from harness.errors import HarnessError, UnknownEndpointError
from harness.model import Endpoint, resolve_endpoint
from harness.model.params import parse_query
from harness.record._http_client import Link, ProxyError, Route, Stopped, open_stream
from harness.record._response import LineCheck
from harness.record._segment import Counts, Segment
from harness.record.recorder import RecordOptions
from harness.record.redact import RedactingWriter, Redaction
from harness.record.rules import setup_rules
from harness.record.target import Target
from harness.replay._http_server import HEAD_TIMEOUT, Client, LoopbackHTTPServer, head_reader, printable, problem
from harness.replay._plan import HOP_BY_HOP
from harness.replay._proxy import Addresses, Interceptor, connect_refusal
from harness.replay.faults import status_answer
from harness.replay.log import ConnectionLog, End
from harness.replay.loopback import endpoint_at

SETTLE = 5.0  # seconds the open streams get to close their segments at the end
MAX_BODY = 1 << 20  # bytes of a forwarded non-stream body kept in api_calls
_JSON = (("Content-Type", "application/json; charset=utf-8"),)


class _Tee(RedactingWriter):
    """The cassette's writer that also forwards each line, as it is written, to the consumer."""

    def __init__(self, writer: CassetteWriter, redaction: Redaction, sock: Any, gone: threading.Event) -> None:
        super().__init__(writer, redaction)
        self.sock, self.gone = sock, gone

    def _send(self, data: bytes) -> None:
        if self.gone.is_set():
            return
        try:
            self.sock.sendall(data)
        except OSError:
            self.gone.set()  # the consumer hung up: the segment ends at its next read

    def connection(self, status: int, reason: str, headers: Iterable[tuple[str, str]], *, offset: float,
                   started: float, url: str | None = None) -> None:  # fmt: skip
        headers = list(headers)
        kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        head = [f"HTTP/1.1 {status} {reason}".encode("latin-1")]
        head += [f"{k}: {v}".encode("latin-1") for k, v in (*kept, ("Transfer-Encoding", "chunked"),
                                                               ("Connection", "close"))]  # fmt: skip
        self._send(b"\r\n".join(head) + b"\r\n\r\n")
        super().connection(status, reason, headers, offset=offset, started=started, url=url)

    def line(self, raw: bytes, offset: float) -> None:
        self._send(b"%x\r\n%s\r\n" % (len(raw), raw))
        super().line(raw, offset)

    def lines(self, raws: list[bytes], offset: float) -> None:
        self._send(b"".join(b"%x\r\n%s\r\n" % (len(raw), raw) for raw in raws if raw))
        super().lines(raws, offset)

    def close_connection(self, reason: CloseReason, offset: float, error: str | None = None) -> None:
        super().close_connection(reason, offset, error)
        if reason is not CloseReason.ERROR:  # a network error stays one for the consumer: no last chunk
            self._send(b"0\r\n\r\n")


class _Session:
    """What a `Segment` needs of its recorder, for one consumer connection."""

    def __init__(self, proxy: RecordingProxy, target: Target, gone: threading.Event) -> None:
        self.proxy, self.target, self.gone = proxy, target, gone
        self.counts, self.options, self.origin = proxy.counts, proxy.options, proxy.origin
        self.check: LineCheck | None = None

    @property
    def stopping(self) -> object | None:
        return self.proxy.stopped or ("consumer-gone" if self.gone.is_set() else None)

    def tell(self, message: str) -> None:
        self.proxy.notes.append(self.proxy.redaction.message(message))

    def max_events_reached(self) -> None:
        self.proxy.stop_recording("max_events")


class RecordingProxy(Addresses):
    """The loopback server a consumer records through (see the module docstring)."""

    def __init__(self, cassette: Path, *, upstream: str, token: str | None, options: RecordOptions,
                 labels: dict[str, str], proxy: bool = False) -> None:  # fmt: skip
        # options.params: the query `url()` gives (the marker's params), as a replay's `url()` gives the recorded one
        self.path, self.upstream, self.token = cassette, upstream.rstrip("/"), token
        self.options, self.labels = options, labels
        self.redaction = options.redaction.with_secret(token)
        # the route upstream as it is before the test runs: the proxy fixture then points
        # HTTPS_PROXY and the CA bundle at the test's own proxy, for the consumer only
        self.route = Route.now(self.upstream)
        self.counts = Counts()
        self.origin = time.monotonic()
        self.stopped: str | None = None
        self.notes: list[str] = []  # what went wrong upstream, redacted
        self.log: list[ConnectionLog] = []
        self.recordings: dict[str, Any] = {}  # nothing to play back: every recorded connection is "played"
        self.api_calls: list[dict[str, Any]] = []
        self.connections = 0  # recorded into the cassette
        self.writer: CassetteWriter | None = None
        self._header: Header | None = None
        self._streaming = threading.Lock()
        self._lock = threading.Lock()
        self._interceptor = Interceptor() if proxy else None
        self._http = LoopbackHTTPServer(self._handle)
        duration = options.duration
        self._timer = threading.Timer(duration, self.stop_recording, ("duration",)) if duration else None

    # -- the fixture's API ----------------------------------------------------------------
    def url(self, endpoint: str) -> str:
        """The URL of an endpoint (name or path) through this proxy, with the marker's `params` if any."""
        path = endpoint if endpoint.startswith("/") else resolve_endpoint(endpoint).path
        query = urlencode(self.options.params, safe=",:")
        return self.base_url + path + (f"?{query}" if query else "")

    def push(self, data: bytes) -> int:
        raise HarnessError("push: this test records (the stream comes from upstream): push needs a replay")

    def start(self) -> RecordingProxy:
        self._http.start()
        if self._timer is not None:
            self._timer.daemon = True
            self._timer.start()
        return self

    def stop_recording(self, reason: str) -> None:
        with self._lock:
            self.stopped = self.stopped or reason

    def close(self) -> None:
        """End the recording: open streams end their segments (cleanly, for the consumer), then the cassette closes."""
        self.stop_recording("test-ended")
        if self._timer is not None:
            self._timer.cancel()
        if self._streaming.acquire(timeout=SETTLE):
            self._streaming.release()
        self._http.close()
        if self._interceptor is not None:
            self._interceptor.close()
        if self.writer is not None:
            self.writer.close()
            assert self._header is not None
            if len(self.api_calls) > len(self._header.api_calls):  # calls after the stream began: into the header
                records = list(Cassette(self.path))
                write_cassette(self.path, replace(self._header, api_calls=tuple(self.api_calls)), records)

    # -- one consumer connection ------------------------------------------------------------
    def _handle(self, client: Client) -> None:
        log = ConnectionLog(client.index, f"{client.peer[0]}:{client.peer[1]}", time.monotonic())
        sock: Any = client.sock
        rfile = client.rfile
        try:
            request = client.read_request()
            if request is not None and request.method == "CONNECT":
                if (refused := connect_refusal(self._interceptor, request)) is not None:
                    return self._answer(sock, log, *refused)
                assert self._interceptor is not None
                log.tunnel = self._interceptor.host_of(request)
                sock = self._interceptor.accept(sock, HEAD_TIMEOUT)
                rfile = head_reader(sock, HEAD_TIMEOUT)
                request = Client(sock, rfile, client.index, client.peer).read_request()
        except (BadRequest, OSError):
            return None
        if request is None:
            return None
        log.took(request)
        with self._lock:
            self.log.append(log)
        try:
            self._route(sock, rfile, request, log)
        except Exception as exc:  # the recording goes on; the test is told at its end (failure())
            log.end, log.error = End.ERROR, self.redaction.message(f"{type(exc).__name__}: {exc}")
            self.notes.append(f"{request.method} {request.path}: {log.error}")
        finally:
            if sock is not client.sock:
                with contextlib.suppress(OSError):
                    sock.close()
            log.finish()

    def _answer(self, sock: Any, log: ConnectionLog, status: int, body: bytes,
                headers: tuple[tuple[str, str], ...] = _JSON) -> None:  # fmt: skip
        log.status, log.end = status, End.REFUSED
        with contextlib.suppress(OSError):
            send_response(sock, status, http.client.responses.get(status, "Error"), headers, body)

    def _route(self, sock: Any, rfile: BinaryIO, request: Request, log: ConnectionLog) -> None:
        try:
            endpoint = endpoint_at(request.path)
        except UnknownEndpointError:
            return self._forward(sock, rfile, request, log)
        log.endpoint = endpoint.name
        if request.method != "GET":
            return self._forward(sock, rfile, request, log)
        if self.stopped is not None:
            detail = f"{endpoint.path}: the recording has ended ({self.stopped}): no further connection is recorded"
            return self._answer(sock, log, 410, problem(410, "Gone", detail))
        if not self._streaming.acquire(blocking=False):
            body, extra = status_answer(429, 1.0)
            return self._answer(sock, log, 429, body, (*_JSON, *extra))
        try:
            self._record(sock, request, endpoint, log)
        finally:
            self._streaming.release()

    def _upstream_headers(self, request: Request) -> dict[str, str]:
        skip = {*HOP_BY_HOP, "host", "accept-encoding", "proxy-authorization"}
        headers = {k: v for k, v in request.headers if k.lower() not in skip}
        if self.token:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def _record(self, sock: Any, request: Request, endpoint: Endpoint, log: ConnectionLog) -> None:
        query = request.target.partition("?")[2]
        try:
            params = parse_query(query)
        except HarnessError:
            params = {}
        url = self.upstream + endpoint.path
        headers = {**self._upstream_headers(request), "Accept-Encoding": "gzip"}
        redaction = self.redaction.with_secret(request.bearer())
        writer = self._writer(endpoint, url, params, headers, redaction, request.bearer())
        gone = threading.Event()
        session = _Session(self, Target(endpoint, url, params), gone)
        o = self.options
        t0 = time.monotonic()
        try:
            link, head, _ = open_stream(url + (f"?{query}" if query else ""), headers,
                                        lambda: Link(lambda: session.stopping is not None, o.connect_timeout,
                                                     o.read_timeout, self.route), lambda a, b: None)  # fmt: skip
        except (Stopped, OSError, ValueError, ProxyError) as exc:
            note = redaction.message(f"{url}: {type(exc).__name__}: {exc}")
            self.notes.append(note)
            return self._answer(sock, log, 502, problem(502, "Bad Gateway", f"recording: upstream failed: {note}"))
        log.status = head.status
        try:
            with self._lock:
                self.connections += 1
            Segment(session, _Tee(writer, redaction, sock, gone), t0).record(link, head)
        finally:
            link.close()
        log.end = End.VANISHED if gone.is_set() else End.COMPLETED

    def _writer(self, endpoint: Endpoint, url: str, params: dict[str, str], headers: dict[str, str],
                redaction: Redaction, bearer: str | None) -> CassetteWriter:  # fmt: skip
        if self.writer is None:
            rules = None
            if endpoint.name == "search-stream":  # the rules in effect as the stream begins, as the recorder reads them
                rules, _ = setup_rules(url, self.token or bearer, redaction, None, False, self.notes.append)
            self._header = Header(
                endpoint=endpoint.name,
                url=redaction.url(url, params),
                query=redaction.query(params),
                request_headers=dict(redaction.headers_list(headers.items())),
                recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                tool=f"x-stream-harness/{__version__}",
                labels=self.labels,
                rules=rules,
                api_calls=tuple(self.api_calls),
            )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.writer = CassetteWriter(self.path, self._header, background=True)
        return self.writer

    def _forward(self, sock: Any, rfile: BinaryIO, request: Request, log: ConnectionLog) -> None:
        """A request that is no stream (the rules): sent upstream as it is, answered, kept in `api_calls`."""
        size = int(request.header("Content-Length") or 0)
        body = rfile.read(min(size, MAX_BODY)) if size else b""
        parts = urlsplit(self.upstream)
        conn_type = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_type(parts.netloc, timeout=self.options.read_timeout)
        try:
            conn.request(request.method, request.target, body or None, self._upstream_headers(request))
            response = conn.getresponse()
            data = response.read(MAX_BODY)
            status, reason, got = response.status, response.reason, response.getheaders()
        except (OSError, http.client.HTTPException) as exc:
            note = self.redaction.message(f"{request.method} {request.path}: {type(exc).__name__}: {exc}")
            self.notes.append(note)
            return self._answer(sock, log, 502, problem(502, "Bad Gateway", f"recording: upstream failed: {note}"))
        finally:
            conn.close()
        kept = tuple((k, v) for k, v in got if k.lower() not in HOP_BY_HOP)
        log.status, log.end = status, End.COMPLETED
        with contextlib.suppress(OSError):
            send_response(sock, status, reason, kept, data)
        r = self.redaction.with_secret(request.bearer())
        with self._lock:
            self.api_calls.append({
                "method": request.method, "path": request.path,
                "query": r.query(parse_query_lenient(request.target.partition("?")[2])),
                "body": _json_or_text(r.line(body)), "status": status, "response": _json_or_text(r.line(data)),
            })  # fmt: skip

    # -- the outcome ------------------------------------------------------------------------
    def failure(self) -> str | None:
        """Why the cassette is no recording worth keeping, or None: it holds a 200 stream."""
        if self.writer is None or not self.path.is_file():
            why = "; ".join(self.notes[:3]) or "the consumer opened no stream through the recording proxy"
            return printable(why)
        if not any(isinstance(r, Connection) and r.status == 200 for r in Cassette(self.path)):
            return printable("; ".join(self.notes[:3]) or "no connection answered 200")
        return None


def parse_query_lenient(query: str) -> dict[str, str]:
    try:
        return parse_query(query)
    except HarnessError:
        return {}


def _json_or_text(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")


def holds_connection(path: Path) -> bool:
    """Whether a cassette holds a recorded connection (a failed recording holds none)."""
    try:
        return any(isinstance(r, Connection) for r in Cassette(path))
    except (HarnessError, OSError):
        return True  # a broken cassette is reported by the replay, naming the line
