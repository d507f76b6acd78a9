"""The three stream endpoints and their query parameters, as the endpoint pages list them.

Enum members are copied from the pages, in the pages' order. The 2.166 spec offers a few
more (tweet.fields: matched_media_notes, note_request_suggestions, paid_partnership; on
the likes stream: attachments_media_keys, the attachments.media_keys expansion and
media.fields); the pages are the contract, so those are refused here.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Endpoint, Int, Param, Str

TWEET_FIELDS = (
    "article",
    "attachments",
    "author_id",
    "card_uri",
    "community_id",
    "context_annotations",
    "conversation_id",
    "created_at",
    "display_text_range",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "media_metadata",
    "non_public_metrics",
    "note_tweet",
    "organic_metrics",
    "possibly_sensitive",
    "promoted_metrics",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "scopes",
    "source",
    "suggested_source_links",
    "suggested_source_links_with_counts",
    "text",
    "withheld",
)
TWEET_EXPANSIONS = (
    "article.cover_media",
    "article.media_entities",
    "attachments.media_keys",
    "attachments.media_source_tweet",
    "attachments.poll_ids",
    "author_id",
    "edit_history_tweet_ids",
    "entities.mentions.username",
    "geo.place_id",
    "in_reply_to_user_id",
    "entities.note.mentions.username",
    "referenced_tweets.id",
    "referenced_tweets.id.attachments.media_keys",
    "referenced_tweets.id.author_id",
)
MEDIA_FIELDS = (
    "alt_text",
    "duration_ms",
    "height",
    "media_key",
    "non_public_metrics",
    "organic_metrics",
    "preview_image_url",
    "promoted_metrics",
    "public_metrics",
    "type",
    "url",
    "variants",
    "width",
)
POLL_FIELDS = ("duration_minutes", "end_datetime", "id", "options", "voting_status")
USER_FIELDS = (
    "affiliation",
    "confirmed_email",
    "connection_status",
    "created_at",
    "description",
    "entities",
    "id",
    "is_identity_verified",
    "location",
    "most_recent_tweet_id",
    "name",
    "parody",
    "pinned_tweet_id",
    "profile_banner_url",
    "profile_image_url",
    "protected",
    "public_metrics",
    "receives_your_dm",
    "subscription",
    "subscription_type",
    "url",
    "username",
    "verified",
    "verified_followers_count",
    "verified_type",
    "withheld",
)
PLACE_FIELDS = ("contained_within", "country", "country_code", "full_name", "geo", "id", "name", "place_type")
LIKE_WITH_TWEET_AUTHOR_FIELDS = ("created_at", "id", "liked_tweet_author_id", "liked_tweet_id", "timestamp_ms")
LIKE_EXPANSIONS = ("liked_tweet_author_id", "liked_tweet_id")


def _list(name: str, members: tuple[str, ...], doc: str) -> Param:
    """A comma-separated list parameter: at least one member, each from the page's list."""
    return Param(name, Arr(Str(enum=members), min_items=1), doc=doc)


_BACKFILL = Param(
    "backfill_minutes",
    Int(minimum=0, maximum=5),
    doc="Minutes of backfill to recover after a disconnect (0-5).",
)
_PARTITION = Param("partition", Int(minimum=1, maximum=2), required=True, doc="Partition number (1-2).")
_START = Param("start_time", Str(format="date-time"), doc="Earliest UTC time (YYYY-MM-DDTHH:mm:ssZ) to serve from.")
_END = Param("end_time", Str(format="date-time"), doc="Latest UTC time (YYYY-MM-DDTHH:mm:ssZ) to serve up to.")
_TWEET_FIELDS = _list("tweet.fields", TWEET_FIELDS, "Tweet fields to return.")
_TWEET_EXPANSIONS = _list("expansions", TWEET_EXPANSIONS, "Tweet fields to expand into full objects.")
_MEDIA_FIELDS = _list("media.fields", MEDIA_FIELDS, "Media fields to return.")
_POLL_FIELDS = _list("poll.fields", POLL_FIELDS, "Poll fields to return.")
_USER_FIELDS = _list("user.fields", USER_FIELDS, "User fields to return.")
_PLACE_FIELDS = _list("place.fields", PLACE_FIELDS, "Place fields to return.")
_TWEET_EXPANSION_PARAMS = (_TWEET_FIELDS, _TWEET_EXPANSIONS, _MEDIA_FIELDS, _POLL_FIELDS, _USER_FIELDS, _PLACE_FIELDS)

ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint(
        name="search-stream",
        path="/2/tweets/search/stream",
        params=(_BACKFILL, _START, _END, *_TWEET_EXPANSION_PARAMS),
        event="SearchStreamEvent",
        doc="Filtered stream: Tweets matching the app's rules, with the rules they matched.",
        notes=("No partition parameter: the page lists none.",),
    ),
    Endpoint(
        name="firehose-ja",
        path="/2/tweets/firehose/stream/lang/ja",
        params=(_BACKFILL, _PARTITION, _START, _END, *_TWEET_EXPANSION_PARAMS),
        event="FirehoseJaEvent",
        doc="Firehose of Japanese-language Tweets, split in two partitions.",
    ),
    Endpoint(
        name="likes-sample10",
        path="/2/likes/sample10/stream",
        params=(
            _BACKFILL,
            _PARTITION,
            _START,
            _END,
            _list(
                "like_with_tweet_author.fields",
                LIKE_WITH_TWEET_AUTHOR_FIELDS,
                "LikeWithTweetAuthor fields to return (liked_tweet_author_id selects tweet_author_id).",
            ),
            _list("expansions", LIKE_EXPANSIONS, "LikeWithTweetAuthor fields to expand into full objects."),
            _USER_FIELDS,
            _TWEET_FIELDS,
        ),
        event="LikesSample10Event",
        doc="A 10% sample of Like events, with the liked Tweet's author, split in two partitions.",
        notes=(
            "like_with_tweet_author.fields and expansions say liked_tweet_author_id; the payload "
            "member is tweet_author_id.",
            "The page lists no media.fields; the 2.166 spec adds it with attachments.media_keys.",
        ),
    ),
)
