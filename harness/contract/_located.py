"""Findings of an invalid payload, fast: jsonschema-rs says where, the reference says what.

jsonschema-rs (memory-safe, Rust) collects every failing keyword of a payload: its instance
path and its absolute keyword location, which is the reference's schema location once the
base URL is taken off. Each failing keyword is then asked of the reference alone, on its
own instance and its own schema node (jsonschema's function for that one keyword), so the
messages, and how many violations a keyword makes, are the reference's. A payload this
cannot settle (a keyword it does not know, a location it cannot find, anything raised)
goes to the reference whole. `tests/test_located.py` checks it against the reference on
generated and mutated events: pointers, keywords and schema locations all agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from harness.contract import schemagen
from harness.contract._formats import USUAL
from harness.contract.schemagen import Profile
from harness.contract.validator import FORMATS, ReferenceEngine, Violation, huge_float, json_pointer, shorten
from harness.model.dialect import Dialect

__all__ = ["Locator", "Unsettled", "sort_key"]

# Keywords checked on their own node; applicators (properties, items, $ref, allOf, if...)
# never fail themselves in jsonschema-rs' report: their subschemas' keywords do.
_LEAF = frozenset(
    {
        "type", "required", "enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
        "exclusiveMaximum", "multipleOf", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems",
        "minProperties", "maxProperties", "additionalProperties", "anyOf", "oneOf", "not", "items",
    }
)  # fmt: skip


class Unsettled(Exception):
    """A report the locator cannot map onto the reference's: the reference decides."""


def sort_key(v: Violation) -> tuple[str, str, str, str]:
    """The order violations of one payload are given in, whichever engine found them."""
    return (v.pointer, v.schema_location, v.keyword, v.message)


