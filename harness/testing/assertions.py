"""Contract assertions for tests, with failure messages a person can act on."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.contract.checker import Contract
from harness.contract.report import Validation
from harness.contract.schemagen import Profile
from harness.contract.validator import Violation


class ContractViolation(AssertionError):
    """A payload or cassette broke the stream contract."""


def _value_at(payload: Any, pointer: str) -> Any:
    node = payload
    for part in pointer.split("/")[1:] if pointer else []:
        key = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(key)] if isinstance(node, list) else node[key]
        except (KeyError, IndexError, ValueError, TypeError):
            return None
    return node


def _describe(v: Violation, payload: Any, raw: bytes | str | None) -> str:
    if v.keyword == "json":
        return f"  /: not JSON\n    value: {raw!r}\n    {v.message}"
    value = json.dumps(_value_at(payload, v.pointer), ensure_ascii=False)
    if len(value) > 80:
        value = value[:79] + "…"
    return f"  {v.pointer or '/'}: {v.keyword} failed ({v.schema_location})\n    value: {value}\n    {v.message}"


class ContractChecker:
    """What the `contract` fixture gives a test."""

    def __init__(self, profile: Profile | str = Profile.DEFAULT, dialect: str = "classic") -> None:
        self.contract = Contract(profile, dialect=dialect)

    def violations(self, payload: Any, *, endpoint: str) -> list[Violation]:
        if isinstance(payload, (bytes, str)):
            return self.contract.check_line(payload, endpoint)
        return self.contract.check_event(payload, endpoint)

    def assert_valid(self, payload: Any, *, endpoint: str) -> None:
        """Fail naming each JSON pointer, keyword and value unless `payload` keeps the contract.

        `payload` is a decoded event or a raw line (bytes or str).
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
            details = "\n".join(_describe(v, payload, raw) for v in found)
            raise ContractViolation(f"payload breaks the {endpoint} contract ({len(found)} violation(s)):\n{details}")

    def assert_cassette_valid(self, path: str | Path) -> None:
        """Fail listing every violation (file:line, event, pointer) in a cassette."""
        __tracebackhide__ = True
        run = Validation(self.contract)
        found = [str(f) for f in run.run([path])]
        if found:
            shown = "\n  ".join(found[:20]) + (f"\n  ... and {len(found) - 20} more" if len(found) > 20 else "")
            raise ContractViolation(f"{path} breaks the contract ({len(found)} violation(s)):\n  {shown}")
