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
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import jsonschema
import orjson
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness.contract import schemagen
from harness.contract._patterns import DATE_TIME, URI_EXACT, URI_FAST
from harness.contract.schemagen import Profile
from harness.model.dialect import Dialect

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


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    """Compile a schema `pattern` with ECMA-262 semantics for `$`.

    JSON Schema patterns are ECMA-262 regexes, where `$` (no multiline flag) matches only
    at the very end. Python's `$` also matches before a final newline, so jsonschema lets
    "123\\n" through `^[0-9]{1,19}$`; here `$` outside a class becomes `\\Z`.
    """
    out: list[str] = []
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
        i += 1
    return re.compile("".join(out))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if ecma_pattern(pattern).search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    # jsonschema's own reads patternProperties with Python's `$`: the same keyword, with ours
    if not validator.is_type(instance, "object"):
        return
    declared = schema.get("properties", {})
    patterns = [ecma_pattern(p) for p in schema.get("patternProperties", {})]
    extras = [k for k in instance if k not in declared and not any(p.search(k) for p in patterns)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif not extra and extras:
        listed = ", ".join(repr(k) for k in sorted(extras))
        if patterns:
            regexes = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(
                f"{listed} {'does' if len(extras) == 1 else 'do'} not match any of the regexes: {regexes}"
            )
        else:
            yield ValidationError(
                f"Additional properties are not allowed ({listed} {'was' if len(extras) == 1 else 'were'} unexpected)"
            )


#: `date-time` and `uri` as the spec reads them: the stock checks' regexes end in `$`, so
#: they accept a value with a trailing newline, which RFC 3339 and RFC 3986 values never have.
FORMAT_CHECKER = jsonschema.FormatChecker(formats=())
FORMAT_CHECKER.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)


# The native checker's rules, a part of the reference's: what they match is settled at once.
_USUAL_DATE_TIME = re.compile(DATE_TIME).fullmatch
_USUAL_URI = re.compile(URI_FAST).fullmatch if URI_EXACT is not None else lambda _: None


def date_time(value: str) -> bool:
    """The reference's `date-time` on a string: jsonschema's check, without its `$` slip."""
    if _USUAL_DATE_TIME(value):
        return True
    return not value.endswith("\n") and Draft202012Validator.FORMAT_CHECKER.conforms(value, "date-time")


def uri(value: str) -> bool:
    """The reference's `uri` on a string: jsonschema's check, without its `$` slip."""
    if _USUAL_URI(value):
        return True
    return not value.endswith("\n") and Draft202012Validator.FORMAT_CHECKER.conforms(value, "uri")


FORMATS = {"date-time": date_time, "uri": uri}
for _name, _rule in FORMATS.items():
    FORMAT_CHECKER.checks(_name)(lambda v, rule=_rule: not isinstance(v, str) or rule(v))

SpecValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReferenceEngine:
    """jsonschema's Draft202012Validator with format checks and ECMA-262 `pattern`."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, dialect: Dialect | str = Dialect.CLASSIC) -> None:
        self.profile = Profile.parse(profile)
        self.dialect = Dialect.parse(dialect)
        self.schemas = schemagen.generate(self.profile, self.dialect)
        if "unevaluatedProperties" in json.dumps(self.schemas):
            # jsonschema's reads patternProperties with Python's `$`, and is not corrected here
            raise ValueError("the generated schemas use unevaluatedProperties: correct its `$` first")
        # Without `$schema`: jsonschema picks the class for a `$ref` target from its
        # `$schema`, which would silently swap SpecValidator back for the stock one.
        self._bare = {name: {k: v for k, v in s.items() if k != "$schema"} for name, s in self.schemas.items()}
        resources = [
            (s["$id"], Resource.from_contents(s, default_specification=DRAFT202012)) for s in self._bare.values()
        ]
        self._registry: Registry[Any] = Registry().with_resources(resources)
        self._validators: dict[str, Any] = {}

    def validator(self, schema: str) -> Any:
        v = self._validators.get(schema)
        if v is None:
            v = SpecValidator(self._bare[schema], registry=self._registry, format_checker=FORMAT_CHECKER)
            self._validators[schema] = v
        return v

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        return [self._convert(schema, e) for e in self.validator(schema).iter_errors(payload)]

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
            message=_shorten(message),
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
        huge = _huge_float(value)
    except RecursionError:  # nested about as deep as orjson reads: json.loads says what it makes of it
        huge = True
    return _json_loads(raw) if huge else value


def _json_loads(raw: bytes | str) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:  # 10^5 "[": json.loads gives up where Python's recursion does
        raise ValueError("nested too deep") from None


_HUGE = float(2**63)  # an orjson float this large may have been an integer literal


def _huge_float(value: Any) -> bool:
    t = type(value)
    if t is float:
        return bool(value >= _HUGE or value <= -_HUGE)
    if t is dict:
        return any(_huge_float(v) for v in value.values())
    if t is list:
        return any(_huge_float(v) for v in value)
    return False


def payload_kind(payload: Any) -> str:
    """ "error" for an in-stream error payload (`errors` and no `data`), else "event"."""
    return "error" if isinstance(payload, dict) and "data" not in payload and "errors" in payload else "event"


def not_json(text: str, reason: str) -> Violation:
    return Violation("", "json", "", _shorten(f"not JSON ({reason}): {text.strip()!r}"))
