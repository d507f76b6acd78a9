"""The fast engine: a one-pass check for valid payloads, the reference for the rest.

`FastEngine` answers "valid?" in up to two steps, each accepting only what the reference
accepts: the native checker (`_native`, C, no Python object per line) where it was built,
and where it was not, jsonschema-rs, a memory-safe Rust validator with wheels, on the
decoded payload. A payload either accepts is valid; for anything else the reference
engine gives the verdict and the exact violations, so messages, pointers and schema
locations are the reference's by construction.

jsonschema-rs reads `pattern`'s `$` as the spec does; its `date-time` and `uri` are the
reference's own rules (`validator.FORMATS`, passed as its format checks), so that its
format verdicts are exactly the reference's.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from math import isfinite
from typing import Any

import orjson

from harness.contract import schemagen
from harness.contract._drift import Drift
from harness.contract._located import Locator, Unsettled
from harness.contract._native import NativeModel, available
from harness.contract.schemagen import Profile
from harness.contract.validator import FORMATS, Engine, ReferenceEngine, Violation, loads, payload_kind
from harness.model.dialect import Dialect

__all__ = ["Cyclic", "FastEngine", "no_gc", "plain_json"]

_LEAVES = frozenset({str, int, float, bool, type(None)})


class Cyclic(ValueError):
    """A decoded payload that contains itself: no JSON text reads as it."""


def plain_json(value: Any) -> bool:
    """Whether a decoded payload holds only what `json.loads` produces.

    jsonschema-rs takes tuples where the reference wants a list, and other mappings where
    it wants a dict: anything but the plain JSON types goes to the reference. So does a
    float that is not finite (json.loads reads 1e400 as inf, and NaN): jsonschema-rs reads
    it as null, and misses the bounds it breaks. Raises
    `Cyclic` for a payload that contains itself (the walk keeps the containers it is in).
    """
    path: set[int] = set()  # ids of the containers being walked (the way down)
    stack: list[tuple[Any, bool]] = [(value, False)]  # (node, leaving it)
    while stack:
        node, leaving = stack.pop()
        if leaving:
            path.discard(id(node))
            continue
        t = type(node)
        if t is dict or t is list:
            if id(node) in path:
                raise Cyclic("the payload contains itself")
            path.add(id(node))
            stack.append((node, True))
            if t is dict:
                if any(type(k) is not str for k in node):
                    return False
                children = node.values()
            else:
                children = node
            for child in children:
                c = type(child)
                if c is dict or c is list:
                    stack.append((child, False))
                elif c not in _LEAVES or (c is float and not isfinite(child)):
                    return False
        elif t not in _LEAVES or (t is float and not isfinite(node)):
            return False
    return True


class FastEngine:
    """An `Engine` with a fast path, exact by delegation to `reference` (default: jsonschema's).

    `native=False` leaves the C checker out, as on an install without a C compiler.
    """

    def __init__(
        self,
        profile: Profile | str = Profile.DEFAULT,
        *,
        reference: Engine | None = None,
        native: bool = True,
        dialect: Dialect | str = Dialect.CLASSIC,
    ) -> None:
        self.profile = Profile.parse(profile)
        self.dialect = Dialect.parse(dialect)
        self._native_wanted = native
        self._reference = reference  # None: jsonschema's, made when first asked (a valid run never does)
        self._locates = reference is None or isinstance(reference, ReferenceEngine)
        self._locator: Locator | None = None
        self._rust: dict[str, Any] = {}
        self._stash: dict[int, tuple[bytes | str, str, list[Violation]]] = {}
        self._collectors: dict[str, Any] = {}
        self._drifting = False  # the last large batch was mostly invalid
        self._drift: Drift | None = None

    @cached_property
    def native(self) -> NativeModel | None:
        """The native checker of raw lines (None: not built, or not wanted), made when first used."""
        return NativeModel(self.profile, self.dialect) if self._native_wanted and available() else None

    @cached_property
    def _exact_numbers(self) -> bool:
        # asked only of a run with lines the native checker is not sure of: a walk of every schema
        return _small_bounds(schemagen.generate(self.profile, self.dialect))

    @property
    def reference(self) -> Engine:
        """The engine that gives the verdict and violations of what the fast path does not accept."""
        if self._reference is None:
            self._reference = ReferenceEngine(self.profile, self.dialect)
        return self._reference

    @property
    def locator(self) -> Locator | None:
        """The reference's violations located by jsonschema-rs (None: a reference of another kind)."""
        if self._locator is None and self._locates:
            self._locator = Locator(self.profile, self._reference_engine, self.dialect)
        return self._locator

    def _reference_engine(self) -> ReferenceEngine:
        reference = self.reference
        assert isinstance(reference, ReferenceEngine)
        return reference

    def fallback(self, schema: str) -> Any:
        """jsonschema-rs' validator of one generated schema file, with the reference's formats."""
        found = self._rust.get(schema)
        if found is None:
            import jsonschema_rs  # here: only an install without the C checker needs it

            schemas = schemagen.generate(self.profile, self.dialect)
            registry = jsonschema_rs.Registry(
                [(schemas[n]["$id"], schemas[n]) for n in schemagen.reached(schemas, schema)]
            )
            found = self._rust[schema] = jsonschema_rs.Draft202012Validator(
                schemas[schema], validate_formats=True, formats=dict(FORMATS), registry=registry
            )
        return found

    def collector(self, schema: str) -> Any:
        """jsonschema-rs' validator of one schema file for collecting errors: formats as the
        pattern of their usual values (`Locator.collector`), so that it seldom calls back into Python."""
        found = self._collectors.get(schema)
        if found is None:
            import jsonschema_rs

            locator = self.locator
            assert locator is not None
            found = self._collectors[schema] = jsonschema_rs.Draft202012Validator(
                locator.collecting(schema),
                validate_formats=True,
                formats=dict(FORMATS),
                registry=locator.collector(schema),
            )
        return found

    def drift(self, schema: str) -> Drift | None:
        """Drifted lines located by the native checker and the last drift's signature
        (`_drift`); None without the native checker."""
        native, locator = self.native, self.locator
        if native is None or locator is None or schema not in native.roots:
            return None
        if self._drift is None:
            self._drift = Drift(locator.schemas, locator, native.masked, native.locate)
        return self._drift

    def accepts(self, schema: str, payload: Any) -> bool:
        """True only if the reference accepts `payload` too (False: ask the reference)."""
        if self.native is not None and schema in self.native.roots and self.native.accepts(schema, payload):
            return True
        try:
            if not plain_json(payload):
                return False
            return bool(self.fallback(schema).is_valid(payload))
        except Exception:  # Cyclic, a lone surrogate (not UTF-8), an integer beyond its range...: ask the reference
            return False

    def proves(self, schema: str, raw: bytes | str) -> bool:
        """Whether the fast path proves a raw line valid, without the reference (False: not
        proven, which is nearly always invalid). A drifted line (leaves that fail) is told by
        the native checker alone: no jsonschema-rs to load for it."""
        if self.native is None or schema not in self.native.roots:
            pass
        elif self.native.kinds(schema, [raw])[0]:
            return True
        elif (drift := self.drift(schema)) is not None and self._exact_numbers:
            drift.reference_allowed = False
            try:
                done = drift.settle(schema, [raw])[0] or drift.discover(schema, raw)
            except Exception:  # whatever it is: jsonschema-rs below
                done = None
            finally:
                drift.reference_allowed = True
            if done is not None:
                return not done[1]
        try:
            return self.accepts(schema, loads(raw))
        except Exception:  # not JSON, Cyclic, not UTF-8...: not proven
            return False

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        if self.native is not None and schema in self.native.roots and self.native.accepts(schema, payload):
            return []
        try:
            if plain_json(payload):
                if self.locator is None:
                    return [] if self.fallback(schema).is_valid(payload) else self.reference.violations(schema, payload)
                errors = list(self.collector(schema).iter_errors(payload))
                return self.locator.violations(schema, payload, errors) if errors else []
        except (Unsettled, Exception):  # Cyclic, not UTF-8, an integer beyond its range...: the reference
            pass
        return self.reference.violations(schema, payload)

    def line_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        """Per raw line the fast path accepts: "error" (an in-stream error payload, no
        `data`) or "event"; None where only the reference can tell.

        The native checker goes first; the lines it is not sure of are decoded and go to
        jsonschema-rs. What json.loads would refuse or read otherwise, orjson refuses, but
        for one thing: an integer beyond 64 bits becomes a float. Where no number in the
        schemas is bounded beyond 2**53, that float is on the same side of every bound as
        the integer, so the verdict is the same; else `validator.loads` reads the line.
        """
        # A drifted stream (most lines invalid, batch after batch): the native checker's no is
        # known in advance, so its pass is skipped until a batch is mostly valid again.
        drifting = self._drifting and len(raws) >= _DRIFT_BATCH and self._locates and self._exact_numbers
        if self.native is not None and schema in self.native.roots and not drifting:
            kinds = self.native.kinds(schema, raws)
            if None not in kinds:
                self._drifting = False
                return kinds
        else:
            kinds = [None] * len(raws)
        collect = self._locates and self._exact_numbers

        decode = orjson.loads if self._exact_numbers else loads
        # A line the native checker did not prove valid is nearly always invalid: jsonschema-rs
        # collects its errors at once, and its findings are kept for `line_violations` (this
        # batch's only: the payload itself is not kept).
        self._stash = {}
        drift = self.drift(schema) if collect else None
        todo = [i for i, kind in enumerate(kinds) if kind is None]
        # lines the last drift's signature settles, looked at ahead in chunks that grow while
        # it holds (one native call for many lines) and start small again when it changes
        settled: dict[int, tuple[str, list[Violation]] | None] = {}
        ahead, chunk, changes = 0, 8, drift.changes if drift is not None else 0
        for n, i in enumerate(todo):
            if drift is not None and drift.changes != changes:  # a new signature: settle ahead again
                ahead, chunk, changes = n, 8, drift.changes
            if drift is not None and n >= ahead and drift.signature(schema) is not None:
                lines = todo[n : n + chunk]
                settled = dict(zip(lines, drift.settle(schema, [raws[j] for j in lines]), strict=True))
                ahead, chunk = n + len(lines), min(2 * chunk, 1024)
            done = settled.pop(i, None)
            if done is None and drift is not None:  # a new drift, found by the native checker itself?
                try:
                    done = drift.discover(schema, raws[i])
                except Exception:  # whatever it is: the slower path below knows
                    done = None
            if done is not None:
                if done[1]:  # the violations only are kept: memory stays small
                    self._stash[id(raws[i])] = (raws[i], *done)
                else:
                    kinds[i] = done[0]
                continue
            try:
                value = decode(raws[i])
                if not collect:
                    if self.fallback(schema).is_valid(value):
                        kinds[i] = payload_kind(value)
                    continue
                errors = list(self.collector(schema).iter_errors(value))  # made at the first line that needs it
                if not errors:
                    kinds[i] = payload_kind(value)
                    continue
                if self.locator is None:
                    continue
                found = self.locator.violations(schema, value, errors, decoded=False)
                if found and drift is not None:
                    drift.learn(schema, [tuple(e.instance_path) for e in errors], found, raws[i])
                if found:
                    self._stash[id(raws[i])] = (raws[i], payload_kind(value), found)
                else:  # only unusual format values, which the reference accepts
                    kinds[i] = payload_kind(value)
            except Exception:  # not JSON to orjson, not UTF-8, Unsettled...: the reference decides
                pass
        if len(raws) >= _DRIFT_BATCH:
            self._drifting = 2 * kinds.count(None) > len(raws)
        return kinds

    @property
    def stash(self) -> dict[int, tuple[bytes | str, str, list[Violation]]]:
        """The last `line_kinds` batch's lines not proven valid, by `id`: (the line, its kind,
        its violations), for a caller that takes them itself (`line_violations` one by one)."""
        return self._stash

    def line_violations(self, schema: str, raw: bytes | str) -> tuple[str, list[Violation]]:
        """(kind, violations) of a raw line of the last `line_kinds` batch that was not proven
        valid; ValueError where it is not JSON (as `validator.loads` says)."""
        kept = self._stash.pop(id(raw), None)
        if kept is not None and kept[0] is raw:
            return kept[1], kept[2]
        payload = loads(raw)
        return payload_kind(payload), self.violations(schema, payload)

    def line_kind(self, schema: str, raw: bytes | str) -> str | None:
        """`line_kinds` of one line."""
        return self.line_kinds(schema, [raw])[0]


@contextmanager
def no_gc() -> Iterator[None]:
    # Checking a block decodes many payloads (and records) and keeps some alive a while:
    # that sets the cyclic GC off over and over, for objects that hold no cycles (reference
    # counting frees them). So no cyclic GC meanwhile (if it was on, it is on again after).
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


_DRIFT_BATCH = 64  # lines in a batch for its share of invalid lines to count

_EXACT = 2**53  # integers up to here are floats exactly


def _small_bounds(schema: Any) -> bool:
    """Whether every number the schemas compare with is an exact float well inside 2**63."""
    if isinstance(schema, list):
        return all(_small_bounds(v) for v in schema)
    if not isinstance(schema, dict):
        return True
    for key, value in schema.items():
        if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            ok = type(value) in (int, float) and abs(value) < _EXACT
        elif key in ("const", "enum", "multipleOf"):
            ok = key != "multipleOf" and not any(
                type(v) in (int, float) for v in (value if type(value) is list else [value])
            )
        else:
            ok = _small_bounds(value)
        if not ok:
            return False
    return True
