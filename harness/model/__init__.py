"""The X object model: the one place a field is declared.

The definitions live in the sibling modules, one per family of objects; this module
gathers them into `DEFINITIONS` (by name) and `ENDPOINTS` (by short name) and resolves
an endpoint from either its short name or its path.
"""

from __future__ import annotations

from harness.errors import UnknownEndpointError
from harness.model import connections, endpoints, ids, media, objects, problems, rules, stream, tweet, user
from harness.model._dsl import (
    Alias,
    AnyObj,
    Arr,
    Bool,
    Definition,
    Endpoint,
    Field,
    Int,
    Num,
    Obj,
    Param,
    Ref,
    Str,
    Tup,
    Type,
    Union_,
    Variant,
)

__all__ = [
    "DEFINITIONS",
    "ENDPOINTS",
    "Alias",
    "AnyObj",
    "Arr",
    "Bool",
    "Definition",
    "Endpoint",
    "Field",
    "Int",
    "Num",
    "Obj",
    "Param",
    "Ref",
    "Str",
    "Tup",
    "Type",
    "Union_",
    "Variant",
    "resolve_endpoint",
]


def _collect() -> dict[str, Definition]:
    found: dict[str, Definition] = {}
    for module in (ids, tweet, user, media, objects, problems, stream, rules, connections):
        for definition in module.DEFINITIONS:
            if definition.name in found:
                raise RuntimeError(f"{definition.name} is declared twice in the object model")
            found[definition.name] = definition
    return dict(sorted(found.items()))


DEFINITIONS: dict[str, Definition] = _collect()
ENDPOINTS: dict[str, Endpoint] = {e.name: e for e in endpoints.ENDPOINTS}


def resolve_endpoint(name_or_path: str) -> Endpoint:
    """The endpoint with this short name or path (a trailing query string is ignored)."""
    key = name_or_path.split("?", 1)[0]
    for endpoint in ENDPOINTS.values():
        if key in (endpoint.name, endpoint.path, endpoint.path.rstrip("/")):
            return endpoint
    valid = ", ".join(f"{e.name} ({e.path})" for e in ENDPOINTS.values())
    raise UnknownEndpointError(f"unknown endpoint {name_or_path!r}: expected one of {valid}")
