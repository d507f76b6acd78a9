"""What changed between two recordings (`harness diff`): the payloads' fields and their JSON types,
the values seen of enum-like fields, the event rate, the heartbeat cadence, the error payloads.

Each cassette is read once into a `Profile` of bounded size, whatever its length: at most
`MAX_FIELDS` field paths (arrays as `[]`), `ENUM_LIMIT` distinct values kept per field, and
payloads walked `MAX_DEPTH` levels deep. A string field is enum-like when it took at most
`ENUM_LIMIT` distinct values and some of them more than once (ids and texts do not repeat).
Rate and cadence are figures, never a change: two recordings of one stream never match.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.cassette.reader import Cassette
from harness.cassette.records import Close, Connection, Line

__all__ = ["Diff", "Profile", "diff_cassettes", "profile"]

MAX_FIELDS = 5000
ENUM_LIMIT = 16
MAX_DEPTH = 32
MAX_VALUE = 64  # longer strings are no enum values
_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null", dict: "object",
          list: "array"}  # fmt: skip


@dataclass
class Profile:
    """One cassette, summed up for comparison."""

    path: str
    endpoint: str
    events: int = 0
    heartbeats: int = 0
    streaming: float = 0.0  # seconds, summed over the connections (head to last record)
    fields: dict[str, set[str]] = field(default_factory=dict)  # path -> JSON types seen
    values: dict[str, Counter[str] | None] = field(default_factory=dict)  # path -> counts (None: too many)
    heartbeat_gaps: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # count, total, max
    errors: Counter[str] = field(default_factory=Counter)  # what an error said -> how many times
    not_json: int = 0  # event lines that are not JSON objects

    @property
    def rate(self) -> float:
        return self.events / self.streaming if self.streaming > 0 else 0.0

    @property
    def cadence(self) -> tuple[float, float] | None:
        """Mean and longest silence before a heartbeat (None: no heartbeat)."""
        n, total, longest = self.heartbeat_gaps
        return (total / n, longest) if n else None

    def enums(self) -> dict[str, set[str]]:
        return {p: set(c) for p, c in self.values.items() if c is not None and sum(c.values()) > len(c)}

    def add_payload(self, obj: Any, path: str = "", depth: int = 0) -> None:
        if path:
            kind = _TYPES.get(type(obj), "unknown")
            types = self.fields.get(path)
            if types is None:
                if len(self.fields) >= MAX_FIELDS:
                    return
                types = self.fields[path] = set()
            types.add(kind)
            if kind == "string":
                self._value(path, obj)
        if depth >= MAX_DEPTH:
            return
        if isinstance(obj, dict):
            for key, value in obj.items():
                self.add_payload(value, f"{path}.{key}" if path else str(key), depth + 1)
        elif isinstance(obj, list):
            for item in obj:
                self.add_payload(item, f"{path}[]", depth + 1)

    def _value(self, path: str, value: str) -> None:
        if path in self.values and self.values[path] is None:
            return
        counts = self.values.setdefault(path, Counter())
        assert counts is not None
        if len(value) > MAX_VALUE or (value not in counts and len(counts) >= ENUM_LIMIT):
            self.values[path] = None
            return
        counts[value] += 1


def profile(path: str | Path) -> Profile:
    """Read a cassette once into its `Profile`."""
    cassette = Cassette(path)
    out = Profile(str(path), cassette.header.endpoint)
    conn: Connection | None = None
    last = 0.0
    body: list[bytes] = []
    for record in cassette:
        if isinstance(record, Connection):
            conn, last, body = record, record.offset, []
            continue
        if conn is None:
            continue
        if isinstance(record, Close):
            if conn.status != 200:
                out.errors[_answer(conn.status, b"".join(body))] += 1
            elif record.offset > conn.offset:
                out.streaming += record.offset - conn.offset
            conn = None
            continue
        assert isinstance(record, Line)
        if conn.status != 200:
            if sum(map(len, body)) < 1 << 20:  # a refusal's body, bounded
                body.append(record.raw)
            continue
        if record.is_heartbeat:
            gap = record.offset - last
            stats = out.heartbeat_gaps
            stats[0], stats[1], stats[2] = stats[0] + 1, stats[1] + gap, max(stats[2], gap)
            out.heartbeats += 1
        else:
            _event(out, record.payload)
        last = record.offset
    if conn is not None and conn.status == 200:  # a cut cassette: up to its last record
        out.streaming += last - conn.offset
    return out


def _event(out: Profile, payload: bytes) -> None:
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        out.not_json += 1
        return
    if "errors" in obj and "data" not in obj:
        for error in obj["errors"] if isinstance(obj["errors"], list) else [obj["errors"]]:
            out.errors[_error_text(error)] += 1
        return
    out.events += 1
    out.add_payload(obj)


def _error_text(error: Any) -> str:
    if not isinstance(error, dict):
        return f"in-stream error {json.dumps(error)[:80]}"
    said = [str(error[k]) for k in ("title", "disconnect_type", "type") if isinstance(error.get(k), str)]
    return "in-stream error " + (" / ".join(said) if said else json.dumps(error, sort_keys=True)[:80])


def _answer(status: int, body: bytes) -> str:
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError):
        obj = None
    title = obj.get("title") if isinstance(obj, dict) else None
    return f"HTTP {status}" + (f" {title}" if isinstance(title, str) else "")


@dataclass(frozen=True)
class Diff:
    """What changed from `a` to `b`; `changed` when a field, a type, an enum value or an error did."""

    a: Profile
    b: Profile
    added: dict[str, list[str]]  # field path -> its types, in b only
    removed: dict[str, list[str]]
    retyped: dict[str, tuple[list[str], list[str]]]
    values: dict[str, tuple[list[str], list[str]]]  # enum-like field -> (values new in b, values gone)
    errors: dict[str, tuple[int, int]]  # what an error said -> (count in a, count in b), seen in one only

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.retyped or self.values or self.errors)

    def as_dict(self) -> dict[str, Any]:
        def figures(p: Profile) -> dict[str, Any]:
            cadence = p.cadence
            return {"path": p.path, "endpoint": p.endpoint, "events": p.events, "heartbeats": p.heartbeats,
                    "rate": round(p.rate, 6), "not_json": p.not_json,
                    "heartbeat_gap": None if cadence is None else {"mean": round(cadence[0], 6),
                                                                   "max": round(cadence[1], 6)}}  # fmt: skip

        return {
            "changed": self.changed,
            "a": figures(self.a),
            "b": figures(self.b),
            "fields_added": self.added,
            "fields_removed": self.removed,
            "types_changed": {k: {"a": v[0], "b": v[1]} for k, v in self.retyped.items()},
            "enum_values": {k: {"added": v[0], "removed": v[1]} for k, v in self.values.items()},
            "errors": {k: {"a": v[0], "b": v[1]} for k, v in self.errors.items()},
        }

    def text(self) -> str:
        a, b = self.a, self.b
        lines = [f"--- {a.path} ({a.endpoint})", f"+++ {b.path} ({b.endpoint})"]
        lines += [f"+ field {k}: {'|'.join(v)}" for k, v in self.added.items()]
        lines += [f"- field {k}: {'|'.join(v)}" for k, v in self.removed.items()]
        lines += [f"~ type {k}: {'|'.join(x)} -> {'|'.join(y)}" for k, (x, y) in self.retyped.items()]
        for k, (new, gone) in self.values.items():
            lines.append(f"~ values {k}: " + ", ".join([*(f"+{v!r}" for v in new), *(f"-{v!r}" for v in gone)]))
        lines += [f"~ errors {k}: {x} -> {y}" for k, (x, y) in self.errors.items()]
        if not self.changed:
            lines.append("  no change in fields, types, enum values or errors")
        ratio = f" (x{b.rate / a.rate:.2f})" if a.rate and b.rate else ""
        lines.append(f"  event rate  {a.rate:.2f}/s -> {b.rate:.2f}/s{ratio}  ({a.events} -> {b.events} events)")
        lines.append(f"  heartbeats  {_cadence(a)} -> {_cadence(b)}")
        if a.not_json or b.not_json:
            lines.append(f"  not JSON    {a.not_json} -> {b.not_json} line(s)")
        return "\n".join(lines)


def _cadence(p: Profile) -> str:
    c = p.cadence
    return "none" if c is None else f"every {c[0]:.1f}s (longest {c[1]:.1f}s, {p.heartbeats})"


def diff_cassettes(a: str | Path, b: str | Path) -> Diff:
    """Compare two cassettes (see the module docstring)."""
    pa, pb = profile(a), profile(b)
    fa, fb = pa.fields, pb.fields
    added = {k: sorted(fb[k]) for k in sorted(fb.keys() - fa.keys())}
    removed = {k: sorted(fa[k]) for k in sorted(fa.keys() - fb.keys())}
    retyped = {k: (sorted(fa[k]), sorted(fb[k])) for k in sorted(fa.keys() & fb.keys()) if fa[k] != fb[k]}
    ea, eb = pa.enums(), pb.enums()
    values = {k: (sorted(eb[k] - ea[k]), sorted(ea[k] - eb[k])) for k in sorted(ea.keys() & eb.keys())
              if ea[k] != eb[k]}  # fmt: skip
    errors = {k: (pa.errors[k], pb.errors[k]) for k in sorted(pa.errors.keys() | pb.errors.keys())
              if (pa.errors[k] > 0) != (pb.errors[k] > 0)}  # fmt: skip
    return Diff(pa, pb, added, removed, retyped, values, errors)
