"""The filtered stream's rules in effect, and which recorded events they let through.

A `RuleBook` holds the app's rules (shared by every connection, as X keeps them per app):
it answers the rules API (`lookup`, `change`, `counts`) and decides, for each event line as it
is sent, whether a rule it matched when recorded is installed (by value) and rewrites its
`matching_rules` to the installed rules' ids and tags (`select`). Its first rules are those
a cassette recorded (header `rules`), else those derived from the `matching_rules` seen
(values unknown: shown as `recorded_rule_<id>`), else a test's own.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from harness.cassette import Header
from harness.errors import UsageError
from harness.model.problems import problem_tags
from harness.model.rule_syntax import MAX_RULE_LENGTH, MAX_RULES, check_rule
from harness.replay._recorded import Recorded, read_items
from harness.replay._rule_lines import MARK, line_tail, matching_rules

FIRST_ID = 1_900_000_000_000_000_000  # ids of rules added here: 19-digit, above any recorded one
_TOKEN = re.compile(r"[0-9]{16}\Z")  # ASCII digits: str.isdigit() takes "²", which int() refuses
_RULE_ID = re.compile(r"[0-9]{1,19}\Z")
_TYPE = {slug: problem_tags(slug)[0] for slug in ("invalid-rules", "duplicate-rules", "rule-cap", "invalid-request")}


#: a rule as given: {"value"[, "tag"][, "id"]}
RuleSpec = Mapping[str, str]


@dataclass(frozen=True)
class Rule:
    """An installed rule."""

    id: str
    value: str
    tag: str | None = None

    def as_json(self) -> dict[str, str]:
        return {"id": self.id, "value": self.value, **({"tag": self.tag} if self.tag is not None else {})}

    def matching(self) -> dict[str, str]:
        return {"id": self.id, **({"tag": self.tag} if self.tag is not None else {})}


def sent_now() -> str:
    """`meta.sent`: the time of the answer, as X writes it (milliseconds, Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def invalid_request(message: str, parameters: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
    """X's 400 body for a request it cannot take (bad JSON, bad parameters)."""
    return {
        "errors": [{"parameters": dict(parameters or {}), "message": message}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
        "type": _TYPE["invalid-request"],
    }


class RuleBook:
    """The rules in effect (see the module docstring); thread-safe."""

    def __init__(self, rules: Iterable[Mapping[str, str]] | None = None, *, max_rules: int = MAX_RULES,
                 max_length: int = MAX_RULE_LENGTH,
                 on_message: Callable[[str], None] | None = None) -> None:  # fmt: skip
        for name, count in (("max_rules", max_rules), ("max_rule_length", max_length)):
            if count < 1:
                raise UsageError(f"{name}: expected a count >= 1, found {count}")
        self.max_rules, self.max_length = max_rules, max_length
        self.on_message = on_message
        self.warnings: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(FIRST_ID)
        self._given = None if rules is None else self._coerce(rules)
        self._cassettes: list[tuple[Header, list[Recorded]]] = []
        self._loaded = False
        self._rules: dict[str, Rule] = {}
        self._by_value: dict[str, Rule] = {}
        self._pristine = True  # the rules are those recorded: events go out as recorded
        self._as_recorded: frozenset[Rule] = frozenset()
        self._recorded: dict[str, str] = {}  # recorded rule id -> value
        self._with_events: set[str] = set()  # values the recording has events for

    # -- set-up -------------------------------------------------------------------------------
    def add_cassettes(self, scanned: Iterable[tuple[str, Header, list[Recorded]]], warnings: list[str]) -> None:
        """The cassettes of the server: their rules count only for the filtered stream's."""
        for endpoint, header, found in scanned:
            self._add_cassette(endpoint, header, found, warnings)

    def _add_cassette(self, endpoint: str, header: Header, found: list[Recorded], warnings: list[str]) -> None:
        if endpoint == "search-stream":
            self._cassettes.append((header, found))
            if header.rules is None and found:
                warnings.append(
                    f"{found[0].path}: no rules recorded: the rules in effect are derived from the events' "
                    "matching_rules (ids and tags; values unknown, shown as recorded_rule_<id>)"
                )

    def _coerce(self, rules: Iterable[Mapping[str, str]]) -> list[Rule]:
        """A test's own rules, checked as the API would take them (ids left "" to be given by `_ids`)."""
        made: list[Rule] = []
        for rule in rules:
            value = rule.get("value") if isinstance(rule, Mapping) else None
            if not isinstance(value, str):
                raise UsageError(f'rules: expected {{"value", "tag"}} objects, found {rule!r:.80}')
            problems = check_rule(value, self.max_length)
            if problems:
                raise UsageError(f"rules: {value!r:.80} is not a valid rule: {'; '.join(problems)}")
            rid, tag = rule.get("id"), rule.get("tag")
            if rid is not None and not _RULE_ID.match(str(rid)):
                raise UsageError(f"rules: {value!r:.80}: expected an id of 1 to 19 digits, found {rid!r:.40}")
            made.append(Rule("" if rid is None else str(rid), value, None if tag is None else str(tag)))
        for what, keys in (("value", [r.value for r in made]), ("id", [r.id for r in made if r.id])):
            twice = _repeated(keys)
            if twice is not None:
                raise UsageError(f"rules: the {what} {twice!r:.80} is given twice (the API refuses duplicates)")
        if len(made) > self.max_rules:
            raise UsageError(f"rules: {len(made)} rules given, over the cap of {self.max_rules} (raise max_rules)")
        return made

    def _numbered(self, rules: list[Rule]) -> list[Rule]:
        """(lock held, loaded) `rules` with an id each: new ones above every recorded id."""
        return [r if r.id else Rule(str(next(self._ids)), r.value, r.tag) for r in rules]

    def _load(self) -> None:
        """(lock held) Read what the cassettes say about rules, once, when first needed."""
        if self._loaded:
            return
        self._loaded = True
        recorded: list[Rule] = []
        derived: dict[str, Rule] = {}
        for header, found in self._cassettes:
            for spec in header.rules or ():
                recorded.append(Rule(str(spec.get("id", "")), spec["value"], spec.get("tag")))
            for call in header.api_calls:  # rules added while recording
                response = call.get("response")
                for made in response.get("data") or () if isinstance(response, dict) else ():
                    if isinstance(made, dict) and _strings([made.get("id"), made.get("value")]):
                        self._recorded.setdefault(made["id"], made["value"])
            for rec in found:
                for item in read_items(rec, 0, 0.0):
                    for match in (matching_rules(item.raw) or ()) if item.event else ():
                        rid = str(match.get("id"))
                        tag = match.get("tag")
                        derived.setdefault(rid, Rule(rid, f"recorded_rule_{rid}", None if tag is None else str(tag)))
        for rule in recorded:
            self._recorded[rule.id] = rule.value
        numeric = [int(i) for i in [*self._recorded, *derived] if _RULE_ID.match(i)]
        self._ids = itertools.count(max([next(self._ids), *(n + 1 for n in numeric)]))  # never a recorded id
        for rid, rule in derived.items():
            self._with_events.add(self._recorded.setdefault(rid, rule.value))
        if self._given is not None:
            initial = self._numbered(self._given)
        elif any(h.rules is not None for h, _ in self._cassettes):
            initial = recorded
        else:
            initial = list(derived.values())
            if self._cassettes:
                self.warnings.append(
                    f"the cassette records no rules: {len(initial)} rule(s) derived from the events' matching_rules "
                    "(ids and tags; values unknown, shown as recorded_rule_<id>). Re-record with `harness record "
                    "search-stream` to keep the rules' values."
                )
                self._say(self.warnings[-1])
        self._as_recorded = frozenset(
            recorded if any(h.rules is not None for h, _ in self._cassettes) else derived.values()
        )
        self._install({r.id: r for r in initial})

    def _say(self, message: str) -> None:
        if self.on_message is not None:
            self.on_message(message)

    # -- the Python API ------------------------------------------------------------------------
    @property
    def rules(self) -> list[dict[str, str]]:
        """The rules in effect, as the API lists them."""
        with self._lock:
            self._load()
            return [r.as_json() for r in self._rules.values()]

    def set(self, rules: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
        """Replace the rules in effect (each `{"value"[, "tag"][, "id"]}`); returns them with their ids."""
        checked = self._coerce(rules)
        with self._lock:
            self._load()
            made = self._numbered(checked)
            self._install({r.id: r for r in made})
            self._note_new(made)
            return [r.as_json() for r in made]

    def _install(self, rules: dict[str, Rule]) -> None:
        """(lock held)"""
        self._rules = rules
        self._by_value = {r.value: r for r in rules.values()}  # what `select` looks up, per event
        self._pristine = frozenset(rules.values()) == self._as_recorded

    def _note_new(self, rules: Iterable[Rule]) -> None:
        """(lock held) Say which new rules the recording has nothing for."""
        for rule in rules:
            if self._cassettes and rule.value not in self._with_events:
                self._say(f"rule {rule.id} {rule.value!r}: accepted; the recording has no events for it")

    # -- the stream ----------------------------------------------------------------------------
    def selector(self) -> Callable[[bytes], bytes | None] | None:
        """`select`, or None while the rules are those recorded (the lines go as they are)."""
        if not self._loaded:
            if self._given is None:
                return None  # untouched: the recorded rules, whatever they are (no need to read them)
            with self._lock:
                self._load()
        return None if self._pristine else self.select

    def select(self, raw: bytes) -> bytes | None:
        """An event line as the rules in effect let it out: None (no rule it matched is installed),
        or with `matching_rules` naming the installed rules."""
        tail = line_tail(raw)  # the usual line: only its last member is read and rewritten
        found: tuple[dict[str, Any] | None, list[dict[str, Any]]] | None
        found = (None, tail[1]) if tail is not None else matching_rules(raw, keep=True)
        if found is None:
            return raw  # no matching_rules (an error payload): not the rules' business
        obj, matched = found
        values = dict.fromkeys(self._recorded.get(str(m.get("id")), f"recorded_rule_{m.get('id')}") for m in matched)
        by_value = self._by_value  # replaced whole on a change, never changed in place: no lock needed
        installed = [by_value[v].matching() for v in values if v in by_value]
        if not installed:
            return None
        if obj is None:
            assert tail is not None
            return tail[0] + MARK[:-1] + orjson.dumps(installed) + b"}" + tail[2]
        obj["matching_rules"] = installed
        return orjson.dumps(obj) + b"\r\n"

    def assign(self, event: dict[str, Any], n: int) -> dict[str, Any] | None:
        """A synthetic event made to match the installed rules (the `n`th names rule n mod count)."""
        with self._lock:
            self._load()
            rules = list(self._rules.values())
        if not rules:
            return None
        return {**event, "matching_rules": [rules[n % len(rules)].matching()]}

    # -- the API -------------------------------------------------------------------------------
    def lookup(self, ids: Sequence[str] | None, max_results: int, token: str | None) -> tuple[int, dict[str, Any]]:
        """GET .../rules: the rules (those of `ids`), a page of `max_results` from `token`."""
        with self._lock:
            self._load()
            wanted = None if ids is None else frozenset(ids)
            rules = [r for r in self._rules.values() if wanted is None or r.id in wanted]
        start = 0
        if token is not None:
            if not _TOKEN.match(token) or int(token) > len(rules):
                message = f"pagination_token: {token!r} is not a token this server gave"
                return 400, invalid_request(message, {"pagination_token": [token]})
            start = int(token)
        page = rules[start : start + max_results]
        meta: dict[str, Any] = {"sent": sent_now(), "result_count": len(page)}
        if start + max_results < len(rules):
            meta["next_token"] = f"{start + max_results:016d}"
        return 200, {**({"data": [r.as_json() for r in page]} if page else {}), "meta": meta}

    def counts(self) -> dict[str, Any]:
        """GET .../rules/counts."""
        with self._lock:
            self._load()
            n = len(self._rules)
        app = {"client_app_id": "1", "rule_count": n}
        data = {"all_project_client_apps": [app], "cap_per_client_app": self.max_rules,
                "cap_per_project": self.max_rules, "client_app_rules_count": app, "project_rules_count": n}  # fmt: skip
        return {"data": data}

    def change(self, body: Any, dry_run: bool, delete_all: bool) -> tuple[int, dict[str, Any]]:
        """POST .../rules: add or delete, as X does it (partial success included)."""
        with self._lock:
            self._load()
            if delete_all:
                return self._delete(list(self._rules), [], dry_run)
            if not isinstance(body, dict) or len({"add", "delete"} & set(body)) != 1 or set(body) - {"add", "delete"}:
                return 400, invalid_request("the body must be a JSON object with either 'add' or 'delete'")
            if "add" in body:
                return self._add(body["add"], dry_run)
            spec = body["delete"]
            if not isinstance(spec, dict) or not ({"ids", "values"} & set(spec)) or set(spec) - {"ids", "values"}:
                return 400, invalid_request("'delete' must be an object with 'ids' or 'values'")
            ids, values = spec.get("ids", []), spec.get("values", [])
            if not _strings(ids) or not _strings(values):
                return 400, invalid_request("'delete.ids' and 'delete.values' must be lists of strings")
            return self._delete(ids, values, dry_run)

    def _add(self, adds: Any, dry_run: bool) -> tuple[int, dict[str, Any]]:
        if not isinstance(adds, list) or not adds:
            return 400, invalid_request("'add' must be a non-empty list of rules")
        for rule in adds:
            if not isinstance(rule, dict) or not isinstance(rule.get("value"), str) or set(rule) - {"value", "tag"}:
                return 400, invalid_request("each rule to add must be an object: a string 'value', an optional 'tag'")
            if not isinstance(rule.get("tag", ""), str):
                return 400, invalid_request("a rule's 'tag' must be a string")
        errors: list[dict[str, Any]] = []
        invalid = 0
        for rule in adds:
            details = check_rule(rule["value"], self.max_length)
            if details:
                invalid += 1
                errors.append({"value": rule["value"], "details": details, "title": "UnprocessableEntity",
                               "type": _TYPE["invalid-rules"]})  # fmt: skip
        valid = len(adds) - invalid
        if invalid:  # X creates none of a request that holds an invalid rule
            return 400, self._added([], errors, 0, len(adds), valid, invalid)
        by_value = {r.value: r for r in self._rules.values()}
        new: list[Rule] = []
        for rule in adds:
            existing = by_value.get(rule["value"])
            if existing is not None:
                errors.append({"value": rule["value"], "id": existing.id, "title": "DuplicateRule",
                               "type": _TYPE["duplicate-rules"]})  # fmt: skip
                continue
            made = Rule(str(next(self._ids)), rule["value"], rule.get("tag"))
            by_value[made.value] = made
            new.append(made)
        if len(self._rules) + len(new) > self.max_rules:
            errors = [{"title": "RulesCapExceeded", "type": _TYPE["rule-cap"],
                       "detail": f"Rule creation failed as it would exceed the cap of {self.max_rules} rules "
                                 f"({len(self._rules)} installed, {len(new)} new)"}]  # fmt: skip
            return 400, self._added([], errors, 0, len(adds), valid, 0)
        if not dry_run:
            self._install({**self._rules, **{r.id: r for r in new}})
            self._note_new(new)
        return 200, self._added(new, errors, len(new), len(adds) - len(new), valid, 0)

    @staticmethod
    def _added(new: list[Rule], errors: list[dict[str, Any]], created: int, not_created: int, valid: int,
               invalid: int) -> dict[str, Any]:  # fmt: skip
        summary = {"created": created, "not_created": not_created, "valid": valid, "invalid": invalid}
        return {**({"data": [r.as_json() for r in new]} if new else {}), **({"errors": errors} if errors else {}),
                "meta": {"sent": sent_now(), "summary": summary}}  # fmt: skip

    def _delete(self, ids: list[str], values: list[str], dry_run: bool) -> tuple[int, dict[str, Any]]:
        by_value = {r.value: r.id for r in self._rules.values()}
        gone: dict[str, None] = {}  # a set, in order
        errors: list[dict[str, Any]] = []
        for key, wanted in [("ids", i) for i in ids] + [("values", v) for v in values]:
            rid = wanted if key == "ids" else by_value.get(wanted)
            if rid is None or rid not in self._rules or rid in gone:
                errors.append(invalid_request("Rule does not exist", {key: [wanted]}))
                continue
            gone[rid] = None
        if not dry_run and gone:
            self._install({k: r for k, r in self._rules.items() if k not in gone})
        summary = {"deleted": len(gone), "not_deleted": len(errors)}
        return 200, {**({"errors": errors} if errors else {}), "meta": {"sent": sent_now(), "summary": summary}}


def _repeated(keys: Iterable[str]) -> str | None:
    """The first key met a second time, or None."""
    seen: set[str] = set()
    for key in keys:
        if key in seen:
            return key
        seen.add(key)
    return None


def _strings(found: Any) -> bool:
    return isinstance(found, list) and all(isinstance(x, str) for x in found)
