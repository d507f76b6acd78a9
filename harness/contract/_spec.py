"""jsonschema's 2020-12 validator as the reference reads the spec: `pattern`,
`patternProperties` and `additionalProperties` with ECMA-262 `$`, and the reference's formats.
Its own module, so that only a run that asks the reference imports jsonschema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema import Draft202012Validator, ValidationError

from harness.contract._formats import FORMATS
from harness.contract._patterns import ecma_pattern

__all__ = ["FORMAT_CHECKER", "SpecValidator"]


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
