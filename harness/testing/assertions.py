"""Contract assertions for tests, with failure messages a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.contract._typos import typos, value_at
from harness.contract.checker import Contract
from harness.contract.report import Validation
from harness.contract.schemagen import Profile
from harness.contract.validator import Violation


class ContractViolation(AssertionError):
    """A payload or cassette broke the stream contract."""


def _describe(v: Violation, payload: Any, raw: bytes | str | None) -> str:
    if v.keyword == "json":
        return f"  /: not JSON\n    value: {raw!r}\n    {v.message}"
    value = json.dumps(value_at(payload, v.pointer), ensure_ascii=False)
    if len(value) > 80:
        value = value[:79] + "…"
    return f"  {v.pointer or '/'}: {v.keyword} failed ({v.schema_location})\n    value: {value}\n    {v.message}"


class ContractChecker:
    """What the `contract` fixture gives a test."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, dialect: str = "classic") -> None:
        self.profile, self.dialect = Profile.parse(profile), dialect
        self.contract = Contract(self.profile, dialect=dialect)
        self._strict: ContractChecker | None = None

    @property
    def strict(self) -> ContractChecker:
        """The same assertions with the strict profile: unknown object members are violations
        (`contract.strict.assert_valid(payload, endpoint=...)`)."""
        if self.profile is Profile.STRICT:
            return self
        if self._strict is None:
            self._strict = ContractChecker(Profile.STRICT, self.dialect)
        return self._strict

    def violations(self, payload: Any, *, endpoint: str) -> list[Violation]:
        if isinstance(payload, (bytes, str)):
            return self.contract.check_line(payload, endpoint)
        return self.contract.check_event(payload, endpoint)

    def assert_valid(self, payload: Any, *, endpoint: str) -> None:
        """Fail naming each JSON pointer, keyword and value unless `payload` keeps the contract.

        `payload` is a decoded event or a raw line (bytes or str). A likely typo is said as
        one: a missing required member beside an unknown one close to it, or (strict) an
        unknown member close to a declared one ("did you mean `username`?").
        """
        __tracebackhide__ = True
        found = self.violations(payload, endpoint=endpoint)
        if found:
            raw = payload if isinstance(payload, (bytes, str)) else None
            if raw is not None:
                try:
                    payload = json.loads(raw)
                except ValueError:
                    payload = None
            explained = typos(self.profile, found, payload)
            lines = [f"  {t}" for t in explained.typos] + [_describe(v, payload, raw) for v in explained.rest]
            counts = [f"{len(explained.typos)} likely typo(s)"] if explained.typos else []
            if explained.rest or not explained.typos:
                counts.append(f"{len(explained.rest)} violation(s)")
            details = "\n".join(lines)
            raise ContractViolation(f"payload breaks the {endpoint} contract ({', '.join(counts)}):\n{details}")

    def assert_cassette_valid(self, path: str | Path) -> None:
        """Fail listing every violation (file:line, event, pointer) in a cassette."""
        __tracebackhide__ = True
        run = Validation(self.contract)
        found = [str(f) for f in run.run([path])]
        if found:
            shown = "\n  ".join(found[:20]) + (f"\n  ... and {len(found) - 20} more" if len(found) > 20 else "")
            raise ContractViolation(f"{path} breaks the contract ({len(found)} violation(s)):\n  {shown}")
