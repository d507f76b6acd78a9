"""Text entities and the objects other than Tweet, User and Media.

Entities (hashtags, mentions, URLs...) are shared by Tweets, user descriptions and DM
events. Space, List, Poll, Place, DM event and Community follow the object model page's
tables ("(default)" markers included); Topic and Point come from the 2.166 spec.
"""

from __future__ import annotations

from harness.model._dsl import AnyObj, Arr, Bool, Definition, Field, Int, Num, Obj, Ref, Str, Tup

_COUNT = Int(minimum=0)
_DATE_TIME = Str(format="date-time")
_URI = Str(format="uri")
# Links as people wrote them resolve to IRIs, not only URIs: real expanded_url values hold
# non-ASCII paths and hosts (evidence: ~37k real objects recorded 2021-2023, issue 14).
# The t.co `url` X makes itself stays a URI.
_IRI = Str(format="iri")

# -- text entities ------------------------------------------------------------------------

_EXCLUSIVE_RANGE = Obj(
    "EntityRange",
    (
        Field("start", Int(minimum=0), required=True, doc="Zero-based start index, inclusive."),
        Field("end", Int(minimum=0), required=True, doc="Zero-based end index, exclusive."),
    ),
)
_INCLUSIVE_RANGE = Obj(
    "EntityRangeInclusive",
    (
        Field("start", Int(minimum=0), required=True, doc="Zero-based start index, inclusive."),
        Field("end", Int(minimum=0), required=True, doc="Zero-based end index, inclusive."),
    ),
)

CASHTAG_ENTITY = _EXCLUSIVE_RANGE.extend(
    "CashtagEntity",
    Field("tag", Str(), required=True, doc="The cashtag text, without '$'."),
    doc="A cashtag recognised in the text, with its position.",
)
HASHTAG_ENTITY = _EXCLUSIVE_RANGE.extend(
    "HashtagEntity",
    Field("tag", Str(), required=True, doc="The hashtag text, without '#'."),
    doc="A hashtag recognised in the text, with its position.",
)
MENTION_ENTITY = _EXCLUSIVE_RANGE.extend(
    "MentionEntity",
    Field(
        "username",
        Ref("MentionUserName"),
        required=True,
        doc="The @-name as written in the text (up to 20 characters; see MentionUserName).",
    ),
    Field("id", Ref("UserId"), doc="Id of the mentioned user."),
    doc="A user mention recognised in the text, with its position.",
)
URL_ENTITY = _EXCLUSIVE_RANGE.extend(
    "UrlEntity",
    Field("url", _URI, required=True, doc="The URL as it appears in the text (t.co)."),
    Field("expanded_url", _IRI, doc="The fully expanded URL; an IRI (non-ASCII seen in real payloads)."),
    Field("display_url", Str(), doc="The URL as displayed in the X client."),
    Field("unwound_url", _IRI, doc="The fully resolved URL; an IRI, as expanded_url is."),
    Field("status", Int(minimum=100, maximum=599), doc="HTTP status of the landing page."),
    Field("title", Str(), doc="Title of the landing page."),
    Field("description", Str(), doc="Description of the landing page."),
    Field("images", Arr(Ref("UrlImage"), min_items=1), doc="Preview images of the landing page."),
    Field("media_key", Ref("MediaKey"), doc="Media key when the URL points to attached media."),
    doc="A URL recognised in the text, with its position (also used for DM and user URLs).",
)
URL_IMAGE = Obj(
    "UrlImage",
    (
        Field("url", _URI, doc="URL of the image."),
        Field("width", Int(minimum=0), doc="Width in pixels."),
        Field("height", Int(minimum=0), doc="Height in pixels."),
    ),
    doc="A preview image of a URL's landing page.",
)
ANNOTATION_ENTITY = _INCLUSIVE_RANGE.extend(
    "AnnotationEntity",
    Field("normalized_text", Str(), doc="Text the annotation was derived from."),
    Field("probability", Num(minimum=0, maximum=1), doc="Confidence of the annotation type."),
    Field("type", Str(), doc="Annotation type, e.g. Person, Place, Product."),
    doc="A named-entity annotation of the text; unlike other entities its end is inclusive.",
)

NOTE_TWEET_ENTITIES = Obj(
    "NoteTweetEntities",
    (
        Field("cashtags", Arr(Ref("CashtagEntity"), min_items=1), doc="Cashtags in the text."),
        Field("hashtags", Arr(Ref("HashtagEntity"), min_items=1), doc="Hashtags in the text."),
        Field("mentions", Arr(Ref("MentionEntity"), min_items=1), doc="User mentions in the text."),
        Field("urls", Arr(Ref("UrlEntity"), min_items=1), doc="URLs in the text."),
    ),
    doc="Entities parsed from the full text of a long post.",
)
TWEET_ENTITIES = NOTE_TWEET_ENTITIES.extend(
    "TweetEntities",
    Field("annotations", Arr(Ref("AnnotationEntity"), min_items=1), doc="Named-entity annotations."),
    doc="Entities parsed from a text (spec: FullTextEntities); also used for user descriptions.",
)


