"""The User object and the objects nested in it.

Fields follow the object model page (User table) and the `user.fields` enum; shapes and
required members come from the 2.166 spec. Fields the page lists but 2.166 lacks
(confirmed_email, is_identity_verified, parody, subscription, verified_followers_count)
take their shape from 2.167.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Bool, Definition, Field, Int, Obj, Ref, Str

_COUNT = Int(minimum=0)
_URI = Str(format="uri")
_URI_OR_EMPTY = Str(format="uri", or_empty=True)

NESTED: tuple[Definition, ...] = (
    Obj(
        "UserEntities",
        (
            Field("url", Ref("UserUrlEntities"), doc="Expanded details of the profile URL."),
            Field("description", Ref("TweetEntities"), doc="Entities found in the profile description."),
        ),
        doc="Text with special meaning in the user's profile URL and description.",
    ),
    Obj(
        "UserUrlEntities",
        (Field("urls", Arr(Ref("UrlEntity"), min_items=1), doc="The profile URL with its indices."),),
        doc="Entities of the URL in the user's profile.",
    ),
    Obj(
        "UserPublicMetrics",
        (
            Field("followers_count", _COUNT, required=True, doc="Number of users following this user."),
            Field("following_count", _COUNT, required=True, doc="Number of users this user follows."),
            Field("tweet_count", _COUNT, required=True, doc="Number of Tweets (including Retweets) posted."),
            Field("listed_count", _COUNT, required=True, doc="Number of Lists that include this user."),
            Field("like_count", _COUNT, doc="Number of likes this user has created."),
            Field("media_count", _COUNT, doc="Number of media items posted (in 2.167, not 2.166)."),
        ),
        doc="Activity counts of this user.",
    ),
    Obj(
        "UserAffiliation",
        (
            Field("badge_url", _URI, doc="URL of the affiliation badge."),
            Field("description", Str(), doc="Description of the affiliation."),
            Field("url", _URI, doc="URL with details about the affiliation, if any."),
            Field("user_id", Arr(Ref("UserId"), min_items=1), doc="Ids of the affiliated accounts."),
        ),
        doc="Details of the user's affiliation (affiliation badge).",
    ),
    Obj(
        "UserSubscription",
        (Field("subscribes_to_you", Bool(), required=True, doc="Whether this user subscribes to you."),),
        doc="Whether this user subscribes to the authenticated user (shape from 2.167).",
    ),
    Obj(
        "UserWithheld",
        (
            Field(
                "country_codes",
                Arr(Ref("CountryCode"), min_items=1),
                required=True,
                doc="Countries where the user is withheld.",
            ),
            Field("scope", Str(enum=("user",)), doc="What is withheld: always the user."),
        ),
        doc="Withholding details for a withheld user.",
    ),
)

_CONNECTION_STATUS = Str(
    enum=("follow_request_received", "follow_request_sent", "blocking", "followed_by", "following", "muting")
)

USER = Obj(
    "User",
    (
        Field("id", Ref("UserId"), required=True, default=True, doc="Unique identifier of this user."),
        Field("name", Str(), required=True, default=True, doc="Display name from the profile (typically <= 50)."),
        Field("username", Ref("UserName"), required=True, default=True, doc="Handle (screen name); unique."),
        Field("affiliation", Ref("UserAffiliation"), doc="Details of the user's affiliation."),
        Field("confirmed_email", Str(), doc="Confirmed email of the authenticated user."),
        Field(
            "connection_status",
            Arr(_CONNECTION_STATUS),
            doc="Relationships between the authenticated user and this user.",
        ),
        Field("created_at", Str(format="date-time"), doc="When the account was created (ISO 8601, UTC)."),
        Field("description", Str(), doc="Profile description (bio), if any."),
        Field("entities", Ref("UserEntities"), doc="Entities in the profile URL and description."),
        Field("is_identity_verified", Bool(), doc="Whether the user has verified their identity."),
        Field("location", Str(), doc="Free-form location from the profile, if any."),
        Field("most_recent_tweet_id", Ref("TweetId"), doc="Id of the user's most recent Tweet."),
        Field("parody", Bool(), doc="Whether the account carries the Parody label."),
        Field("pinned_tweet_id", Ref("TweetId"), doc="Id of the user's pinned Tweet."),
        Field(
            "profile_banner_url",
            _URI_OR_EMPTY,
            doc='URL of the profile banner, or "" (as profile_image_url: withheld accounts\' images are blanked).',
        ),
        Field(
            "profile_image_url",
            _URI_OR_EMPTY,
            doc=(
                'URL of the profile image, or "": withheld accounts come back with an empty '
                "string (evidence: real objects recorded 2021-2023, issue 14)."
            ),
        ),
        Field("protected", Bool(), doc="Whether the user's Tweets are protected (private)."),
        Field("public_metrics", Ref("UserPublicMetrics"), doc="Activity counts of this user."),
        Field("receives_your_dm", Bool(), doc="Whether this user will receive your DMs."),
        Field("subscription", Ref("UserSubscription"), doc="Whether this user subscribes to you."),
        Field(
            "subscription_type",
            Str(enum=("Basic", "Premium", "PremiumPlus", "None")),
            doc="X Premium tier of the authenticated user; always None for other users.",
        ),
        Field(
            "url",
            Str(),
            doc="URL from the profile, if any; no uri format (the spec has none, and it may be empty).",
        ),
        Field("verified", Bool(), doc="Whether this is a verified X user."),
        Field(
            "verified_followers_count",
            _COUNT,
            doc=(
                "Number of verified followers. The page calls it a string; 2.167, which tracks "
                "the live service, says integer, and that is kept (unconfirmed by a capture)."
            ),
        ),
        Field(
            "verified_type",
            Str(enum=("blue", "government", "business", "none")),
            doc="Type of verification of the user.",
        ),
        Field("withheld", Ref("UserWithheld"), doc="Withholding details, if the user is withheld."),
    ),
    doc="An X user.",
)

DEFINITIONS: tuple[Definition, ...] = (USER, *NESTED)
