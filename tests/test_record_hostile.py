"""The recorder against hostile servers: bombs, echoed secrets, trickled heads, hot loops, redirects.

Every server listens on 127.0.0.1. Time bounds here are generous limits on a stop that must
happen at all (the old recorder never stopped), not measurements.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from click.testing import CliRunner
from servers import (
    EVENT,
    SEARCH,
    STREAM_HEAD,
    Hostile,
    blackhole,
    cli_argv,
    echo,
    forever,
    gzip_bomb,
    raw,
    respond,
    stream,
    trickle,
)

from harness._wire import encode_chunk, response_head
from harness.cassette import Cassette, Close, CloseReason, Connection, Line
from harness.cli.app import HarnessGroup
from harness.cli.stream import COMMANDS
from harness.record._http_client import Head, parse_head
from harness.record._response import DECODE_SLICE, DecompressionBomb, Inflater
from harness.record.backoff import BackoffPolicy, rate_limit_wait
from harness.record.recorder import Recorder, RecordOptions, RecordResult, StopReason
from harness.record.redact import Redaction

pytestmark = pytest.mark.integration  # real sockets, servers or subprocesses

# shaped like an X bearer token: a run of A's, then percent-encoded characters
TOKEN = "AAAAAAAAAAAAAAAAAAAAAHostileTestToken%2Fq9Z7%3Dx1c0ffee%2Bbeef"
cli = HarnessGroup(commands={c.name or "": c for c in COMMANDS})
MB = 1 << 20


def run_cli(*args: object) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env={"X_BEARER_TOKEN": TOKEN})
    # a crash is no answer to a hostile server: click's runner keeps it, where a shell would print a traceback
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


# Runs the command and reports on it from a small process of its own: a child's peak RSS starts at
# the size of the process that forked it, and a pytest worker may be hundreds of MB by then.
_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # Linux: kilobytes
print(json.dumps([done.returncode, done.stdout, done.stderr, peak]))
"""


def run_child(*args: object) -> tuple[int, str, str, int]:
    """`harness ...` in a subprocess: exit code, stdout, stderr and its peak RSS in bytes."""
    import sys

    measured = subprocess.run([sys.executable, "-c", _MEASURE, *cli_argv(*args)], capture_output=True, text=True,
                              env={**os.environ, "X_BEARER_TOKEN": TOKEN}, check=True)  # fmt: skip
    code, stdout, stderr, peak = json.loads(measured.stdout)
    return code, stdout, stderr, peak


def record(url: str, path: Path, **options: object) -> RecordResult:
    opts = replace(RecordOptions(token=TOKEN, read_timeout=5.0, connect_timeout=2.0), **options)  # type: ignore[arg-type]
    return Recorder(url, path, opts).run()


# -- bombs: bounded memory, a clear stop, a readable cassette ---------------------------------


@pytest.mark.parametrize(
    ("block", "repeats", "expect"),
    [
        (b"\n" * MB, 16, "heartbeat flood"),  # ~16 KB of gzip: 16 MiB of blank lines
        (b"\0" * MB, 1024, "decompression bomb"),  # ~1 MB of gzip: 1 GiB of zeros
        ((b"a" * 999 + b"\n") * 1024, 256, "decompression bomb"),  # 256 MiB of long lines
    ],
    ids=["newlines", "zeros", "lines"],
)
def test_a_gzip_bomb_stops_with_one_line_in_bounded_memory(
    tmp_path: Path, block: bytes, repeats: int, expect: str
) -> None:
    out = tmp_path / "bomb.jsonl"
    with Hostile(gzip_bomb(block, repeats)) as server:
        code, _, stderr, peak = run_child("record", server.base_url + SEARCH, "-o", out)
    assert code == 2, stderr
    assert expect in stderr and stderr.strip().count("\n") <= 1  # what it said while recording, then the error
    assert peak < 150 * MB, f"peak RSS {peak / MB:.0f} MB"  # the old recorder: 1.2 to 4 GB
    recs = list(Cassette(out))  # readable: a header, the connection, what came, and the close
    assert isinstance(recs[0], Connection) and isinstance(recs[-1], Close) and recs[-1].reason is CloseReason.ERROR
    assert expect in (recs[-1].error or "")
    assert sum(len(r.raw) for r in recs if isinstance(r, Line)) < 8 * MB


