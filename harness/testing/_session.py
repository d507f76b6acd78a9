"""One test's replay, as the `stream_replay` fixtures run it: the server, the conduct checks,
the network block, and the report of what went wrong at teardown."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import HarnessError
from harness.replay.server import ReplayServer
from harness.testing._conduct import Check, Conduct, Rules
from harness.testing._network import Guard, blocked_network
from harness.testing._replay import StreamReplay

if TYPE_CHECKING:
    from harness.testing.plugin import StreamSettings


def rules(settings: StreamSettings) -> Rules:
    """The conduct rules of a test; a bad check name or count fails it in one line."""
    try:
        relax = Check.parse_all(settings.relax)
    except HarnessError as exc:
        pytest.fail(f"{settings.test}: {exc}", pytrace=False)
    if settings.connections < 1:
        pytest.fail(f"{settings.test}: connections: expected a count >= 1, found {settings.connections}",
                    pytrace=False)  # fmt: skip
    return Rules(relax, settings.connections, settings.speed)


@contextlib.contextmanager
def replaying(settings: StreamSettings, cassette: Path, *, proxy: bool) -> Iterator[StreamReplay]:
    """The replay of `cassette` for one test; its conduct and network findings fail the test at teardown."""
    conduct_rules = rules(settings)
    try:
        server = ReplayServer([cassette], speed=settings.speed, on_end=settings.on_end, faults=settings.faults,
                              proxy=proxy)  # fmt: skip
    except HarnessError as exc:
        pytest.fail(f"{settings.test}: cannot replay {cassette}: {exc}", pytrace=False)
    replay = StreamReplay(server)
    conduct = Conduct(conduct_rules, lambda: list(server.log))
    server.admit = conduct.admit
    guard = Guard(("127.0.0.1", server.port), settings.allowed_hosts)
    with server:
        block = blocked_network(guard) if settings.block_network else contextlib.nullcontext(guard)
        with block:
            yield replay
    problems = [p for p in (conduct.report(), guard.report() if settings.block_network else None) if p]
    if problems:
        pytest.fail(f"{settings.test} (cassette {cassette}):\n" + "\n".join(problems), pytrace=False)
