"""The regular-expression subset the model's patterns are written in, read by a parser of our own.

The engines and the generator need a pattern's structure (which characters, how many
times), not only a matcher. CPython's own parser (`re._parser`) is private and changed in
3.11, 3.12 and 3.13, so this reads the few constructs the model uses and refuses any other
by name:

- `^` first and `$` last (anchors, nowhere else); `$` is ECMA's: the end of the string;
- literal characters, `\\` escapes of punctuation, `\\d` (ASCII digits, as in ECMA);
- classes `[...]` of characters, ranges and `\\d` (not negated);
- groups `(...)` and `(?:...)`, alternation `|`;
- quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}` (greedy only).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Union

__all__ = ["Chars", "Group", "Pattern", "PatternError", "Repeat", "parse"]

Ranges = tuple[tuple[int, int], ...]  # inclusive code-point ranges, in the order written
DIGITS: Ranges = ((0x30, 0x39),)
_META = frozenset("\\^$.|?*+()[]{}")


class PatternError(ValueError):
    """A pattern outside the subset: names the construct and where it is."""


@dataclass(frozen=True)
class Chars:
    """One character out of a set."""

    ranges: Ranges

    def __contains__(self, char: str) -> bool:
        code = ord(char)
        return any(lo <= code <= hi for lo, hi in self.ranges)


@dataclass(frozen=True)
class Repeat:
    """`item` repeated `lo` to `hi` times (`hi` None: no upper bound)."""

    item: Node
    lo: int
    hi: int | None


@dataclass(frozen=True)
class Group:
    """Alternatives, each a sequence (one alternative for a plain group)."""

    branches: tuple[tuple[Node, ...], ...]


Node = Union[Chars, Repeat, Group]


@dataclass(frozen=True)
class Pattern:
    """A parsed pattern: its alternatives and anchors."""

    source: str
    body: Group
    anchored_start: bool
    anchored_end: bool

    @property
    def full(self) -> bool:
        """Anchored at both ends: the whole string must match."""
        return self.anchored_start and self.anchored_end

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """A Python regex that reads the pattern as ECMA does: `$` only at the very end,
        `\\d` only ASCII digits (Python's `$` also matches before a final newline)."""
        head = r"\A" if self.anchored_start else ""
        return re.compile(head + _render(self.body) + (r"\Z" if self.anchored_end else ""))


def _render(node: Node) -> str:
    if isinstance(node, Chars):
        return (
            "["
            + "".join(re.escape(chr(lo)) + ("-" + re.escape(chr(hi)) if hi > lo else "") for lo, hi in node.ranges)
            + "]"
        )
    if isinstance(node, Repeat):
        return f"(?:{_render(node.item)}){{{node.lo},{'' if node.hi is None else node.hi}}}"
    return "(?:" + "|".join("".join(_render(n) for n in branch) for branch in node.branches) + ")"


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source
        self.pos = 0

    def fail(self, what: str) -> PatternError:
        return PatternError(f"pattern {self.source!r}: {what} at offset {self.pos} is not supported")

    def peek(self) -> str:
        return self.source[self.pos] if self.pos < len(self.source) else ""

    def take(self) -> str:
        char = self.peek()
        self.pos += 1
        return char

    def alternatives(self, depth: int) -> Group:
        branches = [self.sequence(depth)]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence(depth))
        return Group(tuple(branches))

    def sequence(self, depth: int) -> tuple[Node, ...]:
        items: list[Node] = []
        while self.peek() not in ("", "|", ")"):
            if self.peek() == "$" and self.pos == len(self.source) - 1 and depth == 0:
                break
            items.append(self.quantified(self.atom(depth)))
        return tuple(items)

    def atom(self, depth: int) -> Node:
        char = self.take()
        if char == "(":
            if self.source.startswith("?:", self.pos):
                self.pos += 2
            elif self.peek() == "?":
                raise self.fail("the group kind '(?'")
            inner = self.alternatives(depth + 1)
            if self.take() != ")":
                raise self.fail("an unclosed group")
            return inner
        if char == "[":
            return self.char_class()
        if char == "\\":
            return self.escape(in_class=False)
        if char in _META:
            raise self.fail(f"{char!r} here")
        return Chars(((ord(char), ord(char)),))

    def escape(self, in_class: bool) -> Chars:
        char = self.take()
        if char == "d":
            return Chars(DIGITS)
        if char and not char.isalnum():
            return Chars(((ord(char), ord(char)),))
        raise self.fail(f"the escape \\{char}")

    def char_class(self) -> Chars:
        if self.peek() == "^":
            raise self.fail("a negated class")
        ranges: list[tuple[int, int]] = []
        while self.peek() != "]":
            if not self.peek():
                raise self.fail("an unclosed class")
            lo = self.class_char()
            if isinstance(lo, Chars):
                ranges.extend(lo.ranges)
                continue
            if self.peek() == "-" and self.source[self.pos + 1 : self.pos + 2] not in ("]", ""):
                self.pos += 1
                hi = self.class_char()
                if isinstance(hi, Chars) or hi < lo:
                    raise self.fail("a bad range")
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        self.pos += 1
        if not ranges:
            raise self.fail("an empty class")
        return Chars(tuple(ranges))

    def class_char(self) -> int | Chars:
        char = self.take()
        if char == "\\":
            escaped = self.escape(in_class=True)
            return escaped if escaped.ranges == DIGITS else escaped.ranges[0][0]
        if char == "[":
            raise self.fail("'[' inside a class")
        return ord(char)

    def quantified(self, item: Node) -> Node:
        char = self.peek()
        if char in ("?", "*", "+"):
            self.pos += 1
            lo, hi = {"?": (0, 1), "*": (0, None), "+": (1, None)}[char]
        elif char == "{":
            close = self.source.find("}", self.pos)
            if close < 0:
                raise self.fail("an unclosed '{'")
            lo_text, comma, hi_text = self.source[self.pos + 1 : close].partition(",")
            if not lo_text.isdigit() or (hi_text and not hi_text.isdigit()):
                raise self.fail("a bad bound")
            lo = int(lo_text)
            hi = int(hi_text) if hi_text else (None if comma else lo)
            if hi is not None and hi < lo:
                raise self.fail("a bound whose maximum is below its minimum")
            self.pos = close + 1
        else:
            return item
        if self.peek() in ("?", "+", "*", "{"):
            raise self.fail("a lazy, possessive or repeated quantifier")
        return Repeat(item, lo, hi)


def parse(source: str) -> Pattern:
    """Parse `source`, or raise PatternError naming the first construct outside the subset."""
    reader = _Reader(source)
    start = reader.peek() == "^"
    if start:
        reader.pos = 1
    body = reader.alternatives(0)
    end = reader.peek() == "$"
    if end:
        reader.pos += 1
    if reader.pos != len(source):
        raise reader.fail(f"{reader.peek()!r} here")
    if len(body.branches) > 1 and (start or end):
        raise PatternError(f"pattern {source!r}: '|' beside an anchor binds to one branch only: group it")
    return Pattern(source, body, start, end)