def test_inflation_is_sliced_and_its_ratio_watched() -> None:
    import zlib

    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    data = z.compress(b"x" * (4 * MB)) + z.flush()
    inflate = Inflater("gzip")
    sizes = [len(inflate.feed(data))]
    with pytest.raises(DecompressionBomb, match="more than 100-fold"):
        while inflate.has_more:
            sizes.append(len(inflate.more()))
    assert max(sizes) == DECODE_SLICE and sum(sizes) <= 2 * MB  # never all 4 MiB at once
    modest = zlib.compress(json.dumps([str(i) for i in range(200_000)]).encode(), wbits=31)
    inflate = Inflater("gzip")
    got = [inflate.feed(modest)]
    while inflate.has_more:
        got.append(inflate.more())
    assert json.loads(b"".join(got))[-1] == "199999"  # a real body passes, whatever its size


# -- the token never appears in any output ---------------------------------------------------


def _problem(status: int, reason: str, *, slashes: bool = False) -> Callable[[str], bytes]:
    def make(token: str) -> bytes:
        body = json.dumps({"title": reason, "detail": f"Bearer {token} is not allowed", "type": "about:blank"})
        if slashes:  # as PHP's json_encode writes a decoded token: every / as \/
            body = body.replace("/", "\\/")
        head = response_head(status, reason, [("Content-Type", "application/problem+json"),
                                              ("Content-Length", str(len(body)))])  # fmt: skip
        return head + body.encode()

    return make


ECHOES: dict[str, Callable[[str], bytes]] = {
    # a chunk-size line echoing the header: `expected a hex chunk size, found b'Bearer AAAA...` (40 bytes)
    "chunk-size": lambda t: STREAM_HEAD + encode_chunk(EVENT) + f"Bearer {t}\r\n".encode(),
    "content-type": lambda t: response_head(
        200, "OK", [("Content-Type", f"text/html; t={t}"), ("Content-Length", "0")]
    ),
    "header-name": lambda t: (
        response_head(
            200, "OK", [(f"X-{t}", "1"), ("Transfer-Encoding", "chunked"), ("Content-Type", "application/json")]
        )
        + encode_chunk(EVENT)
        + b"0\r\n\r\n"
    ),
    "reason-phrase": lambda t: response_head(503, f"Busy {t}", [("Content-Length", "0")]),
    "401-detail": _problem(401, "Unauthorized"),
    "429-detail": _problem(429, "Too Many Requests"),
    "503-detail": _problem(503, "Service Unavailable"),
    # the same token as a server may echo it decoded, or escaped by a JSON encoder
    "decoded-in-a-line": lambda t: (
        STREAM_HEAD + encode_chunk(b'{"data":{"id":"%b"}}\r\n' % unquote(t).encode()) + b"0\r\n\r\n"
    ),
    "json-escaped-detail": lambda t: _problem(503, "Busy", slashes=True)(unquote(t)),
    "redirect": lambda t: response_head(
        302, "Found", [("Location", f"/elsewhere?t={quote(t)}"), ("Content-Length", "0")]
    ),
    "html-body": lambda t: (
        response_head(200, "OK", [("Content-Type", "text/html"), ("Content-Length", str(len(t) + 8))])
        + f"<p>{t}</p>\n".encode()
    ),
}


def _leaks(text: str) -> list[str]:
    forms = {TOKEN, unquote(TOKEN), unquote(TOKEN).replace("/", "\\/"), TOKEN[:16], TOKEN[-16:],
             "HostileTestToken"}  # fmt: skip
    return [f for f in forms if f in text]


# how each ends: 0 recorded, 1 an HTTP error status, 2 not a stream (one line on stderr)
EXIT = {"chunk-size": 2, "content-type": 2, "header-name": 0, "reason-phrase": 1, "401-detail": 1, "429-detail": 1,
        "503-detail": 1, "decoded-in-a-line": 0, "json-escaped-detail": 1, "redirect": 0, "html-body": 2}  # fmt: skip


