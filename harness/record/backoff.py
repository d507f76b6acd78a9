"""X's reconnection guidance for streams, as a small pure schedule.

After a clean close: reconnect at once. Network errors: linear, 250 ms more each attempt,
up to 16 s. HTTP errors: exponential from 5 s, up to 320 s. HTTP 429: exponential from
60 s, or until the `x-rate-limit-reset` time the response gave. A stream is re-established
(and the schedule reset) once a 200 delivered a line and lived `min_lifetime` seconds; one
that ends cleanly sooner counts as a network failure, so that a server that answers and
hangs up at once is not hammered.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Failure(enum.StrEnum):
    """Why a connection ended or could not be made."""

    CLEAN_CLOSE = "clean-close"
    NETWORK = "network"
    HTTP = "http"
    RATE_LIMIT = "rate-limit"


@dataclass(frozen=True)
class BackoffPolicy:
    """The delays; tests shrink them, the defaults are X's."""

    network_step: float = 0.25
    network_max: float = 16.0
    http_base: float = 5.0
    http_max: float = 320.0
    rate_limit_base: float = 60.0
    rate_limit_max: float = 960.0
    min_lifetime: float = 10.0  # a shorter connection, even a clean one, is a failure
    reset_max: float = 3600.0  # the longest wait an x-rate-limit-reset may ask for

    def delay(self, failure: Failure, attempt: int) -> float:
        """Seconds to wait before reconnecting after the `attempt`-th such failure in a row (1-based)."""
        n = max(attempt, 1)
        if failure is Failure.CLEAN_CLOSE:
            return 0.0
        if failure is Failure.NETWORK:
            return min(self.network_step * n, self.network_max)
        if failure is Failure.HTTP:
            return min(self.http_base * 2.0 ** min(n - 1, 60), self.http_max)
        return min(self.rate_limit_base * 2.0 ** min(n - 1, 60), self.rate_limit_max)


class Backoff:
    """Counts failures in a row: a different kind of failure starts its schedule again."""

    def __init__(self, policy: BackoffPolicy | None = None) -> None:
        self.policy = policy or BackoffPolicy()
        self.failure: Failure | None = None
        self.attempts = 0

    def next(self, failure: Failure) -> float:
        """The delay before the next attempt, after this failure."""
        if failure is not self.failure:
            self.failure, self.attempts = failure, 0
        self.attempts += 1
        return self.policy.delay(failure, self.attempts)

    def reset(self) -> None:
        """A stream was established: the next failure starts from the first step."""
        self.failure, self.attempts = None, 0


def rate_limit_wait(reset: str | None, now: float, policy: BackoffPolicy) -> float | None:
    """Seconds until an `x-rate-limit-reset` (epoch seconds) time, capped; None if it gives none.

    A reset already past, or not a number, leaves the schedule to decide.
    """
    value = (reset or "").strip()
    if not (value.isascii() and value.isdigit()) or len(value) > 12:  # isdigit alone takes "²"
        return None
    wait = int(value) - now
    return min(wait, policy.reset_max) if wait > 0 else None