class Locator:
    """The reference's violations of a payload, located by jsonschema-rs."""

    def __init__(self, profile: Profile, reference: Callable[[], ReferenceEngine],
                 dialect: Dialect = Dialect.CLASSIC) -> None:  # fmt: skip
        self.schemas = schemagen.generate(profile, dialect)
        self._reference = reference  # made when a keyword other than a format fails
        self._base = _base_url(self.schemas)
        # location -> (the reference's location, keyword, node, validator or None)
        self._nodes: dict[str, tuple[str, str, Any, Any]] = {}
        self._pointers: dict[tuple[Any, ...], str] = {}
        self._collecting: dict[str, Any] = {}
        self._usual: set[str] = set()  # absolute locations of the usual patterns put in

    def collecting(self, name: str) -> Any:
        """Schema file `name` where each `date-time` and `uri` format is the pattern of its
        usual values (which the reference accepts): jsonschema-rs checks them without calling
        back into Python, and the locator asks the reference's rule only of a value outside
        them (no finding if the rule accepts it)."""
        found = self._collecting.get(name)
        if found is None:
            found = self._collecting[name] = _collecting(self.schemas[name], self._usual)
        return found

    def collector(self, root: str) -> Any:
        """A jsonschema-rs registry of the `collecting` schemas that schema file `root` reaches
        (made when a run first meets an invalid line: the fewer, the sooner)."""
        import jsonschema_rs

        return jsonschema_rs.Registry(
            [(self.schemas[n]["$id"], self.collecting(n)) for n in schemagen.reached(self.schemas, root)]
        )

    def violations(self, schema: str, payload: Any, errors: list[Any], *, decoded: bool = True) -> list[Violation]:
        """The violations of `payload`, from jsonschema-rs' `errors` over it (not empty).

        `decoded=False`: `payload` is orjson's reading of a line, where an integer beyond 64
        bits is a float; a failing keyword over such a float is `Unsettled` (its message
        would show the float), the rest is what json.loads' reading gives."""
        out: list[Violation] = []
        seen: set[tuple[tuple[Any, ...], str]] = set()
        dismissed = False
        for error in errors:
            path = tuple(error.instance_path)
            location = error.absolute_keyword_location
            if location is None or (path, location) in seen:
                continue
            seen.add((path, location))
            found = self._keyword(schema, payload, path, location, decoded)
            dismissed = dismissed or found is None
            out += found or ()
        if not out and not dismissed:
            raise Unsettled("no violation found where jsonschema-rs reported one")
        out.sort(key=sort_key)
        return out

    def _keyword(
        self, schema: str, payload: Any, path: tuple[Any, ...], location: str, decoded: bool
    ) -> list[Violation] | None:
        """The reference's violations of one failing keyword; None: an unusual format value
        that the reference's rule accepts."""
        found = self._nodes.get(location)
        if found is None:
            found = self._nodes[location] = self._node(schema, location)
        where, keyword, node, validator = found
        instance = payload
        for part in path:
            instance = instance[part]
        if not decoded and huge_float(instance):
            raise Unsettled("a float that may have been an integer beyond 64 bits")
        pointer = self._pointers.get(path)
        if pointer is None:
            if len(self._pointers) >= 4096:  # bounded: paths with indices are many
                self._pointers.clear()
            pointer = self._pointers[path] = json_pointer(path)
        if keyword == "format" and node[keyword] in FORMATS and type(instance) is str:
            # the reference's own rule, and its wording, without a validator's round trip
            if FORMATS[node[keyword]](instance):
                if location in self._usual:
                    return None  # outside the usual pattern, accepted by the rule: no finding
                raise Unsettled(location)
            return [Violation(pointer, keyword, where, shorten(f"{instance!r} is not a {node[keyword]!r}"))]
        if validator is None:
            raise Unsettled(location)
        out = []
        for error in validator.VALIDATORS[keyword](validator, node[keyword], instance, node):
            if error.path or error.schema_path:  # not this keyword's own: a subschema's
                raise Unsettled(location)
            message = error.message
            if error.context:
                message = "none of the alternatives hold: " + "; ".join(sorted({c.message for c in error.context}))
            out.append(Violation(pointer, keyword, where, shorten(message)))
        return out

    def absolute(self, where: str) -> str:
        """The absolute location of a schema location (`File.json#/path/to/keyword`)."""
        return self._base + where

    def node(self, location: str) -> tuple[str, str, Any, Any]:
        """(the reference's location, keyword, its schema node, the reference's validator of
        that node or None for a format the reference's own rule checks) of an absolute
        keyword location; `Unsettled` where it is not a leaf keyword's."""
        found = self._nodes.get(location)
        if found is None:
            found = self._nodes[location] = self._node("", location)
        return found

    def _node(self, schema: str, location: str) -> tuple[str, str, Any, Any]:
        if not location.startswith(self._base):
            raise Unsettled(location)
        if location in self._usual:  # a format's usual pattern: the format is the keyword
            location = location.removesuffix("/pattern") + "/format"
        file, _, fragment = location[len(self._base) :].partition("#")
        parts = [p.replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:]]
        if not parts:
            raise Unsettled(location)
        node: Any = self.schemas.get(file)
        if node is None:
            raise Unsettled(location)
        for part in parts[:-1]:
            if isinstance(node, list):
                node = node[int(part)]
            elif isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                raise Unsettled(location)
        keyword = parts[-1]
        if keyword not in _LEAF or not isinstance(node, Mapping) or keyword not in node:
            raise Unsettled(location)
        where = location[len(self._base) :]
        if keyword == "format" and node[keyword] in FORMATS:
            return where, keyword, node, None  # the reference's rule, asked directly
        # without `$schema`, which would swap the reference's keywords for jsonschema's stock ones
        bare = {k: v for k, v in node.items() if k != "$schema"}
        validator = self._reference().validator(file).evolve(schema=bare)
        return where, keyword, node, validator


def _collecting(schema: Any, locations: set[str]) -> Any:
    """`schema` with each `date-time` and `uri` format that stands alone (beside no `pattern`)
    as the pattern of the values the reference surely accepts; the absolute locations of those
    patterns are added to `locations`."""
    usual = {name: rule for name, rule in USUAL.items() if rule is not None}

    def swap(node: Any, here: str) -> Any:
        if isinstance(node, list):
            return [swap(v, f"{here}/{i}") for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out = {k: swap(v, f"{here}/{k.replace('~', '~0').replace('/', '~1')}") for k, v in node.items()}
        if node.get("format") in usual and "pattern" not in node:
            out["pattern"] = f"^(?:{usual[node['format']]})$"
            del out["format"]
            locations.add(f"{here}/pattern")
        return out

    return swap(schema, f"{schema['$id']}#")


def _base_url(schemas: Mapping[str, Any]) -> str:
    some = next(iter(schemas.values()))
    return str(some["$id"]).rsplit("/", 1)[0] + "/"
