"""`harness replay`: registered on the main group by `harness.cli.app`."""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from pathlib import Path

import click

from harness.cli.stream import on_signals, room_for, write_ready
from harness.model.rule_syntax import MAX_RULE_LENGTH, MAX_RULES
from harness.replay._http_server import HEAD_TIMEOUT, MAX_CLIENTS
from harness.replay.faults import GRAMMAR, FaultKind

#: Lines kept per connection's log: the command line prints counts only, never the lines themselves.
LOG_LINES = 0


def _speed(ctx: click.Context, param: click.Parameter, value: str) -> float | None:
    """A factor > 0, or None for `max`."""
    if value == "max":
        return None
    try:
        speed = float(value)
    except ValueError:
        speed = float("nan")
    if not 0 < speed < float("inf"):
        raise click.BadParameter(f"expected a factor > 0 (1 = recorded timing) or 'max', found {value!r}")
    return speed


@click.command()
@click.argument("cassettes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, show_default=True, type=click.IntRange(0, 65535), help="0: any free port.")
@click.option(
    "--speed",
    default="1",
    show_default=True,
    metavar="FACTOR|max",
    callback=_speed,
    help="Time factor: 20 is 20x faster; max: as fast as the client reads.",
)
@click.option("--token", help="The one bearer token to accept (default: any; a missing one is always a 401).")
@click.option(
    "--on-end",
    type=click.Choice(["hold", "close", "loop", "refuse"]),
    default="hold",
    show_default=True,
    help="When the recording runs out: keep the stream open with heartbeats, close it, start over, "
    "or close it and answer further connections 410.",
)
@click.option("--max-connections", type=click.IntRange(min=1), help="Per endpoint; one more gets a 429.")
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="SPEC",
    help=f"Repeatable. {GRAMMAR}. Kinds: {', '.join(k.value for k in FaultKind)}.",
)
@click.option(
    "--proxy",
    is_flag=True,
    help="Also be an HTTPS proxy for api.x.com and api.twitter.com, with a test CA (see the ready file's ca_bundle).",
)
@click.option(
    "--heartbeat", default=20.0, show_default=True, type=click.FloatRange(min=0, min_open=True), help="Seconds."
)
@click.option(
    "--ready-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help='Write {"url", "endpoints", and in proxy mode "proxy", "ca_bundle"} here (atomically) once listening.',
)
@click.option(
    "--max-clients",
    default=MAX_CLIENTS,
    show_default=True,
    type=click.IntRange(min=1),
    help="Open connections in all; one more is answered 503 at once.",
)
@click.option(
    "--request-timeout",
    default=HEAD_TIMEOUT,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="Seconds for a whole request head, however slowly it comes; then the connection is closed.",
)
@click.option("--max-rules", default=MAX_RULES, show_default=True, type=click.IntRange(min=1),
              help="The filtered stream's rule cap (X's Basic level: 25; Pro: 1000).")  # fmt: skip
@click.option("--max-rule-length", default=MAX_RULE_LENGTH, show_default=True, type=click.IntRange(min=1),
              help="Characters per filtered-stream rule (X's Basic level: 512; Pro: 1024).")  # fmt: skip
@click.option("--quiet", "-q", is_flag=True, help="Do not log connections on stderr.")
def replay(cassettes: tuple[Path, ...], host: str, port: int, speed: float | None, token: str | None, on_end: str,
           max_connections: int | None, faults: tuple[str, ...], proxy: bool, heartbeat: float,
           ready_file: Path | None, max_clients: int, request_timeout: float, max_rules: int, max_rule_length: int,
           quiet: bool) -> None:  # fmt: skip
    """Serve CASSETTES on loopback at their recorded timing, with the live API's contract.

    Each cassette is served at the path it was recorded from (several: several endpoints,
    or successive connections to one). Each consumer (bearer token) gets the recorded
    connections in turn; a connection a fault or the client cut is taken up where it
    stopped by the next one. The first line on stdout is `listening http://HOST:PORT`.
    Stops on Ctrl-C or SIGTERM.

    \b
    Faults (--fault, repeatable):
      disconnect@5      operational-disconnect payload after 5 events, then close
      drop@3            cut the 4th event mid-line and close the TCP connection
      stall=25@2        25 s of silence (no heartbeat) after 2 events
      split@1           the 2nd event's \\r and \\n in two chunks (iter_lines: a false heartbeat)
      status=429x2      the next 2 connections get 429 (or 503, any 4xx/5xx)
      throttle=2000     2000 bytes/s
      disconnect@1.5s   1.5 s after the request instead of after N events
      reset@4           a TCP reset (RST) after 4 events
      unfinished@4      closed after 4 events without the last chunk
      badchunk@2        a chunk size line that is not hex, then close
      badgzip@3         a corrupt gzip stream (to a client that asks for gzip)
      garbage@1         a line that is not JSON, and the stream goes on
      unavailable=30x2  the next 2 connections get 503 with Retry-After: 30
      slowhead=10       the response head a line at a time over 10 s
    Times and rates are on the recording's clock (scaled by --speed).
    """
    from harness.replay.faults import Fault
    from harness.replay.server import ReplayServer, ready_info

    parsed = [Fault.parse(spec) for spec in faults]
    room_for(max_clients)
    log = None if quiet else (lambda text: click.echo(text, err=True))
    server = ReplayServer(list(cassettes), host=host, port=port, speed=speed, token=token, on_end=on_end,
                          max_connections=max_connections, faults=parsed, proxy=proxy, heartbeat=heartbeat,
                          on_message=log, log_limit=1000, log_lines=LOG_LINES, max_clients=max_clients,
                          request_timeout=request_timeout, max_rules=max_rules,
                          max_rule_length=max_rule_length)  # fmt: skip
    # the start-up heap is never scanned again: a full collection mid-stream costs milliseconds of lateness
    gc.freeze()
    for warning in server.warnings:
        click.echo(f"warning: {warning}", err=True)
    stop = threading.Event()
    try:
        with on_signals(stop.set), server:
            click.echo(f"listening {server.base_url}")
            sys.stdout.flush()
            info = ready_info(server)
            if ready_file is not None:
                write_ready(ready_file, info)
            if not quiet:
                for name, url in info["endpoints"].items():
                    click.echo(f"  {name}: {url}", err=True)
                if proxy:
                    click.echo(f"  proxy: HTTPS_PROXY={info['proxy']} REQUESTS_CA_BUNDLE={info['ca_bundle']}", err=True)
            while not stop.wait(0.2):
                pass
    finally:
        if ready_file is not None:
            with contextlib.suppress(OSError):  # never written, or gone
                ready_file.unlink(missing_ok=True)
    if not quiet:
        click.echo(f"stopped after {server.connections} connection(s)", err=True)


COMMANDS = (replay,)