ENTITIES: tuple[Definition, ...] = (
    TWEET_ENTITIES,
    NOTE_TWEET_ENTITIES,
    CASHTAG_ENTITY,
    HASHTAG_ENTITY,
    MENTION_ENTITY,
    URL_ENTITY,
    URL_IMAGE,
    ANNOTATION_ENTITY,
)

# -- geography ----------------------------------------------------------------------------

GEOGRAPHY: tuple[Definition, ...] = (
    Obj(
        "Point",
        (
            Field("type", Str(enum=("Point",)), required=True, doc="GeoJSON geometry type."),
            Field(
                "coordinates",
                Tup((Num(), Num())),
                required=True,
                doc="GeoJSON position [longitude, latitude].",
            ),
        ),
        doc="A GeoJSON Point (RFC 7946).",
    ),
    Obj(
        "Place",
        (
            Field("full_name", Str(), required=True, default=True, doc="Long, detailed place name."),
            Field("id", Ref("PlaceId"), required=True, default=True, doc="Unique identifier of the place."),
            Field(
                "contained_within",
                Arr(Ref("PlaceId"), min_items=1),
                doc="Ids of known places that contain this one.",
            ),
            Field("country", Str(), doc="Full name of the country of the place."),
            Field("country_code", Ref("CountryCode"), doc="ISO alpha-2 code of the country."),
            Field("geo", Ref("PlaceGeo"), doc="Place details as GeoJSON."),
            Field("name", Str(), doc="Short name of the place."),
            Field(
                "place_type",
                Str(enum=("poi", "neighborhood", "city", "admin", "country", "unknown")),
                doc="What kind of place this is, e.g. city or point of interest.",
            ),
        ),
        doc="A place tagged in a Tweet, expanded with geo.place_id.",
    ),
    Obj(
        "PlaceGeo",
        (
            Field("type", Str(enum=("Feature",)), required=True, doc="GeoJSON object type."),
            Field(
                "bbox",
                Arr(Num(minimum=-180, maximum=180), min_items=4, max_items=4),
                required=True,
                doc="Bounding box: west, south, east, north.",
            ),
            Field("properties", AnyObj(), required=True, doc="GeoJSON properties (usually empty)."),
            Field("geometry", Ref("Point"), doc="Point geometry, when there is one."),
        ),
        doc="GeoJSON Feature describing a place.",
    ),
)

# -- polls --------------------------------------------------------------------------------

POLLS: tuple[Definition, ...] = (
    Obj(
        "Poll",
        (
            Field("id", Ref("PollId"), required=True, default=True, doc="Unique identifier of the poll."),
            Field(
                "options",
                Arr(Ref("PollOption"), min_items=2, max_items=4),
                required=True,
                default=True,
                doc="The poll's choices.",
            ),
            Field("duration_minutes", Int(minimum=5, maximum=10080), doc="Total duration of the poll."),
            Field("end_datetime", _DATE_TIME, doc="When the poll ends."),
            Field(
                "voting_status",
                Str(enum=("open", "closed")),
                doc="Whether the poll still accepts votes.",
            ),
        ),
        doc="A poll attached to a Tweet, expanded with attachments.poll_ids.",
    ),
    Obj(
        "PollOption",
        (
            Field("position", Int(), required=True, doc="Position of the choice in the poll."),
            Field("label", Str(min_length=1, max_length=25), required=True, doc="Text of the choice."),
            Field("votes", _COUNT, required=True, doc="Number of votes for the choice."),
        ),
        doc="One choice of a poll.",
    ),
)

# -- spaces, lists, communities, topics ---------------------------------------------------

_USER_IDS = Arr(Ref("UserId"))

