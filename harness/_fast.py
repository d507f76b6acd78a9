"""The fast engine: one-pass checks for valid payloads, the reference for the rest.

`FastEngine` answers "valid?" in up to three steps, each accepting a subset of what the
reference accepts: raw lines go first to the native checker (`_native`, C, no Python
object per line) where it was built; what it is not sure of, and decoded payloads, to a
typed decoder compiled from the object model (`_typed`, msgspec). A payload either
accepts is valid; for anything else the reference engine gives the verdict and the exact
violations, so messages, pointers and schema locations are the reference's by
construction.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from operator import methodcaller
from typing import TYPE_CHECKING, Any

import msgspec
from msgspec import UNSET

from harness import schemagen
from harness._native import NativeModel, available
from harness._readers import lacking
from harness._typed import TypedModel
from harness.model import DEFINITIONS, ENDPOINTS, Ref, Type
from harness.schemagen import Profile

if TYPE_CHECKING:
    from harness.validator import Engine, Violation

__all__ = ["FastEngine", "no_gc", "plain_json"]

BATCH = 256  # lines decoded before their strings are checked together: enough to share the fixed cost
_LEAVES = frozenset({str, int, float, bool, type(None)})


def plain_json(value: Any) -> bool:
    """Whether a decoded payload holds only what `json.loads` produces.

    `msgspec.convert` takes tuples, sets and other mappings where the reference wants a
    list or a dict; anything but the plain JSON types goes to the reference.
    """
    stack = [value]
    while stack:
        node = stack.pop()
        t = type(node)
        if t is dict:
            for key, child in node.items():
                if type(key) is not str:
                    return False
                c = type(child)
                if c is dict or c is list:
                    stack.append(child)
                elif c not in _LEAVES:
                    return False
        elif t is list:
            for child in node:
                c = type(child)
                if c is dict or c is list:
                    stack.append(child)
                elif c not in _LEAVES:
                    return False
        elif t not in _LEAVES:
            return False
    return True


class FastEngine:
    """An `Engine` with a fast path, exact by delegation to `reference` (default: jsonschema's).

    Thread-safe; one decode at a time (the typed model's collected objects are shared).
    """

    def __init__(
        self, profile: Profile | str = Profile.DEFAULT, *, reference: Engine | None = None, native: bool = True
    ) -> None:
        self.profile = Profile.parse(profile)
        #: the native checker of raw lines (None: not built, or not wanted)
        self.native = NativeModel(self.profile) if native and available() else None
        if reference is None:
            from harness.validator import ReferenceEngine  # it imports this module's users

            reference = ReferenceEngine(self.profile)
        self.reference: Engine = reference
        self.model = TypedModel(self.profile)
        self._types: dict[str, Any] = {}
        self._decoders: dict[str, tuple[msgspec.json.Decoder[Any], _Envelope | None]] = {}
        self._lock = threading.Lock()

    def type_for(self, schema: str) -> Any:
        """The typed decoder's type for one generated schema file."""
        t = self._types.get(schema)
        if t is None:
            t = self._types[schema] = self.model.type_of(_declaration(schema))
        return t

    def accepts(self, schema: str, payload: Any) -> bool:
        """True only if the reference accepts `payload` too (False: ask the reference)."""
        if self.native is not None and schema in self.native.roots and self.native.accepts(schema, payload):
            return True
        if not plain_json(payload):
            return False
        t = self.type_for(schema)
        with self._lock:
            self.model.reset()
            try:
                msgspec.convert(payload, t)
            except Exception:  # ValidationError, and e.g. a lone surrogate in a tag: ask the reference
                return False
            return self.model.batch_ok()

    def violations(self, schema: str, payload: Any) -> list[Violation]:
        if self.accepts(schema, payload):
            return []
        return self.reference.violations(schema, payload)

    def line_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        """Per raw line the fast path accepts: "error" (an in-stream error payload, no
        `data`) or "event"; None where only the reference can tell.

        The native checker goes first. The typed decoder takes what it is not sure of in
        batches of `BATCH`, their strings checked together; a batch where some string
        fails is halved until the lines at fault are found.
        """
        if self.native is not None and schema in self.native.roots:
            kinds = self.native.kinds(schema, raws)
            if None not in kinds:
                return kinds
            unsure = [i for i, kind in enumerate(kinds) if kind is None]
            for i, kind in zip(unsure, self._typed_kinds(schema, [raws[i] for i in unsure]), strict=True):
                kinds[i] = kind
            return kinds
        return self._typed_kinds(schema, raws)

    def _typed_kinds(self, schema: str, raws: Sequence[bytes | str]) -> list[str | None]:
        decoder, envelope = self._decoder(schema)
        out: list[str | None] = []
        with self._lock, no_gc():
            for start in range(0, len(raws), BATCH):
                out += self._checked(decoder, envelope, raws[start : start + BATCH])
        return out

    def _checked(
        self, decoder: msgspec.json.Decoder[Any], envelope: _Envelope | None, raws: Sequence[bytes | str]
    ) -> list[str | None]:
        kinds = self._kinds(decoder, envelope, raws)
        if not any(kinds):
            self.model.reset()
            return kinds
        if self.model.batch_ok():
            return kinds
        if len(raws) == 1:
            return [None]
        # Halves, not lines one by one: a bad line costs about two more decodes of the
        # batch, not a batch check per line.
        half = len(raws) // 2
        return self._checked(decoder, envelope, raws[:half]) + self._checked(decoder, envelope, raws[half:])

    def line_kind(self, schema: str, raw: bytes | str) -> str | None:
        """`line_kinds` of one line."""
        return self.line_kinds(schema, [raw])[0]

    def _kinds(
        self, decoder: msgspec.json.Decoder[Any], envelope: _Envelope | None, raws: Sequence[bytes | str]
    ) -> list[str | None]:
        self.model.reset()
        # msgspec skips unknown members without checking their UTF-8, json.loads refuses bad
        # UTF-8 anywhere (and takes encoded surrogates, rare enough to go to the reference).
        # Tested before decoding: the pass brings the lines into the cache for the decoder.
        ascii_only = _ascii(raws)
        try:
            values = list(map(decoder.decode, raws))  # the common case: every line decodes
        except Exception:  # DecodeError (ValidationError is one), UnicodeError...: line by line
            self.model.reset()
            return [self._kind(decoder, envelope, raw) for raw in raws]
        utf8 = None if ascii_only else [_utf8(raw) for raw in raws]
        if envelope is None or not envelope.without_data(values):
            kinds: list[str | None] = ["event"] * len(values)
        else:
            kinds = [envelope.kind(v) for v in values]
        if utf8 is not None:
            kinds = [k if ok else None for k, ok in zip(kinds, utf8, strict=True)]
        return kinds

    def _kind(self, decoder: msgspec.json.Decoder[Any], envelope: _Envelope | None, raw: bytes | str) -> str | None:
        try:
            value = decoder.decode(raw)
        except Exception:  # DecodeError, UnicodeError...: the reference decides
            return None
        if not _utf8(raw):
            return None
        return "event" if envelope is None else envelope.kind(value)

    def _decoder(self, schema: str) -> tuple[msgspec.json.Decoder[Any], _Envelope | None]:
        found = self._decoders.get(schema)
        if found is None:
            t = self.type_for(schema)
            attrs = self.model.attributes.get(t, {}) if isinstance(t, type) else {}
            envelope = _Envelope(attrs["data"], attrs["errors"]) if {"data", "errors"} <= attrs.keys() else None
            found = self._decoders[schema] = (msgspec.json.Decoder(t), envelope)
        return found


class _Envelope:
    """The members of a stream line that tell an event from an error payload."""

    def __init__(self, data: str, errors: str) -> None:
        self.data, self.errors = data, errors  # attribute names
        self.without_data = lacking([data], [UNSET])

    def kind(self, value: Any) -> str:
        if getattr(value, self.data) is UNSET and getattr(value, self.errors) is not UNSET:
            return "error"
        return "event"


_ISASCII = methodcaller("isascii")


def _ascii(raws: Sequence[bytes | str]) -> bool:
    try:
        return all(map(bytes.isascii, raws))  # type: ignore[arg-type]  # the method itself: no lookup per line
    except TypeError:  # str lines among them
        return all(map(_ISASCII, raws))


def _utf8(raw: bytes | str) -> bool:
    """Whether json.loads can decode `raw` (the fast decoder may not have looked at all of it)."""
    if isinstance(raw, str) or raw.isascii():
        return True
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@contextmanager
def no_gc() -> Iterator[None]:
    # Decoding allocates a lot and keeps it alive until the batch's strings are checked:
    # that sets the cyclic GC off over and over, for objects that hold no cycles (reference
    # counting frees them). So no cyclic GC meanwhile (if it was on, it is on again after).
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _declaration(schema: str) -> Type:
    """The model type a generated schema file stands for."""
    for name in ENDPOINTS:
        if schema == schemagen.event_file(name):
            return Ref(ENDPOINTS[name].event)
    for name in DEFINITIONS:
        if schema == schemagen.definition_file(name):
            return Ref(name)
    raise KeyError(f"no generated schema named {schema!r}")
