"""Recorder benchmark: throughput, memory and arrival-time accuracy against the loopback source.

    python benchmarks/record.py                  # 1 GB recording + paced latency run (< 2 min)
    BENCH_RECORD_BYTES=200e6 python benchmarks/record.py   # a quick run
    python benchmarks/record.py --profile        # where the time goes, per function
    python benchmarks/record.py --hostile        # only the hostile servers: bombs' peak RSS, hang-ups

The figures are also written to bench-results/record.json.

The source runs in another process (its own core), sending 2 KB events as fast as the
socket takes them and logging time.monotonic() before each send; CLOCK_MONOTONIC is one
clock for both processes, so arrival offsets compare directly with send times.
"""

from __future__ import annotations

import argparse
import array
import cProfile
import functools
import json
import multiprocessing as mp
import os
import pstats
import re
import tempfile
import threading
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection as Pipe
from pathlib import Path

from harness._wire import LAST_CHUNK, STREAM_HEADERS, encode_chunk, response_head
from harness.cassette import Cassette, Connection, Line
from harness.record.recorder import Recorder, RecordOptions, RecordResult
from harness.replay._http_server import Client, LoopbackHTTPServer
from harness.replay.loopback import LoopbackServer, ServeOptions

EVENT_SIZE = 2048
TOKEN = "AAAAAAAAAAAAAAAAAAAAABenchmarkToken%2Bq9Z7x1c0ffee0123456789abcdef"
PAGE = os.sysconf("SC_PAGE_SIZE")
_ID = re.compile(rb'"id":"(\d{19})')


def event(n: int) -> bytes:
    """A 2 KB search-stream event, with escapes and non-ASCII text as real Tweets have."""
    return b'{"data":{"id":"%019d","edit_history_tweet_ids":["%019d"],"text":"%b' % (n, n, _filler())


