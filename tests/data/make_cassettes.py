"""Builds the sample cassettes in `cassettes/` (run: python tests/data/make_cassettes.py).

`test_sample_cassettes.py` rebuilds them and compares, so what is checked in is exactly
what this script makes: the seed pages' example payloads (labelled as such) and
synthetic sessions drawn from the object model (labelled `source: synthetic`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.synth import encode_line, synthetic_session
from harness.model import ENDPOINTS

HERE = Path(__file__).resolve().parent
PAGES = {
    "search-stream": "the filtered stream page (seed 001, French)",
    "firehose-ja": "the Japanese firehose page (seed 003, Korean)",
    "likes-sample10": "the likes sample10 page (seed 000, French)",
}
SYNTHETIC = [
    ("search-stream", 40, 1, 1),
    ("firehose-ja", 60, 2, 2),
    ("likes-sample10", 30, 3, 1),
    # one short session for each other stream: (endpoint, events, seed, connections)
    ("sample-stream", 12, 4, 1),
    ("sample10-stream", 12, 5, 1),
    ("firehose", 12, 6, 1),
    ("firehose-en", 12, 7, 1),
    ("firehose-ko", 12, 8, 1),
    ("firehose-pt", 12, 9, 1),
    ("likes-firehose", 12, 10, 1),
    ("tweets-compliance", 12, 11, 2),
    ("users-compliance", 12, 12, 1),
    ("likes-compliance", 12, 13, 1),
    ("tweets-label", 12, 14, 1),
    ("activity", 12, 15, 1),
]


def build(out: Path) -> list[Path]:
    written = []
    for name, page in PAGES.items():
        example = json.loads((HERE / "seed_examples" / f"{name}.json").read_text(encoding="utf-8"))
        endpoint = ENDPOINTS[name]
        query = {"partition": "1"} if any(p.name == "partition" for p in endpoint.params) else {}
        header = Header(
            endpoint=name,
            url=f"https://api.x.com{endpoint.path}" + ("?partition=1" if query else ""),
            query=query,
            request_headers={"Authorization": "Bearer <redacted>"},
            recorded_at="2026-11-23T00:00:00Z",
            tool="x-stream-harness (tests/data/make_cassettes.py)",
            labels={"source": "seed-example", "page": page},
        )
        records: list[Record] = [
            Connection(0, 200, "OK", STREAM_HEADERS, 0.1),
            Line(0.5, encode_line(example)),
            Line(20.5, b"\r\n"),
            Close(21.0, CloseReason.CLIENT_STOPPED),
        ]
        written.append(write_cassette(out / "seed-examples" / f"{name}.jsonl", header, records))
    for name, events, seed, connections in SYNTHETIC:
        header, records = synthetic_session(
            name,
            events=events,
            seed=seed,
            rate=1.0,
            connections=connections,
            errors=["operational-disconnect"] * (connections - 1),
        )
        written.append(write_cassette(out / "synthetic" / f"{name}.jsonl", header, records))
    return written


if __name__ == "__main__":
    for path in build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parent.parent / "cassettes"):
        print(path)
