"""Contract validation of stream payloads against the generated schemas.

The work is done by an `Engine`; `ReferenceEngine` is jsonschema's 2020-12
validator with format checking, corrected where jsonschema strays from the JSON Schema
spec: `$` in `pattern` and `patternProperties` (see `ecma_pattern`), and `date-time` and
`uri` without a trailing newline (`FORMATS`, which every engine uses). The default engine,
`FastEngine` (`harness.contract._fast`), gives the reference's verdicts much faster: it accepts what
it can prove valid and asks the reference about the rest. `Contract` (`harness.contract.checker`)
puts an engine to work.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from harness.contract import schemagen
from harness.contract._formats import FORMATS, date_time, iri, uri
from harness.contract._patterns import ecma_pattern
from harness.contract.schemagen import Profile
from harness.model.dialect import Dialect

if TYPE_CHECKING:
    from jsonschema import ValidationError

__all__ = [
    "FORMATS", "PROBLEM_SCHEMA", "Engine", "ReferenceEngine", "Violation", "date_time", "ecma_pattern",
    "huge_float", "iri", "json_pointer", "loads", "not_json", "payload_kind", "shorten", "uri",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    # jsonschema's validator, imported only when asked for
    if name in ("SpecValidator", "FORMAT_CHECKER"):
        from harness.contract import _spec

        return getattr(_spec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


PROBLEM_SCHEMA = schemagen.definition_file("Problem")


@dataclass(frozen=True)
class Violation:
    """One way a payload breaks the contract.

    `pointer` is the JSON pointer of the failing instance (`""` for the whole payload),
    `schema_location` the failing keyword as `File.json#/path/to/keyword`.
    """

    pointer: str
    keyword: str
    schema_location: str
    message: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message} [{self.keyword} at {self.schema_location}]"

    def __reduce__(self) -> tuple[type[Violation], tuple[str, str, str, str]]:
        # by its fields: a drift sends a million of these from `-j` workers, a third faster so
        return (Violation, (self.pointer, self.keyword, self.schema_location, self.message))


class Engine(Protocol):
    """Validates payloads against one generated schema file."""

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        """Every violation of one decoded payload."""
        ...

    def line_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        """For each raw line: its kind ("event" or "error") where the engine proves it valid,
        else None (not proven: the line is decoded and its `violations` asked for)."""
        ...


def json_pointer(parts: Iterator[Any] | Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReferenceEngine:
    """jsonschema's Draft202012Validator with format checks and ECMA-262 `pattern`."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, dialect: Dialect | str = Dialect.CLASSIC) -> None:
        self.profile = Profile.parse(profile)
        self.dialect = Dialect.parse(dialect)
        self.schemas = schemagen.generate(self.profile, self.dialect)
        from referencing import Registry, Resource  # here: only a run that asks the reference needs them
        from referencing.jsonschema import DRAFT202012

        if "unevaluatedProperties" in json.dumps(self.schemas):
            # jsonschema's reads patternProperties with Python's `$`, and is not corrected here
            raise ValueError("the generated schemas use unevaluatedProperties: correct its `$` first")
        # Without `$schema`: jsonschema picks the class for a `$ref` target from its
        # `$schema`, which would silently swap SpecValidator back for the stock one.
        self._bare = {name: {k: v for k, v in s.items() if k != "$schema"} for name, s in self.schemas.items()}
        resources = [
            (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012)) for s in self._bare.values()
        ]
        self._registry: Any = Registry().with_resources(resources)
        self._validators: dict[str, Any] = {}

    def validator(self, schema: str) -> Any:
        v = self._validators.get(schema)
        if v is None:
            from harness.contract._spec import FORMAT_CHECKER, SpecValidator

            v = SpecValidator(self._bare[schema], registry=self._registry, format_checker=FORMAT_CHECKER)
            self._validators[schema] = v
        return v

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        found = [self._convert(schema, e) for e in self.validator(schema).iter_errors(payload)]
        found.sort(key=lambda v: (v.pointer, v.schema_location, v.keyword, v.message))  # as every engine orders them
        return found

    def line_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        return [None] * len(raws)  # proves nothing from raw bytes: every line is decoded and checked

    def _convert(self, root: str, error: ValidationError) -> Violation:
        message = error.message
        if error.context:
            message = "none of the alternatives hold: " + "; ".join(sorted({c.message for c in error.context}))
        return Violation(
            pointer=json_pointer(error.absolute_path),
            keyword=str(error.validator),
            schema_location=self.locate(root, list(error.absolute_schema_path)),
            message=shorten(message),
        )

    def locate(self, root: str, path: list[Any]) -> str:
        """`File.json#/pointer` of a keyword, following `$ref`s from `root`.

        jsonschema leaves `$ref` hops out of `absolute_schema_path`, so a step that the
        current node lacks but its `$ref` target has is taken in the target.
        """
        current, node = root, self.schemas[root]
        here: list[Any] = []
        for part in path:
            while isinstance(node, Mapping) and part not in node and "$ref" in node:
                current = str(node["$ref"])
                node, here = self.schemas[current], []
            node = node[part]
            here.append(part)
        return f"{current}#{json_pointer(here)}"


def loads(raw: bytes | str) -> Any:
    """`json.loads`, faster: orjson, and json itself where orjson reads differently.

    orjson refuses what json reads its own way (NaN, lone surrogates, a BOM, UTF-16...), so
    those keep json's reading and json's error message; and it turns an integer beyond 64
    bits into a float, so a float that large sends the line to json too (which refuses an
    integer of more than 4,300 digits). Nesting deeper than json can read is a ValueError.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _json_loads(raw)
    try:
        huge = huge_float(value)
    except RecursionError:  # nested about as deep as orjson reads: json.loads says what it makes of it
        huge = True
    return _json_loads(raw) if huge else value


def _json_loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:  # 10^5 "[": json.loads gives up where Python's recursion does
        raise ValueError("nested too deep") from None


_HUGE = float(2**63)  # an orjson float this large may have been an integer literal


def huge_float(value: Any) -> bool:
    t = type(value)
    if t is float:
        return bool(value >= _HUGE or value <= -_HUGE)
    if t is dict:
        return any(huge_float(v) for v in value.values())
    if t is list:
        return any(huge_float(v) for v in value)
    return False


def payload_kind(payload: Any) -> str:
    """ "error" for an in-stream error payload (`errors` and no `data`), else "event"."""
    return "error" if isinstance(payload, dict) and "data" not in payload and "errors" in payload else "event"


def not_json(text: str, reason: str) -> Violation:
    return Violation("", "json", "", shorten(f"not JSON ({reason}): {text.strip()!r}"))
