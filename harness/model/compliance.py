"""What the compliance and label streams carry: one event kind per line, keyed by its name.

Shapes from the 2.166 spec (TweetComplianceData, UserComplianceData, LikeComplianceSchema,
TweetLabelData; 2.167 renames them Post* with the same members). Each `data` is a `oneOf`
of objects that each require one member (`delete`, `drop`, `user_suspend`...), so exactly
one kind is present: declared with `Obj.one_of`. The spec inlines the small `tweet`,
`user` and `favorite` objects; they are named here so that each is declared once.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Definition, Field, Obj, Ref, Str

_EVENT_AT = Field("event_at", Str(format="date-time"), required=True, doc="When the event happened.")
_QUOTE = Field("quote_tweet_id", Ref("TweetId"), doc="Id of the quote Tweet concerned, if it is one.")
_COUNTRIES = Field(
    "withheld_in_countries",
    Arr(Ref("CountryCode"), min_items=1),
    required=True,
    doc="Countries where the content is now withheld.",
)

REFERENCES: tuple[Definition, ...] = (
    Obj(
        "ComplianceTweet",
        (
            Field("id", Ref("TweetId"), required=True, doc="Id of the Tweet."),
            Field("author_id", Ref("UserId"), required=True, doc="Id of the Tweet's author."),
        ),
        doc="The Tweet a compliance or label event is about.",
    ),
    Obj(
        "ComplianceEditedTweet",
        (Field("id", Ref("TweetId"), required=True, doc="Id of the new version of the Tweet."),),
        doc="The Tweet an edit event is about (the spec requires its id only).",
    ),
    Obj(
        "ComplianceUser",
        (Field("id", Ref("UserId"), required=True, doc="Id of the user."),),
        doc="The user a compliance event is about.",
    ),
    Obj(
        "ComplianceFavorite",
        (
            Field("id", Ref("TweetId"), required=True, doc="Id of the Tweet that was unliked."),
            Field("user_id", Ref("UserId"), required=True, doc="Id of the user who unliked it."),
        ),
        doc="The like an unlike event removes.",
    ),
)

_TWEET = Field("tweet", Ref("ComplianceTweet"), required=True, doc="The Tweet concerned.")
_USER = Field("user", Ref("ComplianceUser"), required=True, doc="The user concerned.")

TWEET_KINDS = ("delete", "withheld", "drop", "undrop", "tweet_edit")
USER_KINDS = (
    "user_protect",
    "user_unprotect",
    "user_delete",
    "user_undelete",
    "user_suspend",
    "user_unsuspend",
    "user_withheld",
    "scrub_geo",
    "user_profile_modification",
)
LABEL_KINDS = ("public_tweet_notice", "public_tweet_unviewable")

_TWEET_ACTION = Obj(
    "TweetComplianceAction",
    (_TWEET, _EVENT_AT, _QUOTE),
    doc="A Tweet deleted, dropped or undropped (spec: TweetComplianceSchema).",
)
_USER_ACTION = Obj(
    "UserComplianceAction",
    (_USER, _EVENT_AT),
    doc="A user protected, deleted, suspended, or the reverse (spec: UserComplianceSchema).",
)

TWEETS: tuple[Definition, ...] = (
    _TWEET_ACTION,
    Obj(
        "TweetWithheldAction",
        (_TWEET, _COUNTRIES, _EVENT_AT, _QUOTE),
        doc="A Tweet withheld in some countries (spec: TweetTakedownComplianceSchema).",
    ),
    Obj(
        "TweetEditAction",
        (
            Field("tweet", Ref("ComplianceEditedTweet"), required=True, doc="The new version of the Tweet."),
            _EVENT_AT,
            Field("initial_tweet_id", Ref("TweetId"), required=True, doc="Id of the Tweet's first version."),
            Field(
                "edit_tweet_ids",
                Arr(Ref("TweetId"), min_items=1),
                required=True,
                doc="Ids of every version of the Tweet, oldest first.",
            ),
        ),
        doc="A Tweet edited (spec: TweetEditComplianceObjectSchema).",
    ),
    Obj(
        "TweetComplianceData",
        (
            Field("delete", Ref("TweetComplianceAction"), doc="The Tweet was deleted."),
            Field("withheld", Ref("TweetWithheldAction"), doc="The Tweet was withheld in some countries."),
            Field("drop", Ref("TweetComplianceAction"), doc="The Tweet was dropped (made unavailable)."),
            Field("undrop", Ref("TweetComplianceAction"), doc="A dropped Tweet is available again."),
            Field("tweet_edit", Ref("TweetEditAction"), doc="The Tweet was edited."),
        ),
        doc="One Tweet compliance event: exactly one of its kinds.",
        one_of=TWEET_KINDS,
    ),
)

_USER_ACTIONS = (
    ("user_protect", "The user protected their Tweets."),
    ("user_unprotect", "The user made their Tweets public again."),
    ("user_delete", "The user deleted their account."),
    ("user_undelete", "The user restored their deleted account."),
    ("user_suspend", "The user was suspended."),
    ("user_unsuspend", "The user's suspension was lifted."),
)

USERS: tuple[Definition, ...] = (
    _USER_ACTION,
    Obj(
        "UserWithheldAction",
        (_USER, _COUNTRIES, _EVENT_AT),
        doc="A user withheld in some countries (spec: UserTakedownComplianceSchema).",
    ),
    Obj(
        "UserScrubGeoAction",
        (
            _USER,
            Field(
                "up_to_tweet_id",
                Ref("TweetId"),
                required=True,
                doc="Geo data is removed from the user's Tweets up to this one.",
            ),
            _EVENT_AT,
        ),
        doc="A user's location data scrubbed (spec: UserScrubGeoObjectSchema).",
    ),
    Obj(
        "UserProfileModificationAction",
        (
            _USER,
            Field("profile_field", Str(), required=True, doc="Which profile field changed."),
            Field("new_value", Str(), required=True, doc="Its new value."),
            _EVENT_AT,
        ),
        doc="A user's profile field changed (spec: UserProfileModificationObjectSchema).",
    ),
    Obj(
        "UserComplianceData",
        (
            *(Field(kind, Ref("UserComplianceAction"), doc=doc) for kind, doc in _USER_ACTIONS),
            Field("user_withheld", Ref("UserWithheldAction"), doc="The user was withheld in some countries."),
            Field("scrub_geo", Ref("UserScrubGeoAction"), doc="The user's location data was scrubbed."),
            Field(
                "user_profile_modification",
                Ref("UserProfileModificationAction"),
                doc="A field of the user's profile changed.",
            ),
        ),
        doc="One user compliance event: exactly one of its kinds.",
        one_of=USER_KINDS,
    ),
)

LIKES: tuple[Definition, ...] = (
    Obj(
        "UnlikeAction",
        (
            Field("favorite", Ref("ComplianceFavorite"), required=True, doc="The like removed."),
            _EVENT_AT,
        ),
        doc="A like removed (spec: UnlikeComplianceSchema).",
    ),
    Obj(
        "LikeComplianceData",
        (Field("delete", Ref("UnlikeAction"), required=True, doc="A like was removed (an unlike)."),),
        doc="One likes compliance event (spec: LikeComplianceSchema; its one kind is delete).",
    ),
)

_APPLICATION = Field(
    "application",
    Str(enum=("apply", "remove")),
    required=True,
    doc="Whether the label is applied or removed: the spec's description names these two values.",
)

LABELS: tuple[Definition, ...] = (
    Obj(
        "TweetNotice",
        (
            _TWEET,
            Field("event_type", Str(), required=True, doc="Kind of label, e.g. misleading."),
            _EVENT_AT,
            _APPLICATION,
            Field("details", Str(), doc="Information shown on the label."),
            Field("extended_details_url", Str(), doc="Link to more about this kind of label (no format in the spec)."),
            Field("label_title", Str(), doc="Title of the label."),
        ),
        doc="A public notice label applied to or removed from a Tweet.",
    ),
    Obj(
        "TweetUnviewable",
        (_TWEET, _EVENT_AT, _APPLICATION),
        doc="A Tweet made unviewable to the public, or viewable again.",
    ),
    Obj(
        "TweetLabelData",
        (
            Field("public_tweet_notice", Ref("TweetNotice"), doc="A notice label event."),
            Field("public_tweet_unviewable", Ref("TweetUnviewable"), doc="An unviewable label event."),
        ),
        doc="One Tweet label event: exactly one of its kinds.",
        one_of=LABEL_KINDS,
    ),
)

DEFINITIONS: tuple[Definition, ...] = (*REFERENCES, *TWEETS, *USERS, *LIKES, *LABELS)
