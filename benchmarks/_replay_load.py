"""The replayer under load (imported by benchmarks/replay.py; running this file alone does nothing).

The server runs in a process of its own, as `harness replay` would (its settings: no line log
per connection, the latest 1,000 connections logged), with two replay servers in it: one at
--speed max for the load, one at 1x for the clients whose lateness is measured, so that both
share one interpreter. Clients run in two more processes, one event loop each:

- load: N concurrent clients at --speed max, each its own consumer (token), each checking
  that its body is byte-identical to the recording's (chunk framing included) and complete;
  rounds of N until a minimum duration has passed, so that the 1x clients run under load.
- paced: 50 clients at 1x; per line, its arrival minus (the request's sending + its offset).

The server's peak RSS is the kernel's high-water mark (VmHWM) of its process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness.cassette import Cassette, Line

SERVER = r"""
import gc, sys
from harness.cli.replay import LOG_LINES
from harness.replay.server import ReplayServer
fast, slow = sys.argv[1], sys.argv[2]
servers = [ReplayServer([fast], speed=None, on_end="close", log_limit=1000, log_lines=LOG_LINES),
           ReplayServer([slow], speed=1.0, on_end="close", log_limit=1000, log_lines=LOG_LINES)]
gc.freeze()
for s in servers:
    s.start()
print(servers[0].port, servers[1].port, flush=True)
sys.stdin.read()
for s in servers:
    s.stop()
"""

#: Load clients (mode "load": verify bodies) or paced clients (mode "paced": lateness per line).
CLIENTS = r"""
import hashlib, json, selectors, socket, sys, time
port, mode, n, until, prefix = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
expected = json.loads(sys.stdin.read())  # load: {"size", "digest"}; paced: {"offsets"}
sel = selectors.DefaultSelector()
results = {"ok": 0, "bad": [], "late": [], "connections": 0, "bytes": 0}
serial = 0

def open_one():
    global serial
    s = socket.create_connection(("127.0.0.1", port))
    token = f"{prefix}-{serial}"
    serial += 1
    state = {"head": b"", "body": False, "h": hashlib.blake2b(), "size": 0, "buf": b"", "line": 0}
    state["sent"] = time.monotonic()
    s.sendall(f"GET /2/tweets/search/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, state)
    results["connections"] += 1

def chunks(state, now):
    buf, pos = state["buf"], 0
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            break
        size = int(buf[pos:eol], 16)
        if len(buf) < eol + 2 + size + 2:
            break
        if size:
            state["late"].append(now - state["sent"] - expected["offsets"][state["line"]])
            state["line"] += 1
        pos = eol + 2 + size + 2
    state["buf"] = buf[pos:]

def finish(sock, state):
    sel.unregister(sock)
    sock.close()
    if mode == "load":
        good = state["size"] == expected["size"] and state["h"].hexdigest() == expected["digest"]
    else:
        good = state["line"] == len(expected["offsets"])
        results["late"] += state["late"]
    if good:
        results["ok"] += 1
    else:
        results["bad"].append(state["size"])

started = time.monotonic()
buf = bytearray(1 << 18)
while True:
    for _ in range(n):
        open_one()
    while sel.get_map():
        for key, _ in sel.select(1.0):
            sock, state = key.fileobj, key.data
            try:
                k = sock.recv_into(buf)
            except BlockingIOError:
                continue
            except OSError:
                k = 0
            if not k:
                finish(sock, state)
                continue
            data = bytes(buf[:k])
            if not state["body"]:
                state["head"] += data
                if b"\r\n\r\n" not in state["head"]:
                    continue
                head, _, data = state["head"].partition(b"\r\n\r\n")
                state["body"] = True
                if mode == "paced":
                    state["late"] = []
            state["size"] += len(data)
            results["bytes"] += len(data)
            if mode == "load":
                state["h"].update(data)
            else:
                state["buf"] += data
                chunks(state, time.monotonic())
    if time.monotonic() - started >= until:
        break
results["seconds"] = time.monotonic() - started
print(json.dumps(results))
"""


def _peak_rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def _framed(path: Path) -> tuple[int, str, list[float]]:
    """The body the replayer must send for `path` (its size and blake2b digest) and its lines' offsets."""
    import hashlib

    h, size, offsets = hashlib.blake2b(), 0, []
    for record in Cassette(path):
        if isinstance(record, Line):
            frame = b"%x\r\n%b\r\n" % (len(record.raw), record.raw)
            h.update(frame)
            size += len(frame)
            offsets.append(record.offset)
    h.update(b"0\r\n\r\n")
    return size + 5, h.hexdigest(), offsets


def _clients(
    port: int, mode: str, n: int, until: float, prefix: str, expected: dict[str, Any]
) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", CLIENTS, str(port), mode, str(n), str(until), prefix],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdin is not None
    proc.stdin.write(json.dumps(expected))
    proc.stdin.close()
    return proc


def _result(proc: subprocess.Popen[str]) -> dict[str, Any]:
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(60)
    if proc.returncode:
        raise SystemExit(f"a client process failed ({proc.returncode})")
    return dict(json.loads(out))


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else float("nan")


def scenario(fast: Path, slow: Path, load: int, paced: int, until: float) -> dict[str, Any]:
    """One server process; `load` clients at max speed on `fast` (rounds until `until` s) and `paced` at 1x."""
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(fast), str(slow)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert server.stdout is not None and server.stdin is not None
    fast_port, slow_port = map(int, server.stdout.readline().split())
    idle = _peak_rss(server.pid)
    size, digest, _ = _framed(fast)
    _, _, offsets = _framed(slow)
    procs = []
    if load:
        procs.append(("load", _clients(fast_port, "load", load, until, "load", {"size": size, "digest": digest})))
    if paced:
        procs.append(("paced", _clients(slow_port, "paced", paced, 0, "paced", {"offsets": offsets})))
    started = time.monotonic()
    out: dict[str, Any] = {"load_clients": load, "paced_clients": paced}
    for name, proc in procs:
        r = _result(proc)
        out[name] = {"ok": r["ok"], "bad": len(r["bad"]), "connections": r["connections"],
                     "seconds": round(r["seconds"], 2), "MB": round(r["bytes"] / 1e6)}  # fmt: skip
        if name == "paced":
            late = [x * 1e3 for x in r["late"]]
            out[name].update(lateness_ms={"p50": _pct(late, 50), "p99": _pct(late, 99), "max": max(late, default=0)})
    out["wall_seconds"] = round(time.monotonic() - started, 2)
    out["server_rss_MB"] = {"idle": round(idle / 1e6, 1), "peak": round(_peak_rss(server.pid) / 1e6, 1)}
    server.stdin.close()
    server.wait(30)
    return out
