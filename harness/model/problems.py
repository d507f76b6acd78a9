"""RFC 7807 problem details: the `errors` of a stream line and the body of an error answer.

`Problem` is a union on `type`. The 2.166 spec types X's problems
`https://api.twitter.com/2/problems/<slug>`; the live API at api.x.com and newer clients
use `https://api.x.com/2/problems/<slug>`, and captures hold both, so every X subtype
accepts both hosts. `about:blank` selects the generic problem.
"""

from __future__ import annotations

from harness.model._dsl import AnyObj, Arr, Definition, Field, Int, Obj, Ref, Str, Union_, Variant

PROBLEM_HOSTS = ("https://api.twitter.com", "https://api.x.com")


def problem_tags(*slugs: str) -> tuple[str, ...]:
    """The `type` URIs of an X problem, one per host and slug."""
    return tuple(f"{host}/2/problems/{slug}" for slug in slugs for host in PROBLEM_HOSTS)


PROBLEM_BASE = Obj(
    "ProblemBase",
    (
        Field(
            "type",
            Str(format="uri"),
            required=True,
            doc="URI identifying the problem type (an X problem URI, or about:blank).",
        ),
        Field("title", Str(), required=True, doc="Short summary of the problem type."),
        Field("detail", Str(), doc="Explanation of this occurrence."),
        Field("status", Int(), doc="HTTP status code of the problem."),
    ),
    doc="An HTTP Problem Details object (RFC 7807).",
)

_RESOURCE_TYPE = Str(enum=("user", "tweet", "media", "list", "space"))
_SECTION = Str(enum=("data", "includes"))


def _resource_type(required: bool = True) -> Field:
    return Field("resource_type", _RESOURCE_TYPE, required=required, doc="Kind of resource concerned.")


def _resource_id() -> Field:
    return Field("resource_id", Str(), required=True, doc="Id of the resource concerned.")


def _section() -> Field:
    return Field("section", _SECTION, required=True, doc="Part of the response concerned.")


def _parameter(min_length: int | None = None) -> Field:
    return Field("parameter", Str(min_length=min_length), required=True, doc="Request parameter concerned.")


def _value(doc: str = "Offending value.") -> Field:
    return Field("value", Str(), required=True, doc=doc)


