"""The oracle the fuzzers and the corpus test share: every entry point of the native checker
and of the jsonschema-rs fallback (`FastEngine(native=False)`, as installed without a C
compiler), each compared with the reference on one raw line.

Each checker may be unsure (None, False); when it is sure, the reference (jsonschema after
`harness.contract.validator.loads`, as `--engine reference` reads a line) must accept the same line
with the same kind. A disagreement is a `Finding`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from harness.cassette.records import Line, parse_record
from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract._native import NativeModel
from harness.contract.schemagen import Profile
from harness.contract.validator import ReferenceEngine, json_pointer, loads, payload_kind

__all__ = ["Finding", "Oracle"]


@dataclass(frozen=True)
class Finding:
    """An entry point sure of a line the reference refuses (or gives another kind)."""

    entry: str  # kinds/bytes, kinds/str, run/ndjson, run/records, accepts, masked, locate, fallback/...
    endpoint: str
    profile: str
    said: str
    reference: str
    raw: bytes

    def __str__(self) -> str:
        shown = self.raw[:120] + (b"..." if len(self.raw) > 120 else b"")
        where = f"{self.entry} ({self.endpoint}, {self.profile})"
        return f"{where}: said {self.said}, reference {self.reference}: {shown!r}"


class Oracle:
    """The checkers of one profile, and the reference."""

    def __init__(self, profile: Profile = Profile.DEFAULT) -> None:
        self.profile = profile
        self.native = NativeModel(profile)
        self.reference = ReferenceEngine(profile)
        self.fallback = FastEngine(profile, reference=self.reference, native=False)

    def verdict(self, schema: str, raw: bytes | str) -> tuple[str | None, str]:
        """(kind, why): the reference's kind for a line it accepts, else None and why not."""
        try:
            payload = loads(raw)
        except (ValueError, RecursionError) as exc:
            return None, f"not JSON ({exc})"
        violations = self.reference.violations(schema, payload)
        if violations:
            return None, f"{len(violations)} violation(s): {violations[0]}"
        return payload_kind(payload), "valid"

    def check(self, raw: bytes, endpoint: str, *, fallback: bool = True) -> list[Finding]:
        """Every entry point on one line (no line terminator in `raw`)."""
        schema = schemagen.event_file(endpoint)
        found: list[Finding] = []
        cache: dict[str, tuple[str | None, str]] = {}

        def expect(entry: str, said: str | None, line: bytes | str) -> None:
            if said is None:
                return
            key = "str" if isinstance(line, str) else "bytes"
            if key not in cache:
                cache[key] = self.verdict(schema, line)
            kind, why = cache[key]
            if kind != said:
                found.append(Finding(entry, endpoint, self.profile.value, said, why, raw))

        [kind] = self.native.kinds(schema, [raw])
        expect("kinds/bytes", kind, raw)
        text = raw.decode("utf-8", "surrogatepass") if _utf8ish(raw) else None
        if text is not None:
            [kind] = self.native.kinds(schema, [text])
            expect("kinds/str", kind, text)
        if b"\n" not in raw:
            found += self._runs(raw, endpoint, schema, expect)
        payload = _loads_or_none(raw)
        if payload is not None and self.native.accepts(schema, payload):
            expect("accepts", payload_kind(payload), raw)
        found += self._masked(raw, endpoint, schema, payload)
        if fallback:
            try:
                [kind] = self.fallback.line_kinds(schema, [raw])
                expect("fallback/line", kind, raw)
            except Exception as exc:  # it must say "not sure", never raise
                found.append(Finding("fallback/line", endpoint, self.profile.value, "an exception", repr(exc), raw))
            try:
                if payload is not None and self.fallback.accepts(schema, payload):
                    expect("fallback/accepts", payload_kind(payload), raw)
            except Exception as exc:
                found.append(Finding("fallback/accepts", endpoint, self.profile.value, "an exception", repr(exc), raw))
        return found

    def native_batch(self, raws: list[bytes], endpoint: str) -> list[Finding]:
        """The native entry points alone over many lines at once; only what they are sure of
        goes to the reference (most hostile lines are not: this is the fast lane)."""
        schema = schemagen.event_file(endpoint)
        found: list[Finding] = []
        sure: dict[tuple[str, bytes | str], str] = {}
        for raw, kind in zip(raws, self.native.kinds(schema, raws), strict=True):
            if kind is not None:
                sure[("kinds/bytes", raw)] = kind
        texts = [raw.decode("utf-8", "surrogatepass") for raw in raws if _utf8ish(raw)]
        for text, kind in zip(texts, self.native.kinds(schema, texts), strict=True):
            if kind is not None:
                sure[("kinds/str", text)] = kind
        lines = [raw for raw in raws if b"\n" not in raw]
        _, counted, *_ = self.native.runner(schema, records=False)(b"\n".join([*lines, b""]), 0)
        for raw in lines[:counted]:
            if raw.strip():
                sure[("run/ndjson", raw)] = "event or error"
        for raw in raws:
            try:
                payload = loads(raw)
            except (ValueError, RecursionError):
                continue
            if self.native.accepts(schema, payload):
                sure[("accepts", raw)] = payload_kind(payload)
        at: tuple[tuple[str | int, ...], ...] = (("data", "created_at"),)
        for raw in raws[::7]:  # where each refuses a value first: memory safety on hostile lines
            self.native.locate(schema, raw, ())
            self.native.locate(schema, raw, at)
        for raw, got in zip(raws, self.native.masked(schema, raws, at), strict=True):
            if got is not None:  # rare in this lane: the full look at it
                found += self._masked(raw, endpoint, schema, _loads_or_none(raw))
        for (entry, line), said in sure.items():
            kind, why = self.verdict(schema, line)
            if kind is None or (said != kind and said != "event or error"):
                raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
                found.append(Finding(entry, endpoint, self.profile.value, said, why, raw))
        return found

    def _masked(self, raw: bytes, endpoint: str, schema: str, payload: Any) -> list[Finding]:
        """masked() with fixed paths and with the line's own first and last scalar paths: where
        it is sure, the reference's findings are all at those paths (and the kind is its)."""
        own = _scalar_paths(payload)
        tries: list[tuple[tuple[str | int, ...], ...]] = [(("data", "created_at"),), (("data", "id"), ("data", "text"))]
        tries += [tuple(dict.fromkeys([own[0], own[-1]]))] if own else []
        found = []
        for paths in tries:
            try:
                place = self.native.locate(schema, raw, paths)
                if place is not None and not isinstance(place, tuple):
                    found.append(Finding("locate", endpoint, self.profile.value, repr(place), "a tuple", raw))
                [got] = self.native.masked(schema, [raw], paths)
            except ValueError:  # paths it refuses (too deep, too many): said, not a finding
                continue
            if got is None:
                continue
            if payload is None:
                found.append(Finding("masked", endpoint, self.profile.value, str(got[0]), "not JSON", raw))
                continue
            pointers = {json_pointer(path) for path in paths}
            stray = [v for v in self.reference.violations(schema, payload) if v.pointer not in pointers]
            # the texts are the values json.loads reads there (a member met twice: the last copy's)
            other = [
                p for p, text in zip(paths, got[1:], strict=True) if repr(_at(payload, p)) != repr(_loads_or_none(text))
            ]
            if got[0] != payload_kind(payload) or stray or other:
                why = f"kind {payload_kind(payload)}, {stray[0] if stray else 'no stray violation'}"
                why += f", another value at {other[0]}" if other else ""
                found.append(Finding("masked", endpoint, self.profile.value, f"{got[0]} at {paths}", why, raw))
        return found

    def _runs(self, raw: bytes, endpoint: str, schema: str, expect: Any) -> list[Finding]:
        # NDJSON: a line counted is a blank one (a heartbeat) or a valid payload
        end, lines, _, errors, heartbeats, *_ = self.native.runner(schema, records=False)(raw + b"\n", 0)
        if lines:
            assert end == len(raw) + 1 and lines == 1, (end, lines)
            if heartbeats:
                if raw.strip():
                    expect("run/ndjson", "heartbeat", raw)
            else:
                expect("run/ndjson", "error" if errors else "event", raw)
        # a cassette record holding the line as the writer writes it
        record = b'{"kind":"line","offset":1.5,"json":' + raw + b"}\n"
        end, lines, _, errors, heartbeats, first, last = self.native.runner(schema)(record, 0)
        if lines:
            assert (end, lines, first, last) == (len(record), 1, 1.5, 1.5), (end, lines, first, last)
            expect("run/records", "error" if errors else "event", raw)
            parsed: object
            try:  # and the cassette reader reads the same line from the record
                parsed = parse_record(record)
            except ValueError as exc:
                parsed = exc
            if not isinstance(parsed, Line) or parsed.payload != raw:
                return [Finding("run/records", endpoint, self.profile.value, "a line", f"{parsed}", raw)]
        return []