@pytest.mark.parametrize("path", list(ECHOES))
def test_what_the_server_echoes_never_reaches_any_output(tmp_path: Path, path: str) -> None:
    out = tmp_path / "c.jsonl"
    with Hostile(echo(ECHOES[path]), stream(EVENT)) as server:
        code, stdout, stderr = run_cli("record", server.base_url + SEARCH, "-o", out)
    assert server.requests[0].bearer() == TOKEN  # it was sent, and echoed
    assert code == EXIT[path], stderr
    if code == 2:
        assert stderr.startswith("error: ") and stderr.count("\n") == 1, stderr
    written = out.read_text()
    assert not _leaks(written) and not _leaks(stdout) and not _leaks(stderr), (written, stdout, stderr)
    assert "<redacted>" in written + stderr


def test_the_token_is_kept_from_exception_text_and_results(tmp_path: Path) -> None:
    with Hostile(echo(ECHOES["chunk-size"])) as server:
        result = record(server.base_url + SEARCH, tmp_path / "c.jsonl")
    assert "hex chunk size" in (result.error or "") and not _leaks(result.error or "")
    with pytest.raises(Exception) as info:
        result.raise_for_error()
    assert not _leaks(str(info.value)) and not _leaks(repr(info.value))


def test_message_redaction_catches_a_token_cut_short() -> None:
    r = Redaction().with_secret(TOKEN)
    cut = f"found b'Bearer {TOKEN[:33]}' and ...{TOKEN[-20:]}"
    assert r.message(cut) == "found b'Bearer <redacted>' and ...<redacted>"
    assert r.line(b"AAAAAAAAAAAAAAAAAAAAA is fine\n") == b"AAAAAAAAAAAAAAAAAAAAA is fine\n"  # lines: whole tokens only
    assert r.line(unquote(TOKEN).encode() + b"\n") == b"<redacted>\n"


# -- a stop takes effect in every phase -------------------------------------------------------


def _stops(url: str, path: Path, **options: object) -> RecordResult:
    box: list[RecordResult] = []
    thread = threading.Thread(target=lambda: box.append(record(url, path, **options)), daemon=True)
    thread.start()
    thread.join(20)  # the old recorder: 50 s and more, or never
    assert not thread.is_alive(), "the recording did not stop"
    return box[0]


def test_duration_stops_while_the_head_trickles_in(tmp_path: Path) -> None:
    with Hostile(trickle(STREAM_HEAD, gap=2.0)) as server:
        result = _stops(server.base_url + SEARCH, tmp_path / "c.jsonl", duration=1.0, read_timeout=30.0)
    assert result.reason is StopReason.DURATION and list(Cassette(tmp_path / "c.jsonl")) == []


def test_duration_stops_while_connecting(tmp_path: Path) -> None:
    with blackhole() as url:
        result = _stops(url + SEARCH, tmp_path / "c.jsonl", duration=1.0, connect_timeout=60.0)
    assert result.reason is StopReason.DURATION and list(Cassette(tmp_path / "c.jsonl")) == []


def test_duration_stops_while_the_name_lookup_hangs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    release = threading.Event()
    real = socket.getaddrinfo

    def hanging(host: str, *args: object, **kwargs: object) -> object:
        if host == "hangs.example.invalid":
            release.wait(60)  # no packet leaves the machine
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    try:
        url = "http://hangs.example.invalid" + SEARCH
        result = _stops(url, tmp_path / "c.jsonl", duration=1.0, connect_timeout=60.0)
    finally:
        release.set()
    assert result.reason is StopReason.DURATION


def test_duration_stops_in_the_tls_handshake(tmp_path: Path) -> None:
    with Hostile(raw(b"", stall=True)) as server:
        url = server.base_url.replace("http:", "https:") + SEARCH
        result = _stops(url, tmp_path / "c.jsonl", duration=1.0, connect_timeout=60.0, read_timeout=60.0)
    assert result.reason is StopReason.DURATION


def test_sigint_stops_while_waiting_for_the_head(tmp_path: Path) -> None:
    out = tmp_path / "c.jsonl"
    with Hostile(trickle(STREAM_HEAD, gap=2.0)) as server:
        proc = subprocess.Popen(cli_argv("record", server.base_url + SEARCH, "-o", out, "--read-timeout", 60),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "X_BEARER_TOKEN": TOKEN})  # fmt: skip
        try:
            for _ in range(200):
                if server.requests:
                    break
                time.sleep(0.05)
            assert server.requests, "the request never came"
            proc.send_signal(signal.SIGINT)
            stdout, stderr = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert proc.returncode == 0, stderr
    assert "stopped" in stdout and list(Cassette(out)) == []


# -- reconnecting: no hot loop, and the server's reset time honoured --------------------------


