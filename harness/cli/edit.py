"""`harness slice`, `harness cat` and `harness diff`: imported when one runs (`harness.cli._lazy`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from harness.errors import UsageError

_IN = click.Path(dir_okay=False, path_type=Path)


@click.command("slice")
@click.argument("cassette", type=_IN)
@click.option("--events", "events", metavar="A:B", help="Events A up to before B, counted from 0 (A: or :B too).")
@click.option("--time", "time_", metavar="A:B", help="Seconds A up to before B on the cassette's clock.")
@click.option("--output", "-o", "out", required=True, type=_IN, help="The cassette to write (.gz: gzip).")
def slice_(cassette: Path, events: str | None, time_: str | None, out: Path) -> None:
    """Cut CASSETTE to a run of events or a span of time, keeping its timing.

    The heartbeats, reconnections and gaps in between stay as recorded; a connection cut short
    ends `client-stopped`."""
    from harness.cassette.edit import parse_span, slice_cassette

    if (events is None) == (time_ is None):
        raise UsageError("slice: give one of --events A:B or --time A:B")
    span = parse_span(events, events=True) if events is not None else parse_span(str(time_), events=False)
    click.echo(slice_cassette(cassette, out, span).describe())


@click.command("cat")
@click.argument("cassettes", nargs=-1, required=True, type=_IN)
@click.option("--output", "-o", "out", required=True, type=_IN, help="The cassette to write (.gz: gzip).")
def cat(cassettes: tuple[Path, ...], out: Path) -> None:
    """Join cassettes of one endpoint: their connections in sequence.

    Each cassette starts when the one before it ended (a replay serves them as successive
    reconnections)."""
    from harness.cassette.edit import cat_cassettes

    click.echo(cat_cassettes(cassettes, out).describe())


@click.command("diff")
@click.argument("a", type=_IN)
@click.argument("b", type=_IN)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def diff(a: Path, b: Path, fmt: str) -> None:
    """What changed from recording A to recording B.

    Fields and their types, enum values seen, error payloads (exit 1 when any changed), event
    rate and heartbeat cadence (figures)."""
    from harness.cassette.compare import diff_cassettes

    result = diff_cassettes(a, b)
    click.echo(json.dumps(result.as_dict(), indent=2) if fmt == "json" else result.text())
    if result.changed:
        raise SystemExit(1)


COMMANDS = (slice_, cat, diff)
