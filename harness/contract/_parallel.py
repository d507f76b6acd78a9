"""`harness validate -j N`: validation on N processes, reported as one process would.

The main process cuts the inputs into tasks: the lines of a small file, or a block of a
large one (NDJSON lines; whole records of a cassette, which the worker reads itself).
Worker processes, each with its own contract, parse and check them (with `-j 1`, this
process does, task after task). The main process takes the
results back in input order and replays what a sequential reading does (the oracle in
`tests/sequential.py`): counts, event indices,
cassette record order, HTTP error bodies, warnings and errors, each at its place in the
stream. So the findings, their order and locations, and the tally are those of `-j 1`.

A cassette block is checked assuming that the connection it starts in answered 200, as
nearly always; when the replay finds otherwise (an error body across a block boundary),
the main process checks that block again itself, with the status it now knows.
"""

from __future__ import annotations

import gzip
import os
import threading
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.cassette import Cassette, CassetteWarning, Connection, Line, RecordOrder
from harness.cassette._lines import LineCutter, Long
from harness.cassette.records import is_json_blank
from harness.contract._blocks import (
    Block,
    CassetteItem,
    Cut,
    Fail,
    FileEnd,
    Record,
    Run,
    cassette_block,
    file_blocks,
    ndjson_block,
    rebased,
)
from harness.contract._fast import no_gc
from harness.contract._findings import Finding, Validating, expand, is_cassette
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.errors import CassetteFormatError, CassetteOrderError, UsageError
from harness.model import resolve_endpoint

if TYPE_CHECKING:
    from concurrent.futures import Future

__all__ = ["ParallelValidation"]

LINES_PER_TASK = 2000  # NDJSON lines per task
BYTES_PER_TASK = 1 << 22  # cassette bytes per task, at most: each task costs the main process a little
MIN_BYTES_PER_TASK = 1 << 18  # ...and at least, where a file is cut into 8 tasks per worker

_contract: Contract | None = None  # a worker process's own


def _init_worker(profile: str, engine: str, dialect: str = "classic") -> None:
    global _contract
    _contract = Contract(profile, engine, dialect)


def _check_lines(
    endpoint: str, lines: list[tuple[int, bytes | Long, float | None]], contract: Contract | None = None
) -> Run:
    contract = contract or _contract
    assert contract is not None
    with no_gc():
        return Run().check(contract, endpoint, lines)


def _check_ndjson(endpoint: str, block: Block, contract: Contract | None = None) -> tuple[Run, int]:
    contract = contract or _contract
    assert contract is not None
    with no_gc():
        return ndjson_block(contract, endpoint, block)


def _check_block(endpoint: str, block: Block, contract: Contract | None = None) -> tuple[list[CassetteItem], int]:
    contract = contract or _contract
    assert contract is not None
    with no_gc():
        return cassette_block(contract, endpoint, block, status=200)


def _cut_lines(f: Any) -> Iterator[bytes | Long]:
    """The lines of a binary file as iterating it gives them, a line longer than `MAX_LINE`
    as `Long` (never held whole); a read error propagates after the lines before it."""
    cutter = LineCutter()
    while chunk := f.read1(1 << 16):
        yield from cutter.feed(chunk)
    last = cutter.end()
    if last is not None:
        yield last


def start_method() -> str:
    """How workers start: "fork" when this process runs one thread (the workers inherit the
    imported harness: no half-second start-up each), else "spawn", as forking a process
    with other threads can leave a lock held forever in the child."""
    import multiprocessing

    if _threads() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return "fork"
    return "spawn"


def _threads() -> int:
    """The process's threads as the OS counts them: a thread started by C code (a library, a
    finished pool's helper not yet reaped) is invisible to `threading` but not to a fork."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no procfs: what Python knows of
        return threading.active_count()


Apply = Callable[[Any], Iterator[Finding]]


@dataclass
class _Step:
    """What to replay at one point of the input: a task's result, or an action alone."""

    apply: Apply
    task: tuple[Callable[..., Any], tuple[Any, ...]] | None = None
    future: Future[Any] | None = None


