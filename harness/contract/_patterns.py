"""The string rules the native checker runs, in one Python place.

`DATE_TIME` and `URI_FAST` are the rules `_speedups_strings.h` implements (its tests hold
them side by side): each accepts a subset of what the reference's `date-time` and `uri`
accept (`validator.FORMATS`), never more. `anchored_body` tells which `^...$` patterns
can be run without anchors (`_native.compile_pattern` builds on it).
"""

from __future__ import annotations

import importlib.util
import re

# The stdlib's regex parser: used to prove a pattern safe to run without its anchors.
import re._parser as sre_parse  # type: ignore[import-not-found]
from typing import Any

__all__ = ["DATE_TIME", "URI_EXACT", "URI_FAST", "anchored_body"]

_UNRESERVED = r"a-zA-Z0-9_.~!$&'()*+,;=\-"
_PCT = r"%[0-9A-Fa-f]{2}"


def _run(chars: str) -> str:
    # runs of `chars` separated by %XX: one way to read any string, so no backtracking blowup
    return f"[{chars}]*(?:{_PCT}[{chars}]*)*"


# Usual URIs (scheme://host[:port]/path?query#fragment, no userinfo, no IP literal): a
# subset of RFC 3986 `URI` that is cheap to match.
URI_FAST = (
    rf"[a-zA-Z][a-zA-Z0-9+.\-]*://[{_UNRESERVED}]*(?::[0-9]*)?"
    rf"(?:/{_run(_UNRESERVED + ':@/')})?(?:\?{_run(_UNRESERVED + ':@/?')})?(?:\#{_run(_UNRESERVED + ':@/?')})?"
)
_YEAR = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})"  # 0001-9999
_DAY = r"(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)-02-29"
# rfc3339_validator's rule on value.upper() (ASCII, year 0 refused, days per the calendar),
# without leap seconds: the reference's date-time, narrowed to what the checker runs.
DATE_TIME = (
    rf"(?:{_YEAR}-{_DAY}|{_LEAP})[Tt](?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
    r"(?:\.[0-9]+)?(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])"
)


def anchored_body(pattern: str, *, verbose: bool = False) -> str | None:
    """`X` of a pattern `^X$` (or `^X\\Z`) when `X` contains no anchor, lookaround or
    backreference and cannot match a newline (so a whole-value match of `X` is the
    pattern's verdict), else None."""
    try:
        items = list(sre_parse.parse(pattern, re.VERBOSE if verbose else 0))
    except re.error:
        return None
    if len(items) < 2 or items[0] != (sre_parse.AT, sre_parse.AT_BEGINNING):
        return None
    if items[-1] not in ((sre_parse.AT, sre_parse.AT_END), (sre_parse.AT, sre_parse.AT_END_STRING)):
        return None
    if not _newline_free(items[1:-1]):
        return None
    body = pattern.strip() if verbose else pattern
    for end in (r"\Z", "$"):
        if body.startswith("^") and body.endswith(end) and not body.endswith("\\" + end):
            inner = body[1 : -len(end)]
            return f"(?x:{inner}\n)" if verbose else inner  # a trailing comment must not eat ")"
    return None


def _newline_free(items: Any) -> bool:
    for op, arg in items:
        if op == sre_parse.LITERAL:
            ok = arg != 10
        elif op == sre_parse.IN:
            ok = all(
                (o == sre_parse.LITERAL and a != 10) or (o == sre_parse.RANGE and not a[0] <= 10 <= a[1])
                for o, a in arg
            )  # NEGATE, CATEGORY (\s, \D...): not provably newline-free
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT, sre_parse.POSSESSIVE_REPEAT):
            ok = _newline_free(arg[2])
        elif op == sre_parse.SUBPATTERN:
            ok = not arg[1] and not arg[2] and _newline_free(arg[3])  # no inline flags
        elif op == sre_parse.ATOMIC_GROUP:
            ok = _newline_free(arg)
        elif op == sre_parse.BRANCH:
            ok = all(_newline_free(b) for b in arg[1])
        else:  # ANY, AT, ASSERT, GROUPREF...
            ok = False
        if not ok:
            return False
    return True


def _uri_exact() -> str | None:
    # jsonschema prefers rfc3987 for `uri` when it is installed: only rfc3986_validator's
    # rule is mirrored here, so in that case no uri passes the fast path.
    if importlib.util.find_spec("rfc3987") is not None or importlib.util.find_spec("rfc3986_validator") is None:
        return None
    import rfc3986_validator  # type: ignore[import-untyped]

    return anchored_body(rfc3986_validator.URI_RE_COMP.pattern, verbose=True)


URI_EXACT = _uri_exact()
