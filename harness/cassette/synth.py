"""Synthetic, valid payloads and sessions drawn from the object model.

One generator walks the model's declarations; where its choices come from is a `Source`:
`random.Random` for the loopback server and the sample cassettes (reproducible by seed),
hypothesis draws for `harness.testing.strategies` (so failures shrink). By default events
are what the live API sends for a request (`harness.cassette._live`, from the declarations
of `harness.model.practice`); `practice=False` draws from the schema alone.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random

# The stdlib's regex parser: walking its tree generates strings a pattern matches.
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from typing import Any, Protocol, TypeVar
from urllib.parse import urlencode

from harness._version import __version__
from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, Record
from harness.model import (
    DEFINITIONS,
    Alias,
    AnyObj,
    Arr,
    Bool,
    Int,
    Num,
    Obj,
    Ref,
    Str,
    Tup,
    Type,
    Union_,
    resolve_endpoint,
)
from harness.model.dialect import Dialect
from harness.model.patterns import Chars, Node, Repeat
from harness.model.patterns import parse as parse_pattern
from harness.model.practice import ALWAYS, NON_EMPTY, SNOWFLAKES
from harness.model.snowflake import snowflake
from harness.model.visit import Visitor

T = TypeVar("T")

_EPOCH = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
_WORDS_EN = "stream coffee rain data morning release build harness today launch space music".split()
_WORDS_JA = "今日 東京 コーヒー 雨 朝 配信 ニュース 桜 ラーメン 電車 週末 音楽".split()


class Source(Protocol):
    """Where the generator's choices come from."""

    def integer(self, lo: int, hi: int) -> int: ...

    def real(self, lo: float, hi: float) -> float: ...


class RandomSource:
    """Choices from a seeded `random.Random`."""

    def __init__(self, seed: int | str | None = None) -> None:
        self.random = random.Random(seed)

    def integer(self, lo: int, hi: int) -> int:
        return self.random.randint(lo, hi)

    def real(self, lo: float, hi: float) -> float:
        return self.random.uniform(lo, hi)


_At = tuple[str, int]  # where a walk is: the field's name (a hint for realistic values), the depth


@cache
def _parsed(pattern: str) -> tuple[Node, ...]:
    return (parse_pattern(pattern).body,)


