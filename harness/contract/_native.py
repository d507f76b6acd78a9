"""The object model compiled for the native line checker (`_speedups`, a C extension).

`NativeModel(profile).kinds(schema, lines)` says, per raw line, "event" or "error" when
the line is surely valid, and None when the checker cannot tell (then the reference
decides; jsonschema-rs first where this extension was not built). Each model type becomes one node tuple (the layout is
in `_speedups_nodes.h`); a constraint the checker cannot run exactly becomes a node that is
never sure, so a line holding such a value always goes to the slower engines.

Without a C compiler at install time there is no `_speedups`: `available()` says so and
the fast engine does without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

from harness.contract import schemagen
from harness.contract._patterns import RFC3986_RULE
from harness.contract.schemagen import Profile
from harness.model import ENDPOINTS, Alias, AnyObj, Arr, Bool, Int, Num, Obj, Ref, Str, Tup, Type, Union_
from harness.model.dialect import Dialect, definitions
from harness.model.patterns import Chars, Group, Node, PatternError, Repeat
from harness.model.patterns import parse as parse_pattern
from harness.model.visit import Visitor

NODE_FORMAT = 2  # the node layout this module writes: a stale build of _speedups reads another
MISSING = ""  # why the native checker is not available, if it is not

_speedups: Any
try:  # by name: whether mypy sees the built extension or not, it is untyped
    _speedups = importlib.import_module("harness.contract._speedups")
except ImportError:  # built without a C compiler
    _speedups = None
    MISSING = "harness.contract._speedups was not built (no C compiler at install time?): pip install -e . again"
else:
    if getattr(_speedups, "NODE_FORMAT", None) != NODE_FORMAT:
        _speedups = None
        MISSING = "harness.contract._speedups is a stale build (another node format): pip install -e . again"

__all__ = ["MISSING", "NativeModel", "available", "compile_pattern"]

# node kinds and string checks, as numbered in _speedups_nodes.h
UNSURE, STR, INT, NUM, BOOL, ARR, TUP, OBJ, UNION, ANYOBJ = range(10)
SEQ, DATE_TIME, URI = 1, 2, 3

Item = tuple[bytes, int, int]  # (ASCII class as a 128-bit set, min, max or -1)
Runner = Callable[[bytes, int], tuple[int, int, int, int, int, float, float]]


def available() -> bool:
    """Whether the native checker was built (and is not stale): else `MISSING` says why."""
    return _speedups is not None


class NativeModel:
    """Every definition of the model as native checker nodes, in one profile."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, dialect: Dialect | str = Dialect.CLASSIC) -> None:
        if _speedups is None:
            raise RuntimeError(MISSING)
        self.profile = Profile.parse(profile)
        self.model = definitions(Dialect.parse(dialect))
        self.nodes: list[tuple[Any, ...] | None] = []
        self._named: dict[str, int] = {}
        self._nodes_of = _Nodes()
        #: schema file -> (root node, field index of `data`, of `errors`; -1: no envelope)
        self.roots: dict[str, tuple[int, int, int]] = {}
        for name in self.model:
            self.definition_node(name)
        for endpoint in ENDPOINTS.values():
            self._root(schemagen.event_file(endpoint.name), endpoint.event)
        for name in self.model:
            self._root(schemagen.definition_file(name), name)
        self.program = _speedups.Program(tuple(self.nodes))

    def kinds(self, schema: str, lines: Sequence[bytes | str]) -> list[str | None]:
        """Per line: "event" or "error" if surely valid against `schema`, else None."""
        root, data, errors = self.roots[schema]
        kinds: list[str | None] = self.program.kinds(root, lines, "event", "error", data, errors)
        return kinds

    def accepts(self, schema: str, payload: Any) -> bool:
        """True if the decoded `payload` (json.loads' types) is surely valid against `schema`."""
        ok: bool = self.program.accepts(self.roots[schema][0], payload)
        return ok

    def masked(self, schema: str, lines: Sequence[bytes | str], paths: tuple[tuple[str | int, ...], ...]
               ) -> list[tuple[Any, ...] | None]:  # fmt: skip
        """Per line: ("event" or "error", the raw JSON text of each of `paths`' values) if the
        line is surely valid whatever those values are (each a scalar, found once), else None."""
        root, data, errors = self.roots[schema]
        found: list[tuple[Any, ...] | None] = self.program.masked(root, lines, paths, "event", "error", data, errors)
        return found

    def locate(
        self, schema: str, line: bytes | str, paths: tuple[tuple[str | int, ...], ...] = ()
    ) -> tuple[str | int, ...] | None:
        """Where in `line` the first value the checker refuses is (member names and indexes),
        `paths`' values masked; None where the line passes or what fails is no value's."""
        place: tuple[str | int, ...] | None = self.program.locate(self.roots[schema][0], line, paths)
        return place

    def runner(self, schema: str, *, records: bool = True) -> Runner:
        """`run(data, start)` over cassette records whose payloads must be `schema` (or,
        not `records`, raw stream lines): see `Program.run` in `_speedups.c` (end, lines,
        events, errors, heartbeats, first and last offsets of the lines it is sure of,
        from byte `start` on)."""
        root, data, errors = self.roots[schema]
        run = self.program.run
        return lambda block, start: run(root, block, start, data, errors, records)

    def _root(self, schema: str, name: str) -> None:
        d = self.model[name]
        envelope = (-1, -1)
        node = self.nodes[self._named[name]]
        if isinstance(d, Obj) and node is not None and node[0] == OBJ:  # an unsure root has no fields
            names = [f.name for f in d.fields]
            if "data" in names and "errors" in names:
                envelope = (names.index("data"), names.index("errors"))
        self.roots[schema] = (self._named[name], *envelope)

    # -- nodes -----------------------------------------------------------------------------
    def add_node(self, node: tuple[Any, ...] | None) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def definition_node(self, name: str) -> int:
        found = self._named.get(name)
        if found is not None:
            return found
        index = self._named[name] = self.add_node(None)  # first: references to it may recur
        self.nodes[index] = self._nodes_of.visit_definition(self.model[name], self)
        return index

    def _type(self, t: Type) -> int:
        index: int = self._nodes_of.visit(t, self)
        return index

    def object_node(self, obj: Obj) -> tuple[Any, ...]:
        fields = tuple((f.name.encode(), self._type(f.type), f.required) for f in obj.fields)
        names = [f.name for f in obj.fields]
        members = obj.one_of or obj.require_any
        if any(n not in names for n in members) or (obj.one_of and obj.require_any):
            return (UNSURE,)  # an undeclared member may count: only the reference can tell
        any_of = tuple(names.index(n) for n in members)
        return (OBJ, fields, any_of, self.profile is Profile.STRICT, bool(obj.one_of))

    def union_node(self, union: Union_) -> tuple[Any, ...]:
        variants: dict[str, list[int]] = {}
        for variant in union.variants:
            node = self.definition_node(variant.obj)
            for tag in variant.tags:
                variants.setdefault(tag, []).append(node)
        return (UNION, union.tag.encode(), tuple((tag.encode(), tuple(n)) for tag, n in variants.items()))


