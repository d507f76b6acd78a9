"""Query-parameter checks from the endpoint model: what X would answer 400 to, refused early.

`check_query` is used by the recorder (before it connects, through `record.target`) and
by the loopback source and the replayer (to answer 400 the way X does, with
`invalid_request_body`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from harness.errors import ParameterError
from harness.model import Arr, Endpoint, Int, Str, Type, resolve_endpoint
from harness.model.formats import DATE_TIME
from harness.model.patterns import parse as parse_pattern
from harness.model.visit import Visitor

# X documents YYYY-MM-DDTHH:mm:ssZ; RFC 3339 fractions and offsets are accepted too: the
# model's one date-time rule (calendar days, ASCII digits only).
_DATE_TIME = re.compile(rf"(?:{DATE_TIME})\Z")
_INT = re.compile(r"[+-]?[0-9]{1,18}\Z")  # ASCII digits: int() would also read Arabic-Indic ones
_EXAMPLE_TIME = "2026-11-01T00:00:00Z"


def _preview(items: Iterable[str], limit: int = 12) -> str:
    items = list(items)
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _where(endpoint: Endpoint) -> str:
    return f"{endpoint.name} ({endpoint.path})"


def parse_int(value: str) -> int | None:
    """The integer a query value spells, or None (no floats, no spaces, no hex)."""
    return int(value) if _INT.match(value) else None


def parse_date_time(value: str) -> dt.datetime | None:
    """The instant an RFC 3339 date-time spells, or None."""
    if not _DATE_TIME.match(value):
        return None
    text = value.upper().replace("Z", "+00:00")
    if "." in text:  # fromisoformat takes at most 6 fraction digits
        head, rest = text.split(".", 1)
        digits = re.match(r"\d+", rest)
        assert digits is not None
        text = head + "." + digits.group()[:6].ljust(6, "0") + rest[digits.end() :]
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


class _ValueCheck(Visitor[tuple[Endpoint, str, str], None]):
    """Refuses a query value its parameter's declared type does not admit."""

    def int_(self, t: Int, at: tuple[Endpoint, str, str]) -> None:
        _, name, value = at
        number = parse_int(value)
        lo, hi = t.minimum, t.maximum
        span = f" {lo}..{hi}" if lo is not None and hi is not None else ""
        if number is None or (lo is not None and number < lo) or (hi is not None and number > hi):
            raise ParameterError(f"{name}: expected an integer{span}, found {value!r}", parameter=name)

    def str_(self, t: Str, at: tuple[Endpoint, str, str]) -> None:
        _, name, value = at
        if t.format == "date-time" and parse_date_time(value) is None:
            raise ParameterError(
                f"{name}: expected a UTC date-time like {_EXAMPLE_TIME} (YYYY-MM-DDTHH:mm:ssZ), found {value!r}",
                parameter=name,
            )
        if t.enum is not None and value not in t.enum:
            raise ParameterError(f"{name}: expected one of {_preview(t.enum)}, found {value!r}", parameter=name)
        if t.pattern is not None and not parse_pattern(t.pattern).regex.search(value):
            raise ParameterError(f"{name}: expected a value matching {t.pattern}, found {value!r}", parameter=name)

    def arr(self, t: Arr, at: tuple[Endpoint, str, str]) -> None:
        _check_list(*at, t)


_CHECK = _ValueCheck()


def _check_list(endpoint: Endpoint, name: str, value: str, t: Arr) -> None:
    if not isinstance(t.items, Str):  # the model declares lists of strings only
        raise TypeError(f"parameter {name} of {endpoint.name}: a list of {t.items!r} is not supported")
    members = value.split(",")
    allowed = t.items.enum
    kind = "expansion" if name == "expansions" else "field"
    if value == "" or "" in members:
        raise ParameterError(
            f"{name}: expected a comma-separated list of {kind}s with no empty member, found {value!r}",
            parameter=name,
        )
    seen: set[str] = set()
    for member in members:
        if allowed is not None and member not in allowed:
            raise ParameterError(
                f"{name}: unknown {kind} {member!r} for {_where(endpoint)}: expected members of {_preview(allowed)}",
                parameter=name,
            )
        if member in seen:
            raise ParameterError(f"{name}: {member!r} is listed twice (members must be unique)", parameter=name)
        seen.add(member)
    if t.max_items is not None and len(members) > t.max_items:
        raise ParameterError(f"{name}: at most {t.max_items} members, found {len(members)}", parameter=name)


def check_query(endpoint: Endpoint | str, params: Mapping[str, str]) -> dict[str, str]:
    """The parameters, checked against the endpoint's declaration; raises `ParameterError`.

    Checks, in order: unknown names, missing required parameters, each value's type and
    range, and that `end_time` comes after `start_time`.
    """
    e = endpoint if isinstance(endpoint, Endpoint) else resolve_endpoint(endpoint)
    declared = {p.name: p for p in e.params}
    for name in params:
        if name not in declared:
            raise ParameterError(
                f"unknown parameter {name!r} for {_where(e)}: expected one of {', '.join(declared)}",
                parameter=name,
            )
    for p in e.params:
        if p.required and p.name not in params:
            expected = _describe(p.type)
            raise ParameterError(
                f"{p.name}: required by {_where(e)} ({expected}), found nothing",
                parameter=p.name,
            )
    for name, value in params.items():
        _CHECK.visit(declared[name].type, (e, name, value))
    start, end = params.get("start_time"), params.get("end_time")
    if start is not None and end is not None:
        t0, t1 = parse_date_time(start), parse_date_time(end)
        if t0 is not None and t1 is not None and t1 <= t0:
            raise ParameterError(
                f"end_time: expected a time after start_time {start}, found {end}", parameter="end_time"
            )
    return dict(params)


def _describe(t: Type) -> str:
    if isinstance(t, Int) and t.minimum is not None and t.maximum is not None:
        return f"an integer {t.minimum}..{t.maximum}"
    if isinstance(t, Str) and t.format == "date-time":
        return "a date-time"
    return "a value"


def parse_query(query: str) -> dict[str, str]:
    """A query string as a mapping; a parameter given twice is refused."""
    out: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in out:
            raise ParameterError(f"{name}: given twice ({out[name]!r} and {value!r})", parameter=name)
        out[name] = value
    return out


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`key=value` strings (the CLI's repeatable `--param`) as a mapping."""
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ParameterError(f"expected key=value, found {pair!r}", parameter=name or pair)
        if name in out:
            raise ParameterError(f"{name}: given twice ({out[name]!r} and {value!r})", parameter=name)
        out[name] = value
    return out


def invalid_request_body(error: ParameterError, params: Mapping[str, str]) -> dict[str, Any]:
    """The 400 body X answers a bad parameter with (an `invalid-request` Problem)."""
    value = params.get(error.parameter)
    return {
        "errors": [{"parameters": {error.parameter: [] if value is None else [value]}, "message": str(error)}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": "https://api.twitter.com/2/problems/invalid-request",
    }
