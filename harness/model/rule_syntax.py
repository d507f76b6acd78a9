"""Filtered-stream rule values: parsed and checked as the live API checks them.

The documented syntax: terms side by side are ANDed, `OR` (capitals) ORs, AND binds
tighter, parentheses group, a leading `-` negates. Terms are keywords, "quoted phrases"
(with an optional proximity `~N`, N <= 6), `#hashtag`, `@mention`, `$cashtag`, and the
`operator:value` forms of the operator list. Standalone operators may stand alone;
conjunction-required ones (`is:`, `has:`, `lang:`, `sample:`) may not, and a rule needs
at least one standalone term that is not negated. `-is:nullcast` must be negated, `sample:`
must not be. Violations raise `RuleError` with X's kind of details ("... (at position N)").

Limits (defaults as documented for the Basic access level; Pro allows 1000 rules of 1024
characters): `MAX_RULE_LENGTH` characters per rule, `MAX_RULES` rules per app.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

from harness.errors import RuleError

MAX_RULE_LENGTH = 512
MAX_RULES = 25
MAX_PROXIMITY = 6

_USER = r"(?:[A-Za-z0-9_]{1,15}|[0-9]{1,19})"
_ID = r"[0-9]{1,19}"
_COUNT = r"[0-9]{1,9}(?:\.\.[0-9]{1,9})?"
_TEXT = r".+"

#: standalone operators: name -> pattern of the value
STANDALONE: dict[str, str] = {
    "from": _USER,
    "to": _USER,
    "retweets_of": _USER,
    "from_affiliate_of": _USER,
    "to_affiliate_of": _USER,
    "url": _TEXT,
    "url_title": _TEXT,
    "url_description": _TEXT,
    "url_contains": _TEXT,
    "context": r"[0-9]{1,19}\.(?:[0-9]{1,19}|\*)",
    "entity": _TEXT,
    "conversation_id": _ID,
    "in_reply_to_tweet_id": _ID,
    "retweets_of_tweet_id": _ID,
    "quotes_of_tweet_id": _ID,
    "list": _ID,
    "bio": _TEXT,
    "bio_name": _TEXT,
    "bio_location": _TEXT,
    "place": _TEXT,
    "place_country": r"[A-Za-z]{2}",
    "point_radius": r"\[-?[0-9.]+ -?[0-9.]+ [0-9.]+(?:mi|km)\]",
    "bounding_box": r"\[-?[0-9.]+ -?[0-9.]+ -?[0-9.]+ -?[0-9.]+\]",
    "source": _TEXT,
    "followers_count": _COUNT,
    "tweets_count": _COUNT,
    "following_count": _COUNT,
    "listed_count": _COUNT,
}
IS_VALUES = ("retweet", "reply", "quote", "verified", "nullcast")
HAS_VALUES = ("hashtags", "cashtags", "links", "mentions", "media", "images", "video_link", "geo")
#: conjunction-required operators: name -> pattern of the value
CONJUNCTION: dict[str, str] = {
    "is": "|".join(IS_VALUES),
    "has": "|".join(HAS_VALUES),
    "lang": r"[a-z]{2,3}(?:-[A-Za-z]{2,4})?",
    "sample": r"[1-9][0-9]?|100",
}

_OPERATOR = re.compile(r"([a-z_]+):(.*)\Z", re.S)
_HASHTAG = re.compile(r"#\w+\Z")
_MENTION = re.compile(r"@[A-Za-z0-9_]{1,15}\Z")
_CASHTAG = re.compile(r"\$[A-Za-z][A-Za-z0-9_.]{0,20}\Z")
_SPACE = frozenset(" \t\r\n\f\v")


@dataclass(frozen=True)
class Term:
    """One term: `kind` is "keyword", "phrase", "#", "@", "$" or an operator's name."""

    kind: str
    value: str
    negated: bool = False
    proximity: int | None = None
    position: int = 1

    @property
    def standalone(self) -> bool:
        return self.kind not in CONJUNCTION


@dataclass(frozen=True)
class Group:
    """Terms joined by AND (`any_of` False) or OR (`any_of` True)."""

    items: tuple[Node, ...]
    any_of: bool = False
    negated: bool = False