@dataclass
class _CassetteState:
    """What a sequential reading keeps while reading one cassette."""

    path: Path
    endpoint: str
    order: RecordOrder = field(default_factory=RecordOrder)
    conn: Connection | None = None
    base: int = 1  # lines before the next block (the header's)
    body: list[tuple[int, Line]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    cut: bool = False


class ParallelValidation(Validating):
    """File validation on `jobs` processes: the same findings, in the same order, same tally.

    With `jobs=1`, everything happens in this process, with `contract` if given (workers
    build their own contract from `profile` and `engine`, so they take no other)."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, *, engine: str = "fast", jobs: int = 2,
                 endpoint: str | None = None, contract: Contract | None = None,
                 dialect: str = "classic") -> None:  # fmt: skip
        if contract is not None and jobs != 1:
            raise UsageError("a contract of your own is checked in this process: jobs=1")
        super().__init__(contract or Contract(profile, engine, dialect), endpoint=endpoint)
        self.jobs, self.engine = jobs, engine

    def run(self, paths: Iterable[str | Path]) -> Iterator[Finding]:
        if self.jobs == 1:  # the same steps, done in this process as they come
            for step in self._steps(paths):
                task = step.task
                yield from step.apply(task[0](*task[1], self.contract) if task is not None else None)
            return
        import multiprocessing  # here: a run in this process needs no pool
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context(start_method())
        initargs = (self.contract.profile.value, self.engine, self.contract.dialect.value)
        with ProcessPoolExecutor(self.jobs, mp_context=context, initializer=_init_worker, initargs=initargs) as pool:
            window: deque[_Step] = deque()
            for step in self._steps(paths):
                if step.task is not None:
                    step.future = pool.submit(step.task[0], *step.task[1])
                window.append(step)
                while len(window) > 4 * self.jobs:  # bounded: constant memory, as with -j 1
                    yield from _replay(window.popleft())
            while window:
                yield from _replay(window.popleft())

    # -- the steps, in input order ---------------------------------------------------------
    def _steps(self, paths: Iterable[str | Path]) -> Iterator[_Step]:
        try:
            for path in expand(paths):
                yield _Step(self._count_file)
                if is_cassette(path):
                    yield from self._cassette_steps(path)
                elif self.endpoint is None:
                    raise UsageError(
                        f"{path} is not a cassette: give --endpoint NAME to validate it as raw NDJSON lines"
                    )
                else:
                    yield from self._ndjson_steps(path, self.endpoint)
        except Exception as exc:  # raised in its place, after what came before it
            yield _Step(_raiser(exc))

    def _count_file(self, _: None) -> Iterator[Finding]:
        self.tally.files += 1
        self.file_base = self.tally.events
        return iter(())

    def _ndjson_steps(self, path: Path, endpoint: str) -> Iterator[_Step]:
        if path.suffix != ".gz":  # places in the file, read by the workers
            base = [0]  # lines before the next block
            for block in file_blocks(path, _block_size(path, self.jobs), header=False):
                if isinstance(block, Block):
                    yield _Step(partial(self._apply_ndjson, path, endpoint, base), (_check_ndjson, (endpoint, block)))
            return
        # Read exactly as a sequential reading does, so that a cut file stops at the same line.
        first = [0]  # the file's first event, known once replayed
        yield _Step(partial(self._note_events, first))
        lines: list[tuple[int, bytes | Long, float | None]] = []
        heartbeats = held = lineno = 0
        try:
            with gzip.open(path, "rb") as f:
                for raw in _cut_lines(f):
                    lineno += 1
                    if isinstance(raw, bytes) and is_json_blank(raw):
                        heartbeats += 1
                        continue
                    lines.append((lineno, raw, None))
                    held += len(raw) if isinstance(raw, bytes) else 0
                    if len(lines) >= LINES_PER_TASK or held >= BYTES_PER_TASK:  # bounded in lines and bytes
                        yield self._lines_step(path, endpoint, lines, heartbeats)
                        lines, heartbeats, held = [], 0, 0
        except (OSError, EOFError) as exc:
            yield self._lines_step(path, endpoint, lines, heartbeats)
            yield _Step(partial(self._ndjson_cut, path, str(exc), first))
            return
        yield self._lines_step(path, endpoint, lines, heartbeats)

    def _apply_ndjson(self, path: Path, endpoint: str, base: list[int], result: tuple[Run, int]) -> Iterator[Finding]:
        run, count = result
        base[0] += count
        return self._apply_run(path, endpoint, run, base[0] - count)

    def _note_events(self, first: list[int], _: None) -> Iterator[Finding]:
        first[0] = self.tally.events
        return iter(())

    def _ndjson_cut(self, path: Path, reason: str, first: list[int], _: None) -> Iterator[Finding]:
        events = self.tally.events - first[0]
        self.tally.warnings.append(f"{path}: read up to a cut ({reason}) after {events} events")
        return iter(())

    def _lines_step(self, path: Path, endpoint: str, lines: list[tuple[int, bytes | Long, float | None]],
                    heartbeats: int) -> _Step:  # fmt: skip
        def apply(run: Run | None) -> Iterator[Finding]:
            self.tally.heartbeats += heartbeats
            return self._apply_run(path, endpoint, run) if run is not None else iter(())

        return _Step(apply, (_check_lines, (endpoint, lines)) if lines else None)

    def _apply_run(self, path: Path, endpoint: str, run: Run, lines_before: int = 0) -> Iterator[Finding]:
        """Count a checked run, and its findings (their line numbers `lines_before` on)."""
        t = self.tally
        first = t.events
        t.events += run.events
        t.error_payloads += run.errors
        t.heartbeats += run.heartbeats
        t.endpoints[endpoint] += run.payloads
        file, base = str(path), first - self.file_base
        for event, kind, lineno, offset, violation in run.found:
            event = None if event is None else base + event
            yield self._found(endpoint, kind, violation, file, lineno + lines_before, event, offset)

    # -- cassettes -------------------------------------------------------------------------
    def _cassette_steps(self, path: Path) -> Iterator[_Step]:
        cassette = Cassette(path)  # the header, checked as a sequential reading does
        state = _CassetteState(path, resolve_endpoint(cassette.header.endpoint).name)
        for block in file_blocks(path, _block_size(path, self.jobs)):
            if isinstance(block, FileEnd):
                yield _Step(partial(self._end_cassette, state, block))
            else:
                yield _Step(partial(self._apply_block, state, block), (_check_block, (state.endpoint, block)))

    def _apply_block(
        self, state: _CassetteState, block: Block, result: tuple[list[CassetteItem], int]
    ) -> Iterator[Finding]:
        if state.cut:
            return
        items, count = result
        conn = state.conn
        if conn is not None and not state.order.closed and conn.status != 200:
            # The block starts inside an error response: check it again, knowing that.
            items, count = cassette_block(self.contract, state.endpoint, block, status=conn.status)
        items, state.base = rebased(items, state.base), state.base + count
        for item in items:
            if isinstance(item, Run):
                _in_order(state, Line(item.first_offset, b""), item.first_line)
                state.order.last = item.last_offset
                if item.body is not None:
                    state.body += item.body
                else:
                    yield from self._apply_run(state.path, state.endpoint, item)
            elif isinstance(item, Record):
                _in_order(state, item.record, item.line)
                if isinstance(item.record, Connection):
                    state.conn, state.body = item.record, []
                    self.tally.connections += 1
                elif state.conn is not None and state.conn.status != 200:
                    yield from self._http_error(state.path, state.endpoint, state.conn, state.body)
            elif isinstance(item, Cut):
                _warn(state, item.message)
                state.cut = True
                return
            elif isinstance(item, Fail):
                raise CassetteFormatError(item.message, path=state.path, line=item.line)

    def _end_cassette(self, state: _CassetteState, end: FileEnd, _: None) -> Iterator[Finding]:
        if end.error is not None:
            raise CassetteFormatError(end.error, path=state.path, line=1)
        if end.truncated and not state.cut:
            _warn(state, "compressed stream ends early (the file was cut): read up to the cut")
        self.tally.warnings += state.warnings
        return iter(())


def _block_size(path: Path, jobs: int) -> int:
    """Large blocks, but enough of them that every worker gets several (and none waits long
    for the last one)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return max(min(BYTES_PER_TASK, size // (8 * jobs)), min(BYTES_PER_TASK, MIN_BYTES_PER_TASK))


def _replay(step: _Step) -> Iterator[Finding]:
    return step.apply(step.future.result() if step.future is not None else None)


def _in_order(state: _CassetteState, record: Any, line: int) -> None:
    problem = state.order.check(record)
    if problem:
        raise CassetteOrderError(problem, path=state.path, line=line)


def _warn(state: _CassetteState, message: str) -> None:
    # as `Cassette._cut` does: kept for the tally, and a CassetteWarning
    text = f"{state.path}: {message}"
    state.warnings.append(text)
    warnings.warn(text, CassetteWarning, stacklevel=3)


def _raiser(exc: Exception) -> Apply:
    def apply(_: Any) -> Iterator[Finding]:
        raise exc

    return apply
