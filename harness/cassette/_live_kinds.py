"""Live-shaped compliance, label and activity events: what agrees with what in each.

The schema alone draws these events with times anywhere in a month, ids unrelated to them,
activity events without a payload and with `includes` no request asked for. As the live
API sends them, an event's `event_at` is the moment it is sent (the session's clock, so
they increase through a session), the objects it names were made before it (snowflakes of
earlier moments), an edit lists every version oldest first ending with the new one, and an
activity event carries the payload its `event_type` announces and the subscription filter
it matched. Each function completes one `data` object made at epoch ms `at`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from harness.model import Obj, Ref, Union_
from harness.model.snowflake import created_at, snowflake_ms

if TYPE_CHECKING:
    from harness.cassette._live import LiveEvents

_DAY_MS = 86_400_000
_HOUR_MS = 3_600_000
#: Countries that withhold content often (the model's pattern alone draws codes such as "QZ").
_COUNTRIES = ("DE", "FR", "IN", "TR", "RU", "BR", "GB", "AT", "KR", "JP", "PK", "ID")
#: Profile fields a `user_profile_modification` names (illustrative: the spec gives no list).
_PROFILE_FIELDS = ("name", "description", "location", "url", "profile_image_url")
_MAX_EDITS = 5  # a Tweet has at most five versions

Agree = Callable[["LiveEvents", dict[str, Any], int, Mapping[str, Any]], None]


def _id(live: LiveEvents, ms: int) -> str:
    return str(live.synth.snowflake(ms))


def _before(live: LiveEvents, at: int, span: int) -> int:
    return at - live.synth.source.integer(1_000, span)


def _tweet_ref(live: LiveEvents, ref: dict[str, Any], at: int) -> int:
    """A Tweet made up to 30 days before `at` (its author earlier still); its time."""
    made = _before(live, at, 30 * _DAY_MS)
    ref["id"] = _id(live, made)
    if "author_id" in ref:
        ref["author_id"] = _id(live, _before(live, made, 3_000 * _DAY_MS))
    return made


def _countries(live: LiveEvents, action: dict[str, Any]) -> None:
    n = len(action.get("withheld_in_countries") or ()) or 1
    picked = {live.synth.choice(_COUNTRIES) for _ in range(n)}
    action["withheld_in_countries"] = sorted(picked)


def _kind(out: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kind = next(iter(out))  # one kind per line (Obj.one_of)
    action: dict[str, Any] = out[kind]
    return kind, action


def tweet_compliance(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    kind, action = _kind(out)
    action["event_at"] = created_at(at)
    if kind == "tweet_edit":
        s = live.synth
        first = at - s.source.integer(_HOUR_MS // 60, _HOUR_MS)  # edits are allowed for an hour
        versions = s.source.integer(2, _MAX_EDITS)
        moments = sorted({first, *(s.source.integer(first + 1, at - 1) for _ in range(versions - 2)), at - 1})
        ids = [_id(live, ms) for ms in moments]
        action["tweet"] = {"id": ids[-1]}
        action["initial_tweet_id"], action["edit_tweet_ids"] = ids[0], ids
        return
    made = _tweet_ref(live, action["tweet"], at)
    if "quote_tweet_id" in action:  # the quoted Tweet is older than the quote
        action["quote_tweet_id"] = _id(live, _before(live, made, 30 * _DAY_MS))
    if kind == "withheld":
        _countries(live, action)


def user_compliance(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    kind, action = _kind(out)
    action["event_at"] = created_at(at)
    joined = _before(live, at, 3_000 * _DAY_MS)
    action["user"]["id"] = _id(live, joined)
    s = live.synth
    if kind == "user_withheld":
        _countries(live, action)
    elif kind == "scrub_geo":
        action["up_to_tweet_id"] = _id(live, s.source.integer(joined + 1, at - 1))
    elif kind == "user_profile_modification":
        field = action["profile_field"] = s.choice(_PROFILE_FIELDS)
        if field in ("url", "profile_image_url"):
            action["new_value"] = f"https://example.com/{s.regex('^[a-z0-9]{4,10}$')}"
        else:
            action["new_value"] = s.words(s.source.integer(1, 6) if field == "description" else 2)


def like_compliance(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    action = out["delete"]
    action["event_at"] = created_at(at)
    favorite = action["favorite"]
    favorite["id"] = _id(live, _before(live, at, 30 * _DAY_MS))
    favorite["user_id"] = _id(live, _before(live, at, 3_000 * _DAY_MS))


def tweet_label(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    kind, action = _kind(out)
    action["event_at"] = created_at(at)
    _tweet_ref(live, action["tweet"], at)
    if kind == "public_tweet_notice":
        s = live.synth
        action["event_type"] = "misleading"  # the spec's example: the one kind documented
        for member in ("details", "label_title"):
            if member in action:
                action[member] = s.words(s.source.integer(2, 8))
        if "extended_details_url" in action:
            action["extended_details_url"] = f"https://help.x.com/{s.regex('^[a-z]{4,10}$')}"


def activity(live: LiveEvents, out: dict[str, Any], at: int, fixed: Mapping[str, Any]) -> None:
    """The payload `event_type` announces, the filter that matched; no `includes` (the
    stream takes no `expansions`, so no request asks for any)."""
    s = live.synth
    union = live.model["ActivityEventData"]
    assert isinstance(union, Union_)
    event_type = out["event_type"]
    variant = next(v for v in union.variants if event_type in v.tags)
    target = live.model[variant.obj]
    assert isinstance(target, Obj)
    payload_type = target.field("payload").type
    assert isinstance(payload_type, Ref)
    out.pop("includes", None)
    out["event_uuid"] = _id(live, at)
    subject = _id(live, _before(live, at, 3_000 * _DAY_MS))
    name = payload_type.name
    if name in ("Tweet", "LikeWithTweetAuthor"):
        payload = live.object(name, at)
        subject = str(payload.get("author_id") or payload.get("tweet_author_id") or subject)
        if name == "LikeWithTweetAuthor":  # the like is of the subscribed user's Tweet
            payload["tweet_author_id"] = subject
    elif name == "FollowPayload":
        payload = {"source": live.object("User", at), "target": live.object("User", at)}
        subject = payload["target"]["id"]
    elif name == "PostDeletePayload":
        made = _before(live, at, 30 * _DAY_MS)
        payload = {"id": _id(live, made), "author_id": subject}
        if snowflake_ms(subject) >= made:
            payload["author_id"] = subject = _id(live, _before(live, made, 3_000 * _DAY_MS))
    elif name == "ProfileUpdatePayload":
        payload = {"before": s.words(2), "after": s.words(2)}
    else:  # a news story
        payload = {m: s.words(s.source.integer(2, 12)) for m in ("category", "headline", "hook", "summary")}
    out["payload"] = payload
    if event_type == "news.new":
        out["filter"] = {"keyword": s.words(1)}
    else:
        out["filter"] = {"user_id": subject}
        if event_type.startswith("follow."):
            out["filter"]["direction"] = s.choice(("inbound", "outbound"))


AGREE: dict[str, Agree] = {
    "TweetComplianceData": tweet_compliance,
    "UserComplianceData": user_compliance,
    "LikeComplianceData": like_compliance,
    "TweetLabelData": tweet_label,
    "ActivityEventData": activity,
}