def test_a_stream_that_closes_at_once_is_not_a_hot_loop(tmp_path: Path) -> None:
    with Hostile(stream(EVENT)) as server:  # 200, one line, a clean end: again and again
        result = record(server.base_url + SEARCH, tmp_path / "c.jsonl", reconnect=True, duration=3.0)
    assert result.reason is StopReason.DURATION
    assert 2 <= len(server.requests) <= 12  # 0.25, 0.5, 0.75 s ... apart; the old recorder: ~1,700


def test_429_waits_for_x_rate_limit_reset(tmp_path: Path) -> None:
    messages: list[str] = []
    reset = str(int(time.time()) + 2)
    limited = respond(429, "Too Many Requests", b"{}", [("x-rate-limit-reset", reset)])
    with Hostile(limited, stream(EVENT, end="stall")) as server:
        options = RecordOptions(token=TOKEN, reconnect=True, max_events=1, duration=30.0)  # 429 backoff: 60 s
        result = Recorder(server.base_url + SEARCH, tmp_path / "c.jsonl", options, on_message=messages.append).run()
    assert result.reason is StopReason.MAX_EVENTS, messages
    assert any("reconnecting in" in m and "reconnecting in 60" not in m for m in messages)


def test_rate_limit_wait() -> None:
    policy = BackoffPolicy()
    assert rate_limit_wait("1000", 990.0, policy) == 10.0
    assert rate_limit_wait("1000", 1010.0, policy) is None  # past: the schedule decides
    assert rate_limit_wait(None, 0.0, policy) is None and rate_limit_wait("soon", 0.0, policy) is None
    assert rate_limit_wait("99999999999", 0.0, policy) == policy.reset_max
    assert rate_limit_wait("\u00b2", 0.0, policy) is None  # a digit to str.isdigit(), not to int()


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \xb2\r\n\r\n",
        b"HTTP/1.1 429 Too Many Requests\r\nx-rate-limit-reset: \xb2\r\nContent-Length: 2\r\n\r\n",
    ],
    ids=["content-length", "rate-limit-reset"],
)
def test_digits_that_are_not_ascii_in_a_head_are_no_crash(tmp_path: Path, head: bytes) -> None:
    """ "\u00b2" (latin-1 0xB2) is a digit to str.isdigit() but not to int(): read as no number."""
    with Hostile(raw(head + b"{}")) as server:
        result = record(server.base_url + SEARCH, tmp_path / "c.jsonl")
    assert "ValueError" not in (result.error or ""), result.error
    assert isinstance(next(iter(Cassette(tmp_path / "c.jsonl"))), Connection)


# -- redirects ---------------------------------------------------------------------------------


def test_a_redirect_to_another_host_is_recorded_and_never_gets_the_token(tmp_path: Path) -> None:
    out, messages = tmp_path / "c.jsonl", list[str]()
    with Hostile(stream(EVENT)) as final:
        location = final.base_url.replace("127.0.0.1", "localhost") + SEARCH + "?from=redirect"
        with Hostile(respond(302, "Found", b"", [("Location", location)])) as first:
            options = RecordOptions(token=TOKEN, read_timeout=5.0)
            Recorder(first.base_url + SEARCH, out, options, on_message=messages.append).run()
    assert first.requests[0].bearer() == TOKEN and final.requests[0].bearer() is None
    header = Cassette(out).header
    assert header.url == location and header.labels["redirected-from"] == first.base_url + SEARCH
    assert any("redirected" in m and location in m and "token is not sent" in m for m in messages)
    assert [r.raw for r in Cassette(out) if isinstance(r, Line)] == [EVENT]


def test_a_redirect_on_the_same_host_keeps_the_token(tmp_path: Path) -> None:
    with Hostile(respond(307, "Temporary Redirect", b"", [("Location", SEARCH + "?again=1")]), stream(EVENT)) as s:
        record(s.base_url + SEARCH, tmp_path / "c.jsonl")
    assert [r.bearer() for r in s.requests] == [TOKEN, TOKEN] and s.requests[1].target == SEARCH + "?again=1"


# -- the proxy the environment names -----------------------------------------------------------


