"""Hostile lines for the native checker, from a seeded `random.Random`: byte-level
(random bytes, byte edits of valid events, truncations) and structure-aware (valid events
from `harness.cassette.synth` with one value swapped for a hostile one, deep nesting, huge numbers
and strings, invalid UTF-8, lone surrogates, control bytes)."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable, Iterator
from typing import Any

from checks import dumps

from harness.cassette.synth import Synth, encode_line, problem_kinds
from harness.model import ENDPOINTS

ENDPOINT_NAMES = sorted(ENDPOINTS)
TOKENS = [b'"', b"\\", b"{", b"}", b"[", b"]", b",", b":", b"0", b"-", b".", b"e", b"E", b"+", b" ", b"\t",
          b"\r", b"\x0b", b"\x0c", b"\x00", b"\x1f", b"\x7f", b"\x80", b"\xc0", b"\xc2", b"\xe0", b"\xed\xa0\x80",
          b"\xef\xbb\xbf", b"\xf4\x90", b"\xff", b"true", b"false", b"null", b"NaN", b"Infinity", b"\\u", b"\\ud800",
          b"\\udc00", b"\\ud83d\\ude00", b"\\u0000", b"\\n", b'"data"', b'"errors"', b'"type"', b"1e400", b"-0",
          b"\xe6\x97\xa5", b'"2021-01-06T18:40:40.000Z\\n"', b'"https://x.com/\\n"']  # fmt: skip
HOSTILE_VALUES: list[Callable[[random.Random], Any]] = [
    lambda r: f"@@{r.choice(['', '-'])}{r.choice([19, 20, 300, 640, 641, 4300, 4301, 5000])}@@",  # see _digits
    lambda r: r.choice([2**53, 2**53 + 1, -(2**63), 2**64, 0, -1, 1.0, -0.0, 1e308, 5e-324]),
    lambda r: r.choice([float("nan"), float("inf"), float("-inf")]),
    lambda r: "x" * r.choice([0, 1, 4095, 4096, 4097, 70000]),
    lambda r: '\\"\n\t\u65e5' * r.choice([1, 1000, 1400]),
    lambda r: r.choice(["\ud800", "a\udfff", "\ud83d\ude00", "\udc00\ud800", "\x00", "\x0b", "\u2028"]),
    lambda r: r.choice(["2021-01-06T18:40:40.000Z\n", "2021-01-06T18:40:40Z", "2021-02-29T00:00:00Z",
                        "2024-02-29T23:59:59.999999999+23:59", "0000-01-01T00:00:00Z", "2021-01-06T18:40:60Z"]),
    lambda r: r.choice(["https://x.com/\n", "https://x.com/a b", "http://x.com/%zz", "https://x.com/" + "a" * 5000,
                        "about:blank", "https://api.x.com/2/problems/operational-disconnect"]),
    lambda r: nested(r.choice([126, 127, 128, 129, 200]), r.choice(["list", "dict"])),
    lambda r: r.choice([True, False, None, [], {}, [1, "a"], {"\ud800": 1}, {"": 0}]),
]  # fmt: skip

# characters put into a valid string value: lone surrogates, line breaks, controls, look-alikes
EDGES = ["\ud800", "\udfff", "\n", "\r", "\x00", "\x0b", "\u2028", "\u0085", " ", "\uff10", "\u0661", "%", "#"]


def nested(depth: int, how: str) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value] if how == "list" else {"a": value}
    return value


class Inputs:
    """An endless, reproducible stream of (endpoint, raw line) from one seed."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.synth = Synth(seed, optional=0.6)
        self.valid: list[tuple[str, bytes]] = []

    def event(self) -> tuple[str, bytes]:
        r = self.random
        endpoint = r.choice(ENDPOINT_NAMES)
        error = r.random() < 0.15
        payload = self.synth.problem(r.choice(problem_kinds())) if error else self.synth.event(endpoint)
        raw = encode_line(payload).rstrip(b"\r\n") if r.random() < 0.5 else dumps(payload, r.random() < 0.5)
        self.valid = [*self.valid[-50:], (endpoint, raw)]
        return endpoint, raw

    def __iter__(self) -> Iterator[tuple[str, str, bytes]]:
        """(generator name, endpoint, raw)."""
        kinds = [self.random_bytes, self.byte_edits, self.value_swap, self.splice, self.wrapped]
        while True:
            make = self.random.choice(kinds)
            endpoint, raw = make()
            yield make.__name__, endpoint, raw

    def byte_level(self) -> Iterator[tuple[str, bytes]]:
        """Byte edits of one valid event after another, each event's endpoint kept (the
        native lane checks a batch against one endpoint: the first's)."""
        while True:
            endpoint, _ = self.event()
            for _ in range(64):
                yield endpoint, self.byte_edits_of(self.valid[-1][1])

    def random_bytes(self) -> tuple[str, bytes]:
        r = self.random
        if r.random() < 0.5:
            raw = bytes(r.randrange(256) for _ in range(r.randrange(64)))
        else:
            raw = b"".join(r.choice(TOKENS) for _ in range(r.randrange(40)))
        return r.choice(ENDPOINT_NAMES), raw

    def byte_edits(self) -> tuple[str, bytes]:
        endpoint, raw = self.event()
        return endpoint, self.byte_edits_of(raw)

    def byte_edits_of(self, raw: bytes) -> bytes:
        r = self.random
        data = bytearray(raw)
        for _ in range(r.randint(1, 4)):
            at = r.randrange(len(data) + 1)
            edit = r.randrange(5)
            if edit == 0:
                del data[at:]
            elif edit == 1:
                data[at:at] = r.choice(TOKENS)
            elif edit == 2 and at < len(data):
                data[at] = r.randrange(256)
            elif edit == 3:
                data[at:at] = data[at : at + r.randint(1, 16)]
            else:
                del data[at : at + r.randint(1, 8)]
        return bytes(data)

    def value_swap(self) -> tuple[str, bytes]:
        """A valid event with one member's value, or a new member, made hostile."""
        r = self.random
        endpoint, raw = self.event()
        payload = json.loads(raw)
        spots = list(_spots(payload))
        container, key = r.choice(spots)
        value = r.choice(HOSTILE_VALUES)(r)
        action = r.randrange(5)
        strings = [(c, k) for c, k in spots if isinstance(c[k], str)]
        if action == 4 and strings:  # a real date-time, uri or id, one character off
            container, key = r.choice(strings)
            edge = r.choice(EDGES)
            text = container[key]
            at = r.choice([0, len(text), r.randrange(len(text) + 1)])
            container[key] = text[:at] + edge + text[at:]
        elif action == 0 or not isinstance(container, dict):
            container[key] = value
        elif action == 1:
            container[r.choice(["\ud800", "brand_new", "data", "errors", "type", "id", "x" * 300])] = value
        elif action == 2:
            container.pop(key, None)
        else:
            container[key] = copy.deepcopy(container)  # a member holding its parent's shape
        return endpoint, _digits(dumps(payload, r.random() < 0.5))

    def splice(self) -> tuple[str, bytes]:
        r = self.random
        endpoint, raw = self.event()
        _, other = r.choice(self.valid)
        a, b = r.randrange(len(raw) + 1), r.randrange(len(other) + 1)
        return endpoint, raw[:a] + other[b:]

    def wrapped(self) -> tuple[str, bytes]:
        """A valid event with whitespace, control bytes or deep brackets around it."""
        r = self.random
        endpoint, raw = self.event()
        lead = r.choice([b"", b" ", b"\t", b"\r", b"\x0b", b"\x0c", b"\xef\xbb\xbf", b"[" * r.choice([1, 128, 10**5])])
        trail = r.choice([b"", b" ", b"\r", b"\x0b", b"\x00", b"]", b" {}"])
        return endpoint, lead + raw + trail


