"""Blocking the network while a test replays: a consumer that bypasses the replay fails at once.

`socket.getaddrinfo` refuses to resolve a host name that is not allowed, and `connect` /
`connect_ex` refuse an address that is not allowed, each raising `NetworkBlockedError` (an
OSError, as a client expects from the network) naming the host. Allowed: the replay's own
address (it is its proxy too), the `allowed` hosts (names, addresses, `host:port`), and
Unix sockets. Whatever the functions were before (another plugin's guard, pytest-recording's
`--block-network`) is called for what is allowed, and put back afterwards.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from harness.errors import NetworkBlockedError

LOCAL_NAMES = frozenset({"localhost"})


def _split(host: str) -> tuple[str, int | None]:
    name, sep, port = host.rpartition(":")
    if sep and port.isascii() and port.isdigit() and "]" not in port and name.count(":") == 0:
        return name.lower(), int(port)
    return host.strip("[]").lower(), None


class Guard:
    """What may be reached, and every attempt refused (for the test's report)."""

    def __init__(self, replay: tuple[str, int], allowed: Iterable[str] = ()) -> None:
        self.replay = replay
        self.allowed = [_split(h) for h in allowed]
        self.addresses: set[tuple[str, int | None]] = set()  # what allowed names resolved to
        self.blocked: list[str] = []
        self._lock = threading.Lock()

    def host_allowed(self, host: str, port: int | None) -> bool:
        h = host.lower()
        if h in (self.replay[0], *LOCAL_NAMES) and port in (self.replay[1], None):
            return True
        rules = [*self.allowed, *self.addresses]
        return any(h == name and (want is None or want == port) for name, want in rules)

    def refuse(self, host: str, port: int | None) -> NetworkBlockedError:
        where = host if port is None else f"{host}:{port}"
        with self._lock:
            self.blocked.append(where)
        others = (f"{n}:{p}" if p else n for n, p in self.allowed)
        allowed = [f"{self.replay[0]}:{self.replay[1]} (the replay)", *others]
        return NetworkBlockedError(
            f"network blocked while replaying: {where} is not allowed (allowed: {', '.join(allowed)}); "
            "point the consumer at the replay, or add the host to allowed_hosts"
        )

    def report(self) -> str | None:
        with self._lock:
            if not self.blocked:
                return None
            hosts = sorted(set(self.blocked))
        return (f"the consumer tried to reach {', '.join(hosts)} while replaying ({len(self.blocked)} attempt(s), "
                "each refused): point it at the replay, or allow the host with allowed_hosts=[...]")  # fmt: skip


@contextmanager
def blocked_network(guard: Guard) -> Iterator[Guard]:
    """The guard installed on `socket` for the time of the block."""
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(address: Any) -> None:
        inet = isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str)
        if inet and not guard.host_allowed(address[0], int(address[1])):
            raise guard.refuse(address[0], int(address[1]))

    def guarded_connect(self: socket.socket, address: Any) -> None:
        check(address)
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        check(address)
        return connect_ex(self, address)

    def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        number = (
            port
            if isinstance(port, int)
            else int(port)
            if isinstance(port, str) and port.isascii() and port.isdigit()
            else None
        )
        if isinstance(name, str) and not guard.host_allowed(name, number):
            raise guard.refuse(name, number)
        found = getaddrinfo(host, port, *args, **kwargs)
        if isinstance(name, str) and name.lower() != guard.replay[0]:  # an allowed name: its addresses too
            guard.addresses.update((info[4][0], number) for info in found if isinstance(info[4][0], str))
        return found

    socket.socket.connect = guarded_connect  # type: ignore[method-assign,assignment]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign,assignment]
    socket.getaddrinfo = guarded_getaddrinfo
    try:
        yield guard
    finally:
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
