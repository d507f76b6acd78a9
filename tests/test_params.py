"""Query-parameter checks from the endpoint model, and stream targets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.contract.checker import Contract
from harness.errors import ParameterError, UnknownEndpointError, UsageError
from harness.model import ENDPOINTS, Arr, Str
from harness.model.params import (
    check_query,
    invalid_request_body,
    parse_date_time,
    parse_pairs,
    parse_query,
)
from harness.record.target import resolve_target


def refused(endpoint: str, params: dict[str, str]) -> ParameterError:
    with pytest.raises(ParameterError) as info:
        check_query(endpoint, params)
    return info.value


def test_valid_queries_pass_unchanged() -> None:
    q = {"partition": "2", "backfill_minutes": "5", "tweet.fields": "id,text,lang", "expansions": "author_id"}
    assert check_query("firehose-ja", q) == q
    assert check_query("search-stream", {}) == {}
    assert check_query("/2/likes/sample10/stream", {"partition": "1", "like_with_tweet_author.fields": "id"})


def test_partition_is_required_where_declared() -> None:
    error = refused("firehose-ja", {})
    assert error.parameter == "partition"
    assert "required by firehose-ja" in str(error) and "1..2" in str(error) and "found nothing" in str(error)


@pytest.mark.parametrize(
    "value", ["0", "3", "-1", "1.5", "", " 1", "one", "0x1", "99999999999999999999", "\u0661", "\uff11"]
)
def test_partition_out_of_range_or_not_an_integer(value: str) -> None:
    error = refused("likes-sample10", {"partition": value})
    assert error.parameter == "partition"
    assert str(error) == f"partition: expected an integer 1..2, found {value!r}"


@given(st.integers(-100, 100))
def test_backfill_minutes_is_0_to_5(n: int) -> None:
    if 0 <= n <= 5:
        assert check_query("search-stream", {"backfill_minutes": str(n)})
    else:
        assert refused("search-stream", {"backfill_minutes": str(n)}).parameter == "backfill_minutes"


@pytest.mark.parametrize("value", ["2026-11-01T00:00:00Z", "2026-11-01T09:30:00+09:00", "2026-11-01T00:00:00.123Z"])
def test_date_times_in_rfc3339_are_accepted(value: str) -> None:
    assert check_query("search-stream", {"start_time": value}) == {"start_time": value}


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-11-01",
        "2026-13-01T00:00:00Z",
        "2026-11-01 00:00:00Z",
        "",
        "2026-02-30T00:00:00Z",  # no such day: the model's one date-time rule knows the calendar
        "2026-11-01T00:00:00Z\n",
        "\uff12\uff10\uff12\uff16-11-01T00:00:00Z",  # fullwidth digits
    ],
)
def test_bad_date_times_are_refused_with_the_expected_form(value: str) -> None:
    error = refused("search-stream", {"end_time": value})
    assert error.parameter == "end_time" and "YYYY-MM-DDTHH:mm:ssZ" in str(error) and repr(value) in str(error)


def test_end_time_must_follow_start_time() -> None:
    error = refused("search-stream", {"start_time": "2026-11-02T00:00:00Z", "end_time": "2026-11-01T00:00:00Z"})
    assert error.parameter == "end_time" and "after start_time" in str(error)


def test_unknown_field_members_are_named() -> None:
    error = refused("search-stream", {"tweet.fields": "id,txet"})
    assert error.parameter == "tweet.fields"
    assert "unknown field 'txet'" in str(error) and "expected members of" in str(error)
    error = refused("likes-sample10", {"partition": "1", "expansions": "author_id"})
    assert "unknown expansion 'author_id' for likes-sample10" in str(error)


@pytest.mark.parametrize("value", ["", "id,", ",id", "id,,text"])
def test_empty_list_members_are_refused(value: str) -> None:
    assert "no empty member" in str(refused("search-stream", {"user.fields": value}))


def test_list_members_must_be_unique() -> None:
    assert "listed twice" in str(refused("search-stream", {"tweet.fields": "id,text,id"}))


def test_unknown_parameters_are_refused_listing_the_known_ones() -> None:
    error = refused("firehose-ja", {"partition": "1", "query": "cats"})
    assert error.parameter == "query" and "expected one of backfill_minutes, partition" in str(error)
    assert refused("search-stream", {"partition": "1"}).parameter == "partition"


@given(st.data())
def test_any_subset_of_any_list_parameter_is_accepted(data: st.DataObject) -> None:
    with_lists = [e for e in ENDPOINTS.values() if any(isinstance(p.type, Arr) for p in e.params)]
    endpoint = data.draw(st.sampled_from(with_lists))
    lists = [p for p in endpoint.params if isinstance(p.type, Arr)]
    param = data.draw(st.sampled_from(lists))
    assert isinstance(param.type, Arr) and isinstance(param.type.items, Str) and param.type.items.enum
    members = data.draw(st.lists(st.sampled_from(param.type.items.enum), min_size=1, unique=True))
    base = {"partition": "1"} if any(p.name == "partition" for p in endpoint.params) else {}
    query = {**base, param.name: ",".join(members)}
    assert check_query(endpoint, query) == query


def test_parse_date_time_handles_fractions_and_offsets() -> None:
    parsed = parse_date_time("2026-11-01T09:00:00.1234567+09:00")
    assert parsed is not None and parsed.utcoffset() is not None and parsed.microsecond == 123456
    assert parse_date_time("2026-02-30T00:00:00Z") is None


def test_query_strings_and_pairs() -> None:
    assert parse_query("partition=1&tweet.fields=id%2Ctext&x=") == {
        "partition": "1",
        "tweet.fields": "id,text",
        "x": "",
    }
    with pytest.raises(ParameterError, match="given twice"):
        parse_query("partition=1&partition=2")
    assert parse_pairs(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}
    with pytest.raises(ParameterError, match="expected key=value"):
        parse_pairs(["novalue"])
    with pytest.raises(ParameterError, match="given twice"):
        parse_pairs(["a=1", "a=2"])


def test_the_400_body_is_an_x_invalid_request_problem() -> None:
    params = {"partition": "9"}
    try:
        check_query("firehose-ja", params)
    except ParameterError as exc:
        body = invalid_request_body(exc, params)
    assert body["errors"][0]["parameters"] == {"partition": ["9"]}
    assert body["type"] == "https://api.twitter.com/2/problems/invalid-request"
    assert Contract().check_problem(body) == []


def test_targets_from_names_paths_and_urls() -> None:
    t = resolve_target("firehose-ja", {"partition": "1"})
    assert (t.endpoint.name, t.url, dict(t.params)) == (
        "firehose-ja", "https://api.x.com/2/tweets/firehose/stream/lang/ja", {"partition": "1"},
    )  # fmt: skip
    t = resolve_target("/2/likes/sample10/stream", {"partition": "2"}, base_url="http://127.0.0.1:8080/")
    assert t.url == "http://127.0.0.1:8080/2/likes/sample10/stream"
    t = resolve_target("http://127.0.0.1:8080/2/tweets/search/stream?backfill_minutes=2", {"tweet.fields": "id"})
    assert t.url == "http://127.0.0.1:8080/2/tweets/search/stream"
    assert dict(t.params) == {"backfill_minutes": "2", "tweet.fields": "id"}
    t = resolve_target("http://gw.test/x-proxy/stream?api_key=k", endpoint="search-stream")
    assert t.endpoint.name == "search-stream" and dict(t.params) == {"api_key": "k"}


def test_bad_targets() -> None:
    with pytest.raises(ParameterError, match="given in the URL"):
        resolve_target("http://h/2/tweets/search/stream?backfill_minutes=1", {"backfill_minutes": "2"})
    with pytest.raises(UnknownEndpointError, match="--endpoint"):
        resolve_target("http://h/elsewhere")
    with pytest.raises(UnknownEndpointError):
        resolve_target("sample-streams")
    with pytest.raises(UsageError, match="http"):
        resolve_target("ftp://h/2/tweets/search/stream")
    with pytest.raises(ParameterError, match="partition"):
        resolve_target("http://h/2/tweets/firehose/stream/lang/ja")
