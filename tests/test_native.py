"""The native checker: sure only of lines the reference accepts (with the same kind), and
sure of the valid events the streams carry, so that it is the fast path in fact."""

from __future__ import annotations

import enum
import json
import re
from collections import OrderedDict
from decimal import Decimal
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_fast import DATE_TIMES, IDS, KEYS, NAMES, STRINGS, URIS, mutated, sites

from harness.contract import schemagen
from harness.contract._fast import FastEngine
from harness.contract._native import (
    ANYOBJ,
    ARR,
    DATE_TIME,
    INT,
    MISSING,
    NUM,
    OBJ,
    SEQ,
    STR,
    UNION,
    URI,
    NativeModel,
    available,
    compile_pattern,
)
from harness.contract._patterns import DATE_TIME as DATE_TIME_RULE
from harness.contract._patterns import URI_FAST
from harness.contract.checker import Contract
from harness.contract.schemagen import Profile
from harness.contract.validator import ReferenceEngine, ecma_pattern, payload_kind
from harness.model import DEFINITIONS, ENDPOINTS, Alias, Arr, Obj, Str
from harness.testing import strategies as xs

REFERENCE = {p: ReferenceEngine(p) for p in Profile}
VALID = {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"]}
NATIVE = {p: NativeModel(p) for p in Profile}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def reference_kind(raw: bytes | str, schema: str, profile: Profile) -> str | None:
    """The kind of a line the reference accepts, None if it refuses it."""
    try:
        payload = json.loads(raw)
    except ValueError:
        return None
    return None if REFERENCE[profile].violations(schema, payload) else payload_kind(payload)


@st.composite
def encoded(draw: st.DrawFn, payload: Any) -> bytes:
    """`payload` as a raw line, written the ways a producer may write JSON."""
    separators = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\t", " :\r ")]))
    text = json.dumps(payload, ensure_ascii=draw(st.booleans()), separators=separators, sort_keys=draw(st.booleans()))
    return (draw(st.sampled_from(["", " ", "\t"])) + text + draw(st.sampled_from(["", "\r\n", "\n", " "]))).encode(
        "utf-8", "surrogatepass"
    )


def test_the_native_checker_is_built() -> None:
    # setup.py builds it wherever there is a C compiler, as on every machine CI runs on
    assert available(), MISSING


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_sure_only_of_what_the_reference_accepts(data: st.DataObject, profile: Profile) -> None:
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, optional=0.4, edge=True) | xs.error_payloads())
    raw = data.draw(encoded(data.draw(mutated(payload))))
    schema = schemagen.event_file(endpoint)
    [kind] = NATIVE[profile].kinds(schema, [raw])
    if kind is not None:
        assert kind == reference_kind(raw, schema, profile)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_sure_only_of_decoded_payloads_the_reference_accepts(data: st.DataObject, profile: Profile) -> None:
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(mutated(data.draw(xs.events(endpoint, optional=0.4, edge=True) | xs.error_payloads())))
    schema = schemagen.event_file(endpoint)
    if NATIVE[profile].accepts(schema, payload):
        assert REFERENCE[profile].violations(schema, payload) == []


class Text(str):
    pass


class Count(enum.IntEnum):
    ONE = 1


