"""Whether a stream request may be served: its path, method, token and query, refused as X does."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass

from harness._wire import Request
from harness.errors import ParameterError, UnknownEndpointError
from harness.model import Endpoint
from harness.model.params import check_query, invalid_request_body, parse_query
from harness.replay.loopback import endpoint_at, generic_problem


@dataclass(frozen=True)
class Refusal:
    """The answer to a request that gets no stream; `endpoint`: the stream it asked for, if any."""

    status: int
    body: bytes
    endpoint: str | None = None


@dataclass(frozen=True)
class Admitted:
    endpoint: Endpoint
    token: str
    params: dict[str, str]


def admit(request: Request, replayed: Collection[str], token: str | None) -> Admitted | Refusal:
    """Check a stream request against the endpoints `replayed` and the one `token` (None: any)."""
    try:
        endpoint = endpoint_at(request.path)
    except UnknownEndpointError as exc:
        return Refusal(404, generic_problem(404, "Not Found Error", str(exc)))
    name = endpoint.name
    if name not in replayed:
        detail = f"no cassette for {endpoint.path}: this server replays {', '.join(replayed)}"
        return Refusal(404, generic_problem(404, "Not Found Error", detail), name)
    if request.method != "GET":
        detail = f"{request.method} is not supported: streams are GET"
        return Refusal(405, generic_problem(405, "Method Not Allowed", detail), name)
    given = request.bearer()
    if not given or (token is not None and given != token):
        return Refusal(401, generic_problem(401, "Unauthorized", "Unauthorized"), name)
    params: dict[str, str] = {}
    try:
        params = parse_query(request.target.partition("?")[2])
        check_query(endpoint, params)
    except ParameterError as exc:
        return Refusal(400, json.dumps(invalid_request_body(exc, params)).encode(), name)
    return Admitted(endpoint, given, params)
