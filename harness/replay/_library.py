"""Which recording answers a request, and how: partitions, fields and expansions, backfill.

- `partition` (firehose, likes): each cassette is filed under the partition it was recorded
  from; a request goes to its partition's recording. A partition no cassette holds gets an open
  stream with heartbeats only (and a log line saying so). Cassettes recorded without a
  partition answer every partition.
- fields and expansions: see `harness.replay._shaping`.
- `backfill_minutes` on a reconnect: the events recorded in that many minutes before the cut
  are sent again first, at once, duplicates included, as the live API does.
- `start_time` / `end_time`: only the lines recorded between them (on the wall clock: the
  header's `recorded_at` plus each line's offset) are served, the first one at once, the body
  ending after the last one before `end_time`. A cassette without `recorded_at` is served whole.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.cassette import Header
from harness.model import Endpoint, resolve_endpoint
from harness.model.params import parse_date_time
from harness.replay._plan import Recording, Resume
from harness.replay._recorded import Item, Recorded, read_items, scan
from harness.replay._shaping import Shape, missing_message, shape, shaped
from harness.replay._stream import Finish


@dataclass
class Match:
    """One request's recording and what serving it takes."""

    recording: Recording
    query: Mapping[str, str]
    shape: Shape | None = None
    notes: list[str] = field(default_factory=list)  # for the log
    missing: list[str] = field(default_factory=list)  # requested fields the cassette lacks, and how to record them

    @property
    def backfill(self) -> float:
        """Seconds of backfill asked for."""
        return 60.0 * int(self.query.get("backfill_minutes", "0"))

    def items(self, items: Iterator[Item | Finish], serial: int, rec: Recorded | None, resume: Resume | None,
              loop: bool) -> Generator[Item | Finish, None, None]:  # fmt: skip
        """The plan's `items`, after the backfill the request asks for, shaped to its query."""
        again = self._backfill(serial, rec, resume, loop) if self.backfill > 0 else iter(())  # now: its note first
        if ("start_time" in self.query or "end_time" in self.query) and self.recording.connections:
            if any(math.isnan(r.origin) for r in self.recording.connections):
                self.notes.append("start_time/end_time ignored: the cassette does not say when it was recorded")
            else:
                items = self._window(items, rec.offset if rec else 0.0)
        return self._served(again, items)

    def _window(self, items: Iterator[Item | Finish], head: float) -> Iterator[Item | Finish]:
        """The lines recorded from `start_time` to `end_time` (wall clock): the first one due at once,
        those after it at their recorded gaps; the body ends after the last one before `end_time`."""
        start, end = (parse_date_time(self.query.get(k, "")) for k in ("start_time", "end_time"))
        t0, t1 = (t.timestamp() if t else None for t in (start, end))
        shift: float | None = None if t0 is not None else 0.0
        for item in items:
            if isinstance(item, Item) and item.position >= 0:
                rec = self.recording.at(item.serial, True)
                at = item.recorded + (rec.origin if rec else math.nan)
                if t1 is not None and at > t1:
                    yield Finish(item.offset - (shift or 0.0), True, item.serial)  # type: ignore[operator]
                    return
                if shift is None:
                    if at < (t0 or 0.0):
                        continue
                    shift = (item.offset or head) - head
                item = Item((item.offset or 0.0) - shift, *item[1:])
            elif shift is None:
                continue  # nothing before start_time is served, heartbeats neither
            elif shift and not isinstance(item, Item):
                item = Finish(item.offset - shift, item.clean, item.serial)
            yield item

    def _served(self, again: Iterator[Item], items: Iterator[Item | Finish]) -> Generator[Item | Finish, None, None]:
        served: Iterator[Item | Finish] = itertools.chain(again, items)
        if self.shape is not None and self.shape.changes:
            served = shaped(served, self.shape, self.recording.endpoint.name)
        try:
            yield from served
        finally:
            for source in (again, items):  # their files
                if isinstance(source, Generator):
                    source.close()

    def _backfill(self, serial: int, rec: Recorded | None, resume: Resume | None, loop: bool) -> Iterator[Item]:
        """The events recorded in the backfill's minutes before the cut (at most 5 minutes), read
        lazily: counted now (for the log), then read again as they are sent, never held all at once."""
        if rec is None:
            return iter(())
        if resume is not None and resume.item is not None:  # a cut connection taken up: its lines before the cut
            source, stop, cut = rec, resume.item.position, resume.item.recorded
        elif serial > 0 and resume is None:  # the connection before ended: its last minutes
            before = self.recording.at(serial - 1, loop)
            if before is None or before.status != 200:
                return iter(())
            source, stop, cut = before, -1, before.close.offset
        else:
            return iter(())
        since, count, first = cut - self.backfill, 0, None
        with contextlib.closing(read_items(source, serial, 0.0)) as lines:
            for item in lines:
                if item.position == stop:
                    break
                if item.event and item.recorded >= since:
                    count += 1
                    first = first or item
        self.notes.append(f"backfill: {count} event(s) of the {self.backfill / 60:g} minute(s) before the cut")
        return _again(source, serial, first, stop, rec.offset, since) if first is not None else iter(())


