"""The connections API (`/2/connections`): the streaming connections an app holds, and ending them.

Shapes from the 2.166 spec (Get2ConnectionsResponse, KillConnectionsByUuidsRequest and the
three Kill*Response objects, which the spec declares identical); `Connection.id` comes from
2.167: 2.166 lists `id` among the `connection.fields` but not in the object. The required
members of a kill's `data` and `results` are 2.167's (2.166 requires none). Without
`connection.fields` a Connection carries its two required members only (`connected_at`,
`endpoint_name`), as other objects carry their defaults.
"""

from __future__ import annotations

from harness.model._dsl import Arr, Bool, Definition, Endpoint, Field, Int, Obj, Param, Ref, Str

#: The spec's `endpoint_id` / `endpoint_name` values, in its order.
STREAM_IDS = (
    "filtered_stream",
    "sample_stream",
    "sample10_stream",
    "firehose_stream",
    "tweets_compliance_stream",
    "users_compliance_stream",
    "tweet_label_stream",
    "firehose_stream_lang_en",
    "firehose_stream_lang_ja",
    "firehose_stream_lang_ko",
    "firehose_stream_lang_pt",
    "likes_firehose_stream",
    "likes_sample10_stream",
    "likes_compliance_stream",
)
#: The connections API's name of each stream this project models (by its short name). The
#: activity stream has none: the spec's `endpoint_name` enum (2.166 and 2.167) does not list
#: it, so its connections are not in the API's answers (nor ended by it).
STREAM_ID_OF = {
    "search-stream": "filtered_stream",
    "firehose-ja": "firehose_stream_lang_ja",
    "likes-sample10": "likes_sample10_stream",
    "sample-stream": "sample_stream",
    "sample10-stream": "sample10_stream",
    "firehose": "firehose_stream",
    "firehose-en": "firehose_stream_lang_en",
    "firehose-ko": "firehose_stream_lang_ko",
    "firehose-pt": "firehose_stream_lang_pt",
    "likes-firehose": "likes_firehose_stream",
    "tweets-compliance": "tweets_compliance_stream",
    "users-compliance": "users_compliance_stream",
    "likes-compliance": "likes_compliance_stream",
    "tweets-label": "tweet_label_stream",
}
CONNECTION_FIELDS = ("client_ip", "connected_at", "disconnect_reason", "disconnected_at", "endpoint_name", "id")
CONNECTION_STATUSES = ("active", "inactive", "all")
MAX_UUIDS = 100

CONNECTION = Obj(
    "Connection",
    (
        Field("id", Str(min_length=1), doc="The connection's UUID (what DELETE /2/connections takes)."),
        Field("client_ip", Str(), doc="The IP address of the connected client."),
        Field(
            "connected_at",
            Str(format="date-time"),
            required=True,
            default=True,
            doc="When the connection was established.",
        ),
        Field("disconnect_reason", Str(), doc="Why the connection ended, once inactive (operator_disconnect, ...)."),
        Field("disconnected_at", Str(format="date-time"), doc="When the connection ended, once inactive."),
        Field(
            "endpoint_name",
            Str(enum=STREAM_IDS),
            required=True,
            default=True,
            doc="The streaming endpoint (filtered_stream, ...).",
        ),
    ),
    doc="A streaming connection of the app, active or past.",
)

_ERRORS = Field("errors", Arr(Ref("Problem"), min_items=1), doc="Problems (RFC 7807).")

CONNECTIONS_META = Obj(
    "ConnectionsMeta",
    (
        Field("next_token", Str(min_length=1), doc="Pagination token of the next page, if there is one."),
        Field("result_count", Int(minimum=0), doc="The number of connections in this page."),
    ),
    doc="Paging of GET /2/connections.",
)
CONNECTIONS_RESPONSE = Obj(
    "Get2ConnectionsResponse",
    (
        Field("data", Arr(Ref("Connection"), min_items=1), doc="The connections (none: the member is absent)."),
        _ERRORS,
        Field("meta", Ref("ConnectionsMeta"), doc="Paging."),
    ),
    doc="The answer to GET /2/connections.",
)
KILL_REQUEST = Obj(
    "KillConnectionsByUuidsRequest",
    (
        Field(
            "uuids",
            Arr(Str(), min_items=1, max_items=MAX_UUIDS),
            required=True,
            doc="The UUIDs of the connections to end (1-100).",
        ),
    ),
    doc="The body of DELETE /2/connections.",
)
KILL_RESULT = Obj(
    "KillConnectionsResult",
    (
        Field("uuid", Str(), required=True, doc="The connection concerned."),
        Field("success", Bool(), required=True, doc="Whether it was ended."),
        Field("error_message", Str(), doc="Why it was not (empty on success)."),
    ),
    doc="What became of one connection a kill named.",
)
KILL_DATA = Obj(
    "KillConnectionsData",
    (
        Field("successful_kills", Int(minimum=0), required=True, doc="Connections ended."),
        Field("failed_kills", Int(minimum=0), required=True, doc="Connections that could not be ended."),
        Field("results", Arr(Ref("KillConnectionsResult")), doc="One result per connection concerned."),
    ),
    doc="The outcome of a kill.",
)
_KILL = Obj("KillConnectionsResponse", (Field("data", Ref("KillConnectionsData"), doc="The outcome."), _ERRORS))
KILL_RESPONSES = tuple(
    _KILL.extend(name, doc=f"The answer to {call}.")
    for name, call in (
        ("KillAllConnectionsResponse", "DELETE /2/connections/all"),
        ("KillConnectionsByEndpointResponse", "DELETE /2/connections/{endpoint_id}"),
        ("KillConnectionsByUuidsResponse", "DELETE /2/connections"),
    )
)

#: GET /2/connections and its query parameters (checked like a stream's).
HISTORY = Endpoint(
    name="connections",
    path="/2/connections",
    params=(
        Param("status", Str(enum=CONNECTION_STATUSES), doc="active (the default), inactive or all."),
        Param("endpoints", Arr(Str(enum=STREAM_IDS), min_items=1), doc="Only these streams."),
        Param("max_results", Int(minimum=1, maximum=100), doc="Connections per page (1-100, default 10)."),
        Param("pagination_token", Str(min_length=1), doc="The next_token of the page before."),
        Param("connection.fields", Arr(Str(enum=CONNECTION_FIELDS), min_items=1), doc="Connection fields to return."),
    ),
    event="Get2ConnectionsResponse",
    doc="The app's streaming connections, active or past.",
)

#: The definitions nothing refers to: the API's bodies.
ROOTS = ("Get2ConnectionsResponse", "KillConnectionsByUuidsRequest", *(d.name for d in KILL_RESPONSES))

DEFINITIONS: tuple[Definition, ...] = (
    CONNECTION,
    CONNECTIONS_META,
    CONNECTIONS_RESPONSE,
    KILL_REQUEST,
    KILL_RESULT,
    KILL_DATA,
    *KILL_RESPONSES,
)