class _Nodes(Visitor["NativeModel", Any]):
    """A declared type gives the index of its node (a `Ref`, its definition's: recursion
    closes on itself); a definition gives its node."""

    def ref(self, t: Ref, model: NativeModel) -> int:
        return model.definition_node(t.name)

    def str_(self, t: Str, model: NativeModel) -> int:
        return model.add_node(_string(t))

    def int_(self, t: Int, model: NativeModel) -> int:
        return model.add_node((INT, t.minimum, t.maximum))

    def num(self, t: Num, model: NativeModel) -> int:
        return model.add_node((NUM, *(None if b is None else float(b) for b in (t.minimum, t.maximum))))

    def bool_(self, t: Bool, model: NativeModel) -> int:
        return model.add_node((BOOL,))

    def arr(self, t: Arr, model: NativeModel) -> int:
        items = self.visit(t.items, model)
        return model.add_node((ARR, items, t.min_items or 0, -1 if t.max_items is None else t.max_items))

    def tup(self, t: Tup, model: NativeModel) -> int:
        return model.add_node((TUP, tuple(self.visit(i, model) for i in t.items)))

    def any_obj(self, t: AnyObj, model: NativeModel) -> int:
        return model.add_node((ANYOBJ,))

    def obj(self, d: Obj, model: NativeModel) -> tuple[Any, ...]:
        return model.object_node(d)

    def union(self, d: Union_, model: NativeModel) -> tuple[Any, ...]:
        return model.union_node(d)

    def alias(self, d: Alias, model: NativeModel) -> tuple[Any, ...] | None:
        index: int = self.visit(d.type, model)
        return model.nodes[index]


