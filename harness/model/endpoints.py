"""Every stream endpoint of the 2.166/2.167 spec and its query parameters.

Each endpoint takes the parameters its spec operation lists, with that operation's ranges:
`partition` is 1..2 on most partitioned streams, 1..4 on the Tweet and user compliance
streams, 1..8 on the English firehose and 1..20 on the full Tweet and likes firehoses; the
1% sample takes no partition and no time window. The `*.fields` and `expansions` members are
in `field_lists`: the spec's, except on the three seed endpoints, which keep their pages'
narrower lists (see there).

Short names: Tweet streams are named by their kind, as `search-stream` and `firehose-ja`
are (`sample-stream`, `sample10-stream`, `firehose`, `firehose-en`...); streams of other
objects carry the object first, as `likes-sample10` does (`likes-firehose`), which also
tells the three compliance streams apart (`tweets-compliance`, `users-compliance`,
`likes-compliance`) and names the label stream by what is labelled (`tweets-label`);
`activity` is the one activity stream.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Endpoint, Int, Param, Str
from harness.model.field_lists import (
    LIKE_EXPANSIONS,
    LIKE_WITH_TWEET_AUTHOR_FIELDS,
    MEDIA_FIELDS,
    PLACE_FIELDS,
    POLL_FIELDS,
    SPEC_LIKE_EXPANSIONS,
    SPEC_LIKE_WITH_TWEET_AUTHOR_FIELDS,
    SPEC_TWEET_FIELDS,
    TWEET_EXPANSIONS,
    TWEET_FIELDS,
    USER_FIELDS,
)

__all__ = ["ENDPOINTS", "LIKE_EXPANSIONS", "LIKE_WITH_TWEET_AUTHOR_FIELDS", "TWEET_FIELDS"]


def _list(name: str, members: tuple[str, ...], doc: str) -> Param:
    """A comma-separated list parameter: at least one member, each from the declared list."""
    return Param(name, Arr(Str(enum=members), min_items=1), doc=doc)


def _partition(top: int) -> Param:
    return Param("partition", Int(minimum=1, maximum=top), required=True, doc=f"Partition number (1-{top}).")


_BACKFILL = Param(
    "backfill_minutes",
    Int(minimum=0, maximum=5),
    doc="Minutes of backfill to recover after a disconnect (0-5).",
)
_START = Param("start_time", Str(format="date-time"), doc="Earliest UTC time (YYYY-MM-DDTHH:mm:ssZ) to serve from.")
_END = Param("end_time", Str(format="date-time"), doc="Latest UTC time (YYYY-MM-DDTHH:mm:ssZ) to serve up to.")
_WINDOW = (_START, _END)
_MEDIA_FIELDS = _list("media.fields", MEDIA_FIELDS, "Media fields to return.")
_POLL_FIELDS = _list("poll.fields", POLL_FIELDS, "Poll fields to return.")
_USER_FIELDS = _list("user.fields", USER_FIELDS, "User fields to return.")
_PLACE_FIELDS = _list("place.fields", PLACE_FIELDS, "Place fields to return.")
_TWEET_EXPANSIONS = _list("expansions", TWEET_EXPANSIONS, "Tweet fields to expand into full objects.")


def _tweet_params(tweet_fields: tuple[str, ...]) -> tuple[Param, ...]:
    return (
        _list("tweet.fields", tweet_fields, "Tweet fields to return."),
        _TWEET_EXPANSIONS,
        _MEDIA_FIELDS,
        _POLL_FIELDS,
        _USER_FIELDS,
        _PLACE_FIELDS,
    )


_PAGE_TWEETS = _tweet_params(TWEET_FIELDS)
_SPEC_TWEETS = _tweet_params(SPEC_TWEET_FIELDS)


def _like_params(fields: tuple[str, ...], expansions: tuple[str, ...], spec: bool) -> tuple[Param, ...]:
    return (
        _list(
            "like_with_tweet_author.fields",
            fields,
            "LikeWithTweetAuthor fields to return (liked_tweet_author_id selects tweet_author_id).",
        ),
        _list("expansions", expansions, "LikeWithTweetAuthor fields to expand into full objects."),
        *((_MEDIA_FIELDS,) if spec else ()),
        _USER_FIELDS,
        _list("tweet.fields", SPEC_TWEET_FIELDS if spec else TWEET_FIELDS, "Tweet fields to return."),
    )


_SPEC_LIKE_NOTES = (
    "like_with_tweet_author.fields and expansions say liked_tweet_author_id; the payload member is tweet_author_id.",
    "attachments_media_keys (like_with_tweet_author.fields) selects a member the spec's "
    "LikeWithTweetAuthor does not declare; it is accepted as a parameter and its member left undeclared.",
)


def _firehose(lang: str, top: int, language: str) -> Endpoint:
    return Endpoint(
        name=f"firehose-{lang}",
        path=f"/2/tweets/firehose/stream/lang/{lang}",
        params=(_BACKFILL, _partition(top), *_WINDOW, *_SPEC_TWEETS),
        event=f"Firehose{lang.title()}Event",
        doc=f"Firehose of {language}-language Tweets, split in {top} partitions.",
    )


def _compliance(name: str, path: str, event: str, doc: str, partitions: int | None) -> Endpoint:
    partition = (_partition(partitions),) if partitions else ()
    return Endpoint(name=name, path=path, params=(_BACKFILL, *partition, *_WINDOW), event=event, doc=doc)


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        name="search-stream",
        path="/2/tweets/search/stream",
        params=(_BACKFILL, *_WINDOW, *_PAGE_TWEETS),
        event="SearchStreamEvent",
        doc="Filtered stream: Tweets matching the app's rules, with the rules they matched.",
        notes=(
            "No partition parameter: the page lists none.",
            "tweet.fields as the page lists it: the spec adds matched_media_notes, "
            "note_request_suggestions and paid_partnership.",
        ),
    ),
    Endpoint(
        name="firehose-ja",
        path="/2/tweets/firehose/stream/lang/ja",
        params=(_BACKFILL, _partition(2), *_WINDOW, *_PAGE_TWEETS),
        event="FirehoseJaEvent",
        doc="Firehose of Japanese-language Tweets, split in two partitions.",
        notes=(
            "tweet.fields as the page lists it: the spec adds matched_media_notes, "
            "note_request_suggestions and paid_partnership.",
        ),
    ),
    Endpoint(
        name="likes-sample10",
        path="/2/likes/sample10/stream",
        params=(
            _BACKFILL,
            _partition(2),
            *_WINDOW,
            *_like_params(LIKE_WITH_TWEET_AUTHOR_FIELDS, LIKE_EXPANSIONS, spec=False),
        ),
        event="LikesSample10Event",
        doc="A 10% sample of Like events, with the liked Tweet's author, split in two partitions.",
        notes=(
            _SPEC_LIKE_NOTES[0],
            "The page lists no media.fields; the 2.166 spec adds it with attachments.media_keys, "
            "attachments_media_keys and the three tweet.fields the pages leave out.",
        ),
    ),
    Endpoint(
        name="sample-stream",
        path="/2/tweets/sample/stream",
        params=(_BACKFILL, *_SPEC_TWEETS),
        event="SampleStreamEvent",
        doc="A 1% sample of all public Tweets.",
        notes=("No partition and no start_time/end_time: the spec lists none.",),
    ),
    Endpoint(
        name="sample10-stream",
        path="/2/tweets/sample10/stream",
        params=(_BACKFILL, _partition(2), *_WINDOW, *_SPEC_TWEETS),
        event="Sample10StreamEvent",
        doc="A 10% sample of all public Tweets, split in two partitions.",
    ),
    Endpoint(
        name="firehose",
        path="/2/tweets/firehose/stream",
        params=(_BACKFILL, _partition(20), *_WINDOW, *_SPEC_TWEETS),
        event="FirehoseEvent",
        doc="Every public Tweet, split in 20 partitions.",
    ),
    _firehose("en", 8, "English"),
    _firehose("ko", 2, "Korean"),
    _firehose("pt", 2, "Portuguese"),
    Endpoint(
        name="likes-firehose",
        path="/2/likes/firehose/stream",
        params=(
            _BACKFILL,
            _partition(20),
            *_WINDOW,
            *_like_params(SPEC_LIKE_WITH_TWEET_AUTHOR_FIELDS, SPEC_LIKE_EXPANSIONS, spec=True),
        ),
        event="LikesFirehoseEvent",
        doc="Every public Like event, with the liked Tweet's author, split in 20 partitions.",
        notes=_SPEC_LIKE_NOTES,
    ),
    _compliance(
        "tweets-compliance",
        "/2/tweets/compliance/stream",
        "TweetsComplianceEvent",
        "Tweet compliance events (delete, withheld, drop, undrop, edit), split in four partitions.",
        4,
    ),
    _compliance(
        "users-compliance",
        "/2/users/compliance/stream",
        "UsersComplianceEvent",
        "User compliance events (protect, delete, suspend, withheld, scrub_geo, profile changes...), "
        "split in four partitions.",
        4,
    ),
    _compliance(
        "likes-compliance",
        "/2/likes/compliance/stream",
        "LikesComplianceEvent",
        "Likes compliance events (unlikes); no partition.",
        None,
    ),
    _compliance(
        "tweets-label",
        "/2/tweets/label/stream",
        "TweetsLabelEvent",
        "Tweet label events (public notices, unviewable Tweets) as they are applied or removed; no partition.",
        None,
    ),
    Endpoint(
        name="activity",
        path="/2/activity/stream",
        params=(_BACKFILL, *_WINDOW),
        event="ActivityEvent",
        doc="X Activity API: the events of the app's activity subscriptions (posts, follows, profile updates...).",
    ),
)