Node = Union[Term, Group]


@dataclass(frozen=True)
class _Tok:
    kind: str  # "(", ")", "OR", "-", "word", "phrase"
    text: str
    position: int  # 1-based, as X counts
    proximity: int | None = None


def _fail(value: str, message: str, position: int) -> RuleError:
    return RuleError(value, [f"{message} (at position {position})"])


def _tokens(value: str) -> list[_Tok]:
    out: list[_Tok] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in _SPACE:
            i += 1
        elif c in "()":
            out.append(_Tok(c, c, i + 1))
            i += 1
        elif c == "-":
            if i + 1 >= n or value[i + 1] in _SPACE or value[i + 1] == ")":
                raise _fail(value, "A '-' must be followed by what it negates, with no space", i + 1)
            out.append(_Tok("-", c, i + 1))
            i += 1
        elif c == '"':
            end = _closing_quote(value, i)
            phrase = value[i + 1 : end].replace('\\"', '"')
            j, proximity = end + 1, None
            m = re.compile(r"~([0-9]+)").match(value, j)
            if m:
                proximity, j = int(m.group(1)[:10]), m.end()  # bounded: int() refuses over 4300 digits
            out.append(_Tok("phrase", phrase, i + 1, proximity))
            i = j
        else:
            j = i
            while j < n and value[j] not in _SPACE and value[j] not in '()"':
                if value[j] == "[" and value[j - 1] == ":":
                    break
                j += 1
            word = value[i:j]
            if word.endswith(":") and j < n and value[j] == '"':  # op:"quoted value"
                end = _closing_quote(value, j)
                word += value[j + 1 : end].replace('\\"', '"')
                j = end + 1
            elif word.endswith(":") and j < n and value[j] == "[":  # op:[a b c]
                end = value.find("]", j)
                if end < 0:
                    raise _fail(value, "A '[' is never closed", j + 1)
                word += value[j : end + 1]
                j = end + 1
            out.append(_Tok("OR" if word == "OR" else "word", word, i + 1))
            i = j
    return out


def _closing_quote(value: str, start: int) -> int:
    j = start + 1
    while j < len(value):
        if value[j] == "\\" and j + 1 < len(value):
            j += 2
            continue
        if value[j] == '"':
            return j
        j += 1
    raise _fail(value, "A quote is never closed", start + 1)


class _Open:
    """A group being read: its `(` (None: the whole rule), its negation, what it holds so far."""

    def __init__(self, tok: _Tok | None, negated: bool) -> None:
        self.tok, self.negated = tok, negated
        self.branches: list[Node] = []  # ORed
        self.items: list[Node] = []  # ANDed, since the last OR

    def close(self, last: Node) -> Node:
        branches = [*self.branches, last]
        node = branches[0] if len(branches) == 1 else Group(tuple(branches), any_of=True)
        if not self.negated:
            return node
        if isinstance(node, Term):
            return Term(node.kind, node.value, not node.negated, node.proximity, node.position)
        return Group(node.items, node.any_of, not node.negated)


