"""Filtered-stream rule values, checked as the live API checks them (harness.model.rule_syntax), and the
replay's rewrite of an event's matching_rules (harness.replay._rules)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import strategies as xs
from harness.cassette.synth import encode_line
from harness.errors import RuleError
from harness.model.rule_syntax import MAX_RULE_LENGTH, Group, Term, check_rule, parse_rule, terms
from harness.replay._rules import RuleBook

VALID = [
    "coffee -is:retweet",
    "cat has:images",
    "(grumpy cat) OR (#meme has:images)",
    '"snow day"~3 #NoSchool',
    "from:XDevelopers lang:en",
    "@XDevelopers OR $TWTR",
    "cat -is:nullcast",
    "cat sample:10",
    "point_radius:[2.35 48.85 10km] cat",
    "bounding_box:[-105.3 39.9 -105.1 40.1]",
    'url:"https://developer.x.com" -is:reply',
    "context:10.799022225751871488",
    "-(a OR b) c",
    "followers_count:100..500 cat",
    "snow ☃",
]
INVALID = {
    "": "empty",
    "   ": "empty",
    "has:images": "standalone operator",
    "has:links OR is:retweet": "standalone operator",
    "-cat": "non-negation term",
    "-cat -dog": "non-negation term",
    "cat OR": "Expected a term",
    "OR cat": "Expected a term",
    "(cat": "never closed",
    "cat)": "Unmatched ')'",
    "()": "empty group",
    '"snow day"~7 x': "Proximity",
    '"unclosed cat': "quote is never closed",
    "foo:bar baz": "invalid operator 'foo:'",
    "cat is:nullcast": "must always be negated",
    "cat -sample:10": "cannot be negated",
    "cat sample:101": "Invalid value",
    "cat has:everything": "Invalid value",
    "cat and dog": "Ambiguous use of and",
    "# cat": "Invalid # term",
    "$12 cat": "Invalid $ term",
    "from:this_name_is_far_too_long cat": "Invalid value",
    "a - b": "must be followed",
    "point_radius:[2.35 48.85 10km cat": "never closed",
}


@pytest.mark.parametrize("value", VALID)
def test_documented_rules_are_valid(value: str) -> None:
    assert check_rule(value) == []


@pytest.mark.parametrize(("value", "reason"), INVALID.items())
def test_rules_x_refuses_are_refused_with_a_reason(value: str, reason: str) -> None:
    details = check_rule(value)
    assert len(details) == 1 and reason in details[0], details
    with pytest.raises(RuleError) as info:
        parse_rule(value)
    assert info.value.value == value and info.value.details == details


def test_the_length_limit_is_checked_and_configurable() -> None:
    at_limit = "a" * MAX_RULE_LENGTH
    assert check_rule(at_limit) == []
    assert "the limit is 512" in check_rule(at_limit + "b")[0]
    assert check_rule(at_limit + "b", max_length=1024) == []


def test_and_binds_tighter_than_or() -> None:
    node = parse_rule("apple OR iphone ipad")
    assert isinstance(node, Group) and node.any_of
    assert node.items[0] == Term("keyword", "apple", position=1)
    inner = node.items[1]
    assert isinstance(inner, Group) and not inner.any_of
    assert [t.value for t in terms(inner)] == ["iphone", "ipad"]


# -- properties ------------------------------------------------------------------------------------
WORD = st.text(alphabet=st.characters(categories=("Ll", "Lu", "Nd")), min_size=1, max_size=8).filter(
    lambda w: w not in ("OR", "or", "and")
)
STANDALONE = st.one_of(
    WORD,
    WORD.map(lambda w: f'"{w} {w}"'),
    st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True).map(lambda u: f"from:{u}"),
    st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True).map(lambda u: f"@{u}"),
    WORD.map(lambda w: f"#{w}"),
)
CONJUNCTION = st.sampled_from(["has:images", "has:links", "is:retweet", "lang:en", "-is:nullcast", "is:reply"])


@st.composite
def rules(draw: st.DrawFn) -> tuple[str, int]:
    """A valid rule: OR-ed branches, each with a positive standalone term; and its term count."""
    branches, count = [], 0
    for _ in range(draw(st.integers(1, 3))):
        parts = [draw(STANDALONE)]
        extra = draw(st.lists(st.one_of(STANDALONE, CONJUNCTION, STANDALONE.map(lambda t: "-" + t)), max_size=3))
        parts += extra
        count += len(parts)
        text = " ".join(draw(st.permutations(parts)))
        branches.append(f"({text})" if draw(st.booleans()) else text)
    return " OR ".join(branches), count


@settings(max_examples=150, deadline=None)
@given(rule=rules())
def test_rules_built_from_the_documented_grammar_are_valid(rule: tuple[str, int]) -> None:
    value, count = rule
    assert check_rule(value) == [], value
    assert len(terms(parse_rule(value))) == count


@settings(max_examples=100, deadline=None)
@given(rule=rules())
def test_a_rule_of_negations_only_is_refused(rule: tuple[str, int]) -> None:
    found = terms(parse_rule(rule[0]))
    negated = " ".join("-" + _spell(t) for t in found if not (t.kind == "is" and t.value == "nullcast"))
    assert "non-negation term" in check_rule(negated)[0], negated


@settings(max_examples=100, deadline=None)
@given(rule=rules(), name=st.from_regex(r"[a-z]{3,8}", fullmatch=True))
def test_an_unknown_operator_makes_any_rule_invalid(rule: tuple[str, int], name: str) -> None:
    from harness.model.rule_syntax import CONJUNCTION as CONJ
    from harness.model.rule_syntax import STANDALONE as STAND

    if name in STAND or name in CONJ:
        return
    assert f"invalid operator '{name}:'" in check_rule(f"{rule[0]} {name}:x")[0]


@settings(max_examples=300, deadline=None)
@given(value=st.text(max_size=80))
def test_any_text_gets_a_verdict_never_a_crash(value: str) -> None:
    details = check_rule(value)
    assert isinstance(details, list) and all(isinstance(d, str) and d for d in details)
    assert details == check_rule(value)  # deterministic


def _spell(t: Term) -> str:
    """A term as written (without its negation)."""
    body = {"keyword": t.value, "phrase": f'"{t.value}"'}.get(t.kind)
    if body is None:
        body = t.kind + t.value if t.kind in "#@$" else f"{t.kind}:{t.value}"
    return body


# -- the replay's rewrite of matching_rules ----------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(event=xs.events("search-stream"), tag=st.text(max_size=5), spaced=st.booleans())
def test_matching_rules_are_rewritten_whatever_the_line_looks_like(
    event: dict[str, Any], tag: str, spaced: bool
) -> None:
    book = RuleBook([{"value": "recorded_rule_7", "tag": tag}])
    [rule] = book.rules
    event = {**event, "matching_rules": [{"id": "7", "tag": "old"}]}
    raw = (json.dumps(event) + "\r\n").encode() if spaced else encode_line(event)
    out = book.select(raw)
    assert out is not None and out.endswith(b"\r\n")
    assert json.loads(out) == {**event, "matching_rules": [{"id": rule["id"], "tag": tag}]}
    assert book.select(encode_line({**event, "matching_rules": [{"id": "8"}]})) is None


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        ("-(cats dogs)", True),  # every term negated by its group
        ("-(cats OR dogs) -birds", True),
        ("(-(cats dogs))", True),  # a group around a negated group keeps it negated
        ("-(-(cats dogs))", False),  # negated twice: positive
        ("-(-cats) dogs", False),
        ("birds -(cats OR dogs)", False),
    ],
)
def test_a_negated_group_negates_its_terms(value: str, refused: bool) -> None:
    problems = check_rule(value)
    assert bool(problems) is refused, problems
    if refused:
        assert "non-negation term" in problems[0]


def test_nesting_as_deep_as_the_length_allows_is_parsed() -> None:
    depth = 5000
    node = parse_rule("(" * depth + "cats" + ")" * depth, max_length=4 * depth)
    assert terms(node) == [Term("keyword", "cats", False, None, depth + 1)]
    assert "never closed" in check_rule("(" * depth + "cats", max_length=4 * depth)[0]


def test_a_proximity_of_thousands_of_digits_is_too_large_not_a_crash() -> None:
    problems = check_rule('"cats dogs"~' + "9" * 5000, max_length=10_000)
    assert len(problems) == 1 and "is too large" in problems[0]