@pytest.mark.parametrize(
    ("change", "sure"),
    [
        ({}, True),
        ({"edit_history_tweet_ids": ("1",)}, False),  # a tuple is no JSON array to the reference
        ({"edit_history_tweet_ids": [Text("1")]}, False),
        ({"id": Text("1")}, False),
        ({"public_metrics": {"retweet_count": Decimal(1), "reply_count": 0, "like_count": 0, "quote_count": 0}}, False),
        ({"public_metrics": {"retweet_count": Count.ONE, "reply_count": 0, "like_count": 0, "quote_count": 0}}, False),
        ({"public_metrics": {"retweet_count": True, "reply_count": 0, "like_count": 0, "quote_count": 0}}, False),
        ({"public_metrics": {"retweet_count": 1.0, "reply_count": 0, "like_count": 0, "quote_count": 0}}, False),
        ({"public_metrics": {"retweet_count": 2**70, "reply_count": 0, "like_count": 0, "quote_count": 0}}, False),
        ({"display_text_range": [0, 2**70]}, False),  # bounded: beyond 64 bits, not sure
        ({"possibly_sensitive": 1}, False),
        ({"text": "\ud800"}, True),  # unconstrained: any str
        ({"id": "\ud800"}, False),
        ({"lang": "\u65e5"}, True),
        ({"brand_new": (1, {2}, Decimal(3), float("nan"))}, True),  # undeclared: not looked at
        ({"geo": {"place_id": "p", "coordinates": {"type": "Point", "coordinates": [1.0, float("nan")]}}}, False),
        ({"geo": {"place_id": "p", "coordinates": {"type": "Point", "coordinates": [1.0, float("inf")]}}}, False),
        ({"geo": {"place_id": "p", "coordinates": {"type": "Point", "coordinates": [1, 2**60]}}}, False),
        ({"geo": {"place_id": "p", "coordinates": {"type": "Point", "coordinates": [1, 2**40]}}}, True),
    ],
)  # fmt: skip
def test_decoded_payloads_of_python_types(change: dict[str, Any], sure: bool) -> None:
    payload = {"data": {"id": "1", "text": "hi", "edit_history_tweet_ids": ["1"], **change}}
    schema = schemagen.event_file("search-stream")
    valid = REFERENCE[Profile.DEFAULT].violations(schema, payload) == []
    assert NATIVE[Profile.DEFAULT].accepts(schema, payload) == sure
    if sure:
        assert valid
    assert NATIVE[Profile.DEFAULT].accepts(schema, OrderedDict(payload)) is False  # a dict subclass: not sure
    assert NATIVE[Profile.STRICT].accepts(schema, payload) == (sure and "brand_new" not in change)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_bytes_garbled_anywhere(data: st.DataObject) -> None:
    """Cut, doubled, replaced or inserted bytes: JSON syntax, UTF-8 and escapes as json.loads reads them."""
    payload = data.draw(xs.events("search-stream", optional=0.2, edge=True))
    raw = bytearray(data.draw(encoded(payload)))
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(raw)))
        edit = data.draw(st.sampled_from(["cut", "insert", "replace", "double"]))
        byte = data.draw(st.sampled_from([*b'"\\{}[],:0-.eE+ tfnu\x00\x1f\x7f', 0x80, 0xC0, 0xE3, 0xED, 0xF4, 0xFF]))
        if edit == "cut":
            del raw[at:]
        elif edit == "insert":
            raw[at:at] = bytes([byte])
        elif edit == "replace" and at < len(raw):
            raw[at] = byte
        elif edit == "double":
            raw[at:at] = raw[at : at + 4]
    schema = schemagen.event_file("search-stream")
    for profile in Profile:
        [kind] = NATIVE[profile].kinds(schema, [bytes(raw)])
        if kind is not None:
            assert kind == reference_kind(bytes(raw), schema, profile)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_sure_of_valid_events_and_error_payloads(data: st.DataObject) -> None:
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, edge=True) | xs.error_payloads())
    raw = data.draw(encoded(payload))
    # "about:blank" is a URI the native rule does not cover (http and https only)
    blank = any(p["type"] == "about:blank" for p in payload.get("errors", ()))
    for profile in Profile:
        [kind] = NATIVE[profile].kinds(schemagen.event_file(endpoint), [raw])
        assert kind == (None if blank else payload_kind(payload))
        assert NATIVE[profile].accepts(schemagen.event_file(endpoint), payload) == (not blank)


def test_str_lines_and_lines_it_cannot_read() -> None:
    line = '{"data": {"id": "1", "text": "\u65e5\u672c", "edit_history_tweet_ids": ["1"]}}'
    schema = schemagen.event_file("firehose-ja")
    error = {"type": "https://api.x.com/2/problems/operational-disconnect", "title": "t",
             "disconnect_type": "UpstreamOperationalDisconnect"}  # fmt: skip
    lines: list[bytes | str] = [
        line,
        line.encode(),
        "\ud800",
        b"",
        "{}",
        b'{"errors":[]}',
        json.dumps({"errors": [error]}),
    ]
    assert NATIVE[Profile.DEFAULT].kinds(schema, lines) == ["event", "event", None, None, None, None, "error"]


# -- strings, one check at a time ------------------------------------------------------------
def one_string(checks: tuple[Any, ...] = (), lo: int = -1, hi: int = -1, enum: tuple[bytes, ...] | None = None) -> Any:
    from harness.contract._speedups import Program

    program = Program(((STR, lo, hi, checks, enum),))
    return lambda value: program.kinds(0, [json.dumps(value)], "ok", "ok", -1, -1)[0] == "ok"