class _Parser:
    def __init__(self, value: str) -> None:
        self.value = value
        self.toks = _tokens(value)
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def fail(self, message: str, tok: _Tok | None) -> RuleError:
        return _fail(self.value, message, tok.position if tok else len(self.value) + 1)

    def parse(self) -> Node:
        """The rule's tree, built with a stack of open groups rather than recursion: a rule of
        1024 characters may nest 500 groups deep, beyond Python's recursion limit."""
        root = _Open(None, False)
        stack = [root]
        while (tok := self.peek()) is not None:
            top = stack[-1]
            if tok.kind == "OR":
                top.branches.append(self.conjunction(top, tok))
            elif tok.kind == ")":
                node = top.close(self.conjunction(top, tok))
                if top is root:
                    raise self.fail("Unmatched ')'", tok)
                stack.pop()
                stack[-1].items.append(node)
            else:
                negated = tok.kind == "-"
                if negated:
                    self.i += 1
                    tok = self.peek()
                    if tok is None or tok.kind in ("OR", ")", "-"):
                        raise self.fail("A '-' must be followed by what it negates", tok)
                if tok.kind == "(":
                    stack.append(_Open(tok, negated))
                else:
                    top.items.append(self.term(tok, negated))
            self.i += 1
        top = stack[-1]
        node = top.close(self.conjunction(top, None))
        if top is not root:
            raise self.fail("A '(' is never closed", top.tok)
        return node

    def conjunction(self, top: _Open, tok: _Tok | None) -> Node:
        """The terms read since the group's start or its last OR (ANDed); fails on none."""
        if not top.items:
            what = "OR" if tok is not None and tok.kind == "OR" else "an empty group" if tok is not None else "nothing"
            raise self.fail(f"Expected a term, found {what}", tok)
        items, top.items = top.items, []
        return items[0] if len(items) == 1 else Group(tuple(items))

    def term(self, tok: _Tok, negated: bool) -> Term:
        text, at = tok.text, tok.position
        if tok.kind == "phrase":
            if not text.strip():
                raise self.fail("A quoted phrase must not be empty", tok)
            if tok.proximity is not None and tok.proximity > MAX_PROXIMITY:
                raise self.fail(f"Proximity ~{tok.proximity} is too large: at most ~{MAX_PROXIMITY}", tok)
            return Term("phrase", text, negated, tok.proximity, at)
        if text in ("and", "or"):
            raise self.fail(
                f"Ambiguous use of {text} as a keyword. Use a space to logically join two clauses, "
                f'or "{text}" to find occurrences of {text} in text',
                tok,
            )
        for kind, pattern in (("#", _HASHTAG), ("@", _MENTION), ("$", _CASHTAG)):
            if text.startswith(kind):
                if not pattern.match(text):
                    raise self.fail(f"Invalid {kind} term {text!r}", tok)
                return Term(kind, text[1:], negated, None, at)
        m = _OPERATOR.match(text)
        if m is None:
            return Term("keyword", text, negated, None, at)
        name, arg = m.groups()
        spelt = STANDALONE.get(name, CONJUNCTION.get(name))
        if spelt is None:
            raise self.fail(f"Reference to invalid operator '{name}:'", tok)
        if not re.fullmatch(spelt, arg, re.S) or not arg.strip():
            raise self.fail(f"Invalid value {arg!r} for operator '{name}:'", tok)
        if name == "sample" and negated:
            raise self.fail("The sample: operator cannot be negated", tok)
        if name == "is" and arg == "nullcast" and not negated:
            raise self.fail("is:nullcast must always be negated: -is:nullcast", tok)
        return Term(name, arg, negated, None, at)


def terms(node: Node) -> list[Term]:
    """Every term of a parsed rule, in order."""
    return [t for t, _ in _walk(node)]


def _walk(node: Node) -> list[tuple[Term, bool]]:
    """Each term, and whether it is negated in effect (by itself or by a group around it)."""
    out: list[tuple[Term, bool]] = []
    todo: list[tuple[Node, bool]] = [(node, False)]
    while todo:
        at, outer = todo.pop()
        if isinstance(at, Term):
            out.append((at, outer != at.negated))
        else:
            todo.extend((item, outer != at.negated) for item in reversed(at.items))
    return out


def parse_rule(value: str, max_length: int = MAX_RULE_LENGTH) -> Node:
    """The parsed rule; raises RuleError with every reason X would give (length first)."""
    if not value.strip():
        raise RuleError(value, ["Rules must not be empty"])
    if len(value) > max_length:
        raise RuleError(value, [f"Rule is {len(value)} characters long: the limit is {max_length}"])
    node = _Parser(value).parse()
    found = _walk(node)
    details: list[str] = []
    if all(negated for _, negated in found):
        details.append("Rules must contain a non-negation term (at position 1)")
    elif not any(t.standalone and not negated for t, negated in found):
        details.append(
            "Rules must contain at least one positive standalone operator; "
            f"{', '.join(sorted({t.kind + ':' for t, _ in found if not t.standalone}))} require another one "
            "(at position 1)"
        )
    if details:
        raise RuleError(value, details)
    return node


def check_rule(value: str, max_length: int = MAX_RULE_LENGTH) -> list[str]:
    """Why X would refuse `value` (empty: it is valid)."""
    try:
        parse_rule(value, max_length)
    except RuleError as exc:
        return exc.details
    return []