def check_record(oracle: Oracle, record: bytes, endpoint: str) -> list[Finding]:
    """run() over one whole cassette record line (offset and framing fuzzed too)."""
    schema = schemagen.event_file(endpoint)
    end, lines, _, errors, heartbeats, first, _ = oracle.native.runner(schema)(record, 0)
    if not lines:
        return []
    said = "heartbeat" if heartbeats else "error" if errors else "event"
    try:
        parsed = parse_record(record[:end])
    except ValueError as exc:
        return [Finding("run/records", endpoint, oracle.profile.value, said, f"not a record ({exc})", record)]
    if not isinstance(parsed, Line) or not math.isclose(parsed.offset, first, rel_tol=0, abs_tol=0):
        return [Finding("run/records", endpoint, oracle.profile.value, said, f"another record: {parsed}", record)]
    if heartbeats:
        return [] if parsed.is_heartbeat else [Finding("run/records", endpoint, "", said, "a line", record)]
    kind, why = oracle.verdict(schema, parsed.payload)
    return [] if kind == said else [Finding("run/records", endpoint, oracle.profile.value, said, why, record)]


def _loads_or_none(raw: bytes) -> Any:
    try:
        return loads(raw)
    except (ValueError, RecursionError):
        return None


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    """The value at `path` in a decoded payload, or a marker where there is none."""
    for part in path:
        here = (type(value) is dict and type(part) is str and part in value) or (
            type(value) is list and type(part) is int and part < len(value)
        )
        if not here:
            return Ellipsis
        value = value[part]
    return value


def _scalar_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _scalar_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _scalar_paths(v, (*path, i))]
    return [path] if path else []


def _utf8ish(raw: bytes) -> bool:
    try:
        raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return False
    return True


def dumps(value: Any, ascii_only: bool) -> bytes:
    """A payload as a raw line; lone surrogates kept (as escapes, or raw with surrogatepass)."""
    return json.dumps(value, ensure_ascii=ascii_only, allow_nan=True).encode("utf-8", "surrogatepass")
