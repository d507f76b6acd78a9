"""`harness record` and `harness serve`: registered on the main group by `harness.cli.app`."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from harness.cli._dialect import dialect_option
from harness.cli._rate import LIVE, Rate
from harness.errors import UsageError
from harness.model.dialect import Dialect
from harness.model.params import parse_pairs
from harness.model.rule_syntax import MAX_RULE_LENGTH, MAX_RULES
from harness.record.recorder import (
    DEFAULT_BASE_URL,
    MAX_LINE,
    Recorder,
    RecordOptions,
    RecordResult,
    RecordStats,
    StopReason,
)
from harness.record.redact import Redaction
from harness.record.rules import load_rules


@contextmanager
def on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM call `stop` (a second Ctrl-C interrupts for real)."""
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handler(signum: int, frame: Any) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stop()

    for sig in previous:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    raise AssertionError("unreachable")


def _status(s: RecordStats, validate: bool, rate: float | None = None) -> str:
    checked = f", {s.violations} violation(s)" if validate else ""
    return (f"{s.events} event(s), {s.heartbeats} heartbeat(s), {s.errors} error payload(s){checked}, "
            f"{s.rate if rate is None else rate:.0f}/s, {_size(s.bytes)}, {s.elapsed:.1f} s")  # fmt: skip


class _StatusLine:
    """A status line on a TTY's stderr, refreshed from a thread so the record loop pays nothing."""

    def __init__(self, recorder: Recorder, validate: bool, interval: float = 0.25) -> None:
        self.recorder, self.validate, self.interval = recorder, validate, interval
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        before = self.recorder.stats
        while not self.done.wait(self.interval):
            now = self.recorder.stats
            span = now.elapsed - before.elapsed
            rate = (now.events - before.events) / span if span > 0 else 0.0  # recent, not overall
            with self.lock:
                click.echo(f"\r\033[K{_status(now, self.validate, rate)}", err=True, nl=False)
            before = now

    def message(self, text: str) -> None:
        with self.lock:
            click.echo(f"\r\033[K{text}", err=True)

    def __enter__(self) -> _StatusLine:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()
        click.echo("\r\033[K", err=True, nl=False)


def _summary(result: RecordResult, validate: bool) -> str:
    s = result.stats
    ended = {
        StopReason.MAX_EVENTS: "--max-events reached",
        StopReason.DURATION: "--duration reached",
        StopReason.STOPPED: "stopped",
        StopReason.SERVER_CLOSED: "the server closed the stream",
        StopReason.HTTP_STATUS: f"HTTP {s.status}",
        StopReason.ERROR: "error",
    }[result.reason]
    return f"recorded {result.path}: {_status(s, validate)}, {s.connections} connection(s); {ended}"


