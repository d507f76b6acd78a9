"""One test's replay, as the `stream_replay` fixtures run it: the server, the conduct checks,
the network block, and the report of what went wrong at teardown."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.errors import HarnessError
from harness.record.recorder import Recorder, RecordOptions
from harness.record.redact import Redaction
from harness.replay.loopback import LOOPBACK_TOKEN, LoopbackServer, ServeOptions
from harness.replay.server import ReplayServer
from harness.testing._conduct import Check, Conduct, Rules
from harness.testing._network import Guard, blocked_network
from harness.testing._recording import RecordingProxy
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
                              proxy=proxy, rules=settings.rules)  # fmt: skip
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
    # the consumer asked for fields or expansions the cassette lacks (unless allowed)
    lacking = [*server.mismatches, "(or allow it: @pytest.mark.stream_cassette(allow_missing_fields=True))"]
    lacked = "\n".join(lacking) if server.mismatches and not settings.allow_missing_fields else None
    problems = [p for p in (lacked, conduct.report(), guard.report() if settings.block_network else None) if p]
    if problems:
        pytest.fail(f"{settings.test} (cassette {cassette}):\n" + "\n".join(problems), pytrace=False)


LOOPBACK = "loopback"


@contextlib.contextmanager
def recording(settings: StreamSettings, *, proxy: bool) -> Iterator[StreamReplay]:
    """Record the consumer's own session into the test's cassette (see `_recording`); a recording
    that failed or holds no stream is removed, and fails the test saying why."""
    s = settings
    try:
        redaction = Redaction(s.redact_headers, s.redact_params, s.redact_json)
    except HarnessError as exc:
        pytest.fail(f"{s.test}: {exc}", pytrace=False)
    with contextlib.ExitStack() as stack:
        if s.record_url == LOOPBACK:
            serve = ServeOptions(rate=50.0, heartbeat=1.0, seed=0, dialect=s.dialect)
            source = stack.enter_context(LoopbackServer(serve))
            upstream, token, labels = source.base_url, None, {"source": "loopback"}
        else:
            upstream, token = s.record_url, os.environ.get(s.token_env) or None
            labels = {"source": "live" if "api.x.com" in s.record_url else "upstream"}
        labels |= {"recorded-by": "pytest-plugin (through the consumer)", "test": s.test}
        options = RecordOptions(params=dict(s.params), token=token, base_url=upstream, max_events=s.max_events,
                                duration=s.duration, redaction=redaction)  # fmt: skip
        proxy_server = RecordingProxy(s.cassette, upstream=upstream, token=token, options=options, labels=labels,
                                      proxy=proxy)  # fmt: skip
        stack.callback(proxy_server.close)
        yield StreamReplay(proxy_server.start())
    why = proxy_server.failure()
    if why is not None:
        s.cassette.unlink(missing_ok=True)
        pytest.fail(f"{s.test}: the recording into {s.cassette} failed: {why}. Nothing was kept: "
                    "record mode 'once' records it again", pytrace=False)  # fmt: skip


def record_ahead(settings: StreamSettings) -> None:
    """Record the test's cassette from the configured source (the built-in one for 'loopback')."""
    endpoint = settings.endpoint
    if endpoint is None:
        pytest.fail(
            f"{settings.test}: cannot record {settings.cassette}: say which stream, e.g. "
            "@pytest.mark.stream_cassette(..., endpoint='search-stream')",
            pytrace=False,
        )
    params = dict(settings.params)
    if settings.record_url == LOOPBACK:
        serve = ServeOptions(token=LOOPBACK_TOKEN, rate=50.0, heartbeat=1.0, seed=0, dialect=settings.dialect)
        with LoopbackServer(serve) as source:
            options = RecordOptions(params=params, token=LOOPBACK_TOKEN, base_url=source.base_url, read_rules=False,
                                    max_events=settings.max_events, duration=settings.duration)  # fmt: skip
            Recorder(endpoint, settings.cassette, options).run().raise_for_error()
        return
    token = os.environ.get(settings.token_env)
    if not token:
        pytest.fail(
            f"{settings.test}: cannot record {settings.cassette}: ${settings.token_env} is not set", pytrace=False
        )
    options = RecordOptions(params=params, token=token, base_url=settings.record_url,
                            max_events=settings.max_events, duration=settings.duration)  # fmt: skip
    Recorder(endpoint, settings.cassette, options).run().raise_for_error()
