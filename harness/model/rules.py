"""The filtered stream's rules API: its requests and answers (spec 2.166).

`GET /2/tweets/search/stream/rules` answers a `RulesLookupResponse`; `POST` takes an
`AddOrDeleteRulesRequest` and answers an `AddOrDeleteRulesResponse`; `GET .../rules/counts`
answers a `RulesCountResponse`. The spec's `oneOf`s without a tag (add or delete request;
add or delete summary) are declared as one object with the members of both, at least one
of the distinguishing members required: the model has no untagged unions, and the
replay says which combinations it accepts.
"""

from __future__ import annotations

from harness.model._dsl import Alias, Arr, Definition, Field, Int, Obj, Ref, Str

#: paths of the rules API (the filtered stream's own path + /rules)
RULES_PATH = "/2/tweets/search/stream/rules"
COUNTS_PATH = RULES_PATH + "/counts"

_COUNT = Int(minimum=0)

RULE = Obj(
    "Rule",
    (
        Field("id", Ref("RuleId"), doc="Unique identifier of the rule (absent from a request)."),
        Field("value", Ref("RuleValue"), required=True, doc="The rule itself, in the filter language."),
        Field("tag", Ref("RuleTag"), doc="A label the client gave the rule."),
    ),
    doc="A filtered-stream rule (spec: Rule; in an add request without `id`, spec: RuleNoId).",
)

SUMMARY = Obj(
    "RulesRequestSummary",
    (
        Field("created", _COUNT, doc="Rules created."),
        Field("not_created", _COUNT, doc="Rules not created (invalid, duplicate or over the cap)."),
        Field("valid", _COUNT, doc="Rules that were valid."),
        Field("invalid", _COUNT, doc="Rules that were invalid."),
        Field("deleted", _COUNT, doc="Rules deleted."),
        Field("not_deleted", _COUNT, doc="Rules not deleted (no such rule)."),
    ),
    doc=(
        "What an add (created, not_created, valid, invalid) or a delete (deleted, not_deleted) did. "
        "The spec's oneOf of the two, loosened to one object needing `created` or `deleted`."
    ),
    require_any=("created", "deleted"),
)

META = Obj(
    "RulesResponseMetadata",
    (
        Field("sent", Str(format="date-time"), required=True, doc="When the answer was sent."),
        Field("result_count", _COUNT, doc="Rules in this page of a lookup."),
        Field("next_token", Str(min_length=1), doc="The next page's `pagination_token`."),
        Field("summary", Ref("RulesRequestSummary"), doc="What an add or delete request did."),
    ),
    doc="Metadata of a rules answer.",
)

_DATA = Field("data", Arr(Ref("Rule")), doc="The rules (created, or looked up).")
_ERRORS = Field("errors", Arr(Ref("Problem"), min_items=1), doc="Why some rules were not created or deleted.")

ROOTS: tuple[Definition, ...] = (
    Obj(
        "AddOrDeleteRulesRequest",
        (
            Field("add", Arr(Ref("Rule")), doc="Rules to add: `value` and optional `tag`."),
            Field("delete", Ref("RulesToDelete"), doc="Rules to delete, by `ids` or by `values`."),
        ),
        doc="The body of POST /2/tweets/search/stream/rules: `add` or `delete`, not both.",
        require_any=("add", "delete"),
    ),
    Obj(
        "AddOrDeleteRulesResponse",
        (_DATA, _ERRORS, Field("meta", Ref("RulesResponseMetadata"), required=True, doc="Sent time and summary.")),
        doc="The answer to POST /2/tweets/search/stream/rules.",
    ),
    Obj(
        "RulesLookupResponse",
        (_DATA, Field("meta", Ref("RulesResponseMetadata"), required=True, doc="Sent time, count, next page.")),
        doc="The answer to GET /2/tweets/search/stream/rules.",
    ),
    Obj(
        "RulesCountResponse",
        (Field("data", Ref("RulesCount"), doc="The counts."), _ERRORS),
        doc="The answer to GET /2/tweets/search/stream/rules/counts (spec: Get2TweetsSearchStreamRulesCountsResponse).",
    ),
)

DEFINITIONS: tuple[Definition, ...] = (
    Alias("RuleValue", Str(min_length=1), doc="A rule in the filter language, e.g. `coffee -is:retweet`."),
    RULE,
    SUMMARY,
    META,
    Obj(
        "RulesToDelete",
        (
            Field("ids", Arr(Ref("RuleId")), doc="Ids of the rules to delete."),
            Field("values", Arr(Ref("RuleValue")), doc="Values of the rules to delete."),
        ),
        doc="Which rules a delete request names.",
    ),
    Obj(
        "RulesCount",
        (
            Field("all_project_client_apps", Arr(Ref("AppRulesCount")), doc="Rule counts of the project's apps."),
            Field("cap_per_client_app", _COUNT, doc="Rules allowed per client app."),
            Field("cap_per_project", _COUNT, doc="Rules allowed per project."),
            Field("client_app_rules_count", Ref("AppRulesCount"), doc="This app's rule count."),
            Field("project_rules_count", _COUNT, doc="Rules of the whole project."),
        ),
        doc="Rule counts at the client-app and project levels.",
    ),
    Obj(
        "AppRulesCount",
        (
            Field("client_app_id", Str(min_length=1, max_length=19), doc="Id of the client app."),
            Field("rule_count", _COUNT, doc="Rules of the client app."),
        ),
        doc="One client app's rule count.",
    ),
    *ROOTS,
)