class Synth(Visitor[_At, Any]):
    """Builds valid instances of any definition, event or error payload of the model.

    `optional` is the chance an optional member is present; below `depth` levels of
    nesting only required members are generated, which keeps payloads finite and
    realistically sized. `practice` (the default) draws what the live API sends (see
    `harness.model.practice`: members always sent, snowflake ids, events shaped by the
    request); without it, the schema's minimum and corners.
    """

    def __init__(self, seed: int | str | None = None, *, source: Source | None = None, optional: float = 0.5,
                 max_items: int = 3, depth: int = 4, practice: bool = True) -> None:  # fmt: skip
        self.source: Source = source if source is not None else RandomSource(seed)
        self.optional = optional
        self.max_items = max_items
        self.max_depth = depth
        self.practice = practice
        self.lang = "en"
        self.now_ms = int(_EPOCH.timestamp() * 1000)  # the session's clock: events advance it
        self._issued: set[int] = set()
        self._live: dict[tuple[str, str, str], Any] = {}

    # -- choices -------------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        # "absent" is the low end, so hypothesis shrinks payloads towards their required core
        return self.source.integer(0, 999) >= 1000 - int(p * 1000)

    def choice(self, items: Sequence[T]) -> T:
        return items[self.source.integer(0, len(items) - 1)]

    # -- the model walk: (field name as a hint, depth) is carried down ------------------
    def definition(self, name: str, depth: int = 0) -> Any:
        return self.visit_definition(DEFINITIONS[name], (name, depth))

    def value(self, t: Type, hint: str = "", depth: int = 0) -> Any:
        return self.visit(t, (hint, depth))

    def alias(self, d: Alias, at: _At) -> Any:
        if self.practice and d.name in SNOWFLAKES:
            return str(self.snowflake(self.now_ms - self.source.integer(0, 86_400_000)))
        if self.practice and d.name == "MediaKey":
            return f"3_{self.snowflake(self.now_ms - self.source.integer(0, 60_000))}"
        return self.value(d.type, d.name, at[1])

    def snowflake(self, ms: int) -> int:
        """A snowflake made at `ms` that this generator has not issued before."""
        sequence = self.source.integer(0, 4095)
        while (found := snowflake(ms, self.source.integer(0, 1023), sequence)) in self._issued:
            sequence += 1
            ms += sequence // 4096
            sequence %= 4096
        self._issued.add(found)
        return found

    def union(self, d: Union_, at: _At) -> dict[str, Any]:
        variant = self.choice(d.variants)
        target = DEFINITIONS[variant.obj]
        assert isinstance(target, Obj)
        out = self.obj(target, at)
        out[d.tag] = self.choice(variant.tags)
        return out

    def obj(self, obj: Obj, at: _At) -> dict[str, Any]:
        depth = at[1]
        out: dict[str, Any] = {}
        deep = depth >= self.max_depth
        always = ALWAYS.get(obj.name, ()) if self.practice else ()
        for f in obj.fields:
            if f.required or f.name in always or (not deep and self.chance(self.optional)):
                t = f.type
                if self.practice and isinstance(t, Arr) and (obj.name, f.name) in NON_EMPTY:
                    t = Arr(t.items, max(1, t.min_items or 0), t.max_items)
                out[f.name] = self.value(t, f.name, depth + 1)
        if obj.require_any and not any(k in out for k in obj.require_any):
            first = obj.field(obj.require_any[0])
            out[first.name] = self.value(first.type, first.name, depth + 1)
        return out

    def ref(self, t: Ref, at: _At) -> Any:
        return self.definition(t.name, at[1])

    def str_(self, t: Str, at: _At) -> str:
        return self.string(t, at[0])

    def int_(self, t: Int, at: _At) -> int:
        return self.integer(t, at[0])

    def num(self, t: Num, at: _At) -> float:
        lo = t.minimum if t.minimum is not None else -90.0
        hi = t.maximum if t.maximum is not None else 90.0
        return round(self.source.real(lo, hi), 6)

    def bool_(self, t: Bool, at: _At) -> bool:
        return self.chance(0.5)

    def arr(self, t: Arr, at: _At) -> list[Any]:
        lo = t.min_items or 0
        hi = max(lo, min(t.max_items if t.max_items is not None else self.max_items, self.max_items))
        return [self.value(t.items, at[0], at[1] + 1) for _ in range(self.source.integer(lo, hi))]

    def tup(self, t: Tup, at: _At) -> list[Any]:
        return self._tuple(t, *at)

    def any_obj(self, t: AnyObj, at: _At) -> dict[str, Any]:
        return {}

    def _tuple(self, t: Tup, hint: str, depth: int) -> list[Any]:
        values = [self.value(i, hint, depth + 1) for i in t.items]
        # Ranges such as display_text_range read as [start, end]: keep them ordered.
        if all(isinstance(i, Int) for i in t.items) and values == sorted(values, reverse=True):
            values.sort()
        return values

    def integer(self, t: Int, hint: str) -> int:
        if hint == "timestamp_ms":
            return int(_EPOCH.timestamp() * 1000) + self.source.integer(0, 86_400_000)
        lo = t.minimum if t.minimum is not None else 0
        hi = t.maximum if t.maximum is not None else max(lo, 0) + 100_000
        return self.source.integer(lo, hi)

    def string(self, t: Str, hint: str) -> str:
        if t.enum:
            return self.choice(t.enum)
        if t.format == "date-time":
            moment = _EPOCH + dt.timedelta(seconds=self.source.integer(0, 30 * 86_400))
            return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        if t.format == "uri":
            return f"https://t.co/{self.regex('^[A-Za-z0-9]{10}$')}"
        if t.pattern:
            text = self.regex(t.pattern)
        elif hint == "lang":
            text = self.lang
        else:
            text = self.words(self.source.integer(1, 12) if hint in ("text", "description") else 2)
        lo, hi = t.min_length or 0, t.max_length
        if hi is not None and len(text) > hi:
            text = text[:hi]
        return text + "x" * max(0, lo - len(text))

    def words(self, n: int) -> str:
        pool = _WORDS_JA if self.lang == "ja" else _WORDS_EN
        sep = "" if self.lang == "ja" else " "
        return sep.join(self.choice(pool) for _ in range(n))

    def regex(self, pattern: str) -> str:
        """A string `pattern` matches in full (the subset of regex the model uses)."""
        return "".join(self._emit(_parsed(pattern)))

    def _emit(self, items: tuple[Node, ...]) -> Iterator[str]:
        for item in items:
            if isinstance(item, Chars):
                yield self._char_from(item)
            elif isinstance(item, Repeat):
                hi = item.lo + 8 if item.hi is None else min(item.hi, item.lo + 8)
                for _ in range(self.source.integer(item.lo, hi)):
                    yield from self._emit((item.item,))
            elif len(item.branches) == 1:
                yield from self._emit(item.branches[0])
            else:
                yield from self._emit(self.choice(item.branches))

    def _char_from(self, chars: Chars) -> str:
        if chars.ranges[0][0] == chars.ranges[-1][1]:  # a literal: no choice to make
            return chr(chars.ranges[0][0])
        return self.choice([chr(c) for lo, hi in chars.ranges for c in range(lo, hi + 1)])

    # -- payloads ------------------------------------------------------------------------
    def event(self, endpoint: str, query: Mapping[str, str] | None = None,
              dialect: Dialect | str = Dialect.CLASSIC) -> dict[str, Any]:  # fmt: skip
        """A valid stream event (with `data`) of an endpoint, name or path.

        In practice (the default), shaped as live by the request's `query` (its `*.fields`
        and `expansions`), consistent within the event and across this generator's events,
        and named as `dialect` names it; else drawn from the schema alone (classic).
        """
        e = resolve_endpoint(endpoint)
        self.lang = _lang(e.path)
        if self.practice:
            key = (e.name, json.dumps(sorted((query or {}).items())), Dialect.parse(dialect).value)
            live = self._live.get(key)
            if live is None:
                from harness.cassette._live import LiveEvents

                live = self._live[key] = LiveEvents(self, e, query or {}, Dialect.parse(dialect))
            event: dict[str, Any] = live.event()
            return event
        envelope = DEFINITIONS[e.event]
        assert isinstance(envelope, Obj)
        out: dict[str, Any] = {}
        for f in envelope.fields:
            if f.name == "data" or (f.name != "errors" and (f.required or self.chance(self.optional))):
                out[f.name] = self.value(f.type, f.name, 1)
        return out

    def problem(self, kind: str = "operational-disconnect") -> dict[str, Any]:
        """An in-stream error payload: `{"errors": [problem]}` of the Problem subtype `kind`.

        `kind` is the slug of the type URI (`operational-disconnect`, `streaming-connection`,
        ...) or `about:blank`.
        """
        return {"errors": [self.problem_body(kind)]}

    def problem_body(self, kind: str = "operational-disconnect") -> dict[str, Any]:
        """One Problem object of subtype `kind` (see `problem`)."""
        union = DEFINITIONS["Problem"]
        assert isinstance(union, Union_)
        for variant in union.variants:
            tags = [t for t in variant.tags if t == kind or t.rsplit("/", 1)[-1] == kind]
            if tags:
                body: dict[str, Any] = self.definition(variant.obj, 1)
                body[union.tag] = self.choice(tags)
                return body
        kinds = sorted({t.rsplit("/", 1)[-1] for t in union.tags})
        raise KeyError(f"unknown problem kind {kind!r}: expected one of {', '.join(kinds)}")


