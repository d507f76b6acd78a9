"""What `harness validate` prints: every finding, or the findings grouped (a TTY's default),
as text, JSON (findings, groups and summary; valid JSON even when an input fails) or JUnit
XML (a test case per file and endpoint, a failure per group)."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import click

from harness.contract._groups import Grouper, junit_xml
from harness.contract._parallel import ParallelValidation
from harness.contract.report import Baseline, Finding, expand
from harness.errors import HarnessError

__all__ = ["FORMATS", "report"]

FORMATS = ("text", "json", "junit")
SHOWN_GROUPS = 12  # on one screen, with the summary; --all or --format json for every one


class _Run:
    """One validation's findings, matched against the baseline and grouped on the way."""

    def __init__(self, run: ParallelValidation, baseline: Baseline, max_examples: int, by_case: bool) -> None:
        self.run, self.baseline = run, baseline
        self.grouper = Grouper(max_examples, by_case=by_case)
        self.failing = self.known = 0
        self.broken: dict[str, None] = {}  # files with new violations, in order

    def findings(self, paths: Iterable[str | Path]) -> Iterator[tuple[Finding, str | None]]:
        for finding in self.run.run(paths):
            k = self.baseline.match(finding)
            self.failing, self.known = self.failing + (k is None), self.known + (k is not None)
            self.grouper.add(finding, known=k is not None)
            if k is None:
                self.broken[finding.file] = None
            yield finding, (k.reason if k is not None else None)

    @property
    def payloads(self) -> int:
        return sum(self.run.tally.endpoints.values())

    def status(self) -> int:
        return 1 if self.failing or self.baseline.stale() else 0


def report(
    run: ParallelValidation,
    paths: tuple[Path, ...],
    *,
    fmt: str,
    every: bool,
    quiet: bool,
    baseline: Path | None,
    max_examples: int,
    dialect: tuple[str, Callable[[list[str]], dict[str, tuple[str, str]]]] | None = None,
) -> int:
    """Validate `paths` and print; the exit status (0, 1; 2 where JSON or JUnit said an input failed).

    `dialect`: the one checked, and what tells which broken files match the other
    (file -> (that dialect, a line saying so)).
    """
    state = _Run(run, Baseline.load(baseline) if baseline else Baseline([]), max_examples, by_case=fmt == "junit")
    if fmt == "json":
        return _json(state, paths, dialect)
    if fmt == "junit":
        return _junit(state, paths)
    progress = _Progress(run) if sys.stderr.isatty() else None
    for finding, known in state.findings(paths):
        if progress:
            progress.clear()
        if every and not quiet:
            click.echo(f"known ({known}): {finding}" if known is not None else str(finding))
        if progress:
            progress.show()
    if progress:
        progress.clear()
    if not every and not quiet:
        groups = state.grouper.ranked()
        if groups:
            click.echo(f"{sum(g.count for g in groups)} finding(s) in {len(groups)} group(s):")
        for group in groups[:SHOWN_GROUPS]:
            click.echo("\n".join("  " + line for line in group.text(state.payloads)))
        if len(groups) > SHOWN_GROUPS:
            click.echo(f"  ... and {len(groups) - SHOWN_GROUPS} more group(s): --all or --format json for them")
    click.echo(run.tally.summary())
    if baseline:
        click.echo(f"  baseline: {state.known} known violation(s), {state.failing} new")
    for s in state.baseline.stale():
        click.echo(f"  stale baseline entry (no longer found): {s.file or '*'} {s.pointer} {s.keyword}")
    if dialect is not None and state.broken:
        for _, line in dialect[1](list(state.broken)).values():
            click.echo(f"  {line}")
    return state.status()


def _json(state: _Run, paths: tuple[Path, ...],
          dialect: tuple[str, Callable[[list[str]], dict[str, tuple[str, str]]]] | None) -> int:  # fmt: skip
    # Streamed so that a long run's findings are never all held in memory; an input that
    # fails ends the list, and the document, with an "error" member.
    click.echo('{"violations": [', nl=False)
    error = None
    try:
        for i, (finding, known) in enumerate(state.findings(paths)):
            entry = finding.as_dict() | {"known": known}
            click.echo(("," if i else "") + "\n  " + json.dumps(entry, ensure_ascii=False), nl=False)
    except HarnessError as exc:
        error = str(exc)
    groups = [g.as_dict(state.payloads) for g in state.grouper.ranked()]
    summary: dict[str, Any] = state.run.tally.as_dict() | {
        "known": state.known,
        "stale_baseline": [vars(s) for s in state.baseline.stale()],
    }
    if dialect is not None:
        summary["dialect"] = dialect[0]
        hints = dialect[1](list(state.broken)) if state.broken and error is None else {}
        summary["matches_other_dialect"] = {file: other for file, (other, _) in hints.items()}
    click.echo('\n], "groups": ' + json.dumps(groups, ensure_ascii=False), nl=False)
    click.echo(', "summary": ' + json.dumps(summary, ensure_ascii=False), nl=False)
    click.echo(', "error": ' + json.dumps(error, ensure_ascii=False) + "}")
    if error is not None:
        click.echo(f"error: {error}", err=True)
        return 2
    return state.status()


def _junit(state: _Run, paths: tuple[Path, ...]) -> int:
    cases: list[tuple[str, str]] = []
    payloads: dict[tuple[str, str], int] = {}
    errors: dict[str, str] = {}
    tally = state.run.tally
    files: list[Path] = []
    for given in paths:
        try:
            files += expand([given])
        except HarnessError as exc:
            errors[str(given)] = str(exc)
    for path in files:
        before = Counter(tally.endpoints)
        try:
            for _ in state.findings([path]):
                pass
        except HarnessError as exc:
            errors[str(path)] = str(exc)
        for endpoint, n in (Counter(tally.endpoints) - before).items():
            cases.append((str(path), endpoint))
            payloads[(str(path), endpoint)] = n
    sys.stdout.buffer.write(junit_xml(cases, state.grouper, payloads, errors) + b"\n")
    sys.stdout.flush()
    for message in errors.values():
        click.echo(f"error: {message}", err=True)
    return 2 if errors else state.status()


class _Progress:
    """A status line on stderr, for a TTY only."""

    def __init__(self, run: ParallelValidation) -> None:
        self.run = run

    def show(self) -> None:
        t = self.run.tally
        click.echo(f"\r{t.files} file(s), {t.events} event(s), {t.violation_count} violation(s)", err=True, nl=False)

    def clear(self) -> None:
        click.echo("\r\033[K", err=True, nl=False)
