"""Findings grouped as people read them: one group per (schema location, keyword, pointer
with array indices wildcarded), with its count, the share of events it touches, its first
and last occurrence and a few example messages (each naming the value found).

A drifted cassette makes a million findings and a handful of groups: the groups are what
`harness validate` shows on a TTY, puts beside the findings in JSON and turns into JUnit
failures. Memory grows with the groups, never with the findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from harness.contract._findings import Finding

__all__ = ["Group", "GroupKey", "Grouper", "group_pointer", "junit_xml"]

_INDEX = re.compile(r"/[0-9]+(?=/|$)")


def group_pointer(pointer: str) -> str:
    """`pointer` with its array indices as `*` ("/includes/users/3/id" -> "/includes/users/*/id").

    A member named by digits alone reads as an index too: the contract's objects have none."""
    return _INDEX.sub("/*", pointer)


@dataclass(frozen=True, order=True)
class GroupKey:
    schema_location: str
    keyword: str
    pointer: str  # array indices wildcarded

    @classmethod
    def of(cls, finding: Finding) -> GroupKey:
        v = finding.violation
        return cls(v.schema_location, v.keyword, group_pointer(v.pointer))

    def __str__(self) -> str:
        where = f" at {self.schema_location}" if self.schema_location else ""
        return f"{self.pointer or '/'}: {self.keyword}{where}"


@dataclass(frozen=True)
class Occurrence:
    file: str
    line: int
    offset: float | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f" @{self.offset:.6f}s" if self.offset is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "offset": self.offset}


@dataclass
class Group:
    """The findings of one key so far."""

    key: GroupKey
    first: Occurrence
    _last: Finding
    count: int = 0
    events: int = 0  # distinct payloads with a finding of this group
    known: int = 0  # of `count`, declared by the baseline
    endpoints: set[str] = field(default_factory=set)
    examples: list[str] = field(default_factory=list)
    _payload: tuple[str, int] | None = None

    def add(self, finding: Finding, known: bool, max_examples: int) -> None:
        self.count += 1
        self.known += known
        self._last = finding
        if finding.endpoint not in self.endpoints:
            self.endpoints.add(finding.endpoint)
        payload = (finding.file, finding.line)
        if payload != self._payload:  # findings come in file order: a payload's are together
            self.events, self._payload = self.events + 1, payload
        if len(self.examples) < max_examples and finding.violation.message not in self.examples:
            self.examples.append(finding.violation.message)

    @property
    def last(self) -> Occurrence:
        return Occurrence(self._last.file, self._last.line, self._last.offset)

    def share(self, payloads: int) -> float:
        return self.events / payloads if payloads else 0.0

    def as_dict(self, payloads: int) -> dict[str, Any]:
        return {
            "schema_location": self.key.schema_location,
            "keyword": self.key.keyword,
            "pointer": self.key.pointer,
            "count": self.count,
            "events": self.events,
            "share_of_events": round(self.share(payloads), 6),
            "known": self.known,
            "endpoints": sorted(self.endpoints),
            "first": self.first.as_dict(),
            "last": self.last.as_dict(),
            "examples": list(self.examples),
        }

    def text(self, payloads: int) -> list[str]:
        known = f", {self.known} known" if self.known else ""
        lines = [
            f"{self.key}",
            f"    {self.count} finding(s) in {self.events} payload(s) ({self.share(payloads):.1%} of them){known}",
            f"    first {self.first}, last {self.last}",
        ]
        lines += [f"    e.g. {e}" for e in self.examples]
        return lines


class Grouper:
    """Groups findings, overall and (`by_case`) per (file, endpoint)."""

    def __init__(self, max_examples: int = 1, *, by_case: bool = True) -> None:
        self.max_examples, self.by_case = max_examples, by_case
        self.groups: dict[GroupKey, Group] = {}
        self.cases: dict[tuple[str, str], dict[GroupKey, Group]] = {}
        self._keys: dict[tuple[str, str, str], GroupKey] = {}  # a drift repeats a few keys a million times

    def add(self, finding: Finding, known: bool = False) -> None:
        v = finding.violation
        key = self._keys.get((v.schema_location, v.keyword, v.pointer))
        if key is None:
            if len(self._keys) >= 4096:  # bounded: pointers with indices are many
                self._keys.clear()
            key = self._keys[(v.schema_location, v.keyword, v.pointer)] = GroupKey.of(finding)
        where = (
            (self.groups, self.cases.setdefault((finding.file, finding.endpoint), {}))
            if self.by_case
            else (self.groups,)
        )
        for groups in where:
            group = groups.get(key)
            if group is None:
                group = groups[key] = Group(key, Occurrence(finding.file, finding.line, finding.offset), finding)
            group.add(finding, known, self.max_examples)

    def ranked(self) -> list[Group]:
        """The groups, the largest first."""
        return sorted(self.groups.values(), key=lambda g: (-g.count, g.key))


def junit_xml(
    cases: list[tuple[str, str]],
    grouper: Grouper,
    payloads: dict[tuple[str, str], int],
    errors: dict[str, str],
) -> bytes:
    """JUnit XML: a test case per (file, endpoint) validated, a failure per group of new
    findings (known ones are in the case's output), an error per input that failed."""
    from xml.etree import ElementTree  # here: only JUnit output needs it

    suite = ElementTree.Element("testsuite", name="harness validate")
    failures = 0
    for file, endpoint in cases:
        case = ElementTree.SubElement(suite, "testcase", classname=file, name=endpoint)
        n = payloads.get((file, endpoint), 0)
        known = []
        for group in sorted(grouper.cases.get((file, endpoint), {}).values(), key=lambda g: (-g.count, g.key)):
            if group.known == group.count:
                known.append("\n".join(group.text(n)))
                continue
            failures += 1
            failure = ElementTree.SubElement(
                case, "failure", type=group.key.keyword, message=f"{group.key} ({group.count - group.known} new)"
            )
            failure.text = "\n".join(group.text(n))
        if known:
            ElementTree.SubElement(case, "system-out").text = "known:\n" + "\n".join(known)
    for file, message in errors.items():
        case = ElementTree.SubElement(suite, "testcase", classname=file, name="input")
        ElementTree.SubElement(case, "error", type="input", message=message)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", str(len(errors)))
    root = ElementTree.Element("testsuites")
    root.append(suite)
    return bytes(ElementTree.tostring(root, encoding="utf-8", xml_declaration=True))