def _lang(path: str) -> str:
    """The language of a `/lang/xx` stream, else English."""
    head, _, lang = path.rstrip("/").rpartition("/")
    return lang if head.endswith("/lang") else "en"


def problem_kinds() -> list[str]:
    """Every Problem subtype slug the model knows (`operational-disconnect`, ...)."""
    union = DEFINITIONS["Problem"]
    assert isinstance(union, Union_)
    return sorted({t.rsplit("/", 1)[-1] for t in union.tags})


def encode_line(payload: Any) -> bytes:
    """A payload as the streams send it: compact JSON and CRLF."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\r\n"


def synthetic_session(endpoint: str, *, events: int = 20, seed: int = 0, rate: float = 2.0,
                      heartbeat: float = 20.0, connections: int = 1,
                      errors: Sequence[str] = (), source: Source | None = None,
                      query: Mapping[str, str] | None = None, dialect: Dialect | str = Dialect.CLASSIC,
                      practice: bool = True) -> tuple[Header, list[Record]]:  # fmt: skip
    """A whole recorded session of valid events, labelled `source: synthetic`.

    Events arrive with exponential gaps of mean `1/rate` seconds; a heartbeat fills every
    `heartbeat` seconds of silence, as the live API does. Each connection but the last ends
    with the in-stream error payload of the matching kind in `errors` (if any) and a server
    close, the way an operational disconnect looks on the wire. The events answer `query`
    (default: `typical_query`, a rich request) in `dialect`; their ids and times follow
    the session's clock.
    """
    from harness.cassette._live import typical_query

    e = resolve_endpoint(endpoint)
    query = dict(typical_query(e) if query is None else query)
    rng = source if source is not None else RandomSource(seed)
    # the content's own choices: what an event holds does not move when the others arrive
    synth = Synth(source=rng if source is not None else RandomSource(f"events-{seed}"), practice=practice)
    start_ms = synth.now_ms
    records: list[Record] = []
    per_connection = [events // connections + (i < events % connections) for i in range(connections)]
    started = 0.0
    for index, count in enumerate(per_connection):
        t = round(rng.real(0.05, 0.3), 6)
        records.append(Connection(index, 200, "OK", STREAM_HEADERS, t, round(started, 6)))
        for _ in range(count):
            gap = -math.log(1.0 - rng.real(0.0, 0.999)) / rate
            while gap >= heartbeat:
                t, gap = t + heartbeat, gap - heartbeat
                records.append(Line(round(t, 6), b"\r\n"))
            t += gap
            synth.now_ms = max(synth.now_ms, start_ms + int((started + t) * 1000))
            records.append(Line(round(t, 6), encode_line(synth.event(e.name, query, dialect))))
        last = index == connections - 1
        if not last and index < len(errors):
            t += rng.real(0.01, 0.5)
            records.append(Line(round(t, 6), encode_line(synth.problem(errors[index]))))
        t += rng.real(0.01, 0.5)
        records.append(Close(round(t, 6), CloseReason.CLIENT_STOPPED if last else CloseReason.SERVER_CLOSED))
        started += t + rng.real(0.05, 0.5)
    labels = {"source": "synthetic", "seed": str(seed)}
    if Dialect.parse(dialect) is not Dialect.CLASSIC:
        labels["dialect"] = Dialect.parse(dialect).value
    header = Header(
        endpoint=e.name,
        url=f"https://api.x.com{e.path}" + (f"?{urlencode(query, safe=',:')}" if query else ""),
        query=query,
        request_headers={"Authorization": "Bearer <redacted>", "User-Agent": f"x-stream-harness/{__version__}"},
        recorded_at=_EPOCH.isoformat().replace("+00:00", "Z"),
        tool=f"x-stream-harness/{__version__}",
        labels=labels,
    )
    return header, records
