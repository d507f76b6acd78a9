"""What the activity stream (X Activity API) carries: one subscribed event per line.

From the 2.166 spec's ActivityStreamingResponse, with the event kinds 2.167 adds
(like.create, post.mention/quote/reply/repost.create). The spec selects the payload's
shape by the sibling `event_type` (a discriminator on `../event_type`); here the `data`
object is the union on `event_type`, one variant per payload shape, which says the same
and lets a wrong payload be reported at its own pointer. The spec leaves `event_type`
optional; without it no payload can be told apart, so it is required.
"""

from __future__ import annotations

from harness.model._dsl import Definition, Field, Obj, Ref, Str, Union_, Variant

PROFILE_UPDATES = tuple(
    f"profile.update.{what}"
    for what in (
        "affiliate_badge",
        "banner_picture",
        "bio",
        "geo",
        "handle",
        "profile_picture",
        "screenname",
        "url",
        "verified_badge",
    )
)
POSTS = ("post.create", "post.mention.create", "post.quote.create", "post.reply.create", "post.repost.create")

_BASE = Obj(
    "ActivityEventBase",
    (
        Field("event_type", Str(), required=True, doc="What happened, e.g. post.create (the union tag)."),
        Field("event_uuid", Ref("ActivityEventId"), doc="Unique identifier of the event."),
        Field("filter", Ref("ActivitySubscriptionFilter"), doc="The subscription filter the event matched."),
        Field("tag", Str(), doc="Tag of the subscription the event matched."),
        Field("includes", Ref("Expansions"), doc="Expanded objects referenced by the payload."),
    ),
)


def _variant(name: str, payload: str, doc: str) -> Obj:
    return _BASE.extend(name, Field("payload", Ref(payload), doc=doc), doc=f"An activity event whose payload is {doc}")


_VARIANTS = (
    (
        PROFILE_UPDATES,
        _variant("ProfileUpdateActivity", "ProfileUpdatePayload", "a profile field's old and new value."),
    ),
    (("news.new",), _variant("NewsActivity", "NewsPayload", "a news story.")),
    (("follow.follow", "follow.unfollow"), _variant("FollowActivity", "FollowPayload", "who (un)followed whom.")),
    (POSTS, _variant("PostActivity", "Tweet", "the Tweet posted.")),
    (("post.delete",), _variant("PostDeleteActivity", "PostDeletePayload", "the deleted Tweet's identity.")),
    (("like.create",), _variant("LikeActivity", "LikeWithTweetAuthor", "the like (2.167).")),
)

DEFINITIONS: tuple[Definition, ...] = (
    Union_(
        "ActivityEventData",
        tag="event_type",
        variants=tuple(Variant(tags, obj.name) for tags, obj in _VARIANTS),
        doc="One activity event; `event_type` selects the payload's shape.",
    ),
    *(obj for _, obj in _VARIANTS),
    Obj(
        "ActivitySubscriptionFilter",
        (
            Field("direction", Str(enum=("inbound", "outbound")), doc="Direction of directional events."),
            Field("keyword", Str(min_length=1, max_length=150), doc="Keyword the subscription filters on."),
            Field("user_id", Ref("UserId"), doc="User the subscription follows."),
        ),
        doc="An X Activity API subscription filter.",
    ),
    Obj(
        "ProfileUpdatePayload",
        (
            Field("before", Str(), doc="The field's value before the update."),
            Field("after", Str(), doc="The field's value after the update."),
        ),
        doc="A profile field's change.",
    ),
    Obj(
        "NewsPayload",
        (
            Field("category", Str(), doc="Category of the story."),
            Field("headline", Str(), doc="Headline of the story."),
            Field("hook", Str(), doc="Short hook of the story."),
            Field("summary", Str(), doc="Summary of the story."),
        ),
        doc="A news story.",
    ),
    Obj(
        "FollowPayload",
        (
            Field("source", Ref("User"), doc="The user who follows or unfollows."),
            Field("target", Ref("User"), doc="The user followed or unfollowed."),
        ),
        doc="A follow or unfollow.",
    ),
    Obj(
        "PostDeletePayload",
        (
            Field("id", Ref("TweetId"), required=True, doc="Id of the deleted Tweet."),
            Field("author_id", Ref("UserId"), required=True, doc="Id of its author."),
        ),
        doc="The identity of a deleted Tweet.",
    ),
)
