"""Contract validation throughput: jsonschema, jsonschema-rs and harness, same events, one run.

    python benchmarks/validate.py                      # under a minute
    python benchmarks/validate.py --events 4000 --rounds 7 --cassette-events 40000

Every engine gets the same raw lines (~2 KB filtered-stream events drawn from the object
model) and must parse and fully validate them, formats included, against the same
generated draft 2020-12 schemas:

- jsonschema: the reference (`json.loads` + jsonschema's Draft202012Validator with format
  checking and the spec's `pattern`), on a subset: it is that slow;
- jsonschema-rs: `orjson.loads` + `jsonschema_rs.Draft202012Validator(validate_formats=True)`
  with a registry of the generated files;
- harness: `Contract.inspect_lines` in batches (the native checker, then what it is not
  sure of to jsonschema-rs on the decoded line); for the record, `Contract.check_line`
  one line at a time (as the recorder's `--validate`), and without the native checker
  (a machine where the C extension could not be built: `orjson.loads` + jsonschema-rs,
  with the reference's date-time and uri rules as its format checks).
- "decoded": the same events already decoded (dicts, as the pytest plugin's
  `assert_valid` gets them), no parsing: jsonschema-rs against `Contract.check_event`;
  their ratio is to each other.

The figures are also written to bench-results/validate.json.

Rounds are interleaved and the best of each is kept (this machine is shared). Then the
scaling of `harness validate -j 1` / `-j 2` on one large generated cassette, and the time
to read gzip dumps of one line of 64, 128 and 256 MB (beyond the line limit: a finding):
it must grow linearly with the size (main took 2.5, 8.5 and 33 s).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import jsonschema_rs
import orjson

from harness.cassette import CassetteWriter, CloseReason, Header
from harness.cassette.synth import Synth, encode_line
from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract._parallel import ParallelValidation
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import ReferenceEngine

ENDPOINT = "search-stream"
BATCH = 256  # lines per Contract.inspect_lines call, as `harness validate` does


def events(n: int, seed: int = 7) -> list[bytes]:
    """`n` valid search-stream lines of 1.5-2.6 KB (about 2 KB on average)."""
    synth, out = Synth(seed, optional=0.5, depth=4, practice=False), list[bytes]()  # the schema-drawn corpus
    while len(out) < n:
        line = encode_line(synth.event(ENDPOINT))
        if 1500 <= len(line) <= 2600:
            out.append(line)
    return out


def rust_validator() -> jsonschema_rs.Validator:
    schemas = schemagen.generate(Profile.DEFAULT)
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
    root = schemas[schemagen.event_file(ENDPOINT)]
    return jsonschema_rs.Draft202012Validator(root, validate_formats=True, registry=registry)


def throughput(lines: list[bytes], rounds: int, reference_share: int) -> dict[str, float]:
    schema = schemagen.event_file(ENDPOINT)
    reference = ReferenceEngine(Profile.DEFAULT).validator(schema)
    rust = rust_validator()
    contract = Contract(Profile.DEFAULT)  # the fast engine, the default
    typed = Contract(Profile.DEFAULT, FastEngine(Profile.DEFAULT, native=False))  # as built without a C compiler
    few = lines[:reference_share]

    def run_reference() -> bool:
        return all(reference.is_valid(json.loads(line)) for line in few)

    def run_rust() -> bool:
        return all(rust.is_valid(orjson.loads(line)) for line in lines)

    def batches(c: Contract) -> bool:
        return all(
            not found
            for start in range(0, len(lines), BATCH)
            for _, found in c.inspect_lines(lines[start : start + BATCH], ENDPOINT)
        )

    def run_harness_lines() -> bool:
        return all(not contract.check_line(line, ENDPOINT) for line in lines)

    decoded = [orjson.loads(line) for line in lines]  # as the pytest plugin's assert_valid gets them

    def run_rust_decoded() -> bool:
        return all(rust.is_valid(payload) for payload in decoded)

    def run_harness_decoded() -> bool:
        return all(not contract.check_event(payload, ENDPOINT) for payload in decoded)

    runs: dict[str, tuple[Callable[[], bool], int]] = {
        "jsonschema": (run_reference, len(few)),
        "jsonschema-rs": (run_rust, len(lines)),
        "harness": (lambda: batches(contract), len(lines)),
        "harness (line by line)": (run_harness_lines, len(lines)),
        "harness, no C compiler": (lambda: batches(typed), len(lines)),
        "jsonschema-rs, decoded": (run_rust_decoded, len(lines)),
        "harness, decoded": (run_harness_decoded, len(lines)),
    }
    best = dict.fromkeys(runs, float("inf"))
    for _ in range(rounds):
        for name, (run, _) in runs.items():
            start = time.perf_counter()
            if not run():
                raise SystemExit(f"{name} found a violation in valid events")
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: runs[name][1] / best[name] for name in runs}


def write_cassette(path: Path, lines: list[bytes], n: int) -> Path:
    header = Header(endpoint=ENDPOINT, url="https://api.x.com/2/tweets/search/stream", labels={"source": "bench"})
    with CassetteWriter(path, header) as w:
        w.connection(200, "OK", offset=0.1)
        for i in range(n):
            w.line(lines[i % len(lines)], 0.2 + i / 1000)
        w.close_connection(CloseReason.CLIENT_STOPPED, 0.3 + n / 1000)
    return path


def scaling(path: Path, tiny: Path, n: int, rounds: int) -> dict[str, tuple[float, float]]:
    """`harness validate -j N` on one large cassette: events/s with start-up, and without
    it (the time of the same run on a tiny cassette taken off); best of `rounds`."""
    runs: dict[str, Callable[[], ParallelValidation]] = {
        "-j 1": lambda: ParallelValidation(Profile.DEFAULT, jobs=1),
        "-j 2": lambda: ParallelValidation(Profile.DEFAULT, jobs=2),
    }
    best = {name: [float("inf"), float("inf")] for name in runs}
    for _ in range(rounds):
        for name, make in runs.items():
            for i, (target, events) in enumerate(((tiny, 10), (path, n))):
                start = time.perf_counter()
                run = make()
                found = sum(1 for _ in run.run([target]))
                best[name][i] = min(best[name][i], time.perf_counter() - start)
                if found or run.tally.events != events:
                    raise SystemExit(f"{name}: {found} finding(s), {run.tally.events} event(s)")
    return {name: (n / b[1], n / (b[1] - b[0])) for name, b in best.items()}


def long_lines(tmp: Path, sizes_mb: list[int]) -> dict[str, float]:
    """`harness validate -j 1` on gzip dumps holding one line of each size (no newline,
    beyond the line limit): seconds per run; linear reading keeps MB/s about constant."""
    out = {}
    for mb in sizes_mb:
        path = tmp / f"long-{mb}.ndjson.gz"
        with gzip.open(path, "wb", 1) as f:
            f.write(lines_of_tweet())
            for _ in range(mb):
                f.write(b"a" * (1 << 20))
        start = time.perf_counter()
        run = ParallelValidation(Profile.DEFAULT, jobs=1, endpoint=ENDPOINT)
        found = list(run.run([path]))
        out[f"{mb} MB"] = time.perf_counter() - start
        if len(found) != 1:
            raise SystemExit(f"a {mb} MB line: {len(found)} finding(s), expected 1")
    return out


def lines_of_tweet() -> bytes:
    return json.dumps({"data": {"id": "1", "text": "x", "edit_history_tweet_ids": ["1"]}}).encode() + b"\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--events", type=int, default=3000, help="distinct events to validate")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds; the best is kept")
    parser.add_argument("--reference-events", type=int, default=150, help="events for jsonschema (slow)")
    parser.add_argument("--cassette-events", type=int, default=60000, help="events in the -j cassette")
    parser.add_argument("--long-line-mb", default="64,128,256", help="sizes of one-line gzip dumps, MB")
    parser.add_argument("--out", type=Path, default=Path("bench-results/validate.json"), help="figures, as JSON")
    args = parser.parse_args()

    start = time.perf_counter()
    lines = events(args.events)
    print(f"{len(lines)} search-stream events, {sum(map(len, lines)) / len(lines):.0f} B on average")
    rates = throughput(lines, args.rounds, args.reference_events)
    print(f"\n{'engine':24} {'events/s':>10} {'vs jsonschema':>14} {'vs jsonschema-rs':>17}")
    for name, rate in rates.items():
        base = rates["jsonschema-rs, decoded" if name.endswith("decoded") else "jsonschema-rs"]
        print(f"{name:24} {rate:10.0f} {rate / rates['jsonschema']:13.1f}x {rate / base:16.2f}x")

    with tempfile.TemporaryDirectory() as tmp:
        path = write_cassette(Path(tmp) / "large.jsonl", lines, args.cassette_events)
        tiny = write_cassette(Path(tmp) / "tiny.jsonl", lines, 10)
        size = path.stat().st_size / 1e6
        print(f"\nharness validate, one cassette of {args.cassette_events} events ({size:.0f} MB)")
        print(f"{'':24} {'events/s':>10} {'(no start-up)':>14}")
        scaled = scaling(path, tiny, args.cassette_events, max(1, args.rounds // 2))
        one = scaled["-j 1"]
        for name, (rate, steady) in scaled.items():
            ratios = f"{rate / one[0]:.2f}x of -j 1, {steady / one[1]:.2f}x without start-up"
            print(f"{name:24} {rate:10.0f} {steady:14.0f}   {ratios}")
        long = long_lines(Path(tmp), [int(mb) for mb in args.long_line_mb.split(",") if mb])
        print("\none line beyond the limit, in a gzip dump (-j 1)")
        for name, seconds in long.items():
            print(f"{name:>8}: {seconds:6.2f} s, {int(name.split()[0]) / seconds:6.0f} MB/s")
    figures = {
        "events": len(lines),
        "mean_bytes": round(sum(map(len, lines)) / len(lines)),
        "events_per_s": {name: round(rate) for name, rate in rates.items()},
        "vs_jsonschema_rs": {
            name: round(rate / rates["jsonschema-rs, decoded" if name.endswith("decoded") else "jsonschema-rs"], 3)
            for name, rate in rates.items()
        },
        "validate_cassette": {"events": args.cassette_events, "mb": round(size)}
        | {
            name: {"events_per_s": round(rate), "without_start_up": round(steady)}
            for name, (rate, steady) in scaled.items()
        },
        "j2_over_j1": round(scaled["-j 2"][1] / scaled["-j 1"][1], 3),
        "long_line_gzip_s": {name: round(s, 3) for name, s in long.items()},
        "cores": os.cpu_count(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"\n({time.perf_counter() - start:.0f} s; figures in {args.out})")


if __name__ == "__main__":
    main()
