"""The contract put to work: `Contract` validates an event of an endpoint, a Problem body, or a raw
stream line, with an engine (`harness.contract._fast.FastEngine` by default, or the reference)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.contract import schemagen
from harness.contract._fast import Cyclic, FastEngine, plain_json
from harness.contract._names import ENGINES
from harness.contract.schemagen import Profile
from harness.contract.validator import PROBLEM_SCHEMA, Engine, ReferenceEngine, Violation, loads, not_json, payload_kind
from harness.errors import UsageError
from harness.model import resolve_endpoint
from harness.model.dialect import Dialect

__all__ = ["ENGINES", "Contract"]


class Contract:
    """The X streams' contract: validate events, error payloads and raw lines.

    `engine` is an `Engine`, or "fast" (the default: the reference's verdicts, fast) or
    "reference" (jsonschema itself, for every payload). `dialect`: the member names the
    payloads must use (classic, or 2.167: see `harness.model.dialect`).
    """

    def __init__(self, profile: Profile | str = Profile.DEFAULT, engine: Engine | str | None = None,
                 dialect: Dialect | str = Dialect.CLASSIC) -> None:  # fmt: skip
        self.profile = Profile.parse(profile)
        self.dialect = Dialect.parse(dialect)
        if engine is None or engine == "fast":
            engine = FastEngine(self.profile, dialect=self.dialect)
        elif engine == "reference":
            engine = ReferenceEngine(self.profile, self.dialect)
        elif isinstance(engine, str):
            raise UsageError(f"unknown engine {engine!r}: expected one of {', '.join(ENGINES)}")
        self.engine: Engine = engine
        self._event_files: dict[str, str] = {}

    def event_file(self, endpoint: str) -> str:
        """The event schema of an endpoint (name or path)."""
        found = self._event_files.get(endpoint)
        if found is None:
            found = self._event_files[endpoint] = schemagen.event_file(resolve_endpoint(endpoint).name)
        return found

    def check_event(self, payload: Any, endpoint: str) -> list[Violation]:
        """Violations of one decoded stream line of `endpoint` (name or path)."""
        return self._decoded(self.event_file(endpoint), payload)

    def check_problem(self, payload: Any) -> list[Violation]:
        """Violations of an HTTP error body (an RFC 7807 Problem)."""
        return self._decoded(PROBLEM_SCHEMA, payload)

    def _decoded(self, schema: str, payload: Any) -> list[Violation]:
        # Where the reference walks into a payload that contains itself, or one nested
        # deeper than Python recurses, it gives up: no JSON text decodes to such a payload
        # (json.loads refuses the text), so that is one violation.
        try:
            return self.engine.violations(schema, payload)
        except RecursionError:
            try:
                plain_json(payload)
            except Cyclic:
                return [Violation("", "json", "", "not JSON: the payload contains itself")]
            return [Violation("", "json", "", "not JSON: nested too deep to check")]

    def check_line(self, raw: bytes | str, endpoint: str, *, problem: bool = False) -> list[Violation]:
        """Violations of one raw line; a line that is not JSON is itself a violation."""
        if problem:
            return self._lines(PROBLEM_SCHEMA, [raw])[0][1]
        return self.inspect_line(raw, endpoint)[1]

    def inspect_line(self, raw: bytes | str, endpoint: str) -> tuple[str, list[Violation]]:
        """`inspect_lines` of one line."""
        return self._lines(self.event_file(endpoint), [raw])[0]

    def inspect_lines(self, raws: Sequence[bytes | str], endpoint: str) -> list[tuple[str, list[Violation]]]:
        """(kind, violations) of each raw stream line of `endpoint`, in order.

        `kind` is "error" for an in-stream error payload (`errors` without `data`), else
        "event" (a line that is not JSON is an event with one violation). Lines are best
        given in batches: the fast engine checks a batch's strings together.
        """
        return self._lines(self.event_file(endpoint), raws)

    def _lines(self, schema: str, raws: Sequence[bytes | str]) -> list[tuple[str, list[Violation]]]:
        kinds = self.engine.line_kinds(schema, raws)
        if None not in kinds:  # all valid: the common case
            return [(kind, []) for kind in kinds]  # type: ignore[misc]
        out: list[tuple[str, list[Violation]]] = []
        stash = self.engine.stash if isinstance(self.engine, FastEngine) else {}
        for kind, raw in zip(kinds, raws, strict=True):
            if kind is not None:
                out.append((kind, []))
                continue
            kept = stash.pop(id(raw), None)  # a drift's lines: taken here, a call each saved
            if kept is not None and kept[0] is raw:
                out.append((kept[1], kept[2]))
                continue
            try:
                out.append(self._line(schema, raw))
            except ValueError as exc:
                text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
                out.append(("event", [not_json(text, str(exc))]))
        return out

    def _line(self, schema: str, raw: bytes | str) -> tuple[str, list[Violation]]:
        if isinstance(self.engine, FastEngine):
            return self.engine.line_violations(schema, raw)
        payload = loads(raw)
        return payload_kind(payload), self.engine.violations(schema, payload)

    def is_valid(self, payload: Any, endpoint: str) -> bool:
        return not self.check_event(payload, endpoint)