@functools.cache
def _filler() -> bytes:
    """The rest of every event: the same text, so the source spends nothing per event."""
    head = len(b'{"data":{"id":"%019d","edit_history_tweet_ids":["%019d"],"text":"' % (0, 0))
    tail = b'"},"matching_rules":[{"id":"1","tag":"bench"}]}\r\n'
    words = 'stream \\"quoted\\" 東京 coffee \\n rain コーヒー '.encode()
    room = EVENT_SIZE - head - len(tail)
    # never cut a multi-byte character or an escape: drop the cut part, pad with spaces
    fill = (words * (EVENT_SIZE // len(words) + 1))[:room].decode("utf-8", "ignore").encode().rstrip(b"\\")
    return fill.ljust(room) + tail


def source_process(conn: Pipe, events: int, rate: float) -> None:
    """The loopback source: serve `events` events, then hand the send log over."""
    sent = array.array("d", bytes(8 * events))

    def lines(endpoint: str, index: int) -> Iterator[bytes]:
        for n in range(events):
            yield event(n)

    def log(n: int, t: float) -> None:
        sent[n] = t

    with LoopbackServer(ServeOptions(rate=rate, max_events=events), source=lines, on_send=log) as server:
        conn.send(server.base_url)
        conn.recv()  # the recording is over
    conn.send_bytes(sent.tobytes())


class Sampler:
    """Resident memory of this process, sampled from a thread."""

    def __init__(self, every: float = 0.1) -> None:
        self.samples: list[tuple[float, int]] = []
        self.every = every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.done.wait(self.every):
            with open("/proc/self/statm") as f:
                self.samples.append((time.monotonic(), int(f.read().split()[1]) * PAGE))

    def __enter__(self) -> Sampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()


def record(events: int, rate: float, path: Path, profile: bool = False,
           sampler: Sampler | None = None) -> tuple[RecordResult, Recorder, list[float], float]:  # fmt: skip
    parent, child = mp.Pipe()
    proc = mp.Process(target=source_process, args=(child, events, rate), daemon=True)
    proc.start()
    url = parent.recv()
    recorder = Recorder(url + "/2/tweets/search/stream", path, RecordOptions(token=TOKEN))
    cpu = time.process_time()  # this process's threads: the recorder's (and the sampler's, a few reads)
    if profile:
        profiler = cProfile.Profile()
        result = profiler.runcall(recorder.run)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(14)
    elif sampler is not None:
        with sampler:  # the recorder only: not the send log received below
            result = recorder.run()
    else:
        result = recorder.run()
    cpu = time.process_time() - cpu
    parent.send("done")
    sent = array.array("d")
    sent.frombytes(parent.recv_bytes())
    proc.join(10)
    return result, recorder, list(sent), cpu


def arrivals(path: Path, origin: float) -> Iterator[tuple[int, float]]:
    """(event number, time.monotonic() of arrival) of every line record, as the harness reads it."""
    started = 0.0
    for record in Cassette(path):
        if isinstance(record, Connection):
            started = record.started
        elif isinstance(record, Line) and not record.is_heartbeat:
            ident = _ID.search(record.raw)
            assert ident, record.raw[:120]
            yield int(ident.group(1)), origin + started + record.offset


def lag_report(path: Path, origin: float, sent: list[float]) -> tuple[int, bool, list[float], list[float]]:
    """Lines recorded, whether in order, arrival - send per event (ms), arrival times."""
    lags, times, expected, in_order = [], [], 0, True
    for n, t in arrivals(path, origin):
        in_order &= n == expected
        expected += 1
        lags.append((t - sent[n]) * 1000)
        times.append(t)
    return expected, in_order, lags, times


def deciles(times: list[float]) -> str:
    """Events/s in each tenth of the recording (flat means no slowdown as the file grows)."""
    step = max(1, len(times) // 10)
    rates = [step / (times[i + step - 1] - times[i]) for i in range(0, len(times) - step + 1, step)
             if times[i + step - 1] > times[i]]  # fmt: skip
    return " ".join(f"{r / 1000:.0f}k" for r in rates)


def pct(values: list[float], p: float) -> float:
    return sorted(values)[min(len(values) - 1, int(p / 100 * len(values)))]


def bomb_server(block: bytes, repeats: int) -> LoopbackHTTPServer:
    """A server answering with `block` gzip'd `repeats` times (the same bytes after a full flush)."""
    import zlib

    def handler(client: Client) -> None:
        client.read_request()
        z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        first, again = (z.compress(block) + z.flush(zlib.Z_FULL_FLUSH) for _ in range(2))
        client.sock.sendall(response_head(200, "OK", [*STREAM_HEADERS, ("Content-Encoding", "gzip")]))
        client.sock.sendall(encode_chunk(first))
        for _ in range(repeats - 1):
            client.sock.sendall(encode_chunk(again))
        client.sock.sendall(LAST_CHUNK)

    return LoopbackHTTPServer(handler).start()


_MEASURE = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kilobytes
print(json.dumps([done.returncode, peak, done.stderr]))
"""


def record_child(url: str, path: Path, *args: str) -> tuple[int, float, str]:
    """`harness record` in a child process: exit code, its peak RSS (MB), its last stderr line.

    Measured from a small process of its own: a child's peak RSS starts at the size of the
    process that forked it.
    """
    import subprocess
    import sys

    code = "import sys; from harness.cli.app import main; main(sys.argv[1:])"
    argv = [sys.executable, "-c", code, "record", url, "-o", str(path), "--force", *args]
    done = subprocess.run([sys.executable, "-c", _MEASURE, *argv], capture_output=True, text=True, check=True,
                          env={**os.environ, "X_BEARER_TOKEN": TOKEN})  # fmt: skip
    status, peak, err = json.loads(done.stdout)
    return status, peak, (err.strip().splitlines() or [""])[-1]


def hostile(tmp: Path, figures: dict[str, object]) -> None:
    """Peak RSS of the recorder under gzip bombs, and how often it reconnects to a hang-up."""
    mb = 1 << 20
    print("hostile servers (the recorder in a child process; its own peak RSS):")
    for name, block, repeats in (("16 MiB of newlines", b"\n" * mb, 16), ("1 GiB of zeros", b"\0" * mb, 1024),
                                 ("256 MiB of 1 KB lines", (b"a" * 999 + b"\n") * 1024, 256)):  # fmt: skip
        server = bomb_server(block, repeats)
        try:
            code, peak, last = record_child(server.base_url + "/2/tweets/search/stream", tmp / "bomb.jsonl")
        finally:
            server.close()
        print(f"  gzip bomb, {name}: exit {code}, peak RSS {peak:.0f} MB; {last[:110]}")
        figures[f"bomb: {name}"] = {"exit": code, "peak_rss_mb": round(peak), "message": last}

    def hang_up(client: Client) -> None:
        client.read_request()
        client.sock.sendall(response_head(200, "OK", STREAM_HEADERS) + encode_chunk(event(0)) + LAST_CHUNK)

    server = LoopbackHTTPServer(hang_up).start()
    try:
        record_child(server.base_url + "/2/tweets/search/stream", tmp / "hot.jsonl", "--reconnect", "--duration", "3")
    finally:
        server.close()
    print(f"  200, one line, clean close, --reconnect for 3 s: {server.connections} connection(s)")
    figures["hang-up reconnects in 3 s"] = server.connections


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bytes", type=float, default=float(os.environ.get("BENCH_RECORD_BYTES", 1e9)),
                    help="body bytes of the flat-out recording (env BENCH_RECORD_BYTES; default 1e9)")  # fmt: skip
    ap.add_argument("--latency-rate", type=float, default=1000.0, help="events/s of the paced run")
    ap.add_argument("--latency-seconds", type=float, default=3.0)
    ap.add_argument("--profile", action="store_true", help="profile a 50k-event recording instead")
    ap.add_argument("--hostile", action="store_true", help="only the hostile servers (bombs, hang-ups)")
    ap.add_argument("--out", type=Path, default=Path("bench-results/record.json"), help="figures, as JSON")
    ap.add_argument("--dir", help="where the cassettes go (default: the system's temp dir; try /dev/shm)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-record-", dir=args.dir) as tmp:
        if args.profile:
            record(50_000, float("inf"), Path(tmp) / "p.jsonl", profile=True)
            return
        figures: dict[str, object] = {}
        hostile(Path(tmp), figures)
        if not args.hostile:
            figures.update(flat_and_paced(Path(tmp), args))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(figures, indent=2) + "\n")


def flat_and_paced(tmp_dir: Path, args: argparse.Namespace) -> dict[str, object]:
    """The flat-out recording and the paced latency run; their headline figures."""
    tmp = str(tmp_dir)
    events = max(1000, int(args.bytes // EVENT_SIZE))
    path = Path(tmp) / "flat.jsonl"
    print(f"flat out: {events} events of {EVENT_SIZE} B ({events * EVENT_SIZE / 1e9:.2f} GB) from the loopback source")
    mem = Sampler()
    result, recorder, sent, cpu = record(events, float("inf"), path, sampler=mem)
    s = result.stats
    recorded, in_order, lags, times = lag_report(path, recorder.clock_origin or 0.0, sent)
    span = max(sent) - min(sent)
    print(f"  recorded {s.events} events ({recorded} line records, in order: {in_order}), "
          f"dropped {events - recorded}; stopped: {result.reason.value}")  # fmt: skip
    throughput, cpu_per_event = s.events / s.elapsed, cpu / s.events * 1e6
    print(f"  throughput {s.events / s.elapsed:,.0f} events/s, {s.bytes / s.elapsed / 1e6:.0f} MB/s body "
          f"({s.elapsed:.1f} s; the source took {span:.1f} s to send, blocked by the recorder)")  # fmt: skip
    print(f"  events/s by tenth of the run: {deciles(times)}")
    print(f"  recorder CPU (all its threads): {cpu / s.events * 1e6:.2f} us per event, "
          f"{cpu / s.elapsed:.0%} of one core")  # fmt: skip
    size = path.stat().st_size
    print(f"  cassette {size / 1e9:.2f} GB ({size / max(s.bytes, 1):.2f} x the body)")
    rss = [r for _, r in mem.samples]
    if rss:
        tenth = rss[len(rss) // 10]
        print(f"  recorder RSS: {tenth / 1e6:.0f} MB at 10 %, {rss[len(rss) // 2] / 1e6:.0f} MB at 50 %, "
              f"{rss[-1] / 1e6:.0f} MB at the end, max {max(rss) / 1e6:.0f} MB "
              f"(growth after 10 %: {(max(rss) - tenth) / 1e6:+.1f} MB)")  # fmt: skip
    print(f"  arrival - send (queueing in socket buffers): p50 {pct(lags, 50):.2f} ms, "
          f"p99 {pct(lags, 99):.2f} ms, max {max(lags):.2f} ms")  # fmt: skip
    path.unlink()

    paced = max(10, int(args.latency_rate * args.latency_seconds))
    print(f"paced: {paced} events at {args.latency_rate:g}/s")
    result, recorder, sent, _ = record(paced, args.latency_rate, Path(tmp) / "paced.jsonl")
    recorded, in_order, lags, _ = lag_report(Path(tmp) / "paced.jsonl", recorder.clock_origin or 0.0, sent)
    within = sum(1 for lag in lags if abs(lag) <= 1.0) / len(lags)
    print(f"  recorded {recorded}/{paced} in order: {in_order}; arrival - send: p50 {pct(lags, 50):.3f} ms, "
          f"p99 {pct(lags, 99):.3f} ms, max {max(lags):.3f} ms; within 1 ms: {within:.1%}")  # fmt: skip
    return {
        "flat_events_per_s": round(throughput),
        "flat_cpu_us_per_event": round(cpu_per_event, 2),
        "flat_max_rss_mb": round(max(rss) / 1e6) if rss else None,
        "paced_within_1ms": round(within, 4),
    }


if __name__ == "__main__":
    main()