def _digits(raw: bytes) -> bytes:
    """`"@@-N@@"` made an integer literal of N digits (json.dumps cannot write one past 4300)."""
    parts = re.split(rb'"@@(-?)(\d+)@@"', raw)
    out = parts[0::3]
    for i, (sign, n) in enumerate(zip(parts[1::3], parts[2::3], strict=True)):
        out.insert(2 * i + 1, sign + b"9" * int(n))
    return b"".join(out)


def truncations(raw: bytes) -> Iterator[bytes]:
    """`raw` cut at every offset."""
    for end in range(len(raw)):
        yield raw[:end]


def _spots(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) in a decoded payload."""
    stack = [value]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, child in items:
            yield node, key
            stack.append(child)


def program_nodes(r: random.Random) -> tuple[Any, ...]:
    """Node tuples for `Program`, well formed or not: the constructor must refuse what it
    cannot run (a wrong member, an index out of range, a union among its own variants)."""
    n = r.randint(1, 8)

    def index() -> Any:
        return r.choice([r.randrange(n), r.randrange(n), -1, n, 2**40, "0", None])

    def cls() -> bytes:
        return bytes(r.randrange(256) for _ in range(r.choice([16, 16, 16, 15])))

    def node() -> Any:
        kind = r.choice([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1])
        if kind == 1:
            checks = tuple(r.choice([(1, ((cls(), r.randint(-1, 3), r.randint(-1, 3)),)), (2,), (3,), (1,), (99,)])
                           for _ in range(r.randint(0, 2)))  # fmt: skip
            enum = r.choice([None, (b"a", b"\xff"), ("a",), ()])
            return (1, r.randint(-2, 4), r.randint(-2, 4), checks, enum)
        if kind in (2, 3):
            return (kind, r.choice([None, 0, -5, 2**70, 1.5]), r.choice([None, 10, 2**63, "x"]))
        if kind == 5:
            return (5, index(), r.randint(-1, 3), r.randint(-1, 3))
        if kind == 6:
            return (6, tuple(index() for _ in range(r.randint(0, 3))))
        if kind == 7:
            fields = tuple(
                (r.choice([b"a", b"b", b"", b"t"]), index(), r.random() < 0.5) for _ in range(r.randint(0, 4))
            )
            return (
                7,
                fields,
                tuple(r.randrange(-1, len(fields) + 1) for _ in range(r.randint(0, 2))),
                r.random() < 0.5,
            )
        if kind == 8:
            tags = tuple((r.choice([b"a", b"b"]), tuple(index() for _ in range(r.randint(0, 3))))
                         for _ in range(r.randint(0, 3)))  # fmt: skip
            return (8, r.choice([b"t", b"", "t"]), tags)
        return (kind, *tuple(r.choice([None, 0, ()]) for _ in range(r.randint(0, 5))))

    return tuple(node() for _ in range(n))
