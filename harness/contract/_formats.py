"""The reference's `date-time` and `uri` rules on strings, shared by every engine (jsonschema's
checks without their `$` slip); jsonschema itself is imported only for an unusual value."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from functools import lru_cache

from harness.contract._patterns import DATE_TIME, RFC3986_RULE, URI_FAST
from harness.model.formats import IRI_BIDI_FORMATTING, IRI_CHARS

__all__ = ["FORMATS", "USUAL", "date_time", "uri"]

# The native checker's rules, a part of the reference's: what they match is settled at once.
_USUAL_DATE_TIME = re.compile(DATE_TIME).fullmatch
_USUAL_URI = re.compile(URI_FAST).fullmatch if RFC3986_RULE else lambda _: None
#: per format, a regex (ASCII classes only: the same in every engine) whose whole-value
#: matches the reference accepts; None where there is none
#: (an ASCII IRI is an IRI exactly when it is a URI)
USUAL = {
    "date-time": DATE_TIME,
    "uri": URI_FAST if RFC3986_RULE else None,
    "iri": URI_FAST if RFC3986_RULE else None,
}


def date_time(value: str) -> bool:
    """The reference's `date-time` on a string: jsonschema's check, without its `$` slip."""
    if _USUAL_DATE_TIME(value):
        return True
    # rfc3339-validator's rule wants a year and "-" first: a drifted form (a v1.1
    # "Wed Oct 10 ...") is refused here, a million times over, without its regex
    if _YEAR_FIRST and not (value[:4].isdigit() and value[4:5] == "-"):  # isdigit: more than \d takes
        return False
    return _unusual(value, "date-time")


def uri(value: str) -> bool:
    """The reference's `uri` on a string: jsonschema's check, without its `$` slip."""
    return bool(_USUAL_URI(value)) or _unusual(value, "uri")


@lru_cache(maxsize=1024)
def _unusual(value: str, name: str) -> bool:
    # A value that fails the contract is checked more than once (the fast engine's finding, then
    # the reference's message): jsonschema's slow check once.
    return not value.endswith("\n") and _stock_conforms(value, name)


def _stock_conforms(value: str, name: str) -> bool:
    rule = _STOCK.get(name)
    if rule is None:
        from jsonschema import Draft202012Validator  # a format without a rule of its own here

        return bool(Draft202012Validator.FORMAT_CHECKER.conforms(value, name))
    return rule(value)


# jsonschema's date-time is rfc3339-validator's where it is installed: a year and "-" first
_YEAR_FIRST = importlib.util.find_spec("rfc3339_validator") is not None


def _stock_rules() -> dict[str, Callable[[str], bool]]:
    """jsonschema's own `date-time` and `uri` checks on strings, as its format module sets them
    up from what is installed, without importing jsonschema (a drifted run's findings need
    only these) and each library imported when first asked; `tests/test_located.py` holds
    them to jsonschema's checker."""
    rules: dict[str, Callable[[str], bool]] = {}
    if _YEAR_FIRST:

        def rfc3339(v: str) -> bool:
            from rfc3339_validator import validate_rfc3339  # type: ignore[import-untyped]

            return bool(validate_rfc3339(v.upper()))

        rules["date-time"] = rfc3339
    else:
        rules["date-time"] = lambda v: True  # jsonschema checks no date-time then
    if importlib.util.find_spec("rfc3987") is not None:
        return rules  # jsonschema's uri is rfc3987's then: asked of jsonschema itself
    if importlib.util.find_spec("rfc3986_validator") is not None:

        def rfc3986(v: str) -> bool:
            from rfc3986_validator import validate_rfc3986  # type: ignore[import-untyped]

            return bool(validate_rfc3986(v, rule="URI"))

        rules["uri"] = rfc3986
    else:
        rules["uri"] = lambda v: True
    return rules


_STOCK = _stock_rules()


def iri(value: str) -> bool:
    """RFC 3987 `iri`: non-ASCII characters allowed where they are IRI characters, each read
    as its UTF-8 percent-encoding, and the result a `uri` (so an ASCII value is an IRI exactly
    when it is a URI)."""
    if value.isascii():
        return uri(value)
    encoded = []
    for char in value:
        code = ord(char)
        if code < 0x80:
            encoded.append(char)
        elif code not in IRI_BIDI_FORMATTING and any(lo <= code <= hi for lo, hi in IRI_CHARS):
            encoded.append("".join(f"%{b:02X}" for b in char.encode("utf-8")))
        else:
            return False
    return uri("".join(encoded))


FORMATS = {"date-time": date_time, "uri": uri, "iri": iri}