@click.command()
@click.argument("target")
@click.option(
    "-o",
    "--output",
    "cassette",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cassette to write (.jsonl, or .jsonl.gz for gzip).",
)
@click.option("-p", "--param", "params", multiple=True, metavar="KEY=VALUE", help="Query parameter (repeatable).")
@click.option("--token", envvar="X_BEARER_TOKEN", show_envvar=True, help="Bearer token (never written to disk).")
@click.option("--base-url", default=DEFAULT_BASE_URL, show_default=True, help="Joined to an endpoint name or path.")
@click.option("--endpoint", help="The stream a full URL serves, when its path is not the endpoint's own.")
@click.option("--max-events", type=click.IntRange(min=1), help="Stop after N events (over all connections).")
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), help="Stop after SECONDS.")
@click.option("--reconnect", is_flag=True, help="Reconnect with X's backoff; each connection is a new segment.")
@click.option(
    "--read-timeout",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds without a byte (not even a heartbeat) that count as a stall.",
)
@click.option("--connect-timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--validate", is_flag=True, help="Check events against the contract as they arrive.")
@click.option("--redact-header", multiple=True, metavar="NAME", help="Another header to redact (repeatable).")
@click.option("--redact-param", multiple=True, metavar="NAME", help="Another query parameter to redact.")
@click.option(
    "--redact-json",
    multiple=True,
    metavar="POINTER",
    help="JSON pointer into events to blank, e.g. /includes/users/*/location (repeatable).",
)
@click.option(
    "--max-line",
    default=MAX_LINE,
    show_default=True,
    type=click.IntRange(min=1),
    help="Bytes a line may reach without a line end.",
)
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label for the cassette header.")
@click.option("-f", "--force", is_flag=True, help="Overwrite an existing cassette.")
@click.option(
    "--loopback",
    is_flag=True,
    help="Record the built-in synthetic source, started in-process (no credentials, no network).",
)
@click.option(
    "--rules",
    "rules_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="search-stream: install these rules first (a JSON list of {value, tag}), checked with dry_run.",
)
@click.option("--replace-rules", is_flag=True, help="With --rules: delete the other rules in effect.")
@click.option(
    "--rules-snapshot/--no-rules-snapshot",
    default=None,
    help="search-stream: read the rules in effect into the cassette (default: a named TARGET; always with --rules).",
)
def record(target: str, cassette: Path, params: tuple[str, ...], token: str | None, base_url: str,
           endpoint: str | None, max_events: int | None, duration: float | None, reconnect: bool,
           read_timeout: float, connect_timeout: float, validate: bool, redact_header: tuple[str, ...],
           redact_param: tuple[str, ...], redact_json: tuple[str, ...], max_line: int, labels: tuple[str, ...],
           force: bool, loopback: bool, rules_file: Path | None, replace_rules: bool,
           rules_snapshot: bool | None) -> None:  # fmt: skip
    """Record a live stream session into a cassette.

    TARGET is an endpoint name or path (search-stream, /2/tweets/firehose/stream/lang/ja,
    ...) joined to --base-url, or a full URL. Stops on --max-events, --duration, Ctrl-C,
    SIGTERM or when the server closes (exit 0). A non-200 response is recorded and
    reported; without --reconnect the exit code is then 1. Errors exit 2.
    """
    if loopback:
        from harness.replay.loopback import LOOPBACK_TOKEN, LoopbackServer, ServeOptions

        # The built-in source at 20 events/s with 2 s heartbeats: a realistic session, quickly.
        # Its rules are read when asked for (--rules-snapshot) or installed (--rules).
        snapshot = rules_snapshot if rules_snapshot is not None else rules_file is not None
        with LoopbackServer(ServeOptions(token=LOOPBACK_TOKEN, rate=20.0, heartbeat=2.0)) as source:
            ctx = click.get_current_context()
            ctx.invoke(record, **{**ctx.params, "token": LOOPBACK_TOKEN, "base_url": source.base_url, "loopback": False,
                                  "labels": (*labels, "source=loopback"), "rules_snapshot": snapshot})  # fmt: skip
        return
    if not token:
        raise UsageError("no bearer token: pass --token or set X_BEARER_TOKEN")
    if cassette.exists() and not force:
        raise UsageError(f"{cassette} exists: choose another name or pass --force to overwrite it")
    if replace_rules and rules_file is None:
        raise UsageError("--replace-rules: expected --rules FILE too (the rules to keep)")
    options = RecordOptions(
        params=parse_pairs(params), token=token, base_url=base_url, endpoint=endpoint, max_events=max_events,
        duration=duration, reconnect=reconnect, read_timeout=read_timeout, connect_timeout=connect_timeout,
        validate=validate, redaction=Redaction(redact_header, redact_param, redact_json), max_line=max_line,
        labels=parse_pairs(labels), rules=load_rules(rules_file) if rules_file else None, replace_rules=replace_rules,
        read_rules=rules_snapshot,
    )  # fmt: skip
    tty = sys.stderr.isatty()
    recorder = Recorder(target, cassette, options)
    with on_signals(recorder.request_stop):
        if tty:
            with _StatusLine(recorder, validate) as status:
                recorder.on_message = status.message
                result = recorder.run()
        else:
            recorder.on_message = lambda text: click.echo(text, err=True)
            result = recorder.run()
    click.echo(_summary(result, validate))
    for sample in result.samples:
        click.echo(f"  {sample}")
    if result.reason is StopReason.HTTP_STATUS:
        sys.exit(1)  # the status line was reported as it happened
    result.raise_for_error()