def model_patterns() -> list[str]:
    found = []
    for d in DEFINITIONS.values():
        types = [d.type] if isinstance(d, Alias) else [f.type for f in d.fields] if isinstance(d, Obj) else []
        types += [t.items for t in types if isinstance(t, Arr)]
        found += [t.pattern for t in types if isinstance(t, Str) and t.pattern is not None]
    return sorted(set(found))


@pytest.mark.parametrize("pattern", model_patterns())
@settings(max_examples=150, deadline=None)
@given(value=st.text("0123456789-_aZz\n é", max_size=24) | st.sampled_from(IDS + KEYS + NAMES))
def test_every_pattern_of_the_model_runs_natively_and_exactly(pattern: str, value: str) -> None:
    ecma = ecma_pattern(pattern)
    alternatives = compile_pattern(pattern)
    assert alternatives is not None
    assert one_string(((SEQ, alternatives),))(value) == (ecma.search(value) is not None)


@pytest.mark.parametrize(
    "pattern", [r"^a*b$", r"^[0-9]+[0-9]$", r"^(ab|c)d$", "abc", "^[^a]$", "^é$", "^a.$", "^(?i:a)$", "^a$b", r"^a\Z"]
)
def test_patterns_it_cannot_run_exactly_are_left_to_others(pattern: str) -> None:
    assert compile_pattern(pattern) is None


@settings(max_examples=300, deadline=None)
@given(
    value=st.sampled_from(DATE_TIMES)
    | st.builds(
        "{}-{}-{}{}{}:{}:{}{}{}".format,
        st.sampled_from(["0000", "0001", "1900", "2000", "2023", "2024", "9999", "02O2"]),
        st.sampled_from(["00", "01", "02", "04", "12", "13"]),
        st.sampled_from(["00", "01", "28", "29", "30", "31", "32"]),
        st.sampled_from("Tt _"),
        st.sampled_from(["00", "23", "24"]),
        st.sampled_from(["00", "59", "60"]),
        st.sampled_from(["00", "59", "60"]),
        st.sampled_from(["", ".", ".5", ".123456789"]),
        st.sampled_from(["Z", "z", "", "+05:30", "-23:59", "+24:00", "+0530", "+05:60", "Z\n"]),
    )
)
def test_date_times_as_the_model_rule_reads_them(value: str) -> None:
    sure = one_string(((DATE_TIME,),))(value)
    assert sure == (re.fullmatch(DATE_TIME_RULE, value) is not None)
    if sure:  # and the regex itself never says more than the reference's checker
        assert FORMATS.conforms(value, "date-time")


@settings(max_examples=300, deadline=None)
@given(value=st.sampled_from(URIS) | st.from_regex(r"\Ahttps?://[a-z:/?#%@\[\] .\-_~!$&'()*+,;=\n]{0,12}\Z"))
def test_uris(value: str) -> None:
    sure = one_string(((URI,),))(value)
    if sure:
        assert re.fullmatch(URI_FAST, value) and FORMATS.conforms(value, "uri")
    plain = re.fullmatch(r"https?://[A-Za-z0-9\-._~!$&'()*+,;=/?]*", value) is not None
    assert sure == plain


@settings(max_examples=200, deadline=None)
@given(value=st.text(max_size=8) | st.sampled_from(STRINGS), lo=st.integers(-1, 3), hi=st.integers(-1, 5))
def test_lengths_and_enums_in_code_points(value: str, lo: int, hi: int) -> None:
    schema: dict[str, Any] = {"type": "string"}
    if lo >= 0:
        schema["minLength"] = lo
    if hi >= 0:
        schema["maxLength"] = hi
    surrogate = any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    sure = one_string(lo=lo, hi=hi)(value)
    # a lone surrogate has no UTF-8 (json.loads may take it, the cassette reader does not): left to others
    assert sure == (jsonschema.Draft202012Validator(schema).is_valid(value) and not surrogate)
    members = ("photo", "é\u65e5", value[:3])
    sure = one_string(enum=tuple(m.encode("utf-8", "surrogatepass") for m in members))(value)
    assert sure == (value in members and not surrogate)


# -- numbers and the rest of the nodes -----------------------------------------------------
NUMBER_TOKENS = ["0", "-0", "7", "10", "11", "-1", "1.0", "1e1", "1E+1", "0.5", "-0.0", "01", "1.", ".5", "+1", "-",
                 "1e", "1e400", "NaN", "Infinity", "123456789012345678901234567890", "9.999999999999999999",
                 "10.0000001", "true", "null", '"1"', "1 1"]  # fmt: skip


