"""Validate files (cassettes, raw NDJSON dumps, directories) into located findings.

Files are streamed: findings are yielded as they are found and only counts are kept, so
an hour of the firehose is checked in constant memory. Cassettes and dumps are read in
blocks (`harness.contract._blocks`), the native checker running over whole records where it was
built; `harness validate -j N` checks the blocks on N processes (`harness.contract._parallel`).
Findings come out in file order, with the same tally, whatever N.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from harness.contract._findings import SUFFIXES, Finding, Tally, expand, is_cassette
from harness.contract._groups import group_pointer
from harness.contract._parallel import ParallelValidation
from harness.contract.checker import Contract
from harness.errors import InputError

__all__ = [
    "SUFFIXES", "Baseline", "Finding", "Known", "Tally", "Validation", "expand", "is_cassette", "validate_paths",
]  # fmt: skip


class Validation(ParallelValidation):
    """Validates files with one contract, in this process, accumulating a `Tally`."""

    def __init__(self, contract: Contract | None = None, *, endpoint: str | None = None) -> None:
        contract = contract or Contract()
        super().__init__(contract.profile, jobs=1, endpoint=endpoint, contract=contract)


def validate_paths(
    paths: Iterable[str | Path], *, endpoint: str | None = None, contract: Contract | None = None
) -> tuple[list[Finding], Tally]:
    """Validate everything under `paths`; every finding in a list (for small inputs)."""
    run = Validation(contract, endpoint=endpoint)
    return list(run.run(paths)), run.tally


@dataclass(frozen=True)
class Known:
    """A violation a baseline file declares expected, with the reason why.

    An entry may name a group: a pointer with `*` for array indices (as groups show it)
    matches the finding at any index, and `schema_location`, when given, must be the
    finding's too; no `file` (or "*") matches every file."""

    file: str
    pointer: str
    keyword: str
    reason: str = ""
    schema_location: str | None = None

    def matches(self, f: Finding) -> bool:
        name = Path(f.file).as_posix()
        if self.file not in ("", "*") and not (name == self.file or name.endswith("/" + self.file)):
            return False
        v = f.violation
        if v.keyword != self.keyword or self.schema_location not in (None, v.schema_location):
            return False
        return v.pointer == self.pointer or ("*" in self.pointer and group_pointer(v.pointer) == self.pointer)


class Baseline:
    """Known violations (a JSON list of {file, pointer, keyword, reason}).

    A finding the baseline lists is reported as known instead of failing the run; an entry
    that matches nothing is stale, so the baseline keeps saying exactly what is wrong.
    """

    def __init__(self, known: Iterable[Known]) -> None:
        self.known = list(known)
        self.used: set[Known] = set()

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        try:
            entries = json.loads(Path(path).read_text(encoding="utf-8"))
            return cls(
                Known(e.get("file", ""), e["pointer"], e["keyword"], e.get("reason", ""), e.get("schema_location"))
                for e in entries
            )
        except OSError as exc:
            raise InputError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(
                f"{path}: expected a JSON list of {{file, pointer, keyword, reason}} objects"
                f" (schema_location optional; a pointer may have * for array indices) ({exc!r})"
            ) from None

    def match(self, finding: Finding) -> Known | None:
        for k in self.known:
            if k.matches(finding):
                self.used.add(k)
                return k
        return None

    def stale(self) -> list[Known]:
        return [k for k in self.known if k not in self.used]
