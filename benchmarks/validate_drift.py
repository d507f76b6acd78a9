"""`harness validate` against jsonschema-rs when the contract breaks: whole processes, one run.

    python benchmarks/validate_drift.py              # about a minute
    python benchmarks/validate_drift.py --scale 0.2  # smaller files, for a quick look

NDJSON dumps of the same ~2 KB search-stream events drawn from the object model: all
valid (100k); 2% invalid (50k); all invalid (a drifted contract: every event's `created_at`
in the legacy v1.1 form, each a different time), 10k and 100k. Each is checked by two
processes, best of `--rounds`, interleaved (the machine is shared), with bytecode cached as
a user's interpreter has it:

- harness: `harness validate -q -e search-stream FILE` (every finding made, the summary printed);
- jsonschema-rs: a process that reads the same lines with orjson and collects every error
  of `Draft202012Validator(validate_formats=True)` (instance path and message).

Ratios are events/s of harness over jsonschema-rs, start-up included (targets: all invalid,
the 10k dump, >= 1x; 2% invalid >= 1.5x; all valid >= 1.5x). Memory: the harness's peak RSS on drifted
dumps twice and four times as long (flat: about the same). Figures in bench-results/validate_drift.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from harness.cassette.synth import Synth, encode_line

ENDPOINT = "search-stream"
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
DAYS = "Mon Tue Wed Thu Fri Sat Sun".split()

RUST = """
import sys, orjson, jsonschema_rs
from harness.contract import schemagen
from harness.contract.schemagen import Profile
schemas = schemagen.generate(Profile.DEFAULT)
registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
root = schemas[schemagen.event_file("search-stream")]
validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True, registry=registry)
found = 0
with open(sys.argv[1], "rb") as f:
    for line in f:
        for error in validator.iter_errors(orjson.loads(line)):
            found += 1
            _ = (error.instance_path, error.message)
print(found)
"""


def base_events(n: int, seed: int = 7) -> list[bytes]:
    synth, out = Synth(seed, optional=0.5, depth=4, practice=False), list[bytes]()
    while len(out) < n:
        line = encode_line(synth.event(ENDPOINT))
        if 1500 <= len(line) <= 2600:
            out.append(line.rstrip(b"\r\n"))
    return out


def legacy(rng: random.Random) -> str:
    """A v1.1 `created_at` ("Wed Oct 10 20:19:24 +0000 2018"), a different time each call."""
    return (
        f"{rng.choice(DAYS)} {rng.choice(MONTHS)} {rng.randint(1, 28):02d} {rng.randint(0, 23):02d}:"
        f"{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d} +0000 {rng.randint(2010, 2024)}"
    )


def write_dump(path: Path, base: list[bytes], n: int, invalid_every: int) -> Path:
    rng = random.Random(n)
    with open(path, "wb") as f:
        for i in range(n):
            line = base[i % len(base)]
            if invalid_every and i % invalid_every == 0:
                event = orjson.loads(line)
                event["data"]["created_at"] = legacy(rng)
                line = orjson.dumps(event)
            f.write(line + b"\n")
    return path


# as a user's interpreter runs: bytecode cached (an environment may say otherwise: both
# processes alike would then compile every module they import, each run)
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def child(cmd: list[str]) -> tuple[float, int, str]:
    """(wall seconds, peak RSS in KB, stdout) of one process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    out = proc.stdout.read() if proc.stdout else b""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return time.perf_counter() - start, usage.ru_maxrss, out.decode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="file sizes: 100k valid, 50k (2%%), 10k and 100k drifted"
    )
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best is kept")
    parser.add_argument("--out", type=Path, default=Path("bench-results/validate_drift.json"), help="figures")
    args = parser.parse_args()
    base = base_events(2000)
    # the drift target is the 10k row (start-up weighs most there); the 100k one shows the rate past it
    sizes = {"all valid": (100_000, 0), "2% invalid": (50_000, 50), "all invalid (drift)": (10_000, 1),
             "all invalid (drift), 100k": (100_000, 1)}  # fmt: skip
    harness = [sys.executable, "-m", "harness", "validate", "-q", "-e", ENDPOINT]
    rust = [sys.executable, "-c", RUST]
    figures: dict[str, object] = {"cores": os.cpu_count(), "scale": args.scale}
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            name: (write_dump(Path(tmp) / f"{i}.ndjson", base, max(1, int(n * args.scale)), every), int(n * args.scale))
            for i, (name, (n, every)) in enumerate(sizes.items())
        }
        best = {(name, who): float("inf") for name in files for who in ("harness", "jsonschema-rs")}
        for _ in range(args.rounds):
            for name, (path, _) in files.items():
                for who, cmd in (("harness", harness), ("jsonschema-rs", rust)):
                    best[(name, who)] = min(best[(name, who)], child([*cmd, str(path)])[0])
        print(f"{'file':26} {'events':>8} {'harness ev/s':>13} {'jsonschema-rs ev/s':>19} {'ratio':>7}")
        rates = {}
        for name, (_, n) in files.items():
            h, r = n / best[(name, "harness")], n / best[(name, "jsonschema-rs")]
            rates[name] = {
                "events": n,
                "harness_ev_s": round(h),
                "jsonschema_rs_ev_s": round(r),
                "ratio": round(h / r, 3),
            }
            print(f"{name:26} {n:8} {h:13.0f} {r:19.0f} {h / r:6.2f}x")
        figures["ratios"] = rates
        # past the first blocks (a block is read whole: 4 MB), memory must not grow with the file
        n = files["all invalid (drift)"][1]
        rss = {}
        for k in (2, 4):
            dump = write_dump(Path(tmp) / f"drift-{k}.ndjson", base, k * n, 1)
            rss[f"{k * n} events"] = child([*harness, str(dump)])[1]
        figures["drift_peak_rss_kb"] = rss
        print("harness peak RSS on the drifted dump: " + ", ".join(f"{k}: {v / 1024:.0f} MB" for k, v in rss.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