def _again(source: Recorded, serial: int, first: Item, stop: int, due: float,
           since: float) -> Generator[Item, None, None]:  # fmt: skip
    """The backfill's events, from `first` up to the line at `stop` (-1: the connection's end), due at once."""
    with contextlib.closing(read_items(source, serial, 0.0, first.position, first.number)) as lines:
        for item in lines:
            if item.position == stop:
                return
            if item.event and item.recorded >= since:
                yield Item(due, *item[1:])  # due at once, after the head


MAX_MISMATCHES = 100  # different `Match.missing` messages kept


class Library:
    """The cassettes a replay serves, by endpoint and partition (see the module docstring)."""

    def __init__(self, cassettes: Sequence[str | Path], warnings: list[str]) -> None:
        self.by_endpoint: dict[str, Recording] = {}  # each endpoint's first recording
        self.mismatches: list[str] = []  # each `Match.missing` met, once
        self._filed: dict[tuple[str, str | None], Recording] = {}
        self._empty: dict[tuple[str, str], Recording] = {}
        self.scanned: list[tuple[str, Header, list[Recorded]]] = []  # each cassette: endpoint, header, connections
        for path in cassettes:
            header, found = scan(path, warnings)
            endpoint = resolve_endpoint(header.endpoint)
            self.scanned.append((endpoint.name, header, found))
            part = _partition(header.query)
            recording = self._filed.get((endpoint.name, part))
            if recording is None:
                recording = self._filed[endpoint.name, part] = Recording(endpoint)
                recording.query = dict(header.query)
                recording.key = endpoint.name if part is None else f"{endpoint.name}?partition={part}"
                recording.source = str(path)
            recording.connections.extend(found)
            self.by_endpoint.setdefault(endpoint.name, recording)

    def match(self, endpoint: Endpoint, query: Mapping[str, str]) -> Match:
        """The recording for a request of `endpoint` (one of `by_endpoint`) with (checked) `query`."""
        part = _partition(query)
        recording = self._filed.get((endpoint.name, part)) or self._filed.get((endpoint.name, None))
        if recording is None and part is not None:
            key = (endpoint.name, part)
            if key not in self._empty:  # one per partition: its consumers' cursors live there
                empty = self._empty[key] = Recording(endpoint)
                empty.key, empty.query = f"{endpoint.name}?partition={part}", dict(query)
            held = sorted(p for e, p in self._filed if e == endpoint.name and p is not None)
            m = Match(self._empty[key], query)
            m.notes.append(f"no cassette for partition {part} of {endpoint.name} (the replay holds partition(s) "
                           f"{', '.join(held)}): heartbeats only")  # fmt: skip
            return m
        if recording is None:
            recording = self.by_endpoint[endpoint.name]
        m = Match(recording, query, shape(endpoint, recording.query, query))
        if m.shape is not None and m.shape.missing:
            m.missing.append(missing_message(endpoint.name, recording.source, m.shape, recording.query, query))
            if len(self.mismatches) < MAX_MISMATCHES and m.missing[0] not in self.mismatches:
                self.mismatches.append(m.missing[0])  # bounded: a client may ask for any of 2^N field sets
        return m


def _partition(query: Mapping[str, str]) -> str | None:
    value = query.get("partition")
    return (
        str(int(value))
        if value is not None and value.strip().lstrip("+-").isascii() and value.strip().lstrip("+-").isdigit()
        else value
    )
