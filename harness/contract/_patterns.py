"""Proof that a third-party regex can run without its anchors (`anchored_body`), and the
reference's `uri` rule it proves so (`uri_exact`, rfc3986-validator's).

The string rules themselves (`DATE_TIME`, `URI_FAST`) are declared once, in
`harness.model.formats`, and re-exported here for the engines.
"""

from __future__ import annotations

import importlib.util
import re

# The stdlib's regex parser: used to prove a pattern safe to run without its anchors.
import re._parser as sre_parse  # type: ignore[import-not-found]
from functools import cache
from typing import Any

from harness.model.formats import DATE_TIME, URI_FAST

__all__ = ["DATE_TIME", "RFC3986_RULE", "URI_FAST", "anchored_body", "ecma_pattern", "uri_exact"]


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


#: whether the reference's `uri` rule is rfc3986-validator's: jsonschema prefers rfc3987
#: when it is installed, and only rfc3986-validator's rule is mirrored here (by the native
#: checker's uri check, a part of it), so in that case no uri passes the fast path
RFC3986_RULE = importlib.util.find_spec("rfc3987") is None and importlib.util.find_spec("rfc3986_validator") is not None


@cache
def uri_exact() -> str | None:
    """rfc3986-validator's URI rule as a regex body that runs without its anchors (None:
    not the reference's rule, or not proven so on this CPython). Asked for, not at import:
    the proof parses a long regex."""
    if not RFC3986_RULE:
        return None
    import rfc3986_validator  # type: ignore[import-untyped]

    return anchored_body(rfc3986_validator.URI_RE_COMP.pattern, verbose=True)
