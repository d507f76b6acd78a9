"""The `harness` command line: one click group, domain errors turned into exit code 2."""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from harness._version import __version__
from harness.cassette import CassetteWarning
from harness.cli._dialect import dialect_option
from harness.cli._lazy import LazyGroup
from harness.cli._rate import LIVE, Rate
from harness.contract import schemagen
from harness.contract._names import ENGINES
from harness.contract.schemagen import Profile
from harness.errors import HarnessError
from harness.model import ENDPOINTS

ENDPOINT_HELP = "Endpoint short name or path: " + ", ".join(ENDPOINTS)


class HarnessGroup(LazyGroup):
    """Turns the harness's own errors into one line on stderr and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with warnings.catch_warnings():
                # commands say a cassette's cut in their own output: no Python warning line too
                warnings.simplefilter("ignore", CassetteWarning)
                return super().invoke(ctx)
        except HarnessError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except BrokenPipeError:  # `harness validate ... | head`
            sys.stderr.close()
            ctx.exit(1)


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="harness")
def main() -> None:
    """Record, validate and replay X API v2 stream sessions."""


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--endpoint", "-e", help=f"Validate raw NDJSON files as lines of this endpoint. {ENDPOINT_HELP}.")
@click.option("--strict", is_flag=True, help="Unknown object members are violations (catches drift).")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "junit"]), default="text", show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="Text format: print the summary only.")
@click.option(
    "--all/--grouped",
    "every",
    default=None,
    help="Text format: every finding (the default unless stdout is a TTY), or findings grouped "
    "by schema location, keyword and pointer (the default on a TTY).",
)
@click.option(
    "--max-examples",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Example messages kept per group.",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="JSON list of known violations ({file, pointer, keyword, reason}; a pointer with * names a group): "
    "reported, not failing.",
)
@click.option(
    "--engine",
    type=click.Choice(ENGINES),
    default="fast",
    show_default=True,
    help="fast: the reference's verdicts, fast; reference: jsonschema for every payload.",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="Processes to validate with (0: one per core); same findings, in the same order.",
)
@dialect_option
def validate(
    paths: tuple[Path, ...],
    endpoint: str | None,
    strict: bool,
    fmt: str,
    quiet: bool,
    every: bool | None,
    max_examples: int,
    baseline: Path | None,
    engine: str,
    jobs: int,
    dialect: str,
) -> None:
    """Validate cassettes, directories of them, or raw NDJSON dumps of stream lines.

    Exit status: 0 all valid (or only known violations), 1 violations found (or a stale
    baseline entry), 2 usage error or unreadable input.
    """
    from harness.cli._validate import report  # here: `harness --help` does without it
    from harness.contract._parallel import ParallelValidation

    profile = Profile.STRICT if strict else Profile.DEFAULT
    jobs = jobs or os.cpu_count() or 1
    run = ParallelValidation(profile, engine=engine, jobs=jobs, endpoint=endpoint, dialect=dialect)
    every = not sys.stdout.isatty() if every is None else every

    def other_dialect(broken: list[str]) -> dict[str, tuple[str, str]]:
        """Of the files with new violations, those that match the other dialect, and a line saying so."""
        from harness.contract.dialects import hint, matching_dialects

        found = matching_dialects(broken, dialect, profile=profile, engine=engine, endpoint=endpoint)
        return {file: (d.value, hint(file, d)) for file, d in found.items()}

    status = report(run, paths, fmt=fmt, every=every, quiet=quiet, baseline=baseline, max_examples=max_examples,
                    dialect=(dialect, other_dialect))  # fmt: skip
    sys.exit(status)


@main.group()
def schemas() -> None:
    """Generate or check the JSON Schemas derived from the object model."""


@schemas.command("generate")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("schemas"), show_default=True)
def schemas_generate(out: Path) -> None:
    """Write every schema (default and strict profiles) into OUT."""
    written = schemagen.write_tree(out)
    click.echo(f"wrote {len(written)} schema files to {out}")


@schemas.command("check")
@click.option("--dir", "root", type=click.Path(path_type=Path), default=Path("schemas"), show_default=True)
def schemas_check(root: Path) -> None:
    """Exit 1 with a summary if DIR differs from what the model generates."""
    problems = schemagen.diff_tree(root)
    if problems:
        click.echo(f"{len(problems)} schema file(s) in {root} differ from the object model:", err=True)
        for p in problems:
            click.echo(p, err=True)
        click.echo("run: harness schemas generate", err=True)
        sys.exit(1)
    click.echo(f"{root}: {len(schemagen.rendered_tree())} schema files match the object model")


@main.command()
@click.argument("endpoint")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Cassette to write."
)
@click.option("--events", default=20, show_default=True, type=click.IntRange(min=0), help="Events in all.")
@click.option("--seed", default=0, show_default=True, type=int, help="Same seed, same cassette.")
@click.option("--rate", default=2.0, show_default=True, type=Rate(0.001), help="Mean events/s, or live: the stream's.")
@click.option("--heartbeat", default=20.0, show_default=True, type=click.FloatRange(min=0.01), help="Seconds.")
@click.option("--connections", default=1, show_default=True, type=click.IntRange(min=1), help="Reconnects + 1.")
@click.option(
    "--param", "params", multiple=True, help="Request parameter NAME=VALUE (repeatable; default: a rich one)."
)
@dialect_option
def synth(endpoint: str, output: Path, events: int, seed: int, rate: float | str, heartbeat: float, connections: int,
          params: tuple[str, ...], dialect: str) -> None:  # fmt: skip
    """Write a synthetic cassette of valid ENDPOINT events drawn from the object model.

    Events answer the request (`--param tweet.fields=lang`...) as live; without one, every
    field a stream sends and every expansion. Connections after the first follow an
    operational-disconnect payload, as on the wire.
    """
    from harness.cassette import write_cassette
    from harness.cassette.synth import synthetic_session
    from harness.model import resolve_endpoint
    from harness.model.params import check_query, parse_pairs
    from harness.model.practice import live_rate

    query = None
    rate = live_rate(resolve_endpoint(endpoint)) if rate == LIVE else rate
    if params:
        query = parse_pairs(params)
        check_query(resolve_endpoint(endpoint), query)

    header, records = synthetic_session(
        endpoint,
        events=events,
        seed=seed,
        rate=float(rate),
        heartbeat=heartbeat,
        connections=connections,
        errors=["operational-disconnect"] * (connections - 1),
        query=query,
        dialect=dialect,
    )
    write_cassette(output, header, records)
    click.echo(f"wrote {output}: {events} event(s) over {connections} connection(s), seed {seed}")


@main.command()
@click.argument("cassettes", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inspect(cassettes: tuple[Path, ...], fmt: str) -> None:
    """Summarize cassettes: endpoint, connections, events, heartbeats, errors, duration, rate."""
    from harness.cassette.summary import summarize

    summaries = [summarize(path) for path in cassettes]
    if fmt == "json":
        click.echo(json.dumps([s.as_dict() for s in summaries], ensure_ascii=False, indent=2))
    else:
        click.echo("\n\n".join(s.text() for s in summaries))


@main.command("export")
@click.option("--format", "fmt", type=click.Choice(["vcr"]), default="vcr", show_default=True)
@click.argument("cassette", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
def export_(fmt: str, cassette: Path, out: Path) -> None:
    """Write CASSETTE as a vcrpy cassette OUT (one interaction per connection, timing kept)."""
    from harness.cassette.vcr import export_vcr

    n = export_vcr(cassette, out)
    click.echo(f"wrote {out}: {n} interaction(s)")


@main.command("import")
@click.argument("vcr_cassette", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--endpoint", "-e", help="Treat every interaction as this endpoint's stream.")
def import_(vcr_cassette: Path, out: Path, endpoint: str | None) -> None:
    """Turn a vcrpy / pytest-recording cassette holding a stream body into a cassette OUT."""
    from harness.cassette.vcr import import_vcr

    n = import_vcr(vcr_cassette, out, endpoint=endpoint)
    click.echo(f"wrote {out}: {n} connection(s) imported")
