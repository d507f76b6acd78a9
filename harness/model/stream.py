"""What one line of a stream is: the event envelopes and the objects only streams carry.

Each envelope is the 2.166 response schema of its endpoint (FilteredStreamingTweetResponse,
StreamingTweetResponse, StreamingLikeResponseV2...): the payload in `data`, expanded objects
in `includes`, problems in `errors`; a line carries `data`, `errors`, or both. The
compliance and label streams' lines carry exactly one of `data` and `errors`, and no
`includes`; the activity stream's `includes` sit inside its `data`.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Definition, Field, Int, Obj, Ref, Str

LIKE_WITH_TWEET_AUTHOR = Obj(
    "LikeWithTweetAuthor",
    (
        Field("id", Ref("LikeId"), doc="Unique identifier of the Like event."),
        Field("created_at", Str(format="date-time"), doc="When the Like was created."),
        Field("liked_tweet_id", Ref("TweetId"), doc="Id of the liked Tweet (expand with liked_tweet_id)."),
        Field(
            "tweet_author_id",
            Ref("UserId"),
            doc=(
                "Id of the liked Tweet's author. The parameters call it liked_tweet_author_id "
                "(like_with_tweet_author.fields, expansions); the payload member is tweet_author_id."
            ),
        ),
        Field(
            "timestamp_ms",
            Int(minimum=0),
            doc=(
                "Creation time in epoch milliseconds. The spec says int32, but epoch ms "
                "(~1.7e12) do not fit in 32 bits, so any non-negative integer is accepted."
            ),
        ),
    ),
    doc="A Like event, with the liked Tweet and its author (the spec requires no member).",
)

MATCHING_RULE = Obj(
    "MatchingRule",
    (
        Field("id", Ref("RuleId"), required=True, doc="Id of the rule the Tweet matched."),
        Field("tag", Ref("RuleTag"), doc="Tag of the rule, if it has one."),
    ),
    doc="A filtered-stream rule that a delivered Tweet matched.",
)

EXPANSIONS = Obj(
    "Expansions",
    (
        Field("media", Arr(Ref("Media"), min_items=1), doc="Media expanded from the payload."),
        Field("places", Arr(Ref("Place"), min_items=1), doc="Places expanded from the payload."),
        Field("polls", Arr(Ref("Poll"), min_items=1), doc="Polls expanded from the payload."),
        Field("topics", Arr(Ref("Topic"), min_items=1), doc="Topics expanded from the payload."),
        Field("tweets", Arr(Ref("Tweet"), min_items=1), doc="Tweets expanded from the payload."),
        Field("users", Arr(Ref("User"), min_items=1), doc="Users expanded from the payload."),
    ),
    doc="Objects referenced by the payload and requested with `expansions` (the `includes`).",
)

_INCLUDES = Field("includes", Ref("Expansions"), doc="Expanded objects referenced by `data`.")
_ERRORS = Field(
    "errors",
    Arr(Ref("Problem"), min_items=1),
    doc="Problems (RFC 7807), e.g. an operational disconnect or a partial failure.",
)
_EVENT = Obj("StreamEvent", (_INCLUDES, _ERRORS), require_any=("data", "errors"))


def _tweets(name: str, path: str, spec: str, what: str) -> Obj:
    return Obj(
        name,
        (Field("data", Ref("Tweet"), doc=what), *_EVENT.fields),
        doc=f"One line of {path} (spec: {spec}).",
        require_any=_EVENT.require_any,
    )


def _likes(name: str, path: str, what: str) -> Obj:
    return Obj(
        name,
        (Field("data", Ref("LikeWithTweetAuthor"), doc=what), *_EVENT.fields),
        doc=f"One line of {path} (spec: StreamingLikeResponseV2).",
        require_any=_EVENT.require_any,
    )


def _compliance(name: str, path: str, data: str, spec: str) -> Obj:
    # The spec's oneOf of {data} and {errors}: a compliance line carries one, never both,
    # and no `includes`.
    return Obj(
        name,
        (Field("data", Ref(data), doc="The event."), _ERRORS),
        doc=f"One line of {path} (spec: {spec}).",
        one_of=("data", "errors"),
    )


EVENTS: tuple[Definition, ...] = (
    Obj(
        "SearchStreamEvent",
        (
            Field("data", Ref("Tweet"), doc="A Tweet that matched at least one rule."),
            *_EVENT.fields,
            Field(
                "matching_rules",
                Arr(Ref("MatchingRule")),
                doc="The rules the Tweet matched.",
            ),
        ),
        doc="One line of /2/tweets/search/stream (spec: FilteredStreamingTweetResponse).",
        require_any=_EVENT.require_any,
    ),
    _tweets(
        "FirehoseJaEvent", "/2/tweets/firehose/stream/lang/ja", "StreamingTweetResponse", "A Japanese-language Tweet."
    ),
    _likes("LikesSample10Event", "/2/likes/sample10/stream", "A sampled Like event."),
    _tweets("SampleStreamEvent", "/2/tweets/sample/stream", "StreamingTweetResponse", "A Tweet of the 1% sample."),
    _tweets(
        "Sample10StreamEvent",
        "/2/tweets/sample10/stream",
        "Get2TweetsSample10StreamResponse",
        "A Tweet of the 10% sample.",
    ),
    _tweets("FirehoseEvent", "/2/tweets/firehose/stream", "StreamingTweetResponse", "A Tweet of the full firehose."),
    *(
        _tweets(
            f"Firehose{lang.title()}Event", f"/2/tweets/firehose/stream/lang/{lang}", "StreamingTweetResponse", what
        )
        for lang, what in (
            ("en", "An English-language Tweet."),
            ("ko", "A Korean-language Tweet."),
            ("pt", "A Portuguese-language Tweet."),
        )
    ),
    _likes("LikesFirehoseEvent", "/2/likes/firehose/stream", "A Like event of the full likes firehose."),
    _compliance(
        "TweetsComplianceEvent", "/2/tweets/compliance/stream", "TweetComplianceData", "TweetComplianceStreamResponse"
    ),
    _compliance(
        "UsersComplianceEvent", "/2/users/compliance/stream", "UserComplianceData", "UserComplianceStreamResponse"
    ),
    _compliance(
        "LikesComplianceEvent", "/2/likes/compliance/stream", "LikeComplianceData", "LikesComplianceStreamResponse"
    ),
    _compliance("TweetsLabelEvent", "/2/tweets/label/stream", "TweetLabelData", "TweetLabelStreamResponse"),
    Obj(
        "ActivityEvent",
        (Field("data", Ref("ActivityEventData"), doc="The event (its `includes` are inside it)."), _ERRORS),
        doc="One line of /2/activity/stream (spec: ActivityStreamingResponse).",
        require_any=_EVENT.require_any,
    ),
)

DEFINITIONS: tuple[Definition, ...] = (LIKE_WITH_TWEET_AUTHOR, MATCHING_RULE, EXPANSIONS, *EVENTS)
