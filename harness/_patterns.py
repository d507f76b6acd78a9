"""String checks for the typed decoder: patterns and formats, checked a batch at a time.

msgspec checks a `pattern` by calling Python's `re` once per string (~0.5 µs each), which
would cost more than decoding the whole event. Instead the typed decoder collects the
strings of each class (an id pattern, `date-time`, `uri`...) and a `StringCheck` checks a
whole batch of them at once: str methods on the joined values where the class allows it,
else one regex. Every check accepts a subset of what the reference accepts for the same
value, never more; values it refuses go to the reference, which has the last word.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import re

# The stdlib's regex parser: used to prove a pattern safe to check in bulk.
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Callable
from typing import Annotated, Any

import msgspec

__all__ = ["URI_EXACT", "URI_FAST", "StringCheck", "check_for_format", "check_for_pattern"]

_DIGITS = frozenset(range(48, 58))
_UPPER = frozenset(range(65, 91))
_ALNUM = _DIGITS | _UPPER | frozenset(range(97, 123))
_SIMPLE = {_DIGITS: "digits", _ALNUM | {95}: "word", _ALNUM: "alnum", _UPPER: "upper"}

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
# http(s)://, then only unreserved, sub-delims, "/" and "?": always an RFC 3986 URI (the
# authority a reg-name, then path and query), and checkable with str.translate.
_URI_PLAIN = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=/?"
_DIGIT_BYTES = b"0123456789"
_WORD_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
# jsonschema checks date-time as rfc3339_validator.validate_rfc3339(value.upper()). msgspec's
# parser checks the same fields and calendar, and is looser only in taking a space for the
# "T" and offsets without a colon: `StringCheck` refuses both before asking it.
_DATETIMES = list[Annotated[dt.datetime, msgspec.Meta(tz=True)]]


def anchored_body(pattern: str, *, verbose: bool = False) -> str | None:
    """`X` of a pattern `^X$` (or `^X\\Z`) when `X` can be checked in bulk, else None.

    In bulk, values are joined by newlines and the whole is matched against `X(\\nX)*`;
    that is exact when `X` contains no anchor, lookaround or backreference and cannot
    match a newline.
    """
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


def _simple(body: str) -> tuple[str, int, int] | None:
    """(kind, min, max) when `body` is `[class]{min,max}` of a class str methods can check."""
    items = list(sre_parse.parse(body))
    if len(items) != 1 or items[0][0] != sre_parse.MAX_REPEAT:
        return None
    lo, hi, sub = items[0][1]
    chars = _class(list(sub))
    kind = _SIMPLE.get(chars) if chars is not None else None
    return (kind, lo, hi) if kind is not None and hi != sre_parse.MAXREPEAT else None


def _class(items: list[Any]) -> frozenset[int] | None:
    if len(items) != 1 or items[0][0] != sre_parse.IN:
        return None
    chars: set[int] = set()
    for op, arg in items[0][1]:
        if op == sre_parse.LITERAL:
            chars.add(arg)
        elif op == sre_parse.RANGE:
            chars.update(range(arg[0], arg[1] + 1))
        else:
            return None
    return frozenset(chars)


def _digit_runs(body: str) -> str | None:
    """The separator when `body` is `[0-9]+` SEP `[0-9]+` (groups allowed), else None."""
    items = [i[1][3][0] if i[0] == sre_parse.SUBPATTERN and len(i[1][3]) == 1 else i for i in sre_parse.parse(body)]
    if len(items) != 3 or items[1][0] != sre_parse.LITERAL or chr(items[1][1]) in "0123456789\n":
        return None
    for op, arg in (items[0], items[2]):
        if (
            op != sre_parse.MAX_REPEAT
            or arg[0] != 1
            or arg[1] != sre_parse.MAXREPEAT
            or _class(list(arg[2])) != _DIGITS
        ):
            return None
    return chr(items[1][1])


def _uri_exact() -> str | None:
    # jsonschema prefers rfc3987 for `uri` when it is installed: only rfc3986_validator's
    # rule is mirrored here, so in that case no uri passes the fast path.
    if importlib.util.find_spec("rfc3987") is not None or importlib.util.find_spec("rfc3986_validator") is None:
        return None
    import rfc3986_validator  # type: ignore[import-untyped]

    return anchored_body(rfc3986_validator.URI_RE_COMP.pattern, verbose=True)


URI_EXACT = _uri_exact()


class StringCheck:
    """Checks every string of one class at once: `ok(values)`, on a list of them.

    Absent members are collected as "" (the typed decoder's default; a present member is at
    least one character long), so "" passes. Lengths are left to msgspec where it can check
    them. Regexes run on the values joined by newlines: no body matches a newline and the
    newlines are counted, so the regex sees each value on its own.
    """

    def __init__(self, kind: str, bodies: tuple[str, ...] = (), sep: str = "") -> None:
        self.kind, self.bodies, self.sep = kind, bodies, sep
        body = "|".join(f"(?:{b})" for b in bodies) or "(?!)"
        self._regex = re.compile(f"(?:{body})(?:\\n(?:{body}))*")
        self.ok: Callable[[list[str]], bool] = getattr(self, "_" + kind.replace("-", "_"))

    def __repr__(self) -> str:
        return f"StringCheck({self.kind!r}, {len(self.bodies)} regex(es))"

    # The joined values are checked as bytes once known to be ASCII: bytes methods test
    # ASCII classes by table, several times faster than the str ones' Unicode lookups.
    def _digits(self, values: list[str]) -> bool:
        joined = "".join(values)
        return not joined or (joined.isascii() and joined.encode().isdigit())

    def _word(self, values: list[str]) -> bool:
        joined = "".join(values)
        return joined.isascii() and not joined.encode().translate(None, _WORD_BYTES)

    def _alnum(self, values: list[str]) -> bool:
        joined = "".join(values)
        return not joined or (joined.isascii() and joined.encode().isalnum())

    def _upper(self, values: list[str]) -> bool:
        joined = "".join(values)
        if not joined:
            return True
        if not joined.isascii():
            return False
        data = joined.encode()
        return data.isalpha() and data.isupper()

    def _digit_runs(self, values: list[str]) -> bool:
        n = len(values) - values.count("")
        if not n:
            return True
        joined = "\n".join(values)
        if not joined.isascii():
            return False
        data, sep = b"\n" + joined.encode() + b"\n", self.sep.encode()
        rest, newlines = data.translate(None, _DIGIT_BYTES), len(values) + 1
        # Without digits, the newlines around the values and one separator per present value
        # (none next to another); and no separator may touch a value's start or end.
        return (
            len(rest) == newlines + n
            and rest.count(sep) == n
            and sep + sep not in rest
            and b"\n" + sep not in data
            and sep + b"\n" not in data
        )

    def _date_time(self, values: list[str]) -> bool:
        present = list(filter(None, values))
        if not present:
            return True
        joined = "".join(present)
        # Each value has two "-" in its date and two ":" in its time; an offset adds a sign
        # and must add its colon.
        if " " in joined or joined.count(":") != joined.count("+") + joined.count("-"):
            return False
        try:
            msgspec.convert(present, _DATETIMES)
        except msgspec.ValidationError:
            return False
        return True

    def _uri(self, values: list[str]) -> bool:
        n = len(values) - values.count("")
        if not n:
            return True
        joined = "\n".join(values)
        if joined.isascii():
            data = joined.encode()
            # Left of the non-plain characters, only the separators and one colon per present
            # value (the scheme's): no value holds a newline, so each starts right after one.
            rest, newlines = data.translate(None, _URI_PLAIN), len(values) - 1
            if len(rest) == newlines + n and rest.count(b":") == n and b"::" not in rest:
                head = b"\n" + data
                https = head.count(b"\nhttps://")  # usually all of them: one count, not two
                if https == n or https + head.count(b"\nhttp://") == n:
                    return True
        return self._pattern(values)

    def _pattern(self, values: list[str]) -> bool:
        present = list(filter(None, values))
        if not present:
            return True
        joined = "\n".join(present)
        return joined.count("\n") == len(present) - 1 and self._regex.fullmatch(joined) is not None


def check_for_pattern(pattern: str) -> tuple[StringCheck, int, int | None] | None:
    """The bulk check of an (ECMA-translated) pattern, with the lengths msgspec must check."""
    body = anchored_body(pattern)
    if body is None:
        return None
    simple = _simple(body)
    if simple is not None:
        return StringCheck(simple[0]), simple[1], simple[2]
    sep = _digit_runs(body)
    if sep is not None:
        return StringCheck("digit-runs", sep=sep), 3, None
    return StringCheck("pattern", (body,)), 1, None


def check_for_format(name: str) -> StringCheck | None:
    """The bulk check of a `format`, or None if the format has none."""
    if name == "date-time":
        return StringCheck("date-time")
    if name == "uri":
        # Without the reference's own rule to fall back on, no uri passes.
        return StringCheck("uri", (URI_FAST, URI_EXACT)) if URI_EXACT is not None else StringCheck("pattern")
    return None
