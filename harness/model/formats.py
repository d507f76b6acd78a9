"""The string formats the model declares (`Str(format=...)`), each rule written once.

Formats: `date-time`, `uri`, and `iri` (a URI that may hold non-ASCII characters, as URLs
expanded from real posts do).

`DATE_TIME` and `URI_FAST` are what the engines run: the native checker implements them in
C (`contract/_speedups_strings.h`, held to these by tests side by side), the query-parameter
checks use `DATE_TIME` as is. Each accepts a subset of what the reference's `date-time` and
`uri` accept (`contract.validator.FORMATS`, jsonschema's with the spec's end of string),
never more: a value they refuse goes on to the reference.
"""

from __future__ import annotations

__all__ = ["DATE_TIME", "IRI_BIDI_FORMATTING", "IRI_CHARS", "URI_FAST"]

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

# RFC 3987 `iri`: a URI whose non-ASCII characters are `ucschar` (or `iprivate`), each read
# as its UTF-8 percent-encoding (the RFC's mapping to a URI, section 3.1). The ranges are the
# RFC's; `iprivate` is let through anywhere, not only in the query.
IRI_CHARS = (
    (0xA0, 0xD7FF),
    (0xE000, 0xFDCF),  # iprivate E000-F8FF and ucschar F900-FDCF
    (0xFDF0, 0xFFEF),
    *((plane << 16, (plane << 16) | 0xFFFD) for plane in range(1, 14)),
    (0xE1000, 0xEFFFD),
    (0xF0000, 0xFFFFD),  # iprivate
    (0x100000, 0x10FFFD),  # iprivate
)
# RFC 3987 section 4.1: bidirectional formatting characters MUST NOT appear in an IRI.
IRI_BIDI_FORMATTING = frozenset((0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E))
