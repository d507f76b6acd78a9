"""The `contract` fixture's strict profile, and likely typos said as such: "did you mean
`username`?" for an unknown member, one typo for a missing member beside its misspelling."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.contract import schemagen
from harness.contract.schemagen import Profile
from harness.testing.assertions import ContractChecker, ContractViolation

pytest_plugins = ["pytester"]

CHECKER = ContractChecker()
USER = {"id": "5", "name": "Ann", "username": "ann"}
EVENT: dict[str, Any] = {
    "data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], "author_id": "5"},
    "includes": {"users": [USER]},
}


def failure(payload: Any, checker: ContractChecker = CHECKER) -> str:
    with pytest.raises(ContractViolation) as caught:
        checker.assert_valid(payload, endpoint="search-stream")
    return str(caught.value)


def with_user(**members: Any) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["includes"]["users"][0] = {k: v for k, v in {**USER, **members}.items() if v is not None}
    return event


def test_the_strict_profile_flags_unknown_members_and_suggests_the_declared_one() -> None:
    event = with_user(descripton="bio")
    CHECKER.assert_valid(event, endpoint="search-stream")  # the default profile lets unknown members be
    said = failure(event, CHECKER.strict)
    assert "payload breaks the search-stream contract (1 likely typo(s), 1 violation(s)):" in said
    assert "/includes/users/0: unknown member `descripton`: did you mean `description`?" in said
    assert "additionalProperties failed (User.json#/additionalProperties)" in said
    assert CHECKER.strict.strict is CHECKER.strict and CHECKER.strict.profile is Profile.STRICT


def test_an_unknown_member_far_from_every_declared_one_gets_no_suggestion() -> None:
    said = failure(with_user(favourite_colour="red"), CHECKER.strict)
    assert "did you mean" not in said and "(1 violation(s))" in said


def test_a_missing_required_member_beside_its_misspelling_is_one_typo() -> None:
    event = with_user(username=None, usernme="ann")
    for checker in (CHECKER, CHECKER.strict):
        said = failure(event, checker)
        assert said.splitlines() == [
            "payload breaks the search-stream contract (1 likely typo(s)):",
            "  /includes/users/0: likely typo: `usernme` where `username` is required",
        ]


def edits(name: str) -> st.SearchStrategy[str]:
    """One slip of the keyboard: a letter dropped, doubled or two swapped."""
    i = st.integers(1, len(name) - 2)
    return st.one_of(
        i.map(lambda k: name[:k] + name[k + 1 :]),
        i.map(lambda k: name[:k] + name[k] + name[k:]),
        i.map(lambda k: name[:k] + name[k + 1] + name[k] + name[k + 2 :]),
    ).filter(lambda typo: typo != name)


REQUIRED = [r for r in schemagen.generate(Profile.DEFAULT)["User.json"]["required"] if len(r) >= 4]


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_slip_in_a_required_member_is_one_likely_typo(data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(REQUIRED))
    typo = data.draw(edits(name))
    event = with_user(**{name: None, typo: USER.get(name, "x")})
    said = failure(event).splitlines()
    assert said[1:] == [f"  /includes/users/0: likely typo: `{typo}` where `{name}` is required"]


@pytest.mark.integration  # a pytest run of its own
def test_the_fixture_gives_the_strict_profile(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        EVENT = {"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], "lang": "en", "lnag": "en"}}

        def test_default(contract):
            contract.assert_valid(EVENT, endpoint="search-stream")

        def test_strict(contract):
            contract.strict.assert_valid(EVENT, endpoint="search-stream")
        """
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        ["*ContractViolation: payload breaks the search-stream contract*", "*/data: additionalProperties failed*"]
    )