@pytest.mark.parametrize("token", NUMBER_TOKENS)
@pytest.mark.parametrize(("kind", "name"), [(INT, "integer"), (NUM, "number")])
@pytest.mark.parametrize("bounds", [(None, None), (0, 10), (-1, None)])
def test_numbers_as_json_loads_reads_them(
    token: str, kind: int, name: str, bounds: tuple[int | None, int | None]
) -> None:
    from harness.contract._speedups import Program

    lo, hi = bounds
    program = Program(((kind, lo, hi if kind == INT or hi is None else float(hi)),))
    sure = program.kinds(0, [token], "ok", "ok", -1, -1)[0] == "ok"
    schema: dict[str, Any] = {"type": name, **({"minimum": lo} if lo is not None else {})}
    if hi is not None:
        schema["maximum"] = hi
    try:
        valid = jsonschema.Draft202012Validator(schema).is_valid(json.loads(token))
    except ValueError:
        valid = False
    if sure:
        assert valid
    plain = re.fullmatch(r"-?(0|[1-9][0-9]*)", token) is not None
    if valid and plain and len(token) <= 15:  # a plain integer is never left to others
        assert sure


def test_arrays_objects_and_program_errors() -> None:
    from harness.contract._speedups import Program

    nodes = ((ARR, 1, 1, 2), (OBJ, ((b"a", 2, True), (b"b", 3, False)), (), True), (INT, 0, None), (ANYOBJ,))
    program = Program(nodes)
    lines = ['[{"a":1}]', '[{"a":1,"b":{"x":[1,{}]}},{"a":2}]', "[]", '[{"a":1},{"a":1},{"a":1}]', '[{"b":{}}]',
             '[{"a":1,"c":1}]', '[{"a":-1}]', '[{"a":1,"b":[]}]', '[{"a":1,"a":2}]', "[" * 200 + "]" * 200]  # fmt: skip
    assert program.kinds(0, lines, "ok", "ok", -1, -1) == ["ok", "ok", None, None, None, None, None, None, "ok", None]
    with pytest.raises(ValueError, match="out of range"):
        Program(((ARR, 5, 0, -1),))
    with pytest.raises(ValueError, match="unknown node kind 42"):
        Program(((42,),))
    with pytest.raises(ValueError, match="kind 7 has 3 members"):
        Program(((OBJ, ()),))
    with pytest.raises(TypeError, match="built once"):
        program.__init__(nodes)
    with pytest.raises(ValueError, match="no node 4"):
        program.kinds(4, [], "ok", "ok", -1, -1)


def test_a_union_among_its_own_variants_is_refused() -> None:
    from harness.contract._speedups import Program

    with pytest.raises(ValueError, match="union node 0 is among its own variants"):
        Program(((UNION, b"t", ((b"a", (0,)),)),))
    with pytest.raises(ValueError, match="among its own variants"):  # through another union
        Program(((UNION, b"t", ((b"a", (2,)),)), (OBJ, (), (), False), (UNION, b"t", ((b"b", (1, 0)),))))
    # a chain of unions ends: sure of what it can reach, not sure past its depth limit
    chain = (*((UNION, b"t", ((b"a", (i + 1,)),)) for i in range(200)), (OBJ, (), (), False))
    program = Program(chain)
    assert program.kinds(150, ['{"t": "a"}'], "ok", "ok", -1, -1) == ["ok"]
    assert program.kinds(0, ['{"t": "a"}'], "ok", "ok", -1, -1) == [None]
    assert program.accepts(150, {"t": "a"}) is True
    assert program.accepts(0, {"t": "a"}) is False


@pytest.mark.parametrize("digits", [640, 641, 4300, 4301, 20000])
def test_integers_json_loads_may_refuse_are_not_sure(digits: int) -> None:
    schema = schemagen.event_file("search-stream")
    error = {"type": "https://api.x.com/2/problems/operational-disconnect", "title": "t",
             "disconnect_type": "UpstreamOperationalDisconnect", "status": 7}  # fmt: skip
    number = "9" * digits
    lines = [
        json.dumps({"errors": [error]}).replace('"status": 7', f'"status": -{number}'),  # declared, no bounds
        json.dumps({"data": VALID, "x": 7}).replace('"x": 7', f'"x": [{number}]'),  # not declared
        json.dumps({"data": VALID, "x": 7}).replace('"x": 7', f'"x": {number}.5'),  # a float: json.loads' own
    ]
    sure = ["error", "event", "event"] if digits <= 640 else [None, None, "event"]
    assert NATIVE[Profile.DEFAULT].kinds(schema, lines) == sure
    for line, kind in zip(lines, sure, strict=True):
        if kind is not None:
            assert reference_kind(line, schema, Profile.DEFAULT) == kind