# (definition, slug(s), or None for about:blank)
_SUBTYPES: tuple[tuple[Obj, str | tuple[str, ...] | None], ...] = (
    (PROBLEM_BASE.extend("GenericProblem", doc="A problem with nothing beyond its HTTP status."), None),
    (
        PROBLEM_BASE.extend(
            "OperationalDisconnectProblem",
            Field(
                "disconnect_type",
                Str(
                    enum=(
                        "OperationalDisconnect",
                        "UpstreamOperationalDisconnect",
                        "ForceDisconnect",
                        "UpstreamUncleanDisconnect",
                        "SlowReader",
                        "InternalError",
                        "ClientApplicationStateDegraded",
                        "InvalidRules",
                    )
                ),
                doc="Why the stream was disconnected.",
            ),
            doc="You have been disconnected for operational reasons.",
        ),
        "operational-disconnect",
    ),
    (
        PROBLEM_BASE.extend(
            "ConnectionExceptionProblem",
            Field(
                "connection_issue",
                Str(
                    enum=(
                        "TooManyConnections",
                        "ProvisioningSubscription",
                        "RuleConfigurationIssue",
                        "RulesInvalidIssue",
                    )
                ),
                doc="What is wrong with the connection.",
            ),
            doc="Something is wrong with the stream connection.",
        ),
        "streaming-connection",
    ),
    (
        PROBLEM_BASE.extend(
            "UsageCapExceededProblem",
            Field("period", Str(enum=("Daily", "Monthly")), doc="Period of the exceeded cap."),
            Field("scope", Str(enum=("Account", "Product")), doc="Scope of the exceeded cap."),
            doc="A usage cap has been exceeded.",
        ),
        "usage-capped",
    ),
    (
        PROBLEM_BASE.extend(
            "ClientForbiddenProblem",
            Field(
                "reason",
                Str(enum=("official-client-forbidden", "client-not-enrolled")),
                doc="Why the client is forbidden.",
            ),
            Field("registration_url", Str(format="uri"), doc="Where to enroll the client."),
            doc="The client is forbidden from making this request.",
        ),
        "client-forbidden",
    ),
    (
        PROBLEM_BASE.extend(
            "InvalidRequestProblem",
            Field("errors", Arr(Ref("InvalidRequestError"), min_items=1), doc="What is wrong with the request."),
            doc="The request is invalid.",
        ),
        "invalid-request",
    ),
    (
        PROBLEM_BASE.extend(
            "ResourceNotFoundProblem",
            _parameter(min_length=1),
            _value("Value of the parameter; matches the schema of the field."),
            _resource_id(),
            _resource_type(),
            doc="A given Tweet, User, etc. does not exist.",
        ),
        "resource-not-found",
    ),
    (
        PROBLEM_BASE.extend(
            "ResourceUnauthorizedProblem",
            _value(),
            _resource_id(),
            _resource_type(),
            _section(),
            _parameter(),
            doc="You are not allowed to see a particular Tweet, User, etc.",
        ),
        "not-authorized-for-resource",
    ),
    (
        PROBLEM_BASE.extend(
            "FieldUnauthorizedProblem",
            _resource_type(),
            Field("field", Str(), required=True, doc="Field you may not see."),
            _section(),
            doc=(
                "You are not allowed to see a particular field of a Tweet, User, etc. Spec 2.167 "
                "types it field-unauthorized; both slugs are accepted."
            ),
        ),
        ("not-authorized-for-field", "field-unauthorized"),
    ),
    (
        PROBLEM_BASE.extend(
            "FieldHydrationFailureProblem",
            Field("detail", Str(), required=True, doc="Explanation of this occurrence."),
            Field("field", Str(), required=True, doc="Field that could not be hydrated."),
            Field("resource_type", Str(), doc="Kind of resource concerned."),
            Field("section", Str(), doc="Part of the response concerned."),
            doc="A requested field could not be filled in (spec 2.167 only).",
        ),
        "field-hydration-failure",
    ),
    (
        PROBLEM_BASE.extend(
            "InternalErrorProblem",
            Field("detail", Str(), required=True, doc="Explanation of this occurrence."),
            doc="X failed internally (spec 2.167 only).",
        ),
        "internal-error",
    ),
    (PROBLEM_BASE.extend("ClientDisconnectedProblem", doc="Your client has gone away."), "client-disconnected"),
    (
        PROBLEM_BASE.extend(
            "DisallowedResourceProblem",
            _resource_id(),
            _resource_type(),
            _section(),
            doc="The requested resource violates the precepts of this API.",
        ),
        "disallowed-resource",
    ),
    (
        PROBLEM_BASE.extend(
            "ResourceUnavailableProblem",
            _parameter(min_length=1),
            _resource_id(),
            _resource_type(),
            doc="A particular Tweet, User, etc. is not available to you.",
        ),
        "resource-unavailable",
    ),
    (PROBLEM_BASE.extend("RulesCapProblem", doc="You have exceeded the maximum number of rules."), "rule-cap"),
    (
        PROBLEM_BASE.extend(
            "InvalidRuleProblem",
            Field("value", Str(), doc="The rule refused (sent by the API; not in the 2.166 spec)."),
            Field("details", Arr(Str()), doc="Why, one reason each (sent by the API; not in the 2.166 spec)."),
            doc="The submitted rule is invalid.",
        ),
        "invalid-rules",
    ),
    (
        PROBLEM_BASE.extend(
            "DuplicateRuleProblem",
            Field("id", Str(), doc="Id of the existing identical rule."),
            Field("value", Str(), doc="Value of the duplicate rule."),
            doc="The submitted rule is a duplicate.",
        ),
        "duplicate-rules",
    ),
    (
        PROBLEM_BASE.extend("NonCompliantRulesProblem", doc="The user's rule set is not compliant."),
        "noncompliant-rules",
    ),
    (PROBLEM_BASE.extend("ConflictProblem", doc="A job is already in progress."), "conflict"),
    (
        PROBLEM_BASE.extend("UnsupportedAuthenticationProblem", doc="The authentication used is not supported."),
        "unsupported-authentication",
    ),
    (
        PROBLEM_BASE.extend(
            "Oauth1PermissionsProblem",
            doc=(
                "The client app lacks the OAuth1 permissions the endpoint needs. Absent from the "
                "2.166 discriminator; the slug is the one the API sends."
            ),
        ),
        "oauth1-permissions",
    ),
)

PROBLEM = Union_(
    name="Problem",
    tag="type",
    variants=tuple(
        Variant(
            ("about:blank",) if slug is None else problem_tags(*((slug,) if isinstance(slug, str) else slug)),
            obj.name,
        )
        for obj, slug in _SUBTYPES
    ),
    doc="An RFC 7807 problem; `type` selects the subtype.",
)

DEFINITIONS: tuple[Definition, ...] = (
    PROBLEM,
    *(obj for obj, _ in _SUBTYPES),
    Obj(
        "InvalidRequestError",
        (
            Field("message", Str(), doc="What is wrong."),
            Field("parameters", AnyObj(), doc="Offending parameters: name -> list of given values."),
        ),
        doc="One error of an invalid request.",
    ),
)