GROUPS: tuple[Definition, ...] = (
    Obj(
        "Space",
        (
            Field("id", Ref("SpaceId"), required=True, default=True, doc="Unique identifier of the Space."),
            Field(
                "state",
                Str(enum=("live", "scheduled", "ended")),
                required=True,
                default=True,
                doc="Whether the Space has started, will start or has ended.",
            ),
            Field("created_at", _DATE_TIME, doc="When the Space was created."),
            Field("creator_id", Ref("UserId"), doc="Id of the Space's creator."),
            Field("ended_at", _DATE_TIME, doc="When the Space ended, if it has."),
            Field("host_ids", _USER_IDS, doc="Ids of the Space's hosts."),
            Field("lang", Str(), doc="Language of the Space, if detected."),
            Field("is_ticketed", Bool(), doc="Whether the Space is ticketed."),
            Field("invited_user_ids", _USER_IDS, doc="Ids of users invited as speakers."),
            Field("participant_count", _COUNT, doc="Users in the Space, hosts and speakers included."),
            Field("subscriber_count", _COUNT, doc="People who set a reminder (or bought a ticket)."),
            Field("scheduled_start", _DATE_TIME, doc="Scheduled start time."),
            Field("speaker_ids", _USER_IDS, doc="Ids of users who spoke at some point."),
            Field("started_at", _DATE_TIME, doc="Actual start time."),
            Field("title", Str(), doc="Title of the Space."),
            Field(
                "topic_ids",
                Arr(Ref("TopicId")),
                doc="Ids of the topics the creator chose (page, space.fields and 2.167).",
            ),
            Field(
                "topics",
                Arr(Ref("Topic")),
                doc="The chosen topics as objects (2.166 only; the page and 2.167 use topic_ids).",
            ),
            Field("updated_at", _DATE_TIME, doc="Last update of the Space's metadata."),
        ),
        doc="A Space (live audio conversation); ephemeral.",
    ),
    Obj(
        "List",
        (
            Field("id", Ref("ListId"), required=True, default=True, doc="Unique identifier of the List."),
            Field("name", Str(), required=True, default=True, doc="Name given to the List."),
            Field("created_at", _DATE_TIME, doc="When the List was created (UTC)."),
            Field("description", Str(), doc="Short description of the List."),
            Field("follower_count", _COUNT, doc="Number of users following the List."),
            Field("member_count", _COUNT, doc="Number of members of the List."),
            Field("private", Bool(), doc="Whether the List is private."),
            Field("owner_id", Ref("UserId"), doc="Id of the List's owner."),
        ),
        doc="A List: a curated group of accounts.",
    ),
    Obj(
        "Community",
        (
            Field("id", Ref("CommunityId"), required=True, doc="Unique identifier of the Community."),
            Field("name", Str(), required=True, doc="Name of the Community."),
            Field("created_at", _DATE_TIME, doc="When the Community was created."),
            Field("description", Str(), doc="Description of the Community, if any."),
            Field("access", Str(enum=("Public", "Closed")), doc="Access level of the Community."),
            Field(
                "join_policy",
                Str(
                    enum=(
                        "Open",
                        "RestrictedJoinRequestsDisabled",
                        "RestrictedJoinRequestsRequireAdminApproval",
                        "RestrictedJoinRequestsRequireModeratorApproval",
                        "SuperFollowRequired",
                    )
                ),
                doc="How users can join the Community.",
            ),
            Field("member_count", _COUNT, doc="Number of members who joined."),
        ),
        doc="A Community; the page marks no default field, id and name are required by 2.166.",
    ),
    Obj(
        "Topic",
        (
            Field("id", Ref("TopicId"), required=True, doc="Unique identifier of the topic."),
            Field("name", Str(), required=True, doc="Name of the topic."),
            Field("description", Str(), doc="Description of the topic."),
        ),
        doc="A topic, e.g. of a Space (from the 2.166 spec; no table on the page).",
    ),
)

# -- direct messages ----------------------------------------------------------------------

DIRECT_MESSAGES: tuple[Definition, ...] = (
    Obj(
        "DmEvent",
        (
            Field("id", Ref("DmEventId"), required=True, default=True, doc="Unique identifier of the event."),
            Field(
                "event_type",
                Str(enum=("MessageCreate", "ParticipantsJoin", "ParticipantsLeave")),
                required=True,
                default=True,
                doc="Type of event; the page lists these three (the spec: any string).",
            ),
            Field("text", Str(), default=True, doc="UTF-8 text of the message (MessageCreate only)."),
            Field("entities", Ref("TweetEntities"), doc="Entities parsed from the message text."),
            Field("sender_id", Ref("UserId"), doc="Id of the user who created the event."),
            Field(
                "participant_ids",
                Arr(Ref("UserId"), min_items=1),
                doc="Ids of participants joining or leaving a group conversation.",
            ),
            Field("dm_conversation_id", Ref("DmConversationId"), doc="Conversation the event belongs to."),
            Field("created_at", _DATE_TIME, doc="When the event was created (UTC)."),
            Field(
                "referenced_tweets",
                Arr(Ref("DmReferencedTweet"), min_items=1),
                doc="Tweets whose URL appears in the message text.",
            ),
            Field("attachments", Ref("DmEventAttachments"), doc="Media (one at most) attached to the message."),
            Field("cashtags", Arr(Ref("CashtagEntity"), min_items=1), doc="Cashtags (2.166 top level)."),
            Field("hashtags", Arr(Ref("HashtagEntity"), min_items=1), doc="Hashtags (2.166 top level)."),
            Field("mentions", Arr(Ref("MentionEntity"), min_items=1), doc="Mentions (2.166 top level)."),
            Field("urls", Arr(Ref("UrlEntity"), min_items=1), doc="URLs (2.166 top level)."),
        ),
        doc=(
            "A DM event. The page and dm_event.fields put entities under `entities`; 2.166 puts "
            "the entity arrays at top level. Both are declared, all optional."
        ),
    ),
    Obj(
        "DmEventAttachments",
        (
            Field("media_keys", Arr(Ref("MediaKey"), min_items=1), doc="Keys of the attached media."),
            Field("card_ids", Arr(Str(), min_items=1), doc="Ids of attached cards."),
        ),
        doc="What is attached to a DM.",
    ),
    Obj(
        "DmReferencedTweet",
        (Field("id", Ref("TweetId"), required=True, doc="Id of the referenced Tweet."),),
        doc="A Tweet referenced by a DM.",
    ),
)

DEFINITIONS: tuple[Definition, ...] = (*ENTITIES, *GEOGRAPHY, *POLLS, *GROUPS, *DIRECT_MESSAGES)
