"""Drifted lines located without jsonschema-rs: the last drift's places, checked again.

When the contract drifts, line after line fails the same way: the same few leaf values
(a `created_at` in another form) break their keywords, and the rest of each line is valid.
Once a line's findings are known (from jsonschema-rs and the reference), their instance
paths are a signature. The next line goes to the native checker with the values at those
paths masked (`NativeModel.masked`): if it is sure the rest of the line is valid whatever
they are, the line's violations are exactly those of its own values at the signature's
paths, asked of each leaf's keywords (the reference's format rules, or its validator of
that one keyword). Only those few values are decoded, never the whole line.

That holds because a signature is taken only where nothing else in the schema looks at
those values: every schema node on the way down is reached through `properties`, `items`
and plain `$ref`s, with no applicator but an `anyOf`/`oneOf` of `required` lists (which
look at which members are present, not at their values), and the leaf holds only keywords
of its own value (type, format, pattern, lengths, bounds, enum, const). A signature is kept
only if it gives the line it was learned from the findings the slow path gave. Anything
else, or any doubt (a keyword the reference reports otherwise, an unusual value), gives
None, and the caller takes the slower, exact path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import orjson

from harness.contract._located import Locator, Unsettled, sort_key
from harness.contract.validator import FORMATS, Violation, huge_float, json_pointer, shorten

__all__ = ["Drift"]

_ABOUT = frozenset({"$schema", "$id", "title", "description", "examples", "$comment", "deprecated"})
# keywords of an object or array on the way down that do not look at their members' values
_WAY = _ABOUT | {"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                 "minProperties", "maxProperties", "anyOf", "oneOf"}  # fmt: skip
_LEAF = frozenset({"type", "format", "pattern", "minLength", "maxLength", "enum", "const", "minimum", "maximum",
                   "exclusiveMinimum", "exclusiveMaximum", "multipleOf"})  # fmt: skip

Path = tuple[str | int, ...]
_TYPES: dict[str, Any] = {"string": str, "boolean": bool, "integer": int, "number": (int, float), "null": type(None)}


def _plainly(value: Any, kind: str) -> bool:
    """Whether `value` surely is of JSON type `kind` (False: ask the reference)."""
    if type(value) is bool:
        return kind == "boolean"
    return isinstance(value, _TYPES[kind])


# (schema location of the leaf without its keyword, its keywords, pointer, its type or "")
_Leaf = tuple[str, tuple[str, ...], str, str]
#: a leaf keyword's check of a value: adds its violations, raises Unsettled where it cannot tell
Check = Callable[[Any, list[Violation]], None]
#: where the native checker refuses a value first (`NativeModel.locate`)
Locate = Callable[[str, bytes | str, tuple[Path, ...]], Path | None]
#: the native checker of raw lines with values masked (`NativeModel.masked`)
Masked = Callable[[str, Sequence[bytes | str], tuple[Path, ...]], list[tuple[Any, ...] | None]]


def _presence_only(branches: Any) -> bool:
    return isinstance(branches, list) and all(
        isinstance(b, dict) and set(b) <= {"required", "title", "description"} for b in branches
    )


class Drift:
    """The signature of the last drifted line, and the findings of lines that share it."""

    def __init__(self, schemas: Mapping[str, Any], locator: Locator, masked: Masked, locate: Locate) -> None:
        self._schemas = schemas
        self._locator = locator
        self._masked = masked  # the native checker on raw lines, the signature's values masked
        self._locate = locate  # ...and where it refuses a value first
        #: False: a keyword only the reference's validator checks is left unsettled (a verdict
        #: wanted quickly, as the dialect hint's, is not worth loading jsonschema for)
        self.reference_allowed = True
        #: how many times a signature has changed: lines settled ahead with the old one are stale
        self.changes = 0
        self._leaves: dict[tuple[str, Path], _Leaf | None] = {}
        self._plans: dict[tuple[str, str], tuple[Check, ...]] = {}
        self._signature: dict[str, tuple[Path, ...]] = {}

    def signature(self, schema: str) -> tuple[Path, ...] | None:
        """The paths of `schema`'s last drift (None: none learned)."""
        return self._signature.get(schema)

    def settle(self, schema: str, raws: Sequence[bytes | str]) -> list[tuple[str, list[Violation]] | None]:
        """Per raw line, (kind, the reference's violations) where the signature settles it
        without decoding the line: the native checker proves the rest of the line valid with
        the signature's values masked, and only those values are decoded and checked; None
        for a line it does not settle."""
        signature = self._signature.get(schema)
        leaves = [self._leaf(schema, path) for path in signature] if signature else []
        if not signature or any(leaf is None for leaf in leaves):
            return [None] * len(raws)
        try:
            plans = [self._checks(leaf) for leaf in leaves]  # type: ignore[arg-type]
        except (Unsettled, LookupError, TypeError, ValueError):
            return [None] * len(raws)
        try:
            masked = self._masked(schema, raws, signature)
        except (ValueError, OverflowError):  # paths the native checker refuses (one inside another): none settled
            return [None] * len(raws)
        loads = orjson.loads
        out: list[tuple[str, list[Violation]] | None] = []
        for found in masked:
            if found is None:
                out.append(None)
                continue
            violations: list[Violation] = []
            try:
                for checks, text in zip(plans, found[1:], strict=True):
                    value = loads(text)
                    if type(value) is float and huge_float(value):
                        raise Unsettled("a float that may have been an integer beyond 64 bits")
                    for check in checks:
                        check(value, violations)
            except (Unsettled, LookupError, TypeError, ValueError):
                out.append(None)
                continue
            if len(violations) > 1:
                violations.sort(key=sort_key)
            out.append((found[0], violations))
        return out

    def discover(self, schema: str, raw: bytes | str) -> tuple[str, list[Violation]] | None:
        """(kind, violations) of a line the signature does not settle, where its failing
        values are leaves the native checker finds itself (each place masked in turn, until
        the rest passes): their paths become the signature. None where it cannot (a value
        that fails for what it lacks, not what it is; more than 8 places...): jsonschema-rs
        and the reference then say where and what."""
        paths: list[Path] = []
        while (place := self._locate(schema, raw, tuple(paths))) is not None:
            # a place on the way to, or below, one already masked: the failure is not a leaf's
            if not place or len(paths) == 8 or any(p[: len(place)] == place or place[: len(p)] == p for p in paths):
                return None
            paths.append(place)
        if not paths:
            return None
        return self._adopt(schema, tuple(paths), raw, None)

    def learn(self, schema: str, paths: list[Path], found: list[Violation], raw: bytes | str) -> None:
        """Keep `paths` (the failing instance paths of the raw line `raw`, whose findings are
        `found`) as `schema`'s signature, if it settles that line with the same findings."""
        signature = tuple(dict.fromkeys(paths))
        if signature and len(signature) <= 8:
            self._adopt(schema, signature, raw, found)

    def _adopt(self, schema: str, signature: tuple[Path, ...], raw: bytes | str,
               expected: list[Violation] | None) -> tuple[str, list[Violation]] | None:  # fmt: skip
        """`signature` becomes `schema`'s if it settles `raw` (with the `expected` findings, if
        given); else the one before stays. What it settled `raw` to, or None."""
        before = self._signature.get(schema)
        self._signature[schema] = signature
        [settled] = self.settle(schema, [raw])
        if settled is None or (expected is not None and settled[1] != expected):
            if before is None:
                del self._signature[schema]
            else:
                self._signature[schema] = before
            return None
        if signature != before:
            self.changes += 1
        return settled

    def _checks(self, leaf: _Leaf) -> tuple[Check, ...]:
        """The leaf's keywords as checks of a value, each adding the reference's violations
        (made once per leaf: a drift asks the same leaf of every line)."""
        key = (leaf[0], leaf[2])
        found = self._plans.get(key)
        if found is None:
            if len(self._plans) >= 1024:
                self._plans.clear()
            found = self._plans[key] = tuple(self._check(leaf, keyword) for keyword in leaf[1])
        return found

    def _check(self, leaf: _Leaf, keyword: str) -> Check:
        where, _, pointer, kind = leaf
        location = self._locator.absolute(f"{where}/{keyword}")
        if keyword == "format":  # the reference's own rule where it has one: no validator to make
            node = self._node(where)
            rule = FORMATS.get(node[keyword]) if type(node[keyword]) is str else None
            if rule is not None:
                name, at = node[keyword], f"{where}/format"

                def format_check(value: Any, out: list[Violation]) -> None:
                    if type(value) is not str:
                        raise Unsettled(location)  # the reference's checker of other types: not asked here
                    if not rule(value):
                        out.append(Violation(pointer, "format", at, shorten(f"{value!r} is not a {name!r}")))

                return format_check
        plain = _TYPES.get(kind) is not None if keyword == "type" else False
        at = f"{where}/{keyword}"
        asked: list[tuple[str, str, Any, Any]] = []  # the reference's validator, made when first needed

        def reference_check(value: Any, out: list[Violation]) -> None:
            if plain and _plainly(value, kind):
                return  # no finding, and no need of the reference's validator
            if not asked:
                if not self.reference_allowed:
                    raise Unsettled(location)
                asked.append(self._locator.node(location))
            _, _, node, validator = asked[0]
            if validator is None:
                raise Unsettled(location)
            for error in validator.VALIDATORS[keyword](validator, node[keyword], value, node):
                if error.path or error.schema_path or error.context:
                    raise Unsettled(location)
                out.append(Violation(pointer, keyword, at, shorten(error.message)))

        return reference_check

    def _node(self, where: str) -> Any:
        """The schema node at `where` (`File.json#/path`)."""
        file, _, fragment = where.partition("#")
        node: Any = self._schemas[file]
        for part in fragment.split("/")[1:]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _leaf(self, schema: str, path: Path) -> _Leaf | None:
        key = (schema, path)
        if key not in self._leaves:
            if len(self._leaves) >= 1024:
                self._leaves.clear()
            try:
                self._leaves[key] = self._find_leaf(schema, path)
            except (Unsettled, LookupError, TypeError, ValueError):
                self._leaves[key] = None
        return self._leaves[key]

    def _find_leaf(self, schema: str, path: Path) -> _Leaf | None:
        file, parts, node = self._follow(schema, [], self._schemas[schema])
        for step in path:
            if not set(node) <= _WAY:
                return None
            if any(k in node and not _presence_only(node[k]) for k in ("anyOf", "oneOf")):
                return None
            if type(step) is str:
                props = node.get("properties")
                if not isinstance(props, dict) or step not in props:
                    return None
                parts, node = [*parts, "properties", step], props[step]
            else:
                if not isinstance(node.get("items"), dict):
                    return None
                parts, node = [*parts, "items"], node["items"]
            file, parts, node = self._follow(file, parts, node)
        keywords = tuple(sorted(set(node) & _LEAF))
        if not keywords or not set(node) <= _LEAF | _ABOUT:
            return None
        where = file + "#" + json_pointer(parts)
        pointer = json_pointer(path)
        kind = node.get("type")
        return where, keywords, pointer, kind if isinstance(kind, str) and kind in _TYPES else ""

    def _follow(self, file: str, parts: list[str], node: Any) -> tuple[str, list[str], Any]:
        """Through plain `$ref`s (to a whole file, beside nothing but notes) to the node that holds keywords."""
        for _ in range(64):
            if not isinstance(node, dict):
                raise Unsettled(file)
            ref = node.get("$ref")
            if ref is None:
                return file, parts, node
            if not isinstance(ref, str) or "#" in ref or "/" in ref or ref not in self._schemas:
                raise Unsettled(ref)
            if not set(node) <= _ABOUT | {"$ref"}:
                raise Unsettled(file)
            file, parts, node = ref, [], self._schemas[ref]
        raise Unsettled(file)
