"""What a cassette holds, at a glance: `harness inspect`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from harness.cassette import Cassette, Close, Connection, Line

_BARS = " ▁▂▃▄▅▆▇█"


@dataclass
class ConnectionSummary:
    """One connection of a cassette."""

    index: int
    status: int
    started: float
    duration: float = 0.0
    events: int = 0
    heartbeats: int = 0
    error_payloads: int = 0
    bytes: int = 0
    closed: str = "unfinished"
    error: str | None = None


@dataclass
class Summary:
    """Counts, timing and the event rate over time of one cassette."""

    path: str
    endpoint: str
    url: str
    recorded_at: str
    labels: dict[str, str]
    connections: list[ConnectionSummary] = field(default_factory=list)
    rate: list[int] = field(default_factory=list)  # events per bucket
    bucket: float = 1.0  # seconds per bucket
    warnings: list[str] = field(default_factory=list)

    @property
    def events(self) -> int:
        return sum(c.events for c in self.connections)

    @property
    def duration(self) -> float:
        return max((c.started + c.duration for c in self.connections), default=0.0)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out |= {"events": self.events, "duration": round(self.duration, 6)}
        out["heartbeats"] = sum(c.heartbeats for c in self.connections)
        out["error_payloads"] = sum(c.error_payloads for c in self.connections)
        return out

    def text(self) -> str:
        d = self.as_dict()
        lines = [
            f"{self.path}",
            f"  endpoint     {self.endpoint}  ({self.url})",
            f"  recorded     {self.recorded_at or 'unknown'}  labels: "
            + (", ".join(f"{k}={v}" for k, v in self.labels.items()) or "none"),
            f"  duration     {self.duration:.3f}s over {len(self.connections)} connection(s)",
            f"  events       {self.events}  ({self.events / self.duration:.2f}/s)"
            if self.duration
            else f"  events       {self.events}",
            f"  heartbeats   {d['heartbeats']}",
            f"  errors       {d['error_payloads']} in-stream error payload(s), "
            f"{sum(c.status != 200 for c in self.connections)} non-200 response(s)",
        ]
        for c in self.connections:
            lines.append(
                f"  [{c.index}] HTTP {c.status} at +{c.started:.3f}s for {c.duration:.3f}s: {c.events} event(s), "
                f"{c.heartbeats} heartbeat(s), {c.error_payloads} error payload(s), {c.bytes} bytes; "
                f"{c.closed}" + (f" ({c.error})" if c.error else "")
            )
        if self.rate:
            peak = max(self.rate) or 1
            spark = "".join(_BARS[round(n / peak * (len(_BARS) - 1))] for n in self.rate)
            lines.append(f"  rate         {spark}  ({self.bucket:g}s per bar, peak {peak} event(s))")
        lines += [f"  warning: {w}" for w in self.warnings]
        return "\n".join(lines)


def summarize(path: str | Path, *, bars: int = 60) -> Summary:
    """Read a cassette once, in constant memory apart from the rate histogram."""
    cassette = Cassette(path)
    h = cassette.header
    s = Summary(str(path), h.endpoint, h.url, h.recorded_at, dict(h.labels))
    arrivals: dict[int, int] = {}  # whole second -> events; bounded by the session's length
    current: ConnectionSummary | None = None
    for record in cassette:
        if isinstance(record, Connection):
            current = ConnectionSummary(record.index, record.status, record.started, record.offset)
            s.connections.append(current)
        elif current is None:
            continue
        elif isinstance(record, Line):
            current.duration = record.offset
            current.bytes += len(record.raw)
            if record.is_heartbeat:
                current.heartbeats += 1
            elif _is_error_payload(record.payload):
                current.error_payloads += 1
            else:
                current.events += 1
                second = int(current.started + record.offset)
                arrivals[second] = arrivals.get(second, 0) + 1
        elif isinstance(record, Close):
            current.duration = record.offset
            current.closed, current.error = record.reason.value, record.error
    s.warnings = cassette.warnings
    if arrivals:
        span = max(arrivals) + 1
        s.bucket = max(1.0, float(-(-span // bars)))
        s.rate = [0] * int(-(-span // s.bucket))
        for second, n in arrivals.items():
            s.rate[int(second // s.bucket)] += n
    return s


def _is_error_payload(payload: bytes) -> bool:
    try:
        obj = json.loads(payload)
    except ValueError:
        return False
    return isinstance(obj, dict) and "errors" in obj and "data" not in obj