def test_only_json_whitespace_before_a_value() -> None:
    schema = schemagen.event_file("search-stream")
    run = NATIVE[Profile.DEFAULT].runner(schema, records=False)
    line = json.dumps({"data": VALID}).encode()
    for blank in (b" \t\r", b""):  # JSON whitespace alone: a heartbeat
        assert run(blank + b"\n", 0)[:5] == (len(blank) + 1, 1, 0, 0, 1)
    for not_blank in (b" \x0b\x0c\t\r", b"\x0c"):  # blank to bytes.strip(), not JSON: not sure
        assert run(not_blank + b"\n", 0)[:2] == (0, 0)
    for lead in (b"\x0b", b"\x0c", b" \x0c", b"\x0c "):
        assert run(lead + line + b"\n", 0)[:2] == (0, 0)
        assert NATIVE[Profile.DEFAULT].kinds(schema, [lead + line]) == [None]
        assert reference_kind(lead + line, schema, Profile.DEFAULT) is None
    assert run(b" \t\r" + line + b" \t\r\n", 0)[:2] == (len(line) + 7, 1)


@pytest.mark.parametrize(
    ("member", "value"),
    [("created_at", "2021-01-06T18:40:40.000Z\n"), ("created_at", "2021-01-06T18:40:40.000Z\r\n"),
     ("created_at", "\n2021-01-06T18:40:40.000Z"), ("created_at", "2021-01-06T18:40:40.000+01:00\n")],
)  # fmt: skip
def test_no_trailing_newline_in_a_date_time(member: str, value: str) -> None:
    schema = schemagen.event_file("search-stream")
    payload = {"data": {**VALID, member: value}}
    assert NATIVE[Profile.DEFAULT].kinds(schema, [json.dumps(payload)]) == [None]
    assert NATIVE[Profile.DEFAULT].accepts(schema, payload) is False
    assert NATIVE[Profile.DEFAULT].kinds(schema, [json.dumps({"data": {**VALID, member: value.strip()}})]) == ["event"]


@pytest.mark.parametrize("uri", ["https://pbs.twimg.com/a.jpg\n", "https://x.com/\r\n", "\nhttps://x.com/"])
def test_no_trailing_newline_in_a_uri(uri: str) -> None:
    schema = schemagen.event_file("search-stream")
    user = {"id": "2", "name": "n", "username": "u", "profile_image_url": uri}
    payload = {"data": VALID, "includes": {"users": [user]}}
    assert NATIVE[Profile.DEFAULT].kinds(schema, [json.dumps(payload)]) == [None]
    assert NATIVE[Profile.DEFAULT].accepts(schema, payload) is False
    user["profile_image_url"] = uri.strip()
    assert NATIVE[Profile.DEFAULT].kinds(schema, [json.dumps(payload)]) == ["event"]
    assert NATIVE[Profile.DEFAULT].accepts(schema, payload) is True


# -- values masked: a drifted line's rest proven valid, its drifted values found ----------------
def scalar_paths(value: Any, path: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in scalar_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in scalar_paths(v, (*path, i))]
    return [path] if path else []


def _keys(container: dict[str, Any] | list[Any]) -> Any:
    return container if isinstance(container, dict) else range(len(container))


def put(payload: Any, path: tuple[str | int, ...], value: Any) -> None:
    for part in path[:-1]:
        payload = payload[part]
    payload[path[-1]] = value


SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["Wed Oct 10 20:19:24 +0000 2018", "", "1", "x y"]),
)  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_masked_is_sure_only_where_every_finding_is_at_a_masked_value(data: st.DataObject, profile: Profile) -> None:
    """Whatever the masked values are, a line it is sure of breaks the contract only at them
    (the reference's findings all point there), and the texts it gives read as those values."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, optional=0.4, edge=True) | xs.error_payloads())
    paths = scalar_paths(payload)
    if not paths:
        return
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    for path in chosen:
        put(payload, path, data.draw(SCALARS))
    # and elsewhere (off the masked paths, which must stay whole): a member gone, a value changed
    elsewhere = [p for p, _ in sites(payload) if p and not any(c[: len(p)] == p or p[: len(c)] == c for c in chosen)]
    for path in data.draw(st.lists(st.sampled_from(elsewhere), max_size=2, unique=True)) if elsewhere else []:
        parent: Any = payload
        for part in path[:-1]:  # (an earlier change may have taken the way there)
            parent = parent[part] if isinstance(parent, (dict, list)) and part in _keys(parent) else None
        if isinstance(parent, dict) and data.draw(st.booleans()):
            parent.pop(path[-1], None)
        elif isinstance(parent, (dict, list)) and path[-1] in _keys(parent):
            parent[path[-1]] = data.draw(SCALARS | st.just({}) | st.just([]))
    raw = data.draw(encoded(payload))
    schema = schemagen.event_file(endpoint)
    [found] = NATIVE[profile].masked(schema, [raw], tuple(chosen))
    if found is None:
        return
    decoded = json.loads(raw)
    assert found[0] == payload_kind(decoded)
    values = []
    for path in chosen:
        value = decoded
        for part in path:
            value = value[part]
        values.append(value)
    assert [json.loads(text) for text in found[1:]] == values
    pointers = {"".join(f"/{p}" for p in path) for path in chosen}
    assert {v.pointer for v in REFERENCE[profile].violations(schema, decoded)} <= pointers


def test_masked_finds_each_value_once_and_refuses_what_it_cannot_mask() -> None:
    native, schema = NATIVE[Profile.DEFAULT], schemagen.event_file("search-stream")
    legacy = '"Wed Oct 10 20:19:24 +0000 2018"'
    line = '{"data":{"id":"1","text":"hi","edit_history_tweet_ids":["1"],"created_at":%s}}'
    at = (("data", "created_at"),)
    assert native.masked(schema, [line % legacy, (line % legacy).encode()], at) == [("event", legacy.encode())] * 2
    assert native.masked(schema, [line % "12.5e3"], at) == [("event", b"12.5e3")]  # any scalar: its keywords decide
    assert native.masked(schema, [line % "{}", line % "[1]"], at) == [None, None]  # not a scalar
    twice = '{"data":{"id":"1","text":"hi","edit_history_tweet_ids":["1"],"created_at":"a","created_at":"b"}}'
    bad_id = '{"data":{"id":"x","text":"hi","edit_history_tweet_ids":["1"],"created_at":"a"}}'
    missing = '{"data":{"id":"1","text":"hi","edit_history_tweet_ids":["1"]}}'
    assert native.masked(schema, [twice, bad_id, missing, "not json", line % legacy + "x"], at) == [None] * 5
    ids = native.masked(schema, [line % legacy], (("data", "edit_history_tweet_ids", 0), ("data", "created_at")))
    assert ids == [("event", b'"1"', legacy.encode())]
    assert native.masked(schema, [line % legacy], (("data",),)) == [None]  # an object where the model has one
    assert native.masked(schema, [line % legacy], (("data", "edit_history_tweet_ids", 1),)) == [None]
    for paths, error in [((), ValueError), ((("data",), ("data", "id")), ValueError), ((("a",), ("a",)), ValueError),
                         ((("data", -1),), ValueError), ((("data", 1.5),), TypeError), ((["data"],), TypeError),
                         (tuple((str(i),) for i in range(17)), ValueError), ((("x",) * 200,), ValueError)]:  # fmt: skip
        with pytest.raises(error):
            native.masked(schema, [line % legacy], paths)  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_locate_names_a_place_in_the_line_whose_value_it_refuses(data: st.DataObject, profile: Profile) -> None:
    """Where a valid line has leaves broken, locate() names one of them first, and with the
    places it named masked in turn it names the next, until the line passes masked."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, optional=0.4))
    schema = schemagen.event_file(endpoint)
    native = NATIVE[profile]
    raw = json.dumps(payload).encode()
    if native.kinds(schema, [raw])[0] is None:
        return  # not sure of the valid line itself (an unusual value): nothing to find
    assert native.locate(schema, raw) is None
    paths = scalar_paths(payload)
    broken = data.draw(st.lists(st.sampled_from(paths), max_size=3, unique=True)) if paths else []
    for path in broken:  # a scalar of another JSON type
        value: Any = payload
        for part in path:
            value = value[part]
        put(payload, path, 12345 if isinstance(value, str) else "x")
    raw = json.dumps(payload).encode()
    named: list[tuple[str | int, ...]] = []
    while (place := native.locate(schema, raw, tuple(named))) is not None:
        assert place not in named
        if place not in broken:  # an object refused for a member's sake: a union's tag, read before its
            # members, or a union a mask would go through (masks stop at unions: their tag is read first)
            tags = {node[1].decode() for node in native.nodes if node is not None and node[0] == UNION}
            assert any(path[: len(place)] == place and path[-1] in tags for path in broken) or any(
                path[: len(place)] == place for path in named
            )
            return
        named.append(place)
    assert bool(named) == (native.kinds(schema, [raw])[0] is None)  # it found what it refused
    if named:
        assert native.masked(schema, [raw], tuple(named))[0] is not None


