"""The replayer: serves cassettes at their recorded timing to unmodified consumers.

    with ReplayServer(["session.jsonl"], speed=20, faults=["disconnect@5"]) as server:
        consume(server.url("search-stream")); assert server.log[0].faults  # xdk: server.base_url

Each cassette is served at the path it was recorded from, with the live API's contract: bearer
auth (401), query parameters (400), unknown paths (404), `max_connections` per endpoint (429).

Each consumer (a bearer token) has its own place in the recording: its first connection gets
the first recorded connection, each reconnect the next: concurrent consumers each see it all.
A connection cut before its recorded end (by a fault, or by the client) is taken up by that
consumer's next connection where it stopped: one that reconnects as it should loses nothing.
When the recording runs out (its last connection stopped while the stream was alive),
`on_end` says: `hold` (heartbeats every `heartbeat` s, by the speed), `close`, `loop`, or
`refuse` (close; further connections get a 410 saying the recording has ended).
A recorded server close or network error is always replayed as such.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from harness._wire import BadRequest, Request, read_request, send_response
from harness.errors import CassetteError, UsageError
from harness.model import resolve_endpoint
from harness.model.rule_syntax import MAX_RULE_LENGTH, MAX_RULES
from harness.replay._admit import Refusal, admit
from harness.replay._api import Apis, api_path, serve_api
from harness.replay._clock import Arrivals, Pacing
from harness.replay._connections import ConnectionTable
from harness.replay._http_server import HEAD_TIMEOUT, MAX_CLIENTS, Client, LoopbackHTTPServer, head_reader, printable
from harness.replay._library import Library, Match
from harness.replay._plan import Cursor, Cursors, OnEnd, Plan, Recording, Resume, check_settings, send_recorded
from harness.replay._proxy import Addresses, Interceptor, connect_refusal
from harness.replay._ready import ready_info
from harness.replay._recorded import Item, Recorded
from harness.replay._rules import RuleBook, RuleSpec
from harness.replay._stream import Finish, Streamer, run
from harness.replay._wait import Gate, Stopped, Vanished, Waiter
from harness.replay.faults import Fault, FaultBook, FaultKind, fault_answer, phrase, status_answer
from harness.replay.log import KEEP_LINES, AppliedFault, ConnectionLog, End, LineKind, SentLine
from harness.replay.loopback import JSON_HEADERS, generic_problem

__all__ = ["AppliedFault", "ConnectionLog", "End", "Fault", "FaultKind", "LineKind", "OnEnd", "ReplayServer",
           "SentLine", "ready_info"]  # fmt: skip


class ReplayServer(Addresses):
    """An HTTP/1.1 server on loopback replaying cassettes (see the module docstring).

    `speed`: 1 is the recorded timing, 20 twenty times faster, None as fast as the client
    reads. `token`: the one bearer token accepted (None: any). `faults`: `Fault`s or their
    specs (`harness.replay.faults`). `proxy`: also act as a TLS-intercepting HTTPS proxy for
    api.x.com and api.twitter.com (`proxy_url`, `ca_bundle`). `on_message` is told one
    line per connection event (the CLI prints them). `log_limit`: keep only about the latest
    that many connections in `log` (None: all of them); `log_lines`: the lines kept per
    connection's log (`ConnectionLog.lines`). Limits against hostile clients:
    `request_timeout` for a whole request head (and a TLS handshake), `max_clients` open
    connections (one more gets a 503), `consumers` bearer tokens remembered (as digests).
    The filtered stream's rules (`rules`, a `RuleBook`: `.rules`, `.set()`) start as the cassette's,
    else as given (`rules`: `{"value", "tag"}` objects); `max_rules`, `max_rule_length`: X's limits.
    """

    def __init__(self, cassettes: Sequence[str | Path], *, host: str = "127.0.0.1", port: int = 0,
                 speed: float | None = 1.0, token: str | None = None, on_end: OnEnd | str = OnEnd.HOLD,
                 max_connections: int | None = None, faults: Sequence[Fault | str] = (), proxy: bool = False,
                 heartbeat: float = 20.0, on_message: Callable[[str], None] | None = None,
                 log_limit: int | None = None, log_lines: int = KEEP_LINES, request_timeout: float = HEAD_TIMEOUT,
                 max_clients: int = MAX_CLIENTS, consumers: int = 10_000, rules: Sequence[RuleSpec] | None = None,
                 max_rules: int = MAX_RULES, max_rule_length: int = MAX_RULE_LENGTH) -> None:  # fmt: skip
        counts = {"max_connections": max_connections, "max_clients": max_clients, "consumers": consumers,
                  "log_lines": log_lines + 1}  # fmt: skip
        check_settings(speed=speed, heartbeat=heartbeat, request_timeout=request_timeout, token=token,
                       cassettes=len(cassettes), counts=counts)  # fmt: skip
        self.speed, self.token, self.heartbeat = speed, token, heartbeat
        self.on_end = OnEnd.parse(on_end)
        self.max_connections = max_connections
        self.faults = FaultBook(tuple(Fault.coerce(f) for f in faults))
        self.on_message = on_message
        self.log_limit, self.log_lines, self.request_timeout = log_limit, log_lines, request_timeout
        self.warnings: list[str] = []
        self.admit: Callable[[ConnectionLog], tuple[int, bytes] | None] | None = None  # a refusal, or None
        self.library = Library(cassettes, self.warnings)
        self.recordings: dict[str, Recording] = self.library.by_endpoint
        self.mismatches = self.library.mismatches  # asked for, not in the cassettes (and how to record it)
        self.rules = RuleBook(rules, max_rules=max_rules, max_length=max_rule_length, on_message=on_message)
        self.rules.add_cassettes(self.library.scanned, self.warnings)
        self.log: list[ConnectionLog] = []
        self.connections = 0  # accepted in all
        self._lock = threading.Condition()
        self._cursors = Cursors(consumers)
        self._open: dict[str, int] = {}
        self._active: dict[int, list[Any]] = {}  # index -> [socket, Waiter | None]
        self._interceptor = Interceptor() if proxy else None
        self._arrivals = Arrivals()
        self._gate = Gate()
        self.connection_table = ConnectionTable(self._wake_all)  # the connections API's
        self._apis = Apis(self.rules, self.connection_table)
        try:
            self._http = LoopbackHTTPServer(self._handle, host, port, head_timeout=request_timeout,
                                            max_clients=max_clients)  # fmt: skip
        except OSError as exc:
            self._close_interceptor()
            self._arrivals.close()
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None

    # -- the Python API --------------------------------------------------------------------
    @property
    def port(self) -> int:
        return int(self._http.port)

    @property
    def consumers(self) -> int:
        """How many consumers (endpoint and token digest) the server remembers now."""
        return len(self._cursors)

    @property
    def endpoints(self) -> list[str]:
        return list(self.recordings)

    def url(self, endpoint: str) -> str:
        """The full URL of an endpoint (name or path) on this server, with the recorded query."""
        e = resolve_endpoint(endpoint)
        recording = self.recordings.get(e.name)
        if recording is None:
            raise UsageError(f"no cassette for {e.name}: this server replays {', '.join(self.recordings)}")
        query = f"?{urlencode(recording.query, safe=',:')}" if recording.query else ""
        return self.base_url + e.path + query

    def inject(self, fault: Fault | str) -> None:
        """Add a fault now; open streams look at it at once."""
        self.faults.add(Fault.coerce(fault))
        self._wake_all()

    def _wake_all(self, *_: object) -> None:
        with self._lock:
            waiters = [w for _, w in self._active.values() if w is not None]
        for w in waiters:
            w.wake()

    def push(self, data: bytes) -> int:
        """Write `data` (whole lines) into every open stream now; returns into how many."""
        with self._lock:
            waiters = [w for _, w in self._active.values() if w is not None]
        for w in waiters:
            w.push(data)
        return len(waiters)

    def wait_connections(self, n: int, timeout: float) -> bool:
        """Wait until `n` connections were accepted in all; False on timeout."""
        with self._lock:
            return self._lock.wait_for(lambda: self.connections >= n, timeout)

    def start(self) -> ReplayServer:
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop accepting, end every stream (each logged as stopped), remove the test CA."""
        self._http.stopping.set()
        with self._lock:
            active = list(self._active.values())
        for sock, waiter in active:
            if waiter is not None:
                waiter.wake()
            with contextlib.suppress(OSError):  # its own thread closes it
                sock.shutdown(socket.SHUT_RDWR)
        self._http.close()
        self._arrivals.close()
        self._close_interceptor()

    def _close_interceptor(self) -> None:
        if self._interceptor is not None:
            self._interceptor.close()

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- one connection ----------------------------------------------------------------------
    def _say(self, log: ConnectionLog, message: str) -> None:
        if self.on_message is not None:
            self.on_message(printable(f"{log.peer} #{log.index} {message}"))

    def _handle(self, client: Client) -> None:
        log = ConnectionLog(client.index, f"{client.peer[0]}:{client.peer[1]}", time.monotonic(), keep=self.log_lines)
        with self._lock:
            self.log.append(log)
            self.connections += 1
            if self.log_limit is not None and len(self.log) > 2 * self.log_limit:
                del self.log[: -self.log_limit]  # a server left running keeps the latest only
            self._active[client.index] = [client.sock, None]
            self._lock.notify_all()
        try:
            self._serve(client, log)
        except Exception as exc:  # the server carries on whatever one connection does
            log.end, log.error = End.ERROR, f"{type(exc).__name__}: {exc}"
            self._say(log, f"internal error: {log.error}")
        finally:
            with self._lock:
                sock = self._active.pop(client.index, [client.sock])[0]
            if sock is not client.sock:  # a TLS socket of ours (the server closes its own)
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            log.finish()

    def _refuse(self, sock: Any, log: ConnectionLog, status: int, body: bytes,
                headers: tuple[tuple[str, str], ...] = ()) -> None:  # fmt: skip
        log.status, log.end = status, End.REFUSED
        try:
            send_response(sock, status, phrase(status), (*JSON_HEADERS, *headers), body)
        except OSError:
            log.vanished = True
        self._say(log, f"{log.method} {log.target} -> {status}")

    def _read(self, sock: Any, rfile: Any, log: ConnectionLog) -> Request | None:
        try:
            sock.settimeout(rfile.raw.left())
            arrived = self._arrivals.arrival(sock)
            request = read_request(rfile)
        except BadRequest as exc:
            log.end, log.error = End.INVALID, str(exc)
            self._refuse(sock, log, 400, generic_problem(400, "Bad Request", str(exc)))
            log.end = End.INVALID
            return None
        except (TimeoutError, OSError) as exc:
            log.end, log.error = End.INVALID, f"no complete request ({type(exc).__name__}: {exc})"
            self._say(log, log.error)
            return None
        if request is None:
            log.end, log.error = End.INVALID, "closed before sending a request"
            self._say(log, log.error)
            return None
        log.took(request)
        now = time.monotonic()
        log.started = now if arrived is None else min(arrived, now)
        return request

    def _serve(self, client: Client, log: ConnectionLog) -> None:
        sock: Any = client.sock
        request = self._read(sock, rfile := client.rfile, log)
        if request is None:
            return
        if request.method == "CONNECT":
            if (refused := connect_refusal(self._interceptor, request)) is not None:
                return self._refuse(sock, log, *refused)
            assert self._interceptor is not None
            log.tunnel = self._interceptor.host_of(request)
            try:
                sock = self._interceptor.accept(sock, self.request_timeout)
            except OSError as exc:
                log.end, log.error = End.INVALID, f"TLS handshake failed: {exc}"
                self._say(log, log.error)
                return
            with self._lock:
                self._active[client.index][0] = sock
            request = self._read(sock, rfile := head_reader(sock, self.request_timeout), log)
            if request is None:
                return
        sock.settimeout(None)
        if api_path(request.path):  # the one way to what is not a stream
            return self._say(log, serve_api(sock, request, rfile, self._apis, self.token, log))
        self._route(sock, request, log, rfile)

    def _route(self, sock: Any, request: Request, log: ConnectionLog, rfile: Any) -> None:
        admitted = admit(request, self.recordings, self.token)
        if isinstance(admitted, Refusal):
            log.endpoint = admitted.endpoint
            return self._refuse(sock, log, admitted.status, admitted.body)
        endpoint, token, params = admitted.endpoint, admitted.token, admitted.params
        log.endpoint = endpoint.name
        if self.admit is not None and (verdict := self.admit(log)) is not None:
            return self._refuse(sock, log, *verdict)
        match = self.library.match(endpoint, params)
        for note in match.missing:
            self._say(log, note)
        fault = self.faults.take_status()
        if fault is not None:
            log.faults.append(AppliedFault(fault, time.monotonic() - log.started, 0))
            self._refuse(sock, log, *fault_answer(fault, self.speed))
            return
        with self._lock:
            busy = self._open.get(endpoint.name, 0)
            if self.max_connections is not None and busy >= self.max_connections:
                busy = -1
            else:
                self._open[endpoint.name] = busy + 1
        if busy < 0:
            self._refuse(sock, log, 429, *status_answer(429, self.speed))
            return
        entry = self.connection_table.open(endpoint.name, log, sock)
        try:
            self._stream(sock, match, token, log, chunked=not request.http10)
        finally:
            with self._lock:
                self._open[endpoint.name] -= 1
            self.connection_table.close(entry)

    # -- streaming -------------------------------------------------------------------------
    def _stream(self, sock: Any, match: Match, token: str, log: ConnectionLog, chunked: bool) -> None:
        loop, recording = self.on_end is OnEnd.LOOP, match.recording
        with self._lock:
            cursor = self._cursors.claim(recording.key, token, self._lock)
            resume, cursor.resume = cursor.resume, None
            serial = resume.serial if resume else cursor.next
            cursor.next = max(cursor.next, serial + 1)
        rec = recording.at(serial, loop)
        log.recorded = serial % len(recording.connections) if rec else None
        log.resumed_at = resume.item.number if resume and resume.item else None
        try:  # released whatever happens (the consumer's next connection waits for it)
            if rec is not None and rec.status != 200:
                send_recorded(sock, rec, log)
                return self._say(log, f"{log.method} {log.target} -> {rec.status} (as recorded in {rec.name})")
            if rec is None and self.on_end is OnEnd.REFUSE:
                return self._refuse(sock, log, *recording.gone())
            self._send_stream(sock, match, log, chunked, cursor, serial, rec, resume)
        finally:
            with self._lock:
                self._cursors.release(cursor, self._lock)
        self._say(log, f"{log.end}: {log.events} event(s), {log.heartbeats} heartbeat(s)"
                       + "".join(f", fault {f.fault}" for f in log.faults))  # fmt: skip

    def _send_stream(self, sock: Any, match: Match, log: ConnectionLog, chunked: bool, cursor: Cursor,
               serial: int, rec: Recorded | None, resume: Resume | None) -> None:  # fmt: skip
        plan = Plan(match.recording, serial, rec, resume, self.on_end)
        unsent: list[Item | Finish | None] = [resume.item if resume else None]
        items = match.items(plan.items(), serial, rec, resume, self.on_end is OnEnd.LOOP)
        waiter = None
        try:  # a waiter may fail to be made (no file descriptor left): then nothing was served
            waiter = Waiter(sock, self._http.stopping, self._gate if self.speed is None else None)
            with self._lock:
                self._active[log.index][1] = waiter
            pacing = Pacing(log.started, self.speed, self.heartbeat)
            select = self.rules.selector if match.recording.endpoint.name == "search-stream" else None
            streamer = Streamer(sock, waiter, pacing, self.faults, log, chunked, select)
            while not waiter.until(pacing.at(rec.offset if rec else 0.0)):
                pass
            log.status = 200
            streamer.head(200, rec.reason if rec else "OK", match.recording.headers(rec))
            self._say(log, f"{log.method} {log.target} -> 200 ({plan.describe()})")
            for note in match.notes:
                self._say(log, note)
            log.end = run(streamer, items, lambda item: unsent.__setitem__(0, item))
        except Vanished:
            log.end, log.vanished = End.VANISHED, True
        except Stopped:
            log.end = End.STOPPED
        except CassetteError as exc:
            log.end, log.error = End.ERROR, str(exc)
        except OSError as exc:
            log.end = End.STOPPED if self._http.stopping.is_set() else End.VANISHED if waiter else End.ERROR
            log.vanished, log.error = log.end is End.VANISHED, None if waiter else str(exc)
        finally:
            items.close()
            if waiter is not None:
                waiter.close()
        with self._lock:
            left = unsent[0]
            if log.status is None and rec is not None:  # cut before its head: none of it was served
                cursor.resume = Resume(serial, left if isinstance(left, Item) else None)
            elif isinstance(left, Item) and left.position >= 0:
                cursor.resume = Resume(left.serial, left)
            else:
                cursor.next = max(cursor.next, plan.serial + 1)
