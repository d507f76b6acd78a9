"""The built-in loopback stream source (`harness serve`): every stream, no credentials needed.

It speaks the streams' wire protocol: chunked HTTP/1.1, one chunk per line with its CRLF,
`Content-Type: application/json; charset=utf-8`, TCP_NODELAY, a blank heartbeat line after
`heartbeat` seconds of silence, bearer auth, and X's 400 bodies for bad query parameters.
Events come from the object model (`Synth`), reproducible by seed: every connection with
the same seed receives the same sequence. It also serves the filtered stream's rules API
(`harness.replay._api`): its search-stream events name the installed rules in their
`matching_rules` (event n the rule n mod count), and with no rule installed it sends
heartbeats only.

    with LoopbackServer(ServeOptions(rate=50, heartbeat=0.1, seed=1)) as server:
        requests.get(server.base_url + "/2/tweets/search/stream", headers=..., stream=True)
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from harness._wire import BATCH_BYTES, STREAM_HEADERS, BadRequest, ChunkedWriter, send_response
from harness.cassette.synth import Synth, encode_line, problem_kinds
from harness.errors import ParameterError, UnknownEndpointError, UsageError
from harness.model import ENDPOINTS, Endpoint, resolve_endpoint
from harness.model.dialect import Dialect
from harness.model.params import check_query, invalid_request_body, parse_query
from harness.model.practice import live_rate
from harness.model.rule_syntax import MAX_RULE_LENGTH, MAX_RULES
from harness.replay._api import Apis, api_path, serve_api
from harness.replay._connections import ConnectionTable
from harness.replay._http_server import HEAD_TIMEOUT, MAX_CLIENTS, Client, LoopbackHTTPServer, printable, problem
from harness.replay._payloads import FORCE_DISCONNECT_LINE
from harness.replay._rules import RuleBook
from harness.replay.log import ConnectionLog, End

HEARTBEAT = b"\r\n"
#: the bearer token of a recording from the loopback source: redacted wherever it occurs, so it
#: must be no word of the synthetic events or the source's rules ("loopback" is both)
LOOPBACK_TOKEN = "harness-loopback-token-0d9c"
#: the loopback source's rules until a client changes them
DEFAULT_RULES = ({"id": "1000000000000000001", "value": "loopback", "tag": "loopback"},)
JSON_HEADERS = (("Content-Type", "application/json; charset=utf-8"),)

#: Makes the lines of a connection: (endpoint name, connection index) -> lines with CRLF.
EventSource = Callable[[str, int], Iterator[bytes]]
#: Told (event number on its connection, time.monotonic() just before the send) per event.
SendLog = Callable[[int, float], None]


@dataclass(frozen=True)
class ServeOptions:
    """How the loopback source behaves.

    `token`: the bearer token required (None: any non-empty one). `rate`: events per second
    per connection (0: heartbeats only, `math.inf`: as fast as the socket takes them).
    `max_events`: per connection, then the stream ends cleanly. `error_every`: an in-stream
    error payload of `error_kind` after every N events. `gzip`: compress (with a sync flush
    per line) for clients that accept gzip. `rules`: the filtered stream's first rules
    (`{"value"[, "tag"]}` objects; default `DEFAULT_RULES`). `dialect`: the member names of the
    events (classic, or 2.167 as xdk 0.10.6 expects). `live`: each stream at its own live rate
    (`harness.model.practice.live_rate`) instead of `rate`; `max_rules`,
    `max_rule_length`: X's limits.
    """

    token: str | None = None
    rate: float = 2.0
    heartbeat: float = 20.0
    seed: int | None = None
    max_events: int | None = None
    error_every: int | None = None
    error_kind: str = "operational-disconnect"
    gzip: bool = False
    rules: Sequence[Mapping[str, str]] = DEFAULT_RULES
    dialect: Dialect | str = Dialect.CLASSIC
    live: bool = False
    max_rules: int = MAX_RULES
    max_rule_length: int = MAX_RULE_LENGTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "dialect", Dialect.parse(self.dialect))
        if math.isnan(self.rate) or self.rate < 0:
            raise UsageError(f"rate: expected events per second >= 0 (or inf), found {self.rate}")
        if not self.heartbeat > 0:
            raise UsageError(f"heartbeat: expected seconds > 0, found {self.heartbeat}")
        if self.max_events is not None and self.max_events < 0:
            raise UsageError(f"max_events: expected a count >= 0, found {self.max_events}")
        if self.error_every is not None and self.error_every < 1:
            raise UsageError(f"error_every: expected a count >= 1, found {self.error_every}")
        if self.token is not None and not self.token.strip():
            raise UsageError("token: expected a non-empty token (or none, to accept any bearer token)")
        if self.error_kind not in problem_kinds():
            raise UsageError(f"error kind: expected one of {', '.join(problem_kinds())}, found {self.error_kind!r}")


def synth_source(
    seed: int | None, dialect: Dialect | str = Dialect.CLASSIC, rules: RuleBook | None = None
) -> EventSource:
    """Valid events of the endpoint from the object model, as a bare request gets them;
    each connection starts from `seed`. (The server's own source answers each request's
    `*.fields` and `expansions`: see `request_lines`.)"""

    def lines(endpoint: str, index: int) -> Iterator[bytes]:
        return request_lines(seed, dialect, endpoint, {}, rules)

    return lines


def request_lines(seed: int | None, dialect: Dialect | str, endpoint: str, query: Mapping[str, str],
                  rules: RuleBook | None = None) -> Iterator[bytes]:  # fmt: skip
    """Events of `endpoint` as live answers a request with `query`, named in `dialect`.

    Each partition of a stream carries its own events, as live: partition 1 those of `seed`.
    With `rules`, search-stream events name the installed rules (b"": none is installed).
    """
    partition = query.get("partition", "1")
    synth = Synth(seed if seed is None or partition == "1" else f"{seed}/partition-{partition}")
    n = 0
    while True:
        event = synth.event(endpoint, query, dialect)
        if rules is not None and endpoint == "search-stream":
            named = rules.assign(event, n)
            if named is None:
                yield b""
                continue
            n, event = n + 1, named
        yield encode_line(event)


def generic_problem(status: int, title: str, detail: str) -> bytes:
    """An `about:blank` Problem body, as X answers 401, 404 and 405."""
    return problem(status, title, detail)


class LoopbackServer:
    """A loopback server for every stream endpoint; a context manager with `.base_url`/`.url(endpoint)`/`.port`.

    `request_timeout`: seconds for a whole request head; `max_clients`: open connections,
    one more is answered 503 (see `harness.replay._http_server`).
    """

    def __init__(self, options: ServeOptions | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 source: EventSource | None = None, on_send: SendLog | None = None,
                 log: Callable[[str], None] | None = None, request_timeout: float = HEAD_TIMEOUT,
                 max_clients: int = MAX_CLIENTS) -> None:  # fmt: skip
        self.options = options or ServeOptions()
        o = self.options
        self.rules = RuleBook(o.rules, max_rules=o.max_rules, max_length=o.max_rule_length, on_message=log)
        self._own_source = source is None  # then each request's query shapes its events
        self.source = source or synth_source(o.seed, o.dialect, self.rules)
        self.on_send = on_send
        self.log = log
        self.events_sent = 0
        self._count_lock = threading.Lock()
        if not request_timeout > 0:
            raise UsageError(f"request_timeout: expected seconds > 0, found {request_timeout}")
        if max_clients < 1:
            raise UsageError(f"max_clients: expected a count >= 1, found {max_clients}")
        self._http = LoopbackHTTPServer(self._handle, host, port, head_timeout=request_timeout,
                                        max_clients=max_clients)  # fmt: skip
        self.connection_table = ConnectionTable(self._wake)  # the connections API's
        self._apis = Apis(self.rules, self.connection_table)
        self._wakers: dict[int, threading.Event] = {}  # each stream's: set to end a wait early

    @property
    def base_url(self) -> str:
        return self._http.base_url

    @property
    def port(self) -> int:
        return int(self._http.port)

    @property
    def connections(self) -> int:
        return self._http.connections

    def url(self, endpoint: str, params: Mapping[str, str] | None = None) -> str:
        """The URL of one stream (short name or path) on this server, with a query (as `ReplayServer.url`)."""
        query = f"?{urlencode(params, safe=',:')}" if params else ""
        return self.base_url + resolve_endpoint(endpoint).path + query

    def start(self) -> LoopbackServer:
        self._http.start()
        return self

    def close(self) -> None:
        self._http.stopping.set()
        self._wake()
        self._http.close()

    def _wake(self, *_: object) -> None:
        with self._count_lock:
            wakers = list(self._wakers.values())
        for event in wakers:
            event.set()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def serve_forever(self) -> None:
        """Serve until `close()` is called from another thread or a signal handler."""
        self.start()
        while not self._http.stopping.wait(0.5):
            pass

    # -- one connection ----------------------------------------------------------------
    def _note(self, client: Client, message: str) -> None:
        if self.log is not None:
            self.log(printable(f"{client.peer[0]}:{client.peer[1]} #{client.index} {message}"))

    def _refuse(self, client: Client, status: int, reason: str, body: bytes) -> None:
        send_response(client.sock, status, reason, JSON_HEADERS, body)
        self._note(client, f"-> {status} {reason}")

    def _handle(self, client: Client) -> None:
        try:
            request = client.read_request()
        except BadRequest as exc:
            self._refuse(client, 400, "Bad Request", generic_problem(400, "Bad Request", str(exc)))
            return
        except TimeoutError:
            self._note(client, "no complete request in time: closed")
            return
        if request is None:
            return
        self._note(client, f"{request.method} {request.target}")
        if api_path(request.path):  # the one way to what is not a stream
            self._note(client, serve_api(client.sock, request, client.rfile, self._apis, self.options.token))
            return
        log = ConnectionLog(client.index, f"{client.peer[0]}:{client.peer[1]}", time.monotonic(), keep=0)
        try:
            endpoint = endpoint_at(request.path)
        except UnknownEndpointError as exc:
            self._refuse(client, 404, "Not Found", generic_problem(404, "Not Found Error", str(exc)))
            return
        if request.method != "GET":
            detail = f"{request.method} is not supported: streams are GET"
            self._refuse(client, 405, "Method Not Allowed", generic_problem(405, "Method Not Allowed", detail))
            return
        token = request.bearer()
        if not token or (self.options.token is not None and token != self.options.token):
            self._refuse(client, 401, "Unauthorized", generic_problem(401, "Unauthorized", "Unauthorized"))
            return
        params: dict[str, str] = {}
        try:
            params = parse_query(request.target.partition("?")[2])
            check_query(endpoint, params)
        except ParameterError as exc:
            body = json.dumps(invalid_request_body(exc, params)).encode()
            self._refuse(client, 400, "Bad Request", body)
            return
        writer = ChunkedWriter(
            client.sock, gzip=self.options.gzip and request.accepts_gzip(), chunked=not request.http10
        )
        headers = (*STREAM_HEADERS, ("Cache-Control", "no-cache, no-store"), ("X-Harness-Source", "loopback"))
        # listed before it is answered: a client that has its head finds its stream listed (and killable)
        entry, wake = self.connection_table.open(endpoint.name, log, client.sock), threading.Event()
        with self._count_lock:
            self._wakers[client.index] = wake
        try:
            writer.start(200, "OK", headers)
            sent, finished = self._stream(writer, endpoint, client.index, params, log, wake)
            if log.killed:
                writer.send(FORCE_DISCONNECT_LINE)
            if finished:
                writer.finish()
            log.end = End.COMPLETED if finished else End.STOPPED
        finally:
            with self._count_lock:
                self._wakers.pop(client.index, None)
            log.end = log.end or End.VANISHED
            self.connection_table.close(entry)
        self._note(client, f"-> 200, {sent} event(s), {'ended' if finished else 'cut'}")

    def _stream(self, writer: ChunkedWriter, endpoint: Endpoint, index: int, query: Mapping[str, str],
                log: ConnectionLog, wake: threading.Event) -> tuple[int, bool]:  # fmt: skip
        """Send lines until max_events, the source ends (True) or the server stops (False).

        Events that are due together (a high rate, or `inf`) leave in one `sendall` of up
        to BATCH_BYTES, still one chunk per line.
        """
        o = self.options
        stopping = self._http.stopping
        if self._own_source:
            events = request_lines(o.seed, o.dialect, endpoint.name, query, self.rules)
        else:
            events = self.source(endpoint.name, index)
        problems = Synth(o.seed)
        rate = live_rate(endpoint) if o.live else o.rate
        interval = None if rate == 0 else 1.0 / rate
        limit = o.max_events if o.max_events is not None else -1
        sent = 0
        now = last = next_event = time.monotonic()
        while not stopping.is_set():
            if log.killed:  # ended through the connections API
                return sent, True
            if interval is not None and now >= next_event:
                batch: list[bytes] = []
                first, size = sent, 0
                while now >= next_event and size < BATCH_BYTES and sent != limit:
                    line = next(events, None)
                    if line is None:
                        limit = sent
                        break
                    if not line:  # no rule installed: nothing due before the next look
                        next_event = now + (interval or 0.05)
                        break
                    batch.append(line)
                    size += len(line)
                    sent += 1
                    if o.error_every and sent % o.error_every == 0:
                        batch.append(encode_line(problems.problem(o.error_kind)))
                    next_event += interval
                self._send(writer, batch, first, sent)
                if sent == limit:
                    return sent, True
                now = time.monotonic()
                last = now if batch else last
                continue
            if now - last >= o.heartbeat:
                writer.send(HEARTBEAT)
                last = now
            due = last + o.heartbeat if interval is None else min(next_event, last + o.heartbeat)
            if due > now and wake.wait(due - now):
                wake.clear()  # woken: a kill, or the server stopping, is looked at above
            now = time.monotonic()
        return sent, False

    def _send(self, writer: ChunkedWriter, batch: list[bytes], first: int, sent: int) -> None:
        """Events `first`..`sent - 1` (and any error payloads among them) in one write."""
        if self.on_send is not None:
            t = time.monotonic()
            for n in range(first, sent):
                self.on_send(n, t)
        writer.send_many(batch)
        with self._count_lock:
            self.events_sent += sent - first


def endpoint_at(path: str) -> Endpoint:
    """The stream served at `path` (a trailing slash allowed); the servers answer 404 otherwise."""
    for endpoint in ENDPOINTS.values():
        if path in (endpoint.path, endpoint.path + "/"):
            return endpoint
    known = ", ".join(e.path for e in ENDPOINTS.values())
    raise UnknownEndpointError(f"no stream at {path}: expected one of {known}")


def ready_info(server: LoopbackServer) -> dict[str, Any]:
    """What `--ready-file` holds: the base URL and each stream's URL."""
    return {
        "url": server.base_url,
        "port": server.port,
        "endpoints": {name: server.base_url + e.path for name, e in ENDPOINTS.items()},
    }
