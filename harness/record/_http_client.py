"""The recorder's HTTP/1.1 client: one GET over a socket it owns, stoppable in every phase.

Owning the socket gives each read with its arrival time, through public APIs only (socket,
ssl, selectors), and lets a stop end the recording within `SLICE` seconds whether it is
connecting, in the TLS handshake, waiting for the response head or reading the body: every
wait is a `selectors` wait of at most `SLICE` that looks at the stop flag in between.

The proxy and CA settings are the ones `requests` read for the recorder before: HTTP(S)_PROXY,
ALL_PROXY and NO_PROXY (through `urllib.request.getproxies`), REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE,
else certifi's bundle when it is installed, else the system's.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import ipaddress
import os
import re
import selectors
import socket
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

SLICE = 0.25  # the longest a wait goes without looking at the stop flag
READ_SIZE = 64 * 1024  # larger reads would be mmap-allocated per call by malloc
MAX_HEAD = 64 * 1024
MAX_HEADERS = 256
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([0-9]{3})(?:[ \t]+(.*))?")


MAX_INTERIM = 8  # 1xx heads before the final one: a server sending them for ever is no stream


class Stopped(Exception):
    """A stop was asked for while the client waited."""


class ConnectTimeout(TimeoutError):
    """No TCP connection (or TLS handshake) within the connect timeout."""


class ResponseTimeout(TimeoutError):
    """No byte from the server within the read timeout."""


class NotHTTP(ValueError):
    """The peer's answer is not an HTTP/1.x response head."""


class ProxyError(Exception):
    """The environment's proxy cannot be used, or refused the tunnel."""


@dataclass(frozen=True)
class Head:
    """A response head as received (header names keep their case)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]

    def get(self, name: str, default: str = "") -> str:
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), default)

    @property
    def chunked(self) -> bool:
        codings = [c.strip().lower() for c in self.get("Transfer-Encoding").split(",") if c.strip()]
        return bool(codings) and codings[-1] == "chunked"

    @property
    def bodiless(self) -> bool:
        return self.status in (204, 304) or 100 <= self.status < 200


def parse_head(data: bytes) -> Head:
    """A response head (without its blank line); NotHTTP if it is not one."""
    lines = [line.rstrip(b"\r") for line in data.split(b"\n")]
    m = _STATUS_LINE.fullmatch(lines[0])
    if m is None:
        raise NotHTTP(f"expected an HTTP/1.x status line, found {lines[0][:80]!r}")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (b" ", b"\t") and headers:  # obsolete line folding: part of the value above
            headers[-1] = (headers[-1][0], f"{headers[-1][1]} {line.strip().decode('latin-1')}")
            continue
        key, sep, field = line.partition(b":")
        if not sep or not key.strip():
            raise NotHTTP(f"expected a header line, found {line[:80]!r}")
        headers.append((key.strip().decode("latin-1"), field.strip().decode("latin-1")))
        if len(headers) > MAX_HEADERS:
            raise NotHTTP(f"more than {MAX_HEADERS} header lines")
    return Head(int(m.group(1)), (m.group(2) or b"").decode("latin-1").strip(), tuple(headers))


def _ca_context() -> ssl.SSLContext:
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if not bundle:
        with contextlib.suppress(ImportError):
            import certifi

            bundle = certifi.where()
    if bundle and os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle or None)


ca_context = _ca_context  # the rules calls' (harness.record.rules)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url` (HTTP(S)_PROXY, NO_PROXY), if any."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy if "://" in proxy else f"http://{proxy}"


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or (443 if parts.scheme == "https" else 80)


@dataclass(frozen=True)
class Route:
    """How to reach a server, fixed: the proxy (None: direct) and the TLS trust."""

    proxy: str | None
    context: ssl.SSLContext

    @classmethod
    def now(cls, url: str) -> Route:
        """The environment's route to `url` as it is now (later changes to it do not apply)."""
        return cls(proxy_for(url), _ca_context())


