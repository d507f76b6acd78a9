"""Keeping secrets off disk: headers, query parameters, JSON members and the token's bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from harness.errors import UsageError

REDACTED = "<redacted>"
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
# A query parameter carries a credential when a part of its name (split on . _ -) ends so.
_SECRET_ENDINGS = ("token", "secret", "password", "passwd", "key", "signature", "credential", "credentials")
_SECRET_PARTS = ("auth", "sig", "bearer", "code")


def secret_param(name: str) -> bool:
    """Whether a query parameter's name says it carries a credential (`access_token`, `apiKey`)."""
    parts = re.split(r"[._-]", name.lower())
    return any(p.endswith(_SECRET_ENDINGS) or p in _SECRET_PARTS for p in parts)


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """An RFC 6901 JSON pointer as its reference tokens; `*` matches any member or index."""
    if not pointer.startswith("/"):
        raise UsageError(f"--redact-json: expected a JSON pointer starting with '/', found {pointer!r}")
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/"))


def _blank(value: Any) -> Any:
    return REDACTED if isinstance(value, str) else None


def _redact_at(node: Any, tokens: tuple[str, ...]) -> bool:
    """Replace what `tokens` points at under `node`; True if anything was replaced."""
    head, rest = tokens[0], tokens[1:]
    if isinstance(node, dict):
        keys = list(node) if head == "*" else [head] if head in node else []
    elif isinstance(node, list):
        keys = (
            list(range(len(node))) if head == "*" else [int(head)] if head.isdigit() and int(head) < len(node) else []
        )
    else:
        return False
    changed = False
    for key in keys:
        if rest:
            changed |= _redact_at(node[key], rest)
        else:
            node[key] = _blank(node[key])
            changed = True
    return changed


@dataclass(frozen=True)
class Redaction:
    """What to remove before anything is written.

    `headers` and `params` are names (case-insensitive) added to the defaults, `pointers`
    JSON pointers into events, and `secrets` exact byte strings (the token) that must not
    appear anywhere, whatever echoes them.
    """

    headers: tuple[str, ...] = ()
    params: tuple[str, ...] = ()
    pointers: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pointer in self.pointers:
            parse_pointer(pointer)

    def with_secret(self, secret: str | None) -> Redaction:
        if not secret or secret in self.secrets:
            return self
        return Redaction(self.headers, self.params, self.pointers, (*self.secrets, secret))

    def _secret_header(self, name: str) -> bool:
        lname = name.lower()
        return lname in DEFAULT_HEADERS or lname in {h.lower() for h in self.headers}

    def _secret_param(self, name: str) -> bool:
        return secret_param(name) or name.lower() in {p.lower() for p in self.params}

    def text(self, value: str) -> str:
        for secret in self.secrets:
            value = value.replace(secret, REDACTED)
        return value

    def header_value(self, name: str, value: str) -> str:
        if self._secret_header(name):
            scheme, sep, _ = value.partition(" ")
            # keep the scheme: "Bearer <redacted>" still says how the request authenticated
            return (
                f"{scheme} {REDACTED}" if sep and name.lower() in ("authorization", "proxy-authorization") else REDACTED
            )
        return self.text(value)

    def headers_list(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k, self.header_value(k, v)) for k, v in headers)

    def query(self, params: Mapping[str, str]) -> dict[str, str]:
        return {k: REDACTED if self._secret_param(k) else self.text(v) for k, v in params.items()}

    def url(self, url: str, params: Mapping[str, str]) -> str:
        """`url` without its own query, with the redacted `params` as the query."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]  # never keep user:password@
        query = urlencode(self.query(params), safe=",<>")
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, "")))

    @property
    def touches_lines(self) -> bool:
        return bool(self.pointers or self.secrets)

    def line(self, raw: bytes) -> bytes:
        """A body line with pointed-at members blanked and secrets' bytes replaced.

        Untouched lines are returned as they are (byte-exact); a line that was changed is
        re-serialised compactly with its original terminator.
        """
        if self.pointers:
            raw = self._pointers(raw)
        for secret in self.secrets:
            token = secret.encode()
            if token in raw:
                raw = raw.replace(token, REDACTED.encode())
        return raw

    def _pointers(self, raw: bytes) -> bytes:
        body = raw.rstrip(b"\r\n")
        if not body.strip():
            return raw
        try:
            payload = json.loads(body)
        except ValueError:
            return raw
        changed = False
        for pointer in self.pointers:
            changed |= _redact_at(payload, parse_pointer(pointer))
        if not changed:
            return raw
        return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode() + raw[len(body) :]
