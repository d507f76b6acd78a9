"""An event line's `matching_rules`: read (and rewritten) by the rules filter (`harness.replay._rules`)."""

from __future__ import annotations

from typing import Any

import orjson

MARK = b',"matching_rules":['


def line_tail(raw: bytes) -> tuple[bytes, list[dict[str, Any]], bytes] | None:
    """(the line up to `matching_rules`, its value, the line end) when it is the line's last member,
    written without spaces (as X and the harness write it); None otherwise.

    `,"` never occurs inside a JSON string (a quote there is escaped), so the mark is a member;
    a list and one `}` after it up to the end make it the last member of the outermost object.
    """
    body = raw.rstrip(b"\r\n")
    at = body.rfind(MARK)
    if at < 0 or not body.endswith(b"]}"):
        return None
    try:
        matched = orjson.loads(body[at + len(MARK) - 1 : -1])
    except orjson.JSONDecodeError:
        return None
    if not isinstance(matched, list) or not all(isinstance(m, dict) for m in matched):
        return None
    return body[:at], matched, raw[len(body) :]


def matching_rules(raw: bytes, keep: bool = False) -> Any:
    """An event line's `matching_rules` (a list of objects), or None; with `keep`, (event, rules)."""
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    matched = obj.get("matching_rules") if isinstance(obj, dict) else None
    if not isinstance(matched, list) or not all(isinstance(m, dict) for m in matched):
        return None
    return (obj, matched) if keep else matched
