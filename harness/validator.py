"""Contract validation of stream payloads against the generated schemas.

`Contract` is what callers use: validate an event of an endpoint, a Problem body, or a raw
stream line. The work is done by an `Engine`; `ReferenceEngine` is jsonschema's 2020-12
validator with format checking, corrected where jsonschema strays from the JSON Schema
spec (see `ecma_pattern`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import jsonschema
from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from harness import schemagen
from harness.model import resolve_endpoint
from harness.schemagen import Profile

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
    """Validates one decoded payload against one generated schema file."""

    def violations(self, schema: str, payload: Any) -> list[Violation]: ...


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


SpecValidator = jsonschema.validators.extend(Draft202012Validator, {"pattern": _pattern})  # type: ignore[no-untyped-call]


def _shorten(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReferenceEngine:
    """jsonschema's Draft202012Validator with format checks and ECMA-262 `pattern`."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT) -> None:
        self.profile = Profile.parse(profile)
        self.schemas = schemagen.generate(self.profile)
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
            v = SpecValidator(
                self._bare[schema], registry=self._registry, format_checker=Draft202012Validator.FORMAT_CHECKER
            )
            self._validators[schema] = v
        return v

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        return [self._convert(schema, e) for e in self.validator(schema).iter_errors(payload)]

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


class Contract:
    """The X streams' contract: validate events, error payloads and raw lines."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, engine: Engine | None = None) -> None:
        self.profile = Profile.parse(profile)
        self.engine: Engine = engine if engine is not None else ReferenceEngine(self.profile)

    def check_event(self, payload: Any, endpoint: str) -> list[Violation]:
        """Violations of one decoded stream line of `endpoint` (name or path)."""
        return self.engine.violations(schemagen.event_file(resolve_endpoint(endpoint).name), payload)

    def check_problem(self, payload: Any) -> list[Violation]:
        """Violations of an HTTP error body (an RFC 7807 Problem)."""
        return self.engine.violations(PROBLEM_SCHEMA, payload)

    def check_line(self, raw: bytes | str, endpoint: str, *, problem: bool = False) -> list[Violation]:
        """Violations of one raw line; a line that is not JSON is itself a violation."""
        try:
            payload = json.loads(raw)
        except ValueError as exc:
            text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
            return [not_json(text, str(exc))]
        return self.check_problem(payload) if problem else self.check_event(payload, endpoint)

    def is_valid(self, payload: Any, endpoint: str) -> bool:
        return not self.check_event(payload, endpoint)


def not_json(text: str, reason: str) -> Violation:
    return Violation("", "json", "", _shorten(f"not JSON ({reason}): {text.strip()!r}"))