class Link:
    """One connection: connect, send, and receive with the time each read arrived.

    `route`: the proxy and TLS trust to use (None: the environment's, read when connecting).
    """

    def __init__(self, stopping: Callable[[], bool], connect_timeout: float, read_timeout: float,
                 route: Route | None = None) -> None:  # fmt: skip
        self.route = route
        self.stopping = stopping
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.sock: socket.socket | None = None
        self._selector = selectors.DefaultSelector()
        self._watched: tuple[socket.socket, int] | None = None  # what the selector waits for
        self._buffer = b""  # bytes read past the head, handed out first
        self.arrived = 0.0  # time.monotonic() of the last receive

    def close(self) -> None:
        self._selector.close()
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()

    def _wait(self, write: bool, deadline: float, timeout: type[TimeoutError]) -> None:
        sock = self.sock
        assert sock is not None
        events = selectors.EVENT_WRITE if write else selectors.EVENT_READ
        if self._watched is None or self._watched[0] is not sock:
            self._forget()
            self._selector.register(sock, events)
        elif self._watched[1] != events:
            self._selector.modify(sock, events)
        self._watched = (sock, events)
        while True:
            if self.stopping():
                raise Stopped
            left = deadline - time.monotonic()
            if left <= 0:
                raise timeout()
            if self._selector.select(min(SLICE, left)):
                return

    def _forget(self) -> None:
        """Stop watching the socket (before it is closed or wrapped in TLS)."""
        if self._watched is not None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(self._watched[0])
            self._watched = None

    def _resolve(self, host: str, port: int, deadline: float) -> list[Any]:
        """getaddrinfo, in a thread of its own unless `host` is an address: a lookup that hangs
        must not hold a stop (the C call cannot be interrupted)."""
        with contextlib.suppress(ValueError):
            ipaddress.ip_address(host)
            return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        box: list[Any] = []

        def lookup() -> None:
            try:
                box.append(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
            except Exception as exc:  # handed to the waiting thread
                box.append(exc)

        thread = threading.Thread(target=lookup, name=f"resolve {host}", daemon=True)
        thread.start()
        while not box:
            if self.stopping():
                raise Stopped
            if time.monotonic() >= deadline:
                raise ConnectTimeout()
            thread.join(SLICE)
        if isinstance(box[0], Exception):
            raise box[0]
        return list(box[0])

    def connect(self, host: str, port: int) -> None:
        deadline = time.monotonic() + self.connect_timeout
        error: OSError | None = None
        for family, kind, proto, _, addr in self._resolve(host, port, deadline):
            self.sock = sock = socket.socket(family, kind, proto)
            sock.setblocking(False)
            code = sock.connect_ex(addr)
            if code in (errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN):
                self._wait(True, deadline, ConnectTimeout)
                code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code == 0:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return
            self._forget()
            sock.close()
            self.sock, error = None, OSError(code, os.strerror(code))  # ConnectionRefusedError for ECONNREFUSED
        raise error or OSError(f"no address for {host!r}")

    def tls(self, host: str, context: ssl.SSLContext) -> None:
        assert self.sock is not None
        self._forget()
        self.sock = context.wrap_socket(self.sock, server_hostname=host, do_handshake_on_connect=False)
        deadline = time.monotonic() + self.connect_timeout
        while True:
            try:
                self.sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                self._wait(False, deadline, ConnectTimeout)
            except ssl.SSLWantWriteError:
                self._wait(True, deadline, ConnectTimeout)

    def send(self, data: bytes) -> None:
        assert self.sock is not None
        view = memoryview(data)
        deadline = time.monotonic() + self.read_timeout
        while view:
            try:
                view = view[self.sock.send(view) :]
            except (BlockingIOError, ssl.SSLWantWriteError):
                self._wait(True, deadline, ResponseTimeout)
            except ssl.SSLWantReadError:
                self._wait(False, deadline, ResponseTimeout)

    def recv(self) -> bytes:
        """What has arrived (one receive at most, b"" at the end), waiting up to the read timeout."""
        if self._buffer:
            data, self._buffer = self._buffer, b""
            return data
        sock = self.sock
        assert sock is not None
        deadline = 0.0
        while True:
            if self.stopping():  # here too: a peer that keeps sending never makes a receive wait
                raise Stopped
            try:
                data = sock.recv(READ_SIZE)
                self.arrived = time.monotonic()
                return data
            except (BlockingIOError, ssl.SSLWantReadError):
                write = False
            except ssl.SSLWantWriteError:
                write = True
            deadline = deadline or time.monotonic() + self.read_timeout
            self._wait(write, deadline, ResponseTimeout)

    def read_head(self) -> Head:
        """The next final response head (interim 1xx heads are skipped, `MAX_INTERIM` at most)."""
        for _ in range(MAX_INTERIM + 1):
            buf = b""
            while (end := buf.find(b"\r\n\r\n")) < 0 and (end := buf.find(b"\n\n")) < 0:
                if len(buf) > MAX_HEAD:
                    raise NotHTTP(f"a response head longer than {MAX_HEAD} bytes")
                data = self.recv()
                if not data:
                    raise NotHTTP(f"the connection closed before a whole response head ({buf[:80]!r})")
                buf += data
                if not b"HTTP/".startswith(buf[:5]):
                    raise NotHTTP(f"expected an HTTP/1.x status line, found {buf[:80]!r}")
            sep = 4 if buf[end : end + 4] == b"\r\n\r\n" else 2
            self._buffer = buf[end + sep :]
            head = parse_head(buf[:end])
            if not 100 <= head.status < 200 or head.status == 101:
                return head
        raise NotHTTP(f"more than {MAX_INTERIM} interim (1xx) response heads")


def _request(method: str, target: str, host: str, headers: dict[str, str]) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join([*lines, "Connection: close", "", ""])).encode("latin-1")


