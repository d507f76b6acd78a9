"""X's snowflake ids: a 64-bit number whose top bits are the creation time.

Tweet, user, poll and rule ids (and the number in a media key) are snowflakes: the
milliseconds since X's epoch shifted left by 22 bits, then 10 bits of machine and 12 of
sequence. An id and the `created_at` of its object therefore agree, and ids grow with time.
"""

from __future__ import annotations

import datetime as dt

__all__ = ["TWEPOCH_MS", "created_at", "snowflake", "snowflake_ms"]

TWEPOCH_MS = 1288834974657  # 2010-11-04T01:42:54.657Z


def snowflake(ms: int, machine: int = 0, sequence: int = 0) -> int:
    """The id made at epoch millisecond `ms` by `machine` (0-1023) as its `sequence`-th (0-4095)."""
    if ms < TWEPOCH_MS:
        raise ValueError(f"snowflake time: expected epoch ms >= {TWEPOCH_MS}, found {ms}")
    return ((ms - TWEPOCH_MS) << 22) | ((machine & 0x3FF) << 12) | (sequence & 0xFFF)


def snowflake_ms(value: int | str) -> int:
    """The epoch millisecond a snowflake id was made at."""
    return (int(value) >> 22) + TWEPOCH_MS


def created_at(ms: int) -> str:
    """`created_at` as the v2 API writes it for a moment in epoch ms: whole seconds, `.000Z`."""
    moment = dt.datetime.fromtimestamp(ms // 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
