"""The Tweet object and every object nested in it.

Fields follow the object model page (Tweet table, "(default)" markers) and the
`tweet.fields` enum of the stream pages; shapes, patterns and required members come from
the classic OpenAPI document (2.166), which names this object Tweet (2.167 renamed it Post).
Text entities (hashtags, mentions, URLs...) are shared with users and DMs: see `objects`.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Bool, Definition, Field, Int, Obj, Ref, Str, Tup

_COUNT = Int(minimum=0)
_DATE_TIME = Str(format="date-time")

# -- context annotations ------------------------------------------------------------------

_CONTEXT_PART = Obj(
    "ContextAnnotationPart",
    (
        Field("id", Str(pattern="^[0-9]{1,19}$"), required=True, doc="Unique id of the domain or entity."),
        Field("name", Str(), doc="Name of the domain or entity."),
        Field("description", Str(), doc="Description of the domain or entity."),
    ),
)
CONTEXT_ANNOTATION = Obj(
    "ContextAnnotation",
    (
        Field("domain", Ref("ContextAnnotationDomain"), required=True, doc="The annotation's domain."),
        Field("entity", Ref("ContextAnnotationEntity"), required=True, doc="The annotation's entity."),
    ),
    doc="A context annotation inferred from the Tweet text.",
)
CONTEXT_DOMAIN = _CONTEXT_PART.extend("ContextAnnotationDomain", doc="Domain of a context annotation.")
CONTEXT_ENTITY = _CONTEXT_PART.extend("ContextAnnotationEntity", doc="Entity of a context annotation.")

# -- metrics ------------------------------------------------------------------------------

_IMPRESSIONS = Field("impression_count", _COUNT, doc="Number of times the Tweet has been viewed.")
_LIKES = Field("like_count", _COUNT, doc="Number of likes.")
_REPLIES = Field("reply_count", _COUNT, doc="Number of replies.")
_RETWEETS = Field("retweet_count", _COUNT, doc="Number of Retweets.")


def _required(f: Field) -> Field:
    return Field(f.name, f.type, required=True, default=f.default, doc=f.doc)


PUBLIC_METRICS = Obj(
    "TweetPublicMetrics",
    (
        _required(_RETWEETS),
        _required(_REPLIES),
        _required(_LIKES),
        Field("quote_count", _COUNT, required=True, doc="Number of quote Tweets."),
        Field("bookmark_count", _COUNT, doc="Number of bookmarks."),
        _IMPRESSIONS,
    ),
    doc=(
        "Public engagement metrics at request time. The spec requires impression_count and "
        "bookmark_count, but they were added in late 2022 and older recordings lack them, so "
        "only the four original counts are required (quote_count has always been sent)."
    ),
)
NON_PUBLIC_METRICS = Obj(
    "TweetNonPublicMetrics",
    (_IMPRESSIONS,),
    doc="Non-public engagement metrics; needs user-context authentication.",
)
ORGANIC_METRICS = Obj(
    "TweetOrganicMetrics",
    tuple(_required(f) for f in (_IMPRESSIONS, _LIKES, _REPLIES, _RETWEETS)),
    doc="Engagement in an organic context; needs user-context authentication.",
)
PROMOTED_METRICS = Obj(
    "TweetPromotedMetrics",
    (_IMPRESSIONS, _LIKES, _REPLIES, _RETWEETS),
    doc="Engagement while the Tweet was promoted; needs user-context authentication.",
)

# -- other nested objects -----------------------------------------------------------------

NESTED: tuple[Definition, ...] = (
    Obj(
        "TweetAttachments",
        (
            Field("media_keys", Arr(Ref("MediaKey"), min_items=1), doc="Keys of the attached media."),
            Field(
                "media_source_tweet_id",
                Arr(Ref("TweetId"), min_items=1),
                doc="Tweets the attached media were first posted in.",
            ),
            Field("poll_ids", Arr(Ref("PollId"), min_items=1), doc="Ids of the attached polls."),
        ),
        doc="What is attached to the Tweet (media, polls).",
    ),
    Obj(
        "ReferencedTweet",
        (
            Field("type", Str(enum=("retweeted", "quoted", "replied_to")), required=True, doc="How it is referenced."),
            Field("id", Ref("TweetId"), required=True, doc="Id of the referenced Tweet."),
        ),
        doc="A Tweet this Tweet retweets, quotes or replies to.",
    ),
    Obj(
        "EditControls",
        (
            Field("is_edit_eligible", Bool(), required=True, doc="Whether the Tweet can be edited."),
            Field("editable_until", _DATE_TIME, required=True, doc="When the Tweet stops being editable."),
            Field("edits_remaining", Int(minimum=0), required=True, doc="How many edits are left."),
        ),
        doc="How long and how many more times the Tweet can be edited.",
    ),
    Obj(
        "TweetGeo",
        (
            Field("place_id", Ref("PlaceId"), doc="Id of the tagged place (expand with geo.place_id)."),
            Field("coordinates", Ref("Point"), doc="Exact location as a GeoJSON Point."),
        ),
        doc="Location or place tagged on a geo-tagged Tweet.",
    ),
    Obj(
        "TweetWithheld",
        (
            Field("copyright", Bool(), required=True, doc="Whether withheld on copyright grounds."),
            Field(
                "country_codes",
                Arr(Ref("CountryCode"), min_items=1),
                required=True,
                doc="Countries where the content is withheld.",
            ),
            Field("scope", Str(enum=("tweet", "user")), doc="Whether the Tweet or its user is withheld."),
        ),
        doc="Withholding details for withheld content.",
    ),
    Obj(
        "NoteTweet",
        (
            Field("text", Str(), doc="Full text of the long post (beyond 280 characters)."),
            Field("entities", Ref("NoteTweetEntities"), doc="Entities parsed from the full text."),
        ),
        doc="Full content of a long post (>280 characters).",
    ),
    Obj(
        "TweetScopes",
        (Field("followers", Bool(), doc="Whether followers can see it without the Tweet id."),),
        doc="Who can see the post; only returned for promoted posts.",
    ),
    Obj(
        "MediaMetadata",
        (
            Field("media_key", Ref("MediaKey"), doc="Key of the attached media."),
            Field("alt_text", Str(), doc="Alternative text of the media."),
            Field("title", Str(), doc="Title of the media."),
            Field("description", Str(), doc="Description of the media."),
        ),
        doc="Metadata of one media attachment (absent from 2.166; shape from 2.167).",
    ),
    Obj(
        "Article",
        (
            Field("title", Str(), doc="Title of the Article."),
            Field("preview_text", Str(), doc="Preview text of the Article."),
            Field("plain_text", Str(), doc="Full plain text of the Article."),
            Field("cover_media", Ref("MediaKey"), doc="Cover media (expand with article.cover_media)."),
            Field(
                "media_entities",
                Arr(Ref("MediaKey")),
                doc="Media used in the Article (expand with article.media_entities).",
            ),
            Field("entities", Ref("TweetEntities"), doc="Entities parsed from the Article text."),
        ),
        doc=(
            "Metadata of the Article in the post. 2.166 has no schema for it (2.167: bare "
            "object); members from article.fields and the article.* expansions."
        ),
    ),
    Obj(
        "MatchedMediaNotes",
        (
            Field("match_status", Str(), doc="Status of the media note match."),
            Field("note_id", Ref("NoteId"), doc="Id of the matched Community Note."),
        ),
        doc="Community Notes matched to the post's media.",
    ),
    Obj(
        "NoteRequestSuggestions",
        (
            Field("suggestion", Str(), doc="Text of the note request suggestion."),
            Field("suggestion_id", Str(), doc="Id of the suggestion."),
            Field("source_link", Ref("UrlEntity"), doc="Source link of the suggestion."),
        ),
        doc="Community Note request suggestions for the post.",
    ),
    Obj(
        "SuggestedSourceLinkCount",
        (
            Field("url", Ref("UrlEntity"), doc="The suggested source link."),
            Field("count", _COUNT, doc="Number of note requests that included it."),
        ),
        doc="A suggested source link with its request count.",
    ),
)

# -- the Tweet ----------------------------------------------------------------------------

# The spec also gives pattern ^[A-Za-z]{1,12}$, which its own member "mentionedUsers"
# (14 letters, sent by the live API) breaks: the enum alone is the contract.
REPLY_SETTINGS = Str(
    enum=("everyone", "mentionedUsers", "following", "other", "subscribers", "verified"),
)

TWEET = Obj(
    "Tweet",
    (
        Field("id", Ref("TweetId"), required=True, default=True, doc="Unique identifier of the Tweet."),
        Field("text", Str(), required=True, default=True, doc="The actual UTF-8 text of the Tweet."),
        Field(
            "edit_history_tweet_ids",
            Arr(Ref("TweetId"), min_items=1),
            default=True,
            doc=(
                "Ids of every version of the Tweet (one when never edited). Default field, but "
                "optional: recordings from before edits shipped (Sept 2022) lack it."
            ),
        ),
        Field("article", Ref("Article"), doc="Metadata of the Article in this Tweet."),
        Field("attachments", Ref("TweetAttachments"), doc="Attachments (media, polls) of this Tweet."),
        Field("author_id", Ref("UserId"), doc="Id of the user who posted this Tweet."),
        Field("card_uri", Str(), doc="URI of the card in this Tweet (page only; not in 2.166)."),
        Field("community_id", Ref("CommunityId"), doc="Id of the Community this post belongs to."),
        Field(
            "context_annotations",
            Arr(Ref("ContextAnnotation"), min_items=1),
            doc="Context annotations for the Tweet.",
        ),
        Field("conversation_id", Ref("TweetId"), doc="Id of the Tweet that started the conversation."),
        Field(
            "created_at",
            _DATE_TIME,
            doc=(
                "Creation time, ISO 8601 as the object model says. The endpoint pages' examples "
                "show the legacy 'Wed Jan 06 18:40:40 +0000 2021' form; the API sends ISO 8601."
            ),
        ),
        Field(
            "display_text_range",
            Tup((Int(minimum=0), Int(minimum=0))),
            doc="Start (inclusive) and end (exclusive) of the displayed part of the text.",
        ),
        Field("edit_controls", Ref("EditControls"), doc="Remaining edit time and edits."),
        Field("entities", Ref("TweetEntities"), doc="Entities parsed from the Tweet text."),
        Field("geo", Ref("TweetGeo"), doc="Location or place of a geo-tagged Tweet."),
        Field("in_reply_to_user_id", Ref("UserId"), doc="For a reply, the author id of the replied-to Tweet."),
        Field("lang", Str(), doc="Language of the Tweet as a BCP 47 tag, if detected."),
        Field("non_public_metrics", Ref("TweetNonPublicMetrics"), doc="Non-public engagement metrics."),
        Field("note_tweet", Ref("NoteTweet"), doc="Full text of a long post (>280 characters)."),
        Field("organic_metrics", Ref("TweetOrganicMetrics"), doc="Engagement in an organic context."),
        Field("possibly_sensitive", Bool(), doc="Whether the content may be sensitive."),
        Field("promoted_metrics", Ref("TweetPromotedMetrics"), doc="Engagement while promoted."),
        Field("public_metrics", Ref("TweetPublicMetrics"), doc="Public engagement metrics."),
        Field(
            "referenced_tweets",
            Arr(Ref("ReferencedTweet"), min_items=1),
            doc="Tweets this one retweets, quotes or replies to.",
        ),
        Field(
            "reply_settings",
            REPLY_SETTINGS,
            doc=(
                "Who can reply. The page says everyone/mentioned_users/followers; the API sends "
                "the spec's camelCase values (mentionedUsers, following), which are kept."
            ),
        ),
        Field("withheld", Ref("TweetWithheld"), doc="Withholding details for withheld content."),
        Field("scopes", Ref("TweetScopes"), doc="Who can see the post; promoted posts only."),
        Field(
            "media_metadata",
            Arr(Ref("MediaMetadata")),
            doc="Metadata (e.g. alt_text) of the media attachments.",
        ),
        Field("source", Str(), doc="Name of the posting client; deprecated."),
        Field(
            "suggested_source_links",
            Arr(Ref("UrlEntity")),
            doc="Source links suggested by Community Notes requests.",
        ),
        Field(
            "suggested_source_links_with_counts",
            Ref("SuggestedSourceLinkCount"),
            doc="A suggested source link with its number of note requests.",
        ),
        Field("matched_media_notes", Ref("MatchedMediaNotes"), doc="Matched media notes (spec only)."),
        Field(
            "note_request_suggestions",
            Ref("NoteRequestSuggestions"),
            doc="Note request suggestions (spec only).",
        ),
        Field("paid_partnership", Bool(), doc="Whether the author disclosed a paid promotion (spec only)."),
        Field(
            "username",
            Ref("UserName"),
            doc="Author's handle; in the spec and the pages' example payloads, not in tweet.fields.",
        ),
    ),
    doc=(
        "A Tweet. The spec requires no member; id and text are required here because they are "
        "default fields the API always sends."
    ),
)

DEFINITIONS: tuple[Definition, ...] = (
    TWEET,
    *NESTED,
    PUBLIC_METRICS,
    NON_PUBLIC_METRICS,
    ORGANIC_METRICS,
    PROMOTED_METRICS,
    CONTEXT_ANNOTATION,
    CONTEXT_DOMAIN,
    CONTEXT_ENTITY,
)