def _proxy_auth(proxy: str) -> dict[str, str]:
    parts = urlsplit(proxy)
    if parts.username is None:
        return {}
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
    return {"Proxy-Authorization": "Basic " + base64.b64encode(pair).decode()}


def open_link(url: str, headers: dict[str, str], link: Link) -> Head:
    """Send a GET for `url` on `link` (through the environment's proxy, if any); its head."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotHTTP(f"expected an http:// or https:// URL, found {url!r}")
    host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
    hostport = parts.netloc.rpartition("@")[2]
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = proxy_for(url) if link.route is None else link.route.proxy
    if proxy is not None:
        p = urlsplit(proxy)
        if p.scheme != "http" or not p.hostname:
            raise ProxyError(f"only http:// proxies are supported, the environment names {p.scheme}://{p.hostname}")
        link.connect(p.hostname, p.port or 80)
        if parts.scheme == "http":  # a plain request, absolute-form, to the proxy
            link.send(_request("GET", url.split("#")[0], hostport, {**headers, **_proxy_auth(proxy)}))
            return link.read_head()
        link.send(_request("CONNECT", f"{host}:{port}", f"{host}:{port}", _proxy_auth(proxy)))
        tunnel = link.read_head()
        if tunnel.status != 200:
            where = f"{p.hostname}:{p.port or 80}"
            raise ProxyError(f"the proxy {where} refused to tunnel to {host}:{port}: {tunnel.status} {tunnel.reason}")
    else:
        link.connect(host, port)
    if parts.scheme == "https":
        link.tls(host, _ca_context() if link.route is None else link.route.context)
    link.send(_request("GET", target, hostport, headers))
    return link.read_head()


def open_stream(url: str, headers: dict[str, str], new_link: Callable[[], Link],
                on_redirect: Callable[[str, str], None]) -> tuple[Link, Head, str]:  # fmt: skip
    """GET `url`, following redirects; the link, its head, and the URL it finally came from.

    The Authorization header goes only to the origin (scheme, host, port) it was meant for.
    """
    origin = _origin(url)
    for _ in range(MAX_REDIRECTS + 1):
        link = new_link()
        try:
            head = open_link(url, headers, link)
        except BaseException:
            link.close()
            raise
        location = head.get("Location")
        if head.status not in REDIRECTS or not location:
            return link, head, url
        link.close()
        target = urljoin(url, location)
        on_redirect(url, target)
        if _origin(target) != origin:
            headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        url = target
    raise NotHTTP(f"more than {MAX_REDIRECTS} redirects")
