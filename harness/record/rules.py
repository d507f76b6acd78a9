"""The filtered stream's rules around a recording: read before connecting, installed on request.

    rules = RulesSetup(stream_url, token, redaction, wanted=load_rules(path), replace=True).run()

Before `harness record search-stream` connects, the rules in effect are read
(`GET .../rules`) into the cassette header's `rules`. With `--rules FILE` the rules of the file
are first validated by the live API (`dry_run=true`); with `--replace-rules` the other rules
are deleted; then the file's missing rules are added (a dry run refused for the rule cap alone
does not stop `--replace-rules`, which makes room: the syntax is then checked here). Every call
and the live API's answer go into the header's `api_calls`, with the token redacted like
everything the recorder writes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from harness.errors import StreamError, UsageError
from harness.model.rule_syntax import check_rule
from harness.record import _http_client
from harness.record.redact import Redaction

MAX_ANSWER = 1 << 20  # bytes of a rules answer read at most
MAX_LENGTH = 1024  # characters of a rule checked here (X's Pro level: the live API has the last word)
MAX_PAGES = 100  # of GET .../rules: 100,000 rules at most (a server that pages forever is stopped)
Rule = Mapping[str, str]
Calls = tuple[Mapping[str, Any], ...]


def load_rules(path: Path) -> tuple[Rule, ...]:
    """A `--rules` file: a JSON list of {"value", "tag"?}; UsageError saying what is wrong and where."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"--rules {path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UsageError(f"--rules {path}: not JSON: {exc}") from None
    if not isinstance(data, list) or not data:
        raise UsageError(f"--rules {path}: expected a non-empty JSON list of {{value, tag}} objects")
    rules: list[Rule] = []
    for i, rule in enumerate(data):
        if not isinstance(rule, dict) or not isinstance(rule.get("value"), str) or not rule["value"].strip():
            raise UsageError(f"--rules {path}: item {i}: expected {{\"value\": a non-empty string, \"tag\"?}}, "
                             f"found {json.dumps(rule)[:120]}")  # fmt: skip
        extra = set(rule) - {"value", "tag"}
        if extra or not isinstance(rule.get("tag", ""), str):
            raise UsageError(f"--rules {path}: item {i}: expected members value and tag (a string), found "
                             f"{', '.join(sorted(rule))}")  # fmt: skip
        rules.append({k: rule[k] for k in ("value", "tag") if k in rule})
    return tuple(rules)


@dataclass
class RulesSetup:
    """The calls to the rules API of the stream at `stream_url` (see the module docstring)."""

    stream_url: str
    token: str | None
    redaction: Redaction
    wanted: tuple[Rule, ...] | None = None
    replace: bool = False
    timeout: float = 10.0
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.stream_url.rstrip("/") + "/rules"

    def run(self) -> tuple[tuple[Rule, ...], tuple[Mapping[str, Any], ...]]:
        """The rules in effect once set up, and the calls made (redacted), in order."""
        if self.wanted is not None:
            self._install(self.wanted)
        return self._current(), tuple(self.calls)

    def _install(self, wanted: tuple[Rule, ...]) -> None:
        body = {"add": [dict(r) for r in wanted]}
        try:
            checked = self._call("POST", {"dry_run": "true"}, body)
        except StreamError:
            if not (self.replace and _only_cap(self.calls[-1])):
                raise
            checked = self._checked_here(wanted)
        invalid = _summary(checked, "invalid") or ("errors" in checked and not _summary(checked, "valid"))
        if invalid:
            raise UsageError(f"--rules: the live API refused the rules in a dry run: {_problems(checked)}")
        installed = self._current()
        values = {r["value"] for r in wanted}
        if self.replace:
            others = [r["id"] for r in installed if r.get("value") not in values and "id" in r]
            if others:
                self._call("POST", {}, {"delete": {"ids": others}})
        have = {r.get("value") for r in installed}
        missing = [dict(r) for r in wanted if r["value"] not in have]
        if missing:
            added = self._call("POST", {}, {"add": missing})
            if _summary(added, "not_created") or _summary(added, "invalid"):
                raise StreamError(f"--rules: the live API did not create every rule: {_problems(added)}")

    def _checked_here(self, wanted: tuple[Rule, ...]) -> dict[str, Any]:
        """A dry run refused for the rule cap alone, with --replace-rules (the rules replaced make
        room; a dry run counts them): the rules' syntax is checked here, as the replay checks it."""
        errors = [{"value": r["value"], "details": d} for r in wanted if (d := check_rule(r["value"], MAX_LENGTH))]
        if errors:
            raise UsageError(f"--rules: invalid rules: {_problems({'errors': errors})}")
        return {}

    def _current(self) -> tuple[Rule, ...]:
        """Every rule in effect: the pages of `GET .../rules` (a page holds at most 1000 rules)."""
        rules: list[Rule] = []
        query: dict[str, str] = {}
        for _ in range(MAX_PAGES):
            answer = self._call("GET", query, None)
            data = answer.get("data", [])
            if not isinstance(data, list):
                found = json.dumps(data)[:120]
                raise StreamError(f"GET {self._shown()}: expected a list of rules in data, found {found}")
            rules.extend({k: str(r[k]) for k in ("id", "value", "tag") if k in r} for r in data if isinstance(r, dict))
            meta = answer.get("meta")
            token = meta.get("next_token") if isinstance(meta, dict) else None
            if not isinstance(token, str) or not token or not data:
                return tuple(rules)
            query = {"pagination_token": token}
        raise StreamError(f"GET {self._shown()}: still a next page after {MAX_PAGES} pages of rules")

    def _shown(self) -> str:
        return self.redaction.message(urlsplit(self.url).path)

    def _call(self, method: str, query: dict[str, str], body: Any) -> dict[str, Any]:
        """One call; its answer (a JSON object). Recorded whatever its status; a non-2xx ends the setup."""
        url = self.url + (f"?{urlencode(query)}" if query else "")
        headers = {"Accept": "application/json", "User-Agent": "x-stream-harness (record rules)"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        data = None if body is None else json.dumps(body).encode()
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout, context=_context(url)) as reply:
                status, raw = reply.status, reply.read(MAX_ANSWER)
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read(MAX_ANSWER)
        except (OSError, ValueError) as exc:
            raise StreamError(self.redaction.message(f"{method} {self.url}: {exc}")) from None
        try:
            answer = json.loads(self.redaction.text(raw.decode("utf-8", "replace")))
        except (json.JSONDecodeError, RecursionError):  # not JSON, or a nesting bomb
            answer = {"text": self.redaction.text(raw.decode("utf-8", "replace"))[:2000]}
        if not isinstance(answer, dict):
            answer = {"value": answer}
        r = self.redaction
        shown_body = None if body is None else json.loads(r.text(json.dumps(body)))
        self.calls.append({"method": method, "path": urlsplit(url).path, "query": r.query(query), "body": shown_body,
                           "status": status, "response": answer})  # fmt: skip
        if not 200 <= status < 300:
            raise StreamError(f"{method} {self._shown()}: {status}: {_problems(answer)}")
        return answer


def setup_rules(stream_url: str, token: str | None, redaction: Redaction, wanted: tuple[Rule, ...] | None,
                replace: bool, tell: Callable[[str], None]) -> tuple[tuple[Rule, ...] | None, Calls]:  # fmt: skip
    """The header's `rules` and `api_calls`. Without `wanted`, a rules API that fails only costs the
    snapshot (`rules` None, and a message); with it, the failure ends the recording before it starts."""
    setup = RulesSetup(stream_url, token, redaction, wanted, replace)
    try:
        return setup.run()
    except StreamError as exc:
        if wanted is not None:
            raise
        tell(f"the rules in effect could not be read ({exc}): the cassette records none")
        return None, tuple(setup.calls)


def _context(url: str) -> Any:
    return _http_client.ca_context() if url.startswith("https:") else None


def _only_cap(call: Mapping[str, Any]) -> bool:
    """A call refused for the rule cap and nothing else."""
    errors = call["response"].get("errors")
    return (
        call["status"] == 400
        and isinstance(errors, list)
        and bool(errors)
        and all(isinstance(e, dict) and str(e.get("type", "")).endswith("/rule-cap") for e in errors)
    )


def _summary(answer: Mapping[str, Any], key: str) -> int:
    meta = answer.get("meta")
    summary = meta.get("summary") if isinstance(meta, dict) else None
    value = summary.get(key) if isinstance(summary, dict) else None
    return value if isinstance(value, int) else 0


def _problems(answer: Mapping[str, Any]) -> str:
    errors = answer.get("errors")
    if not isinstance(errors, list) or not errors:
        return json.dumps(answer)[:300]
    parts = []
    for e in errors[:5]:
        if isinstance(e, dict):
            what = e.get("value") or e.get("id") or ""
            why = e.get("details") or e.get("detail") or ""
            parts.append(f"{e.get('title', 'error')}{f' ({what})' if what else ''}: {why}")
    return "; ".join(parts)
