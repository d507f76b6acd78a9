"""What a field is in practice, beside what the schema requires.

The schema says what a payload may omit; the live API is narrower. These declarations
say what it actually sends, so that synthetic data (the loopback source, `harness synth`,
the default strategies) is what a real client parses: members always sent with an object
(`ALWAYS`), arrays never sent empty (`NON_EMPTY`), members seldom present even when
requested (`RARE`), which request parameter selects the members of which object
(`FIELD_PARAMS`), and what each expansion puts into `includes` (`EXPANSIONS`). Tests of a
consumer's robustness use the strategies' schema-edge mode, which ignores all of this.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.model._dsl import Endpoint, Int

__all__ = [
    "ALWAYS",
    "COMMON",
    "EXPANSIONS",
    "FIELD_PARAMS",
    "MEDIA_KEY_PREFIX",
    "NON_EMPTY",
    "RARE",
    "SNOWFLAKES",
    "TRAFFIC",
    "USER_CONTEXT",
    "Expansion",
    "FieldParam",
    "Traffic",
    "live_rate",
]

#: Id aliases whose values are snowflakes (time-ordered 64-bit numbers): see `snowflake`.
SNOWFLAKES = frozenset({"TweetId", "UserId", "PollId", "RuleId", "ListId", "CommunityId", "DmEventId", "NoteId"})
#: Members a stream never sends: they need user-context authentication, and streams are
#: app-only (bearer token). A typical request leaves them out.
USER_CONTEXT = frozenset(
    {
        "non_public_metrics",
        "organic_metrics",
        "promoted_metrics",
        "confirmed_email",
        "connection_status",
        "receives_your_dm",
        "subscription",
        "subscription_type",
    }
)
#: The number before the `_` of a media key, by media type (3: photo, 7: video, 16: GIF).
MEDIA_KEY_PREFIX = {"photo": "3", "video": "7", "animated_gif": "16"}

#: Members the live API sends whenever it sends the object (tweepy indexes media_key and
#: type, and a rule's tag, without a fallback; xdk's 2.167 models require every counter).
ALWAYS: dict[str, tuple[str, ...]] = {
    "Photo": ("media_key", "type"),
    "Video": ("media_key", "type"),
    "AnimatedGif": ("media_key", "type"),
    "TweetPublicMetrics": (
        "retweet_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
    ),
    "UserPublicMetrics": ("followers_count", "following_count", "tweet_count", "listed_count", "like_count"),
    "MediaPublicMetrics": ("view_count",),
    "NoteTweet": ("text",),
    "MatchingRule": ("id", "tag"),
    "SearchStreamEvent": ("matching_rules",),
    "MediaVariant": ("content_type", "url"),
    "UrlEntity": ("expanded_url", "display_url"),
    "EditControls": ("is_edit_eligible", "editable_until", "edits_remaining"),
    "LikeWithTweetAuthor": ("id", "created_at", "liked_tweet_id", "tweet_author_id", "timestamp_ms"),
}

#: (object, array member) the live API never sends empty: it leaves the member out instead.
NON_EMPTY: frozenset[tuple[str, str]] = frozenset(
    {
        ("SearchStreamEvent", "matching_rules"),
        ("Video", "variants"),
        ("AnimatedGif", "variants"),
        ("Tweet", "media_metadata"),
        ("Tweet", "suggested_source_links"),
    }
)

#: (object, member) present on few objects even when requested (the rest: on about half,
#: or, for those that describe every object, always: see `COMMON`).
RARE: frozenset[tuple[str, str]] = frozenset(
    {
        ("Tweet", "article"),
        ("Tweet", "card_uri"),
        ("Tweet", "community_id"),
        ("Tweet", "geo"),
        ("Tweet", "note_tweet"),
        ("Tweet", "withheld"),
        ("Tweet", "scopes"),
        ("Tweet", "media_metadata"),
        ("Tweet", "suggested_source_links"),
        ("Tweet", "suggested_source_links_with_counts"),
        ("Tweet", "non_public_metrics"),
        ("Tweet", "organic_metrics"),
        ("Tweet", "promoted_metrics"),
        ("User", "affiliation"),
        ("User", "withheld"),
        ("User", "subscription"),
        ("User", "confirmed_email"),
        ("User", "connection_status"),
    }
)

#: (object, member) sent on every object when requested: they describe every one.
COMMON: frozenset[tuple[str, str]] = frozenset(
    {
        ("Tweet", "author_id"),
        ("Tweet", "conversation_id"),
        ("Tweet", "created_at"),
        ("Tweet", "edit_controls"),
        ("Tweet", "lang"),
        ("Tweet", "possibly_sensitive"),
        ("Tweet", "public_metrics"),
        ("Tweet", "reply_settings"),
        ("Tweet", "display_text_range"),
        ("User", "created_at"),
        ("User", "protected"),
        ("User", "public_metrics"),
        ("User", "verified"),
        ("User", "verified_type"),
        ("User", "profile_image_url"),
        ("User", "description"),
        ("Photo", "url"),
        ("Photo", "height"),
        ("Photo", "width"),
        ("Video", "preview_image_url"),
        ("Video", "duration_ms"),
        ("Video", "variants"),
        ("AnimatedGif", "preview_image_url"),
        ("AnimatedGif", "variants"),
        ("Poll", "voting_status"),
        ("Poll", "end_datetime"),
        ("Poll", "duration_minutes"),
        ("Place", "country"),
        ("Place", "country_code"),
        ("Place", "name"),
        ("Place", "place_type"),
    }
)


@dataclass(frozen=True)
class FieldParam:
    """A `*.fields` request parameter: the object whose members it selects.

    `members` maps a parameter value to the member it selects where the two differ.
    """

    param: str
    definition: str
    members: tuple[tuple[str, str], ...] = ()

    def member(self, value: str) -> str:
        return dict(self.members).get(value, value)


FIELD_PARAMS: dict[str, FieldParam] = {
    p.param: p
    for p in (
        FieldParam("tweet.fields", "Tweet"),
        FieldParam("user.fields", "User"),
        FieldParam("media.fields", "Media"),
        FieldParam("poll.fields", "Poll"),
        FieldParam("place.fields", "Place"),
        FieldParam(
            "like_with_tweet_author.fields",
            "LikeWithTweetAuthor",
            (("liked_tweet_author_id", "tweet_author_id"),),
        ),
    )
}


@dataclass(frozen=True)
class Expansion:
    """What one `expansions` value puts into `includes`.

    The objects of `definition` (a payload's `data`, or, with `via`, the objects another
    expansion included) that carry `path` (members joined by dots; an array member's items
    are each followed) are joined by `key` to objects of `target`, included under `include`.
    """

    definition: str
    path: str
    include: str
    target: str
    key: str = "id"
    via: str | None = None


EXPANSIONS: dict[str, Expansion] = {
    "author_id": Expansion("Tweet", "author_id", "users", "User"),
    "in_reply_to_user_id": Expansion("Tweet", "in_reply_to_user_id", "users", "User"),
    "entities.mentions.username": Expansion("Tweet", "entities.mentions.username", "users", "User", key="username"),
    "attachments.media_keys": Expansion("Tweet", "attachments.media_keys", "media", "Media", key="media_key"),
    "attachments.poll_ids": Expansion("Tweet", "attachments.poll_ids", "polls", "Poll"),
    "geo.place_id": Expansion("Tweet", "geo.place_id", "places", "Place"),
    "referenced_tweets.id": Expansion("Tweet", "referenced_tweets.id", "tweets", "Tweet"),
    "referenced_tweets.id.author_id": Expansion("Tweet", "author_id", "users", "User", via="referenced_tweets.id"),
    "referenced_tweets.id.attachments.media_keys": Expansion(
        "Tweet", "attachments.media_keys", "media", "Media", key="media_key", via="referenced_tweets.id"
    ),
    "liked_tweet_id": Expansion("LikeWithTweetAuthor", "liked_tweet_id", "tweets", "Tweet"),
    "liked_tweet_author_id": Expansion("LikeWithTweetAuthor", "tweet_author_id", "users", "User"),
}


@dataclass(frozen=True)
class Traffic:
    """How busy a stream is live: events per second over all its partitions.

    Orders of magnitude from public volume estimates (about 500 million posts a day, a
    sixth of them Japanese; likes several times as many), not measurements: they make a
    synthetic stream look like the real one (`--rate live`), and any rate can be given instead.
    """

    per_second: float
    doc: str = ""


TRAFFIC: dict[str, Traffic] = {
    "/2/tweets/search/stream": Traffic(5.0, "As many as the app's rules match: a few per second is typical."),
    "/2/tweets/firehose/stream": Traffic(6_000.0, "Every post: about 500 million a day."),
    "/2/tweets/sample/stream": Traffic(60.0, "A hundredth of all posts."),
    "/2/tweets/sample10/stream": Traffic(600.0, "A tenth of all posts."),
    "/2/tweets/firehose/stream/lang/en": Traffic(2_000.0, "About a third of all posts."),
    "/2/tweets/firehose/stream/lang/ja": Traffic(1_000.0, "About a sixth of all posts."),
    "/2/tweets/firehose/stream/lang/pt": Traffic(300.0, "About a twentieth of all posts."),
    "/2/tweets/firehose/stream/lang/ko": Traffic(60.0, "About a hundredth of all posts."),
    "/2/likes/firehose/stream": Traffic(20_000.0, "Every like: several times as many as posts."),
    "/2/likes/sample10/stream": Traffic(2_000.0, "A tenth of all likes."),
    # compliance and labels: rare beside the content they are about
    "/2/tweets/compliance/stream": Traffic(
        50.0, "Deletions, edits, drops and withholdings: about one post in a hundred."
    ),
    "/2/likes/compliance/stream": Traffic(100.0, "Unlikes: a small share of likes."),
    "/2/users/compliance/stream": Traffic(5.0, "Protections, suspensions, deletions, profile changes of accounts."),
    "/2/tweets/label/stream": Traffic(0.05, "Labels applied or removed: a few an hour to a few a minute."),
    "/2/activity/stream": Traffic(1.0, "As many as the app's subscriptions match."),
}
#: For a stream without a declared figure.
DEFAULT_TRAFFIC = Traffic(10.0, "No figure declared for this stream.")


def live_rate(endpoint: Endpoint) -> float:
    """Events per second on one connection of `endpoint`, as live: its traffic split over its
    partitions (the `partition` parameter's range)."""
    traffic = TRAFFIC.get(endpoint.path, DEFAULT_TRAFFIC)
    partitions = 1
    for p in endpoint.params:
        if p.name == "partition" and isinstance(p.type, Int) and p.type.maximum is not None:
            partitions = p.type.maximum - (p.type.minimum or 1) + 1
    return traffic.per_second / partitions