def _dumps_twice(value: Any, twice: tuple[str | int, ...], shadow: Any, here: tuple[str | int, ...] = ()) -> str:
    """JSON text of `value` with the member at `twice` written twice: its own value, then `shadow`."""
    if isinstance(value, dict):
        members = [f"{json.dumps(k)}:{_dumps_twice(v, twice, shadow, (*here, k))}" for k, v in value.items()]
        if here == twice[:-1] and twice[-1] in value:
            members.append(f"{json.dumps(twice[-1])}:{json.dumps(shadow)}")
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_dumps_twice(v, twice, shadow, (*here, i)) for i, v in enumerate(value)) + "]"
    return json.dumps(value)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), profile=st.sampled_from(list(Profile)))
def test_masked_reads_a_member_written_twice_as_json_loads_does(data: st.DataObject, profile: Profile) -> None:
    """A member on the way to a masked value (or the value's own) written twice: json.loads keeps the last
    copy, which may hold another value there or none; masked() must not give the first copy's value."""
    endpoint = data.draw(st.sampled_from(sorted(ENDPOINTS)))
    payload = data.draw(xs.events(endpoint, optional=0.4))
    paths = [p for p in scalar_paths(payload) if isinstance(p[0], str)]
    if not paths:
        return
    path = data.draw(st.sampled_from(paths))
    cut = data.draw(st.sampled_from([k for k in range(1, len(path) + 1) if isinstance(path[k - 1], str)]))
    shadow: Any = payload
    for part in path[:cut]:
        shadow = shadow[part]
    if cut == len(path):
        shadow = data.draw(SCALARS)
    else:  # the later copy of an object or array on the way: the masked value gone from it, or another
        shadow = json.loads(json.dumps(shadow))
        parent = shadow
        for part in path[cut:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and data.draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(SCALARS)
    raw = _dumps_twice(payload, path[:cut], shadow)
    schema = schemagen.event_file(endpoint)
    found, again = NATIVE[profile].masked(schema, [raw, raw.encode()], (path,))
    assert found == again
    if found is None:
        return
    decoded: Any = json.loads(raw)
    for part in path:
        decoded = decoded[part] if isinstance(decoded, (dict, list)) and part in _keys(decoded) else KeyError  # type: ignore[index]
    assert json.loads(found[1]) == decoded
    pointer = "".join(f"/{p}" for p in path)
    assert {v.pointer for v in REFERENCE[profile].violations(schema, json.loads(raw))} <= {pointer}


def test_masked_takes_no_member_on_the_way_written_twice() -> None:
    native, schema = NATIVE[Profile.DEFAULT], schemagen.event_file("search-stream")
    legacy = '"Wed Oct 10 20:19:24 +0000 2018"'
    drifted, whole = (
        f'{{"id":"1","text":"hi","edit_history_tweet_ids":["1"]{more}}}' for more in (f',"created_at":{legacy}', "")
    )
    at = (("data", "created_at"),)
    line = f'{{"data":{drifted}}}'
    assert native.masked(schema, [line], at) == [("event", legacy.encode())]
    # json.loads keeps the last "data", valid and without a created_at: nothing masked to give
    twice = f'{{"data":{drifted},"data":{whole}}}'
    assert native.masked(schema, [twice, twice.encode()], at) == [None, None]
    assert native.locate(schema, twice, at) == ("data",)  # refused there, not at a leaf
    engine = FastEngine(Profile.DEFAULT)
    assert Contract(Profile.DEFAULT, engine).inspect_lines([line, twice], "search-stream")[1] == ("event", [])
