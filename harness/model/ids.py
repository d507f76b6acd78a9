"""Identifier and small scalar aliases shared by the X objects.

Patterns are those of the classic OpenAPI document (2.166). Ids are strings so that
languages without 64-bit integers keep them intact.
"""

from __future__ import annotations

from harness.model._dsl import Alias, Definition, Str

_SNOWFLAKE = "^[0-9]{1,19}$"

DEFINITIONS: tuple[Definition, ...] = (
    Alias("TweetId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a Tweet."),
    Alias("UserId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a User."),
    Alias(
        "UserName",
        Str(pattern="^[A-Za-z0-9_]{1,15}$"),
        doc=(
            "X handle (screen name). The spec caps it at 15 characters; the object pages "
            "warn that some historical accounts are longer. The spec pattern is kept."
        ),
    ),
    Alias(
        "MentionUserName",
        Str(pattern="^[A-Za-z0-9_]{1,20}$"),
        doc=(
            "An @-name as X's text parser extracts it from free text (Tweet, note, Article and DM "
            "text, user bios): up to 20 characters, not the 15 of UserName. Evidence: ~37k real "
            "objects recorded 2021-2023 (issue 14) hold user-description mentions of 16-20 "
            "characters; X extracts @-words up to 20 long in every free-text field, so every "
            "MentionEntity takes this rule."
        ),
    ),
    Alias(
        "MediaKey",
        Str(pattern="^([0-9]+)_([0-9]+)$"),
        doc="Media key of an attachment, e.g. 13_1263145212760805376.",
    ),
    Alias("PollId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a Poll."),
    Alias("PlaceId", Str(), doc="Identifier of a Place (hex string, no pattern in the spec)."),
    Alias(
        "SpaceId",
        Str(pattern="^[a-zA-Z0-9]{1,13}$"),
        doc="Unique identifier of a Space, e.g. 1zqKVXPQhvZJB.",
    ),
    Alias("ListId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a List."),
    Alias("CommunityId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a Community."),
    Alias("DmEventId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a DM event."),
    Alias(
        "DmConversationId",
        Str(pattern="^([0-9]{1,19}-[0-9]{1,19}|[0-9]{15,19})$"),
        doc="DM conversation id: numeric, or two user ids joined by '-' for one-on-one.",
    ),
    Alias("TopicId", Str(), doc="Unique identifier of a Topic (no pattern in the spec)."),
    Alias(
        "LikeId",
        Str(pattern="^[A-Za-z0-9_]{1,40}$"),
        doc="Unique identifier of a Like event (opaque, e.g. a 32-digit hex string).",
    ),
    Alias("RuleId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a filtered-stream rule."),
    Alias("ActivityEventId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of an activity event."),
    Alias("RuleTag", Str(), doc="Free-form label a client attached to its rule."),
    Alias("NoteId", Str(pattern=_SNOWFLAKE), doc="Unique identifier of a Community Note."),
    Alias(
        "CountryCode",
        Str(pattern="^[A-Z]{2}$"),
        doc="Two-letter ISO 3166-1 alpha-2 country code.",
    ),
)
