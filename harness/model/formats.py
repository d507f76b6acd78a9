"""The string formats the model declares (`Str(format=...)`), each rule written once.

`DATE_TIME` and `URI_FAST` are what the engines run: the native checker implements them in
C (`contract/_speedups_strings.h`, held to these by tests side by side), the query-parameter
checks use `DATE_TIME` as is. Each accepts a subset of what the reference's `date-time` and
`uri` accept (`contract.validator.FORMATS`, jsonschema's with the spec's end of string),
never more: a value they refuse goes on to the reference.
"""

from __future__ import annotations

__all__ = ["DATE_TIME", "URI_FAST"]

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
