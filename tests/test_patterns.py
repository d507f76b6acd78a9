"""The model's own pattern parser: the subset it reads, what it refuses, and that it reads it as `re` does."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cassette.synth import Synth
from harness.model import DEFINITIONS, Alias, Arr, Field, Obj, Str, Type
from harness.model.patterns import Chars, Group, Node, PatternError, Repeat, parse


def model_patterns() -> set[str]:
    found: set[str] = set()

    def walk(t: Type) -> None:
        if isinstance(t, Str) and t.pattern:
            found.add(t.pattern)
        elif isinstance(t, Arr):
            walk(t.items)

    for d in DEFINITIONS.values():
        if isinstance(d, Alias):
            walk(d.type)
        elif isinstance(d, Obj):
            for f in d.fields:
                assert isinstance(f, Field)
                walk(f.type)
    return found


def test_the_model_has_patterns_and_all_parse_anchored() -> None:
    patterns = model_patterns()
    assert len(patterns) >= 5
    for source in patterns:
        assert parse(source).full, source


@pytest.mark.parametrize("source", sorted(model_patterns()))
@given(seed=st.integers(0, 2**32))
def test_strings_drawn_from_a_model_pattern_match_it(source: str, seed: int) -> None:
    text = Synth(seed).regex(source)
    assert re.fullmatch(source.removeprefix("^").removesuffix("$"), text), (source, text)


def test_a_class_reads_ranges_literals_and_digits() -> None:
    (seq,) = parse(r"^[A-C_\d\-]$").body.branches
    assert seq == (Chars(((65, 67), (95, 95), (48, 57), (45, 45))),)
    assert "B" in seq[0] and "-" in seq[0] and "D" not in seq[0]


def test_quantifiers_and_groups() -> None:
    (seq,) = parse("^(?:a|bc)+x{2}y{1,}z{0,3}w?$").body.branches
    group = Group(((Chars(((97, 97),)),), (Chars(((98, 98),)), Chars(((99, 99),)))))
    assert seq == (
        Repeat(group, 1, None),
        Repeat(Chars(((120, 120),)), 2, 2),
        Repeat(Chars(((121, 121),)), 1, None),
        Repeat(Chars(((122, 122),)), 0, 3),
        Repeat(Chars(((119, 119),)), 0, 1),
    )


def test_anchors_are_optional() -> None:
    pattern = parse("ab")
    assert (pattern.anchored_start, pattern.anchored_end, pattern.full) == (False, False, False)


@pytest.mark.parametrize(
    ("source", "named"),
    [
        ("^a.b$", "'.'"),
        ("^(?=a)$", "'(?'"),
        (r"^\w+$", r"\w"),
        (r"^(a)\1$", r"\1"),
        ("^[^a]$", "negated class"),
        ("^a*?$", "lazy"),
        ("^a++$", "possessive"),
        ("^a|b$", "'|' beside an anchor"),
        ("^a$b", "'$'"),
        ("a^b", "'^'"),
        ("^[ab$", "unclosed class"),
        ("^(ab", "unclosed group"),
        ("^a{2,1}$", "maximum is below"),
        ("^a{x}$", "bad bound"),
        ("^[z-a]$", "bad range"),
        ("^a)$", "')'"),
    ],
)
def test_constructs_outside_the_subset_are_refused_by_name(source: str, named: str) -> None:
    with pytest.raises(PatternError, match=re.escape(named)):
        parse(source)


# -- property: any pattern of the subset is read as `re` reads it ------------------------------

_LETTERS = "abcXYZ019_-"


def _render(node: Node) -> str:
    if isinstance(node, Chars):
        if len(node.ranges) == 1 and node.ranges[0][0] == node.ranges[0][1]:
            return re.escape(chr(node.ranges[0][0]))
        return (
            "["
            + "".join(re.escape(chr(lo)) + (f"-{re.escape(chr(hi))}" if hi > lo else "") for lo, hi in node.ranges)
            + "]"
        )
    if isinstance(node, Repeat):
        hi = "" if node.hi is None else str(node.hi)
        return f"(?:{_render(node.item)}){{{node.lo},{hi}}}"
    return "(?:" + "|".join("".join(_render(n) for n in branch) for branch in node.branches) + ")"


def _chars() -> st.SearchStrategy[Chars]:
    code = st.sampled_from([ord(c) for c in _LETTERS])
    pair = st.tuples(code, code).map(lambda p: (min(p), max(p)))
    return st.lists(pair, min_size=1, max_size=3).map(lambda r: Chars(tuple(r)))


def _repeat(node: Node, lo: int, extra: int | None) -> Repeat:
    return Repeat(node, lo, None if extra is None else lo + extra)


def _nodes() -> st.SearchStrategy[Node]:
    return st.recursive(
        _chars(),
        lambda inner: st.one_of(
            st.builds(_repeat, inner, st.integers(0, 3), st.none() | st.integers(0, 3)),
            st.lists(st.lists(inner, min_size=1, max_size=3).map(tuple), min_size=1, max_size=3).map(
                lambda b: Group(tuple(b))
            ),
        ),
        max_leaves=8,
    )


@given(node=_nodes(), seed=st.integers(0, 2**32))
def test_any_pattern_of_the_subset_reads_as_re_reads_it(node: Node, seed: int) -> None:
    source = "^" + _render(node) + "$"
    parsed = parse(source)
    assert parsed.full
    text = Synth(seed).regex(source)  # drawn from our reading ...
    assert re.fullmatch(_render(node), text), (source, text)  # ... matched by re's


@given(st.text(alphabet=_LETTERS + "^$.|?*+()[]{}\\d", max_size=12))
def test_any_text_parses_or_is_refused_with_a_pattern_error(source: str) -> None:
    try:
        parse(source)
    except PatternError as err:
        assert repr(source) in str(err)


def test_the_regex_reads_dollar_and_digits_as_ecma_does() -> None:
    ids = parse("^[0-9]+$").regex
    assert ids.search("123") and not ids.search("123\n") and not ids.search("x123")
    digits = parse(r"^\d{3}$").regex
    assert digits.search("123") and not digits.search("١٢٣")  # Arabic-Indic digits: \d is ASCII in ECMA
    assert parse("[A-Z]{2}").regex.search("xxAB")  # unanchored: anywhere


@given(node=_nodes(), seed=st.integers(0, 2**32))
def test_the_regex_matches_what_synth_draws(node: Node, seed: int) -> None:
    pattern = parse("^" + _render(node) + "$")
    text = Synth(seed).regex(pattern.source)
    assert pattern.regex.search(text)  # (a failing search of nested repeats can take exponential time in re)
