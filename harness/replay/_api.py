"""The API paths around the streams, answered the same way by the replayer and `harness serve`.

One dispatch point (`serve_api`) for every path that is not a stream: the filtered stream's
rules API (`GET`/`POST /2/tweets/search/stream/rules`, `GET .../rules/counts`) and the
connections API (`/2/connections`...: `harness.replay._connections`), with X's answers: spec
shapes, `invalid-request` 400s for bad parameters, bodies that are not JSON and wrong content
types, 401 without a bearer token, 405 for other methods.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

from harness._wire import ChunkDecoder, ChunkError, Request, send_response
from harness.errors import ParameterError
from harness.model.params import parse_query
from harness.model.rules import COUNTS_PATH, RULES_PATH
from harness.replay._connections import ConnectionTable
from harness.replay._http_server import problem
from harness.replay._rules import RuleBook, invalid_request
from harness.replay.faults import phrase
from harness.replay.log import ConnectionLog, End

MAX_BODY = 1 << 20  # bytes of a request body; X's own limit is far below
COUNT_FIELDS = ("all_project_client_apps", "cap_per_client_app", "cap_per_project", "client_app_rules_count",
                "project_rules_count")  # fmt: skip
_RULE_ID = re.compile(r"[0-9]{1,19}\Z")
_COUNT = re.compile(r"[0-9]{1,19}\Z")  # a byte count: ASCII digits, few enough for int()
_PATHS = {RULES_PATH: "rules", COUNTS_PATH: "rules/counts"}
JSON_HEADERS = (("Content-Type", "application/json; charset=utf-8"),)


class _Refused(Exception):
    def __init__(self, status: int, body: Mapping[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


@dataclass(frozen=True)
class Apis:
    """What the API paths answer from: the app's rules, the server's stream connections."""

    rules: RuleBook
    connections: ConnectionTable


def api_path(path: str) -> str | None:
    """The API this path is (a short name for the log), or None: a stream's path, or nothing."""
    if ConnectionTable.handles(path):
        return "connections"
    return _PATHS.get(path.rstrip("/") if path != "/" else path)


def serve_api(sock: Any, request: Request, rfile: BinaryIO, apis: Apis, token: str | None,
              log: ConnectionLog | None = None) -> str:  # fmt: skip
    """Answer `request` (at an `api_path`) on `sock`, noted in `log`; returns the line to log."""
    if (request.header("Expect") or "").lower() == "100-continue" and request.method in ("POST", "DELETE"):
        with contextlib.suppress(OSError):  # curl waits a second for this before sending a body over 1 KB
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
    status, body = api_answer(request, rfile, apis, token)
    if log is not None:
        log.endpoint, log.status = api_path(request.path), status
        log.end = End.COMPLETED if status < 400 else End.REFUSED
    try:
        send_response(sock, status, phrase(status), JSON_HEADERS, body)
    except OSError:
        if log is not None:
            log.vanished = True
    return f"{request.method} {request.target} -> {status}"


def api_answer(request: Request, rfile: BinaryIO, apis: Apis, token: str | None) -> tuple[int, bytes]:
    """The status and JSON body answering `request` at an `api_path`; `token`: the one accepted (None: any)."""
    given = request.bearer()
    if not given or (token is not None and given != token):
        return 401, problem(401, "Unauthorized", "Unauthorized")
    which = api_path(request.path)
    if which == "connections":
        answer = apis.connections.answer(request, rfile)
        return answer.status, json.dumps(answer.body).encode()
    book = apis.rules
    allowed = ("GET", "POST") if which == "rules" else ("GET",)
    if request.method not in allowed:
        detail = f"{request.method} is not supported at {request.path}: expected {' or '.join(allowed)}"
        return 405, problem(405, "Method Not Allowed", detail)
    params: dict[str, str] = {}
    try:
        params = parse_query(request.target.partition("?")[2])
        if which == "rules/counts":
            status, body = 200, _counts(book, params)
        elif request.method == "GET":
            status, body = _lookup(book, params)
        else:
            status, body = _change(book, params, request, rfile)
    except ParameterError as exc:
        value = params.get(exc.parameter)
        status, body = 400, invalid_request(str(exc), {exc.parameter: [] if value is None else [value]})
    except _Refused as exc:
        status, body = exc.status, dict(exc.body)
    return status, json.dumps(body).encode()


