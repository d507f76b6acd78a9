"""Start-up benchmark: what the package costs a process that only loads it.

    python benchmarks/startup.py            # prints the figures, writes bench-results/startup.json

- `import harness.plugin`: the time `python -X importtime` puts in harness's own modules, and in
  everything they pull in (the plugin loads in every pytest run of every user);
- a pytest run of an unrelated project (one trivial test in a temporary folder), with the plugin
  and with `-p no:x_stream_harness`, best of several runs of each, interleaved;
- `harness --help` and `harness validate` of a small cassette: process CPU time, best of
  several runs (the target: under 0.2 s each).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def import_times(module: str) -> tuple[float, float]:
    """(ms in harness modules themselves, ms for the whole import with what it pulls in)."""
    run = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True)
    own = total = 0
    for line in run.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue
        self_us, cumulative_us, name = int(parts[0]), int(parts[1]), parts[2].strip()
        if name.split(".")[0] == "harness":
            own += self_us
        if parts[2] == " " + module:  # the top-level import: no indentation
            total = cumulative_us
    return own / 1000, total / 1000


def child_cpu(cmd: list[str], cwd: str | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def pytest_overhead(rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_unrelated.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
        base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_unrelated.py"]
        with_plugin, without = [], []
        for _ in range(rounds):
            with_plugin.append(child_cpu(base, tmp)[0])
            without.append(child_cpu([*base, "-p", "no:x_stream_harness"], tmp)[0])
    return {
        "pytest with the plugin, best s": min(with_plugin),
        "pytest without the plugin, best s": min(without),
        "plugin overhead, ms": (min(with_plugin) - min(without)) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("bench-results/startup.json"), help="figures, as JSON")
    args = parser.parse_args()
    own, total = min(import_times("harness.plugin") for _ in range(args.rounds))
    figures: dict[str, float] = {
        "import harness.plugin, ms in harness modules": own,
        "import harness.plugin, ms": total,
    }
    figures |= pytest_overhead(args.rounds)
    harness_cli = [sys.executable, "-m", "harness", "--help"]
    figures["harness --help, CPU s"] = min(child_cpu(harness_cli)[1] for _ in range(args.rounds))
    with tempfile.TemporaryDirectory() as tmp:
        small = str(Path(tmp, "small.jsonl"))
        subprocess.run([sys.executable, "-m", "harness", "synth", "search-stream", "-o", small], check=True,
                       capture_output=True)  # fmt: skip
        validate = [sys.executable, "-m", "harness", "validate", small]
        figures["harness validate (20 events), CPU s"] = min(child_cpu(validate)[1] for _ in range(args.rounds))
    for name, value in figures.items():
        print(f"{name:50} {value:10.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"machine": os.uname().machine, "figures": figures}, indent=2) + "\n")


if __name__ == "__main__":
    main()
