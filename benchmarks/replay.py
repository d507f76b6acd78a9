"""Replayer benchmark: timing error at 1x, throughput at --speed max, memory over a big cassette.

    python benchmarks/replay.py            # 60 s timing run, 200 MB cassette (about 1.5 min)
    python benchmarks/replay.py --full     # 10-minute timing run, 1 GB cassette (about 12 min)
    BENCH_REPLAY_FULL=1 python benchmarks/replay.py

The replayer runs in this process; the client runs in another (its own core), reading a
raw socket. CLOCK_MONOTONIC is one clock for both processes, so the client's arrival
times compare directly with the cassette's offsets. Figures:

- timing: per event, actual minus recorded offset. Server side: the write's start minus
  its due time (the request's arrival + offset); client side: the arrival minus the
  request's sending + offset (so it includes the loopback's latency). p50, p99, max, and
  the drift: the slope of the error over the run.
- throughput: 2 KB events (escapes, non-ASCII text) to one client at --speed max.
- memory: the replayer's RSS while it serves the whole big cassette at --speed max.
- load (`benchmarks/_replay_load.py`, the server in a process of its own): 1,000 concurrent
  clients at --speed max on a 2k-event cassette and 200 on a 50k-event one, every body
  checked byte for byte; the server's peak RSS; the lateness of 50 clients at 1x alone and
  alongside the 1,000. Figures in bench-results/replay.json.

    python benchmarks/replay.py --load-only   # the load figures alone (about 3 min)
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _replay_load import scenario

from harness._wire import STREAM_HEADERS
from harness.cassette import Close, CloseReason, Connection, Header, Line, Record, write_cassette
from harness.cassette.synth import synthetic_session
from harness.replay.server import LineKind, ReplayServer

PAGE = os.sysconf("SC_PAGE_SIZE")
EVENT_SIZE = 2048

#: Reads the stream, stamps each event's arrival (timing) or counts events (throughput).
CLIENT = r"""
import socket, sys, time
port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sent = time.monotonic()
s.sendall(b"GET /2/tweets/search/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer bench\r\n\r\n")
END = b"}\r\n\r\n"  # an event's end and its chunk's end
buf = bytearray(1 << 20)
count, tail, first, stamps = 0, b"", None, []
while count < n:
    k = s.recv_into(buf)
    if not k:
        break
    now = time.monotonic()
    first = first or now
    got = buf.count(END, 0, k) + (tail + bytes(buf[:4])).count(END)
    if mode == "timing":
        stamps += [now] * got
    count += got
    tail = bytes(buf[max(0, k - 4) : k])
