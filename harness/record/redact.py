"""Keeping secrets off disk: headers, query parameters, JSON members and the token's bytes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from harness.errors import UsageError

if TYPE_CHECKING:
    from harness.cassette import CassetteWriter, CloseReason

REDACTED = "<redacted>"
MIN_SECRET = 8  # characters: shorter tokens are test placeholders, and would match everywhere
DEFAULT_HEADERS = ("authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key")
# A query parameter carries a credential when a part of its name (split on . _ -) ends so.
_SECRET_ENDINGS = ("token", "secret", "password", "passwd", "key", "signature", "credential", "credentials")
_SECRET_PARTS = ("auth", "sig", "bearer", "code")
FRAGMENT = 6  # a message's run of this many characters or more of a secret's start or end is redacted


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
            list(range(len(node)))
            if head == "*"
            else [int(head)]
            if head.isascii() and head.isdigit() and int(head) < len(node)
            else []
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

    @cached_property
    def variants(self) -> tuple[str, ...]:
        """Each secret as a server may echo it: as sent, percent-decoded, percent-encoded, and
        with `/` escaped as JSON encoders may write it; longest first. A secret shorter than
        `MIN_SECRET` is kept off disk only where it is sent (headers, parameters): replaced
        wherever it occurs, it would blank out every `t` of a cassette whose token is "t"."""
        bases = {b for s in self.secrets if len(s) >= MIN_SECRET for b in (s, unquote(s))}
        forms = (f for b in bases for f in (b, quote(b, safe=""), b.replace("/", "\\/")))
        return tuple(sorted({f for f in forms if f}, key=len, reverse=True))

    @cached_property
    def _byte_variants(self) -> tuple[bytes, ...]:
        return tuple(v.encode() for v in self.variants)

    @cached_property
    def probe(self) -> bytes | None:
        """A run of bytes every variant holds: a line without it holds no secret (one test per
        line in the common case); None when the variants share no run long enough."""
        runs = (r for s in self.secrets for r in re.findall(r"[A-Za-z0-9._~-]{4,}", s))
        shared = [r for r in runs if all(r in v for v in self.variants)]
        return max(shared, key=len).encode() if shared and len(self.secrets) == 1 else None

    def text(self, value: str) -> str:
        for variant in self.variants:
            value = value.replace(variant, REDACTED)
        return value

    def message(self, value: str) -> str:
        """`text` for what is printed or reported: also a secret's start or end that a message
        cut short (`found b'Bearer AAAA...'` quoting 40 bytes) is redacted."""
        return _fragments(self.text(value), [v for v in self.variants if len(v) > FRAGMENT])

    def exception(self, exc: BaseException) -> BaseException:
        """`exc` as it may be shown: itself when neither its text nor that of what it chains
        holds a secret, else a copy of the same type (a `RedactedError` when the type cannot
        be rebuilt from its arguments) with the text redacted, the same traceback, chained
        from nothing, and what it chained as redacted notes."""
        chain = exception_chain(exc)
        if not any(self._leaks(e) for e in chain):
            return exc
        copy = _rebuilt(exc, self.message)
        if copy is None or self._leaks(copy):
            copy = RedactedError(self.message(f"{type(exc).__name__}: {exc}"))
        copy.__cause__, copy.__suppress_context__ = None, True
        for note in getattr(exc, "__notes__", ()):
            copy.add_note(self.message(str(note)))
        for linked in chain[1:]:
            copy.add_note(self.message(f"chained from {type(linked).__name__}: {linked}"))
        return copy.with_traceback(exc.__traceback__)

    def _leaks(self, exc: BaseException) -> bool:
        texts = (str(exc), repr(exc), *map(str, getattr(exc, "__notes__", ())))
        return any(self.message(t) != t for t in texts)

    def header_value(self, name: str, value: str) -> str:
        if self._secret_header(name):
            scheme, sep, _ = value.partition(" ")
            # keep the scheme: "Bearer <redacted>" still says how the request authenticated
            return (
                f"{scheme} {REDACTED}" if sep and name.lower() in ("authorization", "proxy-authorization") else REDACTED
            )
        return self.text(value)

    def headers_list(self, headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
        """Names and values: a server may echo the token in either."""
        return tuple((self.text(k), self.header_value(k, v)) for k, v in headers)

    def query(self, params: Mapping[str, str]) -> dict[str, str]:
        return {k: REDACTED if self._secret_param(k) else self.text(v) for k, v in params.items()}

    def url(self, url: str, params: Mapping[str, str]) -> str:
        """`url` without its own query, with the redacted `params` as the query."""
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]  # never keep user:password@
        query = urlencode(self.query(params), safe=",<>")
        return self.text(urlunsplit((parts.scheme, netloc, parts.path, query, "")))

    def line(self, raw: bytes) -> bytes:
        """A body line with pointed-at members blanked and secrets' bytes replaced.

        Untouched lines are returned as they are (byte-exact); a line that was changed is
        re-serialised compactly with its original terminator.
        """
        if self.pointers:
            raw = self._pointers(raw)
        probe = self.probe
        if probe is not None and probe not in raw:
            return raw
        for token in self._byte_variants:
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


class RedactedError(Exception):
    """An exception whose type could not be rebuilt with its text redacted: its type's name
    leads the (redacted) text."""


def exception_chain(exc: BaseException) -> list[BaseException]:
    """`exc` and everything it wraps (causes, contexts, exceptions among its args), each once."""
    out: list[BaseException] = []
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        e = stack.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        stack += [e.__cause__, e.__context__, *e.args]
    return out


def _rebuilt(exc: BaseException, redact: Callable[[str], str]) -> BaseException | None:
    """An exception of `exc`'s type, its arguments and string attributes redacted; None if
    the type cannot be made so. Made without its `__init__`: ours take keyword-only
    arguments (`HTTPStatusError(status=...)`), and a `HarnessError` must stay one, for the
    CLI's one-line error."""

    def clean(value: object) -> object:
        return redact(value) if isinstance(value, str) else redact(repr(value)) if isinstance(value, bytes) else value

    try:
        copy = type(exc).__new__(type(exc))
        copy.args = tuple(clean(a) for a in exc.args)
        for name, value in vars(exc).items():
            setattr(copy, name, clean(value))
    except Exception:
        return None
    return copy


