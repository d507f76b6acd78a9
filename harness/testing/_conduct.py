"""The consumer's conduct against X's rules for streams, judged from what the replay saw.

- backoff: after a stream that ended without an event (a network error, or one that ends at
  once) wait 250 ms more each attempt; after an HTTP error 5 s, doubling; after a 429 a minute, doubling
  (`harness.record.backoff` holds the schedule);
- connections: no more streams open at once on an endpoint than allowed (1 by default);
- read timeout: a stream silent (no byte, not even a heartbeat) for ~90 s must be given up.

Time is the replay's: wall seconds times the speed (1 at max speed, as for stalls). A
violating connection is answered 403 with the reason at once, so that a reconnect storm
ends in seconds; everything found is reported at the test's teardown.
"""

from __future__ import annotations

import enum
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from harness._choice import parse_choice
from harness.record.backoff import Backoff, BackoffPolicy, Failure
from harness.replay.log import ConnectionLog, End
from harness.replay.loopback import generic_problem

READ_TIMEOUT = 90.0  # seconds of silence a consumer should wait at most (X: a heartbeat every 20 s)
SLACK = 1.1  # a consumer timing out at 90 s closes a little after: not a finding
TOLERANCE = 0.8  # of a backoff delay: timers and the server's own bookkeeping take a little
SETTLE = 0.5  # wall seconds a new connection waits for the one before to be done with
SHOWN = 10  # findings listed in a report


class Check(enum.StrEnum):
    """The conduct checks, each relaxable per test (`relax=[...]`)."""

    BACKOFF = "backoff"
    CONNECTIONS = "connections"
    READ_TIMEOUT = "read-timeout"

    @classmethod
    def parse_all(cls, value: object) -> frozenset[Check]:
        """`relax` as given: True (all), a name, or names."""
        if value is True:
            return frozenset(cls)
        if not value:
            return frozenset()
        names: Iterable[object] = [value] if isinstance(value, str) else value  # type: ignore[assignment]
        return frozenset(parse_choice(cls, str(n), "relax") for n in names)


@dataclass(frozen=True)
class Rules:
    """What the consumer is held to."""

    relax: frozenset[Check] = frozenset()
    connections: int = 1
    speed: float | None = 1.0
    policy: BackoffPolicy = field(default_factory=BackoffPolicy)

    @property
    def scale(self) -> float:
        return self.speed or 1.0


def _failure(log: ConnectionLog) -> Failure | None:
    """What a connection's end asks of the next one; None: nothing (the client left, or no stream asked for).

    A stream that delivered events may be taken up again at once, however it ended (X: reconnect
    at once after a disconnect; tweepy does so after a network error too); one that delivered
    none is a failure, and failures in a row are held to the schedule: that is a reconnect storm.
    """
    if log.status is None or log.end in (End.INVALID, End.STOPPED, End.VANISHED, End.ERROR, None):
        return None
    if log.status == 429:
        return Failure.RATE_LIMIT
    if log.status != 200:
        return Failure.HTTP
    return Failure.CLEAN_CLOSE if log.events > 0 else Failure.NETWORK


class Conduct:
    """Judges each new connection as it arrives (`admit`, the replay's hook) and all of them at the end."""

    def __init__(self, rules: Rules, logs: Callable[[], Sequence[ConnectionLog]]) -> None:
        self.rules = rules
        self.logs = logs
        self.findings: list[str] = []
        self._lock = threading.Lock()

    def _find(self, check: Check, message: str) -> str | None:
        if check in self.rules.relax:
            return None
        with self._lock:
            self.findings.append(f"{check}: {message}")
        return message

    def admit(self, log: ConnectionLog) -> tuple[int, bytes] | None:
        """None to serve `log`'s connection; a 403 naming the rule it broke otherwise."""
        before = sorted((p for p in self.logs() if p is not log and p.endpoint == log.endpoint
                         and p.started <= log.started), key=lambda p: p.started)  # fmt: skip
        deadline = time.monotonic() + SETTLE
        for p in before:  # a client may reconnect before our side of the last one is done
            p.finished.wait(max(0.0, deadline - time.monotonic()))
        broken = self._backoff(log, before) or self._connections(log, before)
        if broken is None:
            return None
        detail = f"x-stream harness: this consumer broke X's rules for streams: {broken}"
        return 403, generic_problem(403, "Forbidden", detail)

    def _backoff(self, log: ConnectionLog, before: list[ConnectionLog]) -> str | None:
        done = [p for p in before if p.ended is not None]
        if not done:
            return None
        r, backoff = self.rules, Backoff(self.rules.policy)
        required, failure = 0.0, None
        for p in done:
            failure = _failure(p)
            if failure is None or failure is Failure.CLEAN_CLOSE:
                backoff.reset()
                required = 0.0
            else:
                required = backoff.next(failure)
        last = done[-1]
        assert last.ended is not None
        gap = (log.started - last.ended) * r.scale
        if required <= 0 or gap >= required * TOLERANCE:
            return None
        after = {Failure.NETWORK: "a stream that ended without an event",
                 Failure.HTTP: f"HTTP {last.status}", Failure.RATE_LIMIT: "HTTP 429"}[failure]  # type: ignore[index]  # fmt: skip
        return self._find(Check.BACKOFF, f"connection #{log.index} came {gap:.3g} s after #{last.index} ended "
                          f"({after}, failure {backoff.attempts} in a row): X's backoff asks for {required:g} s "
                          f"(replay time)")  # fmt: skip

    def _connections(self, log: ConnectionLog, before: list[ConnectionLog]) -> str | None:
        streaming = [p for p in before if p.status == 200 and not p.finished.is_set()]
        if len(streaming) < self.rules.connections:
            return None
        shown = ", ".join(f"#{p.index}" for p in streaming)
        return self._find(Check.CONNECTIONS, f"connection #{log.index} opened while {shown} still streamed "
                          f"{log.endpoint}: at most {self.rules.connections} allowed at once")  # fmt: skip

    def read_timeouts(self) -> list[str]:
        """Streams left open through a silence past READ_TIMEOUT (replay time)."""
        if Check.READ_TIMEOUT in self.rules.relax:
            return []
        found = []
        now = time.monotonic()
        for log in self.logs():
            lines = log.lines
            if log.status != 200 or (log.recorded is None and not lines):  # not a stream (an API call)
                continue
            end = (log.ended if log.ended is not None else now) - log.started
            times = [0.0, *(line.sent for line in lines), end]
            gap, at = max((b - a, a) for a, b in itertools.pairwise(times))
            if gap * self.rules.scale > READ_TIMEOUT * SLACK:
                found.append(f"{Check.READ_TIMEOUT}: connection #{log.index} stayed open through "
                             f"{gap * self.rules.scale:.0f} s of silence from {at * self.rules.scale:.0f} s "
                             f"(replay time): a consumer should give a stream up after ~{READ_TIMEOUT:g} s "
                             f"without a byte (X sends a heartbeat every 20 s)")  # fmt: skip
        return found

    def report(self) -> str | None:
        """Everything found, for the test's failure; None when the consumer kept the rules."""
        with self._lock:
            found = [*self.findings, *self.read_timeouts()]
        if not found:
            return None
        more = f"\n  ... and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        return (f"the consumer broke X's rules for streams ({len(found)} finding(s)):\n  - "
                + "\n  - ".join(found[:SHOWN]) + more
                + f"\n(relax a check with @pytest.mark.stream_cassette(..., relax=[...]): "
                f"{', '.join(c.value for c in Check)})")  # fmt: skip