print(sent, first, time.monotonic(), count)
print(" ".join(f"{t:.6f}" for t in stamps))
"""


def rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def big_event(n: int, ascii_only: bool = False, size: int = EVENT_SIZE) -> bytes:
    """A 2 KB search-stream event with escapes and non-ASCII text, as real Tweets have (or plain ASCII)."""
    words = "stream coffee rain morning " if ascii_only else 'stream \\"quoted\\" 東京 coffee \\n rain コーヒー '
    ident = f"{n:019d}"
    head = '{"data":{"id":"' + ident + '","edit_history_tweet_ids":["' + ident + '"],"text":"'
    tail = '"},"matching_rules":[{"id":"1","tag":"bench"}]}'
    body = (words * 80).encode()[: size - len(head.encode()) - len(tail) - 2]
    return head.encode() + body.decode("utf-8", "ignore").encode() + tail.encode() + b"\r\n"


def big_cassette(path: Path, events: int, ascii_only: bool = False, size: int = EVENT_SIZE) -> Path:
    """`events` events of `size` bytes (2 KB) 10 us apart (recorded at --speed max rates), one connection."""

    def records() -> Iterator[Record]:
        yield Connection(0, 200, "OK", STREAM_HEADERS, 0.0, 0.0)
        for n in range(events):
            yield Line(n * 1e-5, big_event(n, ascii_only, size))
        yield Close(events * 1e-5, CloseReason.CLIENT_STOPPED)

    header = Header("search-stream", "https://api.x.com/2/tweets/search/stream")
    return write_cassette(path, header, records())


def client(port: int, mode: str, n: int) -> tuple[float, float, float, int, list[float]]:
    out = subprocess.run([sys.executable, "-c", CLIENT, str(port), mode, str(n)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    first_line, stamps = [*out.stdout.split("\n"), ""][:2]
    sent, first, last, count = first_line.split()
    return float(sent), float(first), float(last), int(count), [float(t) for t in stamps.split()]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def slope(xs: list[float], ys: list[float]) -> float:
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def sleep_reference(n: int = 400, gap: float = 0.02) -> str:
    """How late a bare `time.sleep` to a deadline wakes on this machine now (the floor of any pacing)."""
    late, t0 = [], time.monotonic()
    for i in range(1, n):
        due = t0 + i * gap
        time.sleep(max(0.0, due - time.monotonic()))
        late.append((time.monotonic() - due) * 1e3)
    return f"p50 {pct(late, 50):.3f} ms, p99 {pct(late, 99):.3f} ms, max {max(late):.3f} ms"


def timing(seconds: float, tmp: Path) -> None:
    rate = 20.0
    header, records = synthetic_session("search-stream", events=int(seconds * rate), seed=7, rate=rate, practice=False)
    path = write_cassette(tmp / "timing.jsonl", header, records)
    events = [r for r in records if isinstance(r, Line) and not r.is_heartbeat]
    print(f"timing: {len(events)} events over {events[-1].offset:.0f} s at 1x (20 events/s, heartbeats as recorded)")
    with ReplayServer([path], speed=1.0) as server:
        sent, _, _, count, stamps = client(server.port, "timing", len(events))
        log = server.log[0]
    server_err = [(s.sent - s.due) * 1e3 for s in log.lines if s.kind is LineKind.EVENT]
    client_err = [(t - sent - e.offset) * 1e3 for t, e in zip(stamps, events, strict=False)]
    offsets = [e.offset for e in events][: len(client_err)]
    lag = (log.started - sent) * 1e3
    written = [x.sent for x in log.lines if x.kind is LineKind.EVENT]
    delivery = [(t - log.started - w) * 1e3 for t, w in zip(stamps, written, strict=False)]
    print(f"  the server's t0, the request's arrival as the kernel stamped it, came {lag:.3f} ms after the send")
    for name, err in (("server (write - due)", server_err), ("client (arrival - sent - offset)", client_err),
                      ("loopback delivery (arrival - write)", delivery)):  # fmt: skip
        drift = slope(offsets[: len(err)], err) * 60
        print(f"  {name:34} p50 {pct(err, 50):.3f} ms  p99 {pct(err, 99):.3f} ms  max {max(err):.3f} ms  "
              f"drift {drift:+.4f} ms/min  ({len(err)} events)")  # fmt: skip
    tenth = max(1, len(client_err) // 10)
    first, last = pct(client_err[:tenth], 99), pct(client_err[-tenth:], 99)
    print(f"  client p99 over the first tenth {first:.3f} ms, over the last tenth {last:.3f} ms")
    print(f"  for reference, a bare time.sleep() to the same deadlines here: {sleep_reference()}")
    if count != len(events):
        print(f"  !! the client got {count} of {len(events)} events")


def throughput_and_memory(events: int, tmp: Path) -> None:
    path = big_cassette(tmp / "big.jsonl", events)
    size = path.stat().st_size
    print(f"throughput and memory: {events} events of {EVENT_SIZE} B, cassette {size / 1e6:.0f} MB, --speed max")
    samples: list[tuple[float, int]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.05):
            samples.append((time.monotonic(), rss()))

    rates = []
    for run in range(3 if events <= 200_000 else 1):
        with ReplayServer([path], speed=None, on_end="close") as server:
            before = rss()
            sampler = threading.Thread(target=sample, daemon=True)
            if run == 0:
                sampler.start()
            _, first, last, count, _ = client(server.port, "count", events)
            stop.set()
            if run == 0:
                sampler.join()
        rates.append(count / (last - first))
        if count != events:
            print(f"  !! the client got {count} of {events} events")
    print(f"  throughput: {max(rates):,.0f} events/s best of {len(rates)} "
          f"({', '.join(f'{r:,.0f}' for r in rates)}), {max(rates) * EVENT_SIZE / 1e6:.0f} MB/s")  # fmt: skip
    if samples:
        values = [m for _, m in samples]
        fifth = max(1, len(values) // 5)
        print(f"  replayer RSS: {before / 1e6:.1f} MB before, peak {max(values) / 1e6:.1f} MB while serving "
              f"{size / 1e6:.0f} MB; first fifth max {max(values[:fifth]) / 1e6:.1f} MB, last fifth max "
              f"{max(values[-fifth:]) / 1e6:.1f} MB ({len(values)} samples)")  # fmt: skip


def plain_throughput(events: int, tmp: Path) -> None:
    """The same with plain ASCII text: what decoding escapes and non-ASCII text costs per line."""
    path = big_cassette(tmp / "plain.jsonl", events, ascii_only=True)
    rates = []
    for _ in range(3):
        with ReplayServer([path], speed=None, on_end="close") as server:
            _, first, last, count, _ = client(server.port, "count", events)
        rates.append(count / (last - first))
    print(f"  the same with plain ASCII text: {max(rates):,.0f} events/s best of 3 "
          f"({', '.join(f'{r:,.0f}' for r in rates)})")  # fmt: skip


def load(tmp: Path) -> dict[str, object]:
    """The load targets: byte-identical bodies for every client, peak RSS, 1x lateness alongside the load."""
    header, records = synthetic_session("search-stream", events=2000, seed=3, rate=1000.0, practice=False)
    fast = write_cassette(tmp / "load-2k.jsonl", header, records)
    many = big_cassette(tmp / "load-50k.jsonl", 50_000, ascii_only=True, size=512)
    header, records = synthetic_session(
        "search-stream", events=300, seed=5, rate=20.0, practice=False
    )  # about 15 s at 1x
    slow = write_cassette(tmp / "paced.jsonl", header, records)
    figures: dict[str, object] = {}
    runs = (("paced_alone", fast, 0, 50, 0.0), ("1000_clients_2k_events", fast, 1000, 50, 15.0),
            ("200_clients_50k_events", many, 200, 0, 0.0))  # fmt: skip
    for name, path, clients, paced, until in runs:
        figures[name] = got = scenario(path, slow, clients, paced, until)
        print(f"load {name}: {json.dumps(got)}")
    alone = figures["paced_alone"]["paced"]["lateness_ms"]["p99"]  # type: ignore[index]
    loaded = figures["1000_clients_2k_events"]["paced"]["lateness_ms"]["p99"]  # type: ignore[index]
    figures["paced_p99_ratio_loaded_over_alone"] = round(loaded / alone, 2)
    print(f"  1x lateness p99 alone {alone:.2f} ms, alongside 1,000 clients {loaded:.2f} ms: x{loaded / alone:.2f}")
    out = Path(__file__).parent.parent / "bench-results" / "replay.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps({"load": figures}, indent=2) + "\n")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="10-minute timing run and a 1 GB cassette")
    parser.add_argument("--load-only", action="store_true", help="only the load figures")
    args, _ = parser.parse_known_args()  # nox passes its posargs to every benchmark
    full = args.full or os.environ.get("BENCH_REPLAY_FULL") == "1"
    gc.freeze()  # as `harness replay` does once started
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        load(Path(tmp))
        if args.load_only:
            return
        timing(600.0 if full else 60.0, Path(tmp))
        throughput_and_memory(500_000 if full else 100_000, Path(tmp))
        plain_throughput(100_000, Path(tmp))


if __name__ == "__main__":
    main()