def _string(t: Str) -> tuple[Any, ...]:
    checks: list[tuple[Any, ...]] = []
    if t.pattern is not None:
        alternatives = compile_pattern(t.pattern)
        if alternatives is None:
            return (UNSURE,)
        checks.append((SEQ, alternatives))
    if t.format == "date-time":
        checks.append((DATE_TIME,))
    elif t.format in ("uri", "iri") and RFC3986_RULE:
        # the reference's uri rule is rfc3986's, which ours is a part of; every URI is an IRI,
        # so a non-ASCII IRI (or an allowed "") is only unsure, and the reference decides
        checks.append((URI,))
    elif t.format is not None:
        return (UNSURE,)
    lo = -1 if t.min_length is None else t.min_length
    hi = -1 if t.max_length is None else t.max_length
    members = None if t.enum is None else tuple(v.encode("utf-8", "surrogatepass") for v in t.enum)
    return (STR, lo, hi, tuple(checks), members)


def compile_pattern(pattern: str) -> tuple[tuple[Item, ...], ...] | None:
    """Alternatives of `[class]{min,max}` runs when `pattern` is `^...$` made of such
    runs only (ASCII classes, each run at least one character, no two neighbours sharing
    a character): then the longest run is the only way to match, as the checker does.
    None for any other pattern (read by the model's own parser, as ECMA reads it)."""
    try:
        parsed = parse_pattern(pattern)
    except PatternError:
        return None
    if not parsed.full:
        return None
    branches = parsed.body.branches
    if len(branches) == 1:
        flat = _ungrouped(branches[0])
        if flat is None:
            return None
        if len(flat) == 1 and isinstance(flat[0], Group):  # ^(a|b)$: the group's alternatives
            branches = flat[0].branches
    out = []
    for branch in branches:
        flat = _ungrouped(branch)
        if not flat:
            return None
        runs = [_run(node) for node in flat]
        if any(r is None for r in runs):
            return None
        sequence: tuple[Item, ...] = tuple(r for r in runs if r is not None)
        for (a, _, _), (b, _, _) in pairwise(sequence):
            if int.from_bytes(a, "little") & int.from_bytes(b, "little"):
                return None
        out.append(sequence)
    return tuple(out)


def _ungrouped(items: tuple[Node, ...]) -> list[Node] | None:
    """Plain groups of one alternative opened into the sequence they hold; None where an
    alternation sits inside a longer sequence (not a run)."""
    out: list[Node] = []
    for node in items:
        if isinstance(node, Group) and len(node.branches) == 1:
            inner = _ungrouped(node.branches[0])
            if inner is None:
                return None
            out += inner
        elif isinstance(node, Group) and len(items) > 1:
            return None
        else:
            out.append(node)
    return out


def _run(node: Node) -> Item | None:
    if isinstance(node, Repeat):
        if node.lo < 1 or not isinstance(node.item, Chars):
            return None
        chars = _chars(node.item)
        return None if chars is None else (chars, node.lo, -1 if node.hi is None else node.hi)
    if isinstance(node, Chars):
        chars = _chars(node)
        return None if chars is None else (chars, 1, 1)
    return None


def _chars(node: Chars) -> bytes | None:
    """The characters of a class, as a 128-bit set; None if not ASCII."""
    codes = {c for lo, hi in node.ranges for c in range(lo, hi + 1) if c < 128}
    if not codes or any(hi > 127 for _, hi in node.ranges):
        return None
    return sum(1 << c for c in codes).to_bytes(16, "little")