def _fragments(text: str, secrets: list[str]) -> str:
    """`text` with every run of FRAGMENT+ characters that starts or ends one of `secrets` redacted."""
    spans: list[tuple[int, int]] = []
    for secret in secrets:
        head, tail = secret[:FRAGMENT], secret[-FRAGMENT:]
        i = text.find(head)
        while i >= 0:
            j, k = i + FRAGMENT, FRAGMENT
            while j < len(text) and k < len(secret) and text[j] == secret[k]:
                j, k = j + 1, k + 1
            spans.append((i, j))
            i = text.find(head, j)
        i = text.find(tail)
        while i >= 0:
            start, k = i, len(secret) - FRAGMENT
            while start > 0 and k > 0 and text[start - 1] == secret[k - 1]:
                start, k = start - 1, k - 1
            spans.append((start, i + FRAGMENT))
            i = text.find(tail, i + FRAGMENT)
    if not spans:
        return text
    out, pos = [], 0
    for start, end in sorted(spans):
        if end <= pos:
            continue
        if start >= pos:  # else it overlaps the span before: extend that one
            out += [text[pos:start], REDACTED]
        pos = end
    return "".join(out) + text[pos:]


class RedactingWriter:
    """The cassette as the recorder writes it: every string passes the redaction on its way in."""

    def __init__(self, writer: CassetteWriter, redaction: Redaction) -> None:
        self.writer = writer
        self.redaction = redaction

    def connection(self, status: int, reason: str, headers: Iterable[tuple[str, str]], *, offset: float,
                   started: float, url: str | None = None) -> None:  # fmt: skip
        r = self.redaction
        self.writer.connection(status, r.text(reason), r.headers_list(headers), offset=offset, started=started,
                               url=None if url is None else r.text(url))  # fmt: skip

    def line(self, raw: bytes, offset: float) -> None:
        self.writer.line(self.redaction.line(raw), offset)

    def lines(self, raws: list[bytes], offset: float) -> None:
        r = self.redaction
        probe = r.probe if not r.pointers else None
        if r.pointers or r.secrets:
            for i, raw in enumerate(raws):
                if probe is None or probe in raw:
                    raws[i] = r.line(raw)
        self.writer.lines(raws, offset)

    def close_connection(self, reason: CloseReason, offset: float, error: str | None = None) -> None:
        self.writer.close_connection(reason, offset, None if error is None else self.redaction.message(error))

    @property
    def in_connection(self) -> bool:
        return self.writer.in_connection