def _only(params: Mapping[str, str], known: tuple[str, ...]) -> None:
    for name in params:
        if name not in known:
            raise ParameterError(f"The query parameter [{name}] is not one of [{','.join(known)}]", parameter=name)


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value.lower() not in ("true", "false"):  # booleans are read as Java reads them: any case
        raise ParameterError(f"{name}: expected true or false, found {value!r}", parameter=name)
    return value.lower() == "true"


def _lookup(book: RuleBook, params: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
    _only(params, ("ids", "max_results", "pagination_token"))
    ids = None
    if "ids" in params:
        ids = params["ids"].split(",")
        bad = [i for i in ids if not _RULE_ID.match(i)]
        if bad:
            raise ParameterError(f"ids: {bad[0]!r} is not a rule id (1 to 19 digits)", parameter="ids")
    max_results = 1000
    if "max_results" in params:
        text = params["max_results"]
        if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= 1000:
            raise ParameterError(f"max_results: expected an integer 1..1000, found {text!r}", parameter="max_results")
        max_results = int(text)
    return book.lookup(ids, max_results, params.get("pagination_token"))


def _counts(book: RuleBook, params: Mapping[str, str]) -> dict[str, Any]:
    _only(params, ("rules_count.fields",))
    body = book.counts()
    if "rules_count.fields" in params:
        wanted = params["rules_count.fields"].split(",")
        bad = [f for f in wanted if f not in COUNT_FIELDS]
        if bad:
            message = f"rules_count.fields: {bad[0]!r} is not one of {', '.join(COUNT_FIELDS)}"
            raise ParameterError(message, parameter="rules_count.fields")
        body["data"] = {k: v for k, v in body["data"].items() if k in wanted}
    return body


def _change(book: RuleBook, params: Mapping[str, str], request: Request, rfile: BinaryIO) -> tuple[int, dict[str, Any]]:
    _only(params, ("dry_run", "delete_all"))
    dry_run, delete_all = _flag(params, "dry_run"), _flag(params, "delete_all")
    raw = _body(request, rfile)
    body: Any = None
    if raw.strip() or not delete_all:
        kind = (request.header("Content-Type") or "").split(";")[0].strip().lower()
        if kind != "application/json":
            found = f"{kind!r}" if kind else "none"
            raise _Refused(400, invalid_request(f"Content-Type: expected application/json, found {found}"))
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
            raise _Refused(400, invalid_request(f"the body is not valid JSON: {exc}")) from None
    return book.change(body, dry_run, delete_all)


def _too_large() -> _Refused:
    return _Refused(413, json.loads(problem(413, "Payload Too Large", f"the body is over {MAX_BODY} bytes")))


def _body(request: Request, rfile: BinaryIO) -> bytes:
    """The request body (Content-Length or chunked), at most MAX_BODY bytes."""
    try:
        if "chunked" in (request.header("Transfer-Encoding") or "").lower():
            decoder, parts, size = ChunkDecoder(), [], 0
            while not decoder.done:
                data = rfile.read1(65536)  # type: ignore[attr-defined]
                if not data:
                    raise _Refused(400, invalid_request("the body ended before its last chunk"))
                piece = decoder.feed(data)
                size += len(piece)
                if size > MAX_BODY:
                    raise _too_large()
                parts.append(piece)
            return b"".join(parts)
        length_text = request.header("Content-Length") or "0"
        if not _COUNT.match(length_text):  # ASCII digits only: isdigit() takes "²", which int() refuses
            raise _Refused(400, invalid_request(f"Content-Length: expected a byte count, found {length_text!r:.40}"))
        length = int(length_text)
        if length > MAX_BODY:
            raise _too_large()
        data = rfile.read(length) if length else b""
        if len(data) < length:
            raise _Refused(400, invalid_request(f"the body ended after {len(data)} of {length} bytes"))
        return data
    except ChunkError as exc:
        raise _Refused(400, invalid_request(f"the body's chunked framing is broken: {exc}")) from None
    except (TimeoutError, OSError) as exc:
        raise _Refused(400, invalid_request(f"the body did not come in time ({type(exc).__name__})")) from None
