"""Fuzz the native checker and the jsonschema-rs fallback against the reference, for a bounded time.

    python tests/fuzz/fuzz_checker.py [--seconds 180] [--seed N] [--save DIR]

`nox -s fuzz` runs it on a build with AddressSanitizer and UBSan (`HARNESS_SPEEDUPS`, see
`native_build.py`): a memory error or undefined behaviour aborts the run with the
sanitizer's report; a verdict the reference does not share is printed and saved (with
`--save`) as a corpus file for `test_corpus.py`. Exit status 1 if it found anything new.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path
from types import FrameType

from native_build import VARIABLE, load, sanitized

BUILD = load()

from checks import Finding, Oracle, check_record  # noqa: E402  (after load(): it picks the build)
from finalizers import SCENARIOS  # noqa: E402
from generators import Inputs, program_nodes, truncations  # noqa: E402

from harness.contract.schemagen import Profile  # noqa: E402

SLOW = 5.0  # seconds one input may take before it is reported as slow (as the old typed path's uri check was)


class Slow(BaseException):  # not an Exception: the checks' own handlers must let it through
    pass


def _where(exc: BaseException) -> set[str]:
    """The file names of the frames an exception went through."""
    names = set()
    tb = exc.__traceback__
    while tb is not None:
        names.add(Path(tb.tb_frame.f_code.co_filename).name)
        tb = tb.tb_next
    return names


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise Slow


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("FUZZ_SECONDS", 180)))
    parser.add_argument("--seed", type=int, default=None, help="default: from the clock (printed)")
    parser.add_argument("--save", type=Path, default=None, help="write what it finds here, as corpus files")
    parser.add_argument("--require-sanitized", action="store_true", help=f"refuse to run without {VARIABLE}")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else int(time.time())
    if args.require_sanitized and (BUILD == "installed" or not sanitized(BUILD)):
        print(f"{VARIABLE}={BUILD}: not a build with AddressSanitizer and UBSan", file=sys.stderr)
        return 2
    print(f"fuzzing {BUILD} for {args.seconds:.0f} s, seed {seed}", flush=True)
    oracles = {p: Oracle(p) for p in Profile}
    signal.signal(signal.SIGALRM, _alarm)
    counts: Counter[str] = Counter()
    new: dict[bytes, Finding] = {}
    slow: list[tuple[str, bytes]] = []
    deadline = time.monotonic() + args.seconds

    def run(name: str, endpoint: str, raw: bytes, profile: Profile) -> None:
        signal.setitimer(signal.ITIMER_REAL, SLOW)
        try:
            found = oracles[profile].check(raw, endpoint)
            if name == "records":
                found = check_record(oracles[profile], raw, endpoint)
        except Slow:
            slow.append((endpoint, raw))
            return
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        counts[name] += 1
        for f in found:
            if f.raw not in new:
                new[f.raw] = f
                print("FOUND", f, flush=True)

    inputs = Inputs(seed)
    stream = iter(inputs)
    lane = inputs.byte_level()
    rounds = 0
    while time.monotonic() < deadline:
        rounds += 1
        name, endpoint, raw = next(stream)
        profile = Profile.STRICT if rounds % 4 == 0 else Profile.DEFAULT
        run(name, endpoint, raw, profile)
        if rounds % 3 == 0:  # the native checker alone, on a batch of byte-level inputs
            batch = [next(lane) for _ in range(64)]
            found = oracles[profile].native_batch([raw for _, raw in batch], batch[0][0])
            counts["native lane"] += len(batch)
            for f in found:
                if f.raw not in new:
                    new[f.raw] = f
                    print("FOUND", f, flush=True)
        if rounds % 10 == 0:  # hand-made programs: refused with an error, or run safely
            counts["programs"] += check_program(inputs, [raw for _, raw in [next(lane) for _ in range(8)]])
        if rounds % 3000 == 0:  # a whole valid event, cut at every offset
            endpoint, raw = inputs.event()
            for cut in truncations(raw):
                run("truncations", endpoint, cut, Profile.DEFAULT)
        if rounds % 50 == 0:  # cassette records with their framing and offsets edited
            endpoint, raw = inputs.event()
            record = b'{"kind":"line","offset":' + inputs.random.choice(OFFSETS) + b',"json":' + raw + b"}\n"
            cut = record[: inputs.random.randrange(len(record))]
            run("records", endpoint, inputs.random.choice([record, record, cut]), profile)
            run("records", endpoint, b'{"kind":"heartbeat","offset":' + inputs.random.choice(OFFSETS) + b"}\n", profile)
        if rounds % 2000 == 0:  # finalizers that change the input while it is checked
            for scenario in SCENARIOS.values():
                scenario()
                counts["finalizers"] += 1
            gc.set_threshold(700)
    tally = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
    print(f"{sum(counts.values())} inputs in {args.seconds:.0f} s: {tally}")
    for endpoint, raw in slow:
        print(f"SLOW (> {SLOW:.0f} s, left unchecked): {endpoint} {raw[:200]!r}")
    if args.save is not None:
        args.save.mkdir(parents=True, exist_ok=True)
        for f in new.values():
            name = f"{f.endpoint}--{hashlib.sha1(f.raw).hexdigest()[:12]}.line"
            (args.save / name).write_bytes(f.raw)
    print(f"{len(new)} new finding(s)" + (f", {len(slow)} slow" if slow else ""))
    return 1 if new or slow else 0


def check_program(inputs: Inputs, lines: list[bytes]) -> int:
    """A Program from random node tuples: built or refused, never a crash or a hang."""
    from harness.contract._speedups import Program

    nodes = program_nodes(inputs.random)
    try:
        program = Program(nodes)
    except (ValueError, TypeError, OverflowError):
        return 1
    texts = [b'{"t":"a","a":1}', b'{"t":"b","b":[]}', b'["x", 1, {}]', b'"2021-01-06T18:40:40Z"', b"7", *lines]
    for root in range(len(nodes)):
        program.kinds(root, texts, "ok", "ok", -1, -1)
        program.kinds(root, [t.decode("utf-8", "replace") for t in texts], "ok", "ok", -1, -1)
        program.run(root, b"\n".join(texts) + b"\n", 0, -1, -1, False)
        for value in ({"t": "a", "a": 1}, {"t": "b", "b": [1]}, ["x", 1, {}], "a", 7, 2**70, {"\ud800": 1}):
            program.accepts(root, value)
    return 1


OFFSETS = [b"0", b"1.5", b"-0", b"-1", b"1e3", b"1E-2", b"0.000001", b"1" * 41, b"1.", b"01", b"NaN", b"1e400",
           b"", b"2"]  # fmt: skip

if __name__ == "__main__":
    sys.exit(main())
