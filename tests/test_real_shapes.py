"""Shapes the live API sends that the model used to refuse (issue 14: ~37k real objects
recorded by other projects, 2021-2023): long @-mentions in bios, an empty profile image URL
for withheld accounts, non-ASCII expanded URLs (IRIs), view counts on animated GIFs.

The payloads below are built in the real objects' shape (members, nesting, kinds of value);
each is checked by every engine: the reference, the fast engine, and the native checker,
which may be unsure of a valid one but is never sure of an invalid one.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contract import schemagen
from harness.contract._native import NativeModel
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import iri, uri

ENGINES = [Contract(engine="reference"), Contract()]
NATIVE = [NativeModel(p) for p in Profile]

BIO = "Editor. Views mine. Formerly @old_newsroom_acct — tips: @tips_desk_of_paper"


def event(*, users: list[dict[str, Any]] | None = None, media: list[dict[str, Any]] | None = None,
          urls: list[dict[str, Any]] | None = None) -> dict[str, Any]:  # fmt: skip
    """A sample-stream event with a Tweet and the given expansions."""
    tweet: dict[str, Any] = {"id": "1587153498432057344", "text": "read this https://t.co/AbCdEfGh12",
                             "edit_history_tweet_ids": ["1587153498432057344"], "author_id": "783214"}  # fmt: skip
    if urls is not None:
        tweet["entities"] = {"urls": urls}
    includes: dict[str, Any] = {}
    if users is not None:
        includes["users"] = users
    if media is not None:
        includes["media"] = media
        tweet["attachments"] = {"media_keys": [m["media_key"] for m in media]}
    return {"data": tweet, **({"includes": includes} if includes else {})}


def user(**members: Any) -> dict[str, Any]:
    return {"id": "783214", "name": "A Newsroom", "username": "a_newsroom", **members}


def mention(text: str, name: str) -> dict[str, Any]:
    start = text.index("@" + name)
    return {"start": start, "end": start + 1 + len(name), "username": name}


def verdicts(payload: dict[str, Any]) -> set[bool]:
    """Whether each engine finds the payload valid (one answer when they agree)."""
    found = {c.check_event(payload, "sample-stream") == [] for c in ENGINES}
    schema = schemagen.event_file("sample-stream")
    for native in NATIVE:
        if native.accepts(schema, payload):
            found.add(True)  # sure only of what is valid: a False here is "unsure"
    return found


def test_a_bio_mention_of_up_to_20_characters_is_accepted() -> None:
    mentions = [mention(BIO, "old_newsroom_acct"), mention(BIO, "tips_desk_of_paper")]  # 17 and 18 long
    entities = {"description": {"mentions": mentions}}
    assert verdicts(event(users=[user(description=BIO, entities=entities)])) == {True}
    twenty = "x" * 20
    entities = {"description": {"mentions": [{"start": 0, "end": 21, "username": twenty}]}}
    assert verdicts(event(users=[user(description="@" + twenty, entities=entities)])) == {True}
    # X never extracts a longer @-word, nor one with other characters
    for bad in ("x" * 21, "tips-desk", ""):
        entities = {"description": {"mentions": [{"start": 0, "end": 3, "username": bad}]}}
        assert verdicts(event(users=[user(description="@" + bad, entities=entities)])) == {False}, bad
    # the account's own handle keeps the 15-character rule
    assert verdicts(event(users=[user(username="x" * 16)])) == {False}


def test_the_same_mention_rule_holds_in_tweet_text() -> None:
    payload = event()
    payload["data"]["text"] = "cc @a_twenty_char_name"
    payload["data"]["entities"] = {"mentions": [mention(payload["data"]["text"], "a_twenty_char_name")]}
    assert verdicts(payload) == {True}


def test_a_withheld_account_with_an_empty_profile_image_url_is_accepted() -> None:
    withheld = user(profile_image_url="", withheld={"country_codes": ["DE", "FR"], "scope": "user"})
    assert verdicts(event(users=[withheld])) == {True}
    assert verdicts(event(users=[user(profile_image_url="https://pbs.twimg.com/profile_images/1/a_normal.jpg")])) == {
        True
    }
    for bad in (" ", "not a url", "https://pbs.twimg.com/a b.jpg", None, 0):
        assert verdicts(event(users=[user(profile_image_url=bad)])) == {False}, bad


URL = {"start": 10, "end": 33, "url": "https://t.co/AbCdEfGh12", "display_url": "ja.wikipedia.org/wiki/東京"}


@pytest.mark.parametrize(
    "expanded",
    [
        "https://ja.wikipedia.org/wiki/東京",
        "https://例え.テスト/パス?検索=コーヒー#見出し",
        "https://www.google.com/maps/place/São+Paulo",
        "https://ko.wikipedia.org/wiki/서울특별시",
        "https://example.com/😀",
        "https://example.com/plain-ascii?q=1",
    ],
)
def test_non_ascii_expanded_and_unwound_urls_are_accepted(expanded: str) -> None:
    entity = {**URL, "expanded_url": expanded, "unwound_url": expanded}
    assert verdicts(event(urls=[entity])) == {True}


@pytest.mark.parametrize(
    "expanded",
    [
        "https://example.com/a b",  # a space is in no IRI
        "https://example.com/\u0085",  # a C1 control is not an IRI character
        "https://example.com/\u202e",  # nor a bidi override
        "https://example.com/\ufffe",  # nor a noncharacter
        "東京",  # no scheme
        "https://example.com/東京\n",
    ],
)
def test_what_is_no_iri_is_still_refused(expanded: str) -> None:
    assert verdicts(event(urls=[{**URL, "expanded_url": expanded}])) == {False}


def test_the_t_co_url_stays_a_uri() -> None:
    assert verdicts(event(urls=[{**URL, "url": "https://t.co/東京"}])) == {False}


GIF = {"media_key": "16_1587153492765048832", "type": "animated_gif", "width": 498, "height": 280,
       "preview_image_url": "https://pbs.twimg.com/tweet_video_thumb/FgV8abc.jpg",
       "variants": [{"bit_rate": 0, "content_type": "video/mp4",
                     "url": "https://video.twimg.com/tweet_video/FgV8abc.mp4"}]}  # fmt: skip


def test_animated_gifs_carry_public_metrics() -> None:
    assert verdicts(event(media=[{**GIF, "public_metrics": {"view_count": 2741}}])) == {True}
    strict = Contract(Profile.STRICT, engine="reference")
    assert strict.check_event(event(media=[{**GIF, "public_metrics": {"view_count": 2741}}]), "sample-stream") == []
    assert verdicts(event(media=[{**GIF, "public_metrics": {"view_count": -1}}])) == {False}


@given(st.text(max_size=30))
def test_an_ascii_iri_is_exactly_a_uri(tail: str) -> None:
    value = "https://example.com/" + tail
    if value.isascii():
        assert iri(value) == uri(value)
    else:
        mapped = "".join(c if c.isascii() else "%" + "%".join(f"{b:02X}" for b in c.encode()) for c in value)
        assert not iri(value) or uri(mapped)  # an IRI maps to a URI
