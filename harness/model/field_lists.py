"""The members of the stream endpoints' `*.fields` and `expansions` lists.

Copied from the 2.166 spec's parameters (2.167 lists the same members for the streams,
with the classic names), in the spec's order. The endpoint pages of the three seed
endpoints (search-stream, firehose-ja, likes-sample10) list fewer: no
matched_media_notes, note_request_suggestions, paid_partnership in tweet.fields, and on the
likes stream no attachments_media_keys, attachments.media_keys expansion or media.fields.
Those three keep their pages' lists (`TWEET_FIELDS`...); every other stream takes the
spec's (`SPEC_*`).
"""

from __future__ import annotations

SPEC_TWEET_FIELDS = (
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
    "matched_media_notes",
    "media_metadata",
    "non_public_metrics",
    "note_request_suggestions",
    "note_tweet",
    "organic_metrics",
    "paid_partnership",
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
SPEC_LIKE_WITH_TWEET_AUTHOR_FIELDS = (
    "attachments_media_keys",
    "created_at",
    "id",
    "liked_tweet_author_id",
    "liked_tweet_id",
    "timestamp_ms",
)
SPEC_LIKE_EXPANSIONS = ("attachments.media_keys", "liked_tweet_author_id", "liked_tweet_id")

# The seed endpoints' pages list fewer members than the spec: these are the spec's lists
# without the members the pages leave out.
PAGE_ONLY_OMITS = ("matched_media_notes", "note_request_suggestions", "paid_partnership")
TWEET_FIELDS = tuple(m for m in SPEC_TWEET_FIELDS if m not in PAGE_ONLY_OMITS)
LIKE_WITH_TWEET_AUTHOR_FIELDS = tuple(m for m in SPEC_LIKE_WITH_TWEET_AUTHOR_FIELDS if m != "attachments_media_keys")
LIKE_EXPANSIONS = tuple(m for m in SPEC_LIKE_EXPANSIONS if m != "attachments.media_keys")
