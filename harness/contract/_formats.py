"""The reference's `date-time` and `uri` rules on strings, shared by every engine (jsonschema's
checks without their `$` slip); jsonschema itself is imported only for an unusual value."""

from __future__ import annotations

import re
from functools import lru_cache

from harness.contract._patterns import DATE_TIME, URI_EXACT, URI_FAST

__all__ = ["FORMATS", "date_time", "uri"]

# The native checker's rules, a part of the reference's: what they match is settled at once.
_USUAL_DATE_TIME = re.compile(DATE_TIME).fullmatch
_USUAL_URI = re.compile(URI_FAST).fullmatch if URI_EXACT is not None else lambda _: None


def date_time(value: str) -> bool:
    """The reference's `date-time` on a string: jsonschema's check, without its `$` slip."""
    return bool(_USUAL_DATE_TIME(value)) or _unusual(value, "date-time")


def uri(value: str) -> bool:
    """The reference's `uri` on a string: jsonschema's check, without its `$` slip."""
    return bool(_USUAL_URI(value)) or _unusual(value, "uri")


@lru_cache(maxsize=1024)
def _unusual(value: str, name: str) -> bool:
    # A value that fails the contract is checked more than once (the fast engine's finding, then
    # the reference's message): jsonschema's slow check once.
    return not value.endswith("\n") and _stock_conforms(value, name)


def _stock_conforms(value: str, name: str) -> bool:
    from jsonschema import Draft202012Validator  # here: a run of valid events never needs it

    return bool(Draft202012Validator.FORMAT_CHECKER.conforms(value, name))


FORMATS = {"date-time": date_time, "uri": uri}