def test_http_proxy_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with Hostile(stream(EVENT)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        result = record("http://stream.example.invalid" + SEARCH, tmp_path / "c.jsonl")
    assert result.reason is StopReason.SERVER_CLOSED, result.error
    assert proxy.requests[0].target == "http://stream.example.invalid" + SEARCH  # absolute-form, to the proxy
    assert proxy.requests[0].bearer() == TOKEN


def test_https_through_the_proxy_and_ca_bundle_of_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_replayer import cassette, event_line, events

    from harness.replay._proxy import client_env
    from harness.replay.server import ReplayServer
    from harness.testing.plugin import apply_env

    source = cassette(tmp_path / "source.jsonl", "search-stream", (events(0, 3), CloseReason.SERVER_CLOSED, 0.4))
    with ReplayServer([source], speed=None, proxy=True) as server:  # CONNECT api.x.com:443, a test CA
        assert server.proxy_url is not None and server.ca_bundle is not None
        apply_env(monkeypatch, client_env(server.proxy_url, server.ca_bundle))
        result = record("search-stream", tmp_path / "c.jsonl")  # https://api.x.com, as a user would
        assert server.log[0].tunnel == "api.x.com"
    assert result.reason is StopReason.SERVER_CLOSED, result.error
    assert [r.raw for r in Cassette(tmp_path / "c.jsonl") if isinstance(r, Line)] == [event_line(i) for i in range(3)]


def test_a_head_is_parsed_as_received() -> None:
    head = parse_head(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\nTransfer-Encoding: gzip, chunked")
    assert head == Head(200, "OK", (("X-A", "1 folded"), ("Transfer-Encoding", "gzip, chunked")))
    assert head.chunked and not head.bodiless


def test_forever_source_still_stops_on_max_events(tmp_path: Path) -> None:
    with Hostile(forever(gap=0.001)) as server:
        result = record(server.base_url + SEARCH, tmp_path / "c.jsonl", max_events=50)
    assert result.reason is StopReason.MAX_EVENTS and result.stats.events == 50


# -- a peer that keeps sending bytes and never gets anywhere --------------------------------------


def _interim_heads(gap: float) -> Callable[[Hostile, Any], None]:
    def script(server: Hostile, sock: Any) -> None:
        while not server.stopping.wait(gap):
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

    return script


def test_duration_stops_while_interim_heads_keep_coming(tmp_path: Path) -> None:
    # a receive that never has to wait: the stop must be looked at all the same
    with Hostile(_interim_heads(0.3)) as server:
        result = _stops(server.base_url + SEARCH, tmp_path / "c.jsonl", duration=1.0, read_timeout=30.0)
    assert result.reason is StopReason.DURATION


def test_endless_interim_heads_are_no_stream(tmp_path: Path) -> None:
    with Hostile(_interim_heads(0.001)) as server:
        result = _stops(server.base_url + SEARCH, tmp_path / "c.jsonl", duration=20.0, read_timeout=30.0)
    assert result.reason is StopReason.ERROR and "interim (1xx) response heads" in (result.error or "")


def _empty_deflate_blocks(server: Hostile, sock: Any) -> None:
    z = zlib.compressobj(wbits=31)  # gzip
    start = z.flush(zlib.Z_SYNC_FLUSH)  # the gzip header and one empty block
    empty = b"\x00\x00\x00\xff\xff" * 10_000  # empty stored blocks, 5 bytes each: no output at all
    head = response_head(200, "OK", (("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")))
    sock.sendall(head + encode_chunk(start + empty))
    while not server.stopping.wait(0.001):
        sock.sendall(encode_chunk(empty))


def test_gzip_that_inflates_to_nothing_for_ever_is_stopped(tmp_path: Path) -> None:
    with Hostile(_empty_deflate_blocks) as server:
        result = _stops(server.base_url + SEARCH, tmp_path / "c.jsonl", duration=20.0, read_timeout=30.0)
    assert result.reason is StopReason.ERROR and "inflate to nothing" in (result.error or "")
    assert list(Cassette(tmp_path / "c.jsonl"))  # readable, its close record says why


def test_duration_stops_while_gzip_inflates_to_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import harness.record._response as response

    monkeypatch.setattr(response, "EXPANSION_FLOOR", 1 << 40)  # only the stop can end it now
    with Hostile(_empty_deflate_blocks) as server:
        result = _stops(server.base_url + SEARCH, tmp_path / "c.jsonl", duration=1.0, read_timeout=30.0)
    assert result.reason is StopReason.DURATION
