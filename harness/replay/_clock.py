"""The replay clock: when a request arrived (the kernel's stamp) and when each line is due."""

from __future__ import annotations

import contextlib
import math
import platform
import socket
import struct
import sys
import time
from dataclasses import dataclass

# Linux's SO_TIMESTAMPNS (asm-generic value; Python does not export it)
_SO_TIMESTAMPNS = (
    35 if sys.platform == "linux" and platform.machine() in ("x86_64", "aarch64", "i686", "riscv64") else None
)


class Arrivals:
    """When requests reached this host, from the kernel's receive timestamps (Linux).

    A handler thread can start milliseconds after its request came in on a busy machine;
    scheduling from the kernel's stamp keeps the stream's offsets true to the client. The
    kernel stamps packets only while some socket asks for it: this one does, for the
    server's life. Elsewhere (or in a TLS tunnel) `arrival` is None: the parse time is used.
    """

    def __init__(self) -> None:
        self._keep: socket.socket | None = None
        if _SO_TIMESTAMPNS is not None:
            with contextlib.suppress(OSError):
                self._keep = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                self._keep.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)

    def arrival(self, sock: socket.socket) -> float | None:
        """The time.monotonic() at which the first unread byte on `sock` arrived (waits for it)."""
        option = _SO_TIMESTAMPNS
        if self._keep is None or option is None or type(sock) is not socket.socket:
            return None
        try:
            sock.setsockopt(socket.SOL_SOCKET, option, 1)
            _, ancillary, _, _ = sock.recvmsg(1, socket.CMSG_SPACE(16), socket.MSG_PEEK)
        except (OSError, ValueError):
            return None
        for level, kind, data in ancillary:
            if level == socket.SOL_SOCKET and kind == option and len(data) >= 16:
                sec, nsec = struct.unpack("qq", data[:16])
                stamp = float(sec) + float(nsec) * 1e-9  # CLOCK_REALTIME
                return time.monotonic() - (time.time() - stamp)
        return None

    def close(self) -> None:
        if self._keep is not None:
            self._keep.close()


@dataclass
class Pacing:
    """Clock settings of one stream: `speed` None is as fast as the client reads."""

    t0: float
    speed: float | None
    heartbeat: float

    @property
    def scale(self) -> float:
        """Recording seconds per wall second, for durations (1 at max speed)."""
        return self.speed or 1.0

    def at(self, offset: float) -> float:
        return -math.inf if self.speed is None else self.t0 + offset / self.speed