def write_ready(path: Path, info: dict[str, Any]) -> None:
    """Write `info` as JSON atomically: a reader sees no file or the whole file."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w") as f:
            json.dump(info, f)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise UsageError(f"--ready-file: cannot write {path}: {exc.strerror or exc}") from None


FDS_PER_CLIENT = 4  # its socket, its waiter's wake-up pair, the cassette it reads


def room_for(max_clients: int) -> None:
    """Raise the soft open-file limit toward what `max_clients` streams need (at most the hard
    limit): a common soft limit of 1,024 would refuse streams far below the cap."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FDS_PER_CLIENT * max_clients + 64
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if hard == resource.RLIM_INFINITY else min(want, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option("--token", help="The bearer token to require (default: any non-empty one).")
@click.option(
    "--rate",
    default=2.0,
    show_default=True,
    type=Rate(0),
    help="Events per second per connection; 0 for heartbeats only, inf for as fast as possible, live for each "
    "stream's own.",
)
@click.option(
    "--heartbeat",
    default=20.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds of silence before a blank heartbeat line.",
)
@click.option("--seed", type=int, help="Seed for the events: each connection gets the same sequence.")
@click.option("--max-events", type=click.IntRange(min=0), help="End each stream cleanly after N events.")
@click.option("--error-every", type=click.IntRange(min=1), help="An in-stream error payload after every N events.")
@click.option("--error-kind", default="operational-disconnect", show_default=True, help="Problem type of those.")
@click.option("--gzip", is_flag=True, help="Compress streams for clients that accept gzip.")
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Write {"url": ...} here (atomically) once listening.',
)
@click.option(
    "--max-clients", default=1024, show_default=True, type=click.IntRange(min=1), help="Open connections; then 503."
)
@click.option(
    "--request-timeout",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds for a whole request head.",
)
@click.option("--max-rules", default=MAX_RULES, show_default=True, type=click.IntRange(min=1),
              help="The filtered stream's rule cap (X's Basic level: 25; Pro: 1000).")  # fmt: skip
@click.option("--max-rule-length", default=MAX_RULE_LENGTH, show_default=True, type=click.IntRange(min=1),
              help="Characters per filtered-stream rule (X's Basic level: 512; Pro: 1024).")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="Do not log connections on stderr.")
@dialect_option
def serve(host: str, port: int, token: str | None, rate: float | str, heartbeat: float, seed: int | None,
          max_events: int | None, error_every: int | None, error_kind: str, gzip: bool, ready_file: Path | None,
          max_clients: int, request_timeout: float, max_rules: int, max_rule_length: int,
          quiet: bool, dialect: str) -> None:  # fmt: skip
    """Serve the three streams on loopback with synthetic events: no credentials needed.

    Events answer each request's *.fields and expansions as live. The first line on stdout
    is `listening http://HOST:PORT`. Stops on Ctrl-C or SIGTERM.
    """
    from harness.replay.loopback import LoopbackServer, ServeOptions, ready_info

    live = rate == LIVE
    options = ServeOptions(token=token, rate=0.0 if live else float(rate), live=live, heartbeat=heartbeat,
                           seed=seed, max_events=max_events, error_every=error_every, error_kind=error_kind,
                           gzip=gzip, dialect=Dialect.parse(dialect), max_rules=max_rules,
                           max_rule_length=max_rule_length)  # fmt: skip
    log = None if quiet else (lambda text: click.echo(text, err=True))
    room_for(max_clients)
    try:
        server = LoopbackServer(options, host=host, port=port, log=log, max_clients=max_clients,
                                request_timeout=request_timeout)  # fmt: skip
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    stop = threading.Event()
    with on_signals(stop.set), server:
        if ready_file is not None:  # first, so that it exists once the line below is read
            write_ready(ready_file, ready_info(server))
        click.echo(f"listening {server.base_url}")
        sys.stdout.flush()
        if not quiet:
            for name, url in ready_info(server)["endpoints"].items():
                click.echo(f"  {name}: {url}", err=True)
        while not stop.wait(0.2):
            pass
    if ready_file is not None:
        with contextlib.suppress(OSError):  # never written, or gone
            ready_file.unlink(missing_ok=True)


COMMANDS = (record, serve)
