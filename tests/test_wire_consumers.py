"""Real clients parse the synthetic streams: tweepy's StreamingClient data handling (classic) and
xdk 0.10.6's models (2.167), over a socket from the loopback source, for every endpoint they
support, over seeds, for a bare and a rich request; and xdk drops every classic-shaped event.

Which endpoints a client supports is read from the model and from the client (xdk's stream
methods name their paths), not listed here, so new endpoints are covered as they come.
"""

from __future__ import annotations

import inspect
import json
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import tweepy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdk import Client
from xdk.streaming import StreamConfig

from harness.cassette._live import typical_query
from harness.model import ENDPOINTS, Endpoint, Obj, Ref
from harness.model.dialect import definitions
from harness.replay.loopback import LoopbackServer, ServeOptions
from harness.testing import strategies as xs

pytestmark = pytest.mark.integration  # real sockets (and, for any request, the clients without one)

EVENTS = 25
SEEDS = (0, 1, 2)
AUTH = {"Authorization": "Bearer anything"}


def _data_of(e: Endpoint) -> str | None:
    envelope = definitions()[e.event]
    assert isinstance(envelope, Obj)
    data = next((f.type for f in envelope.fields if f.name == "data"), None)
    return data.name if isinstance(data, Ref) else None


def _required(e: Endpoint) -> dict[str, str]:
    return {p.name: "1" for p in e.params if p.required}


def _queries(e: Endpoint) -> list[dict[str, str]]:
    """A bare request and a rich one (every field a stream sends, every expansion)."""
    return [_required(e), typical_query(e)]


def _xdk_methods() -> dict[str, str]:
    """xdk's stream method for each path it streams (read from the methods' source)."""
    found: dict[str, str] = {}
    for name, method in inspect.getmembers(Client(bearer_token="x").stream, inspect.ismethod):
        source = inspect.getsource(method)
        path = re.search(r'base_url \+ "(/2/[^"]+/stream[^"]*)"', source)
        if path and "stream_with_retry" in source and "response_model" in source:
            found[path.group(1)] = name
    return found


XDK = _xdk_methods()
TWEET_STREAMS = [name for name, e in ENDPOINTS.items() if _data_of(e) == "Tweet"]
XDK_STREAMS = [name for name, e in ENDPOINTS.items() if e.path in XDK]


def test_the_clients_support_the_seed_endpoints() -> None:
    # guards the derivations above: were they to find nothing, the tests below would prove nothing
    assert {"search-stream", "firehose-ja"} <= set(TWEET_STREAMS)
    assert {"search-stream", "firehose-ja", "likes-sample10"} <= set(XDK_STREAMS)


def _lines(server: LoopbackServer, e: Endpoint, query: dict[str, str]) -> list[bytes]:
    with requests.get(server.url(e.name, query), headers=AUTH, stream=True, timeout=10) as r:
        assert r.status_code == 200, r.text
        return [line for line in r.iter_lines() if line]


class _Collecting(tweepy.StreamingClient):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__("unused")
        self.responses: list[Any] = []

    def on_response(self, response: Any) -> None:
        self.responses.append(response)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("endpoint", TWEET_STREAMS)
def test_tweepy_parses_every_event_of_the_loopback_source(endpoint: str, seed: int) -> None:
    e = ENDPOINTS[endpoint]
    with LoopbackServer(ServeOptions(rate=float("inf"), max_events=EVENTS, seed=seed)) as server:
        for query in _queries(e):
            lines = _lines(server, e, query)
            assert len(lines) == EVENTS
            client = _Collecting()
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # tweepy warns of a Tweet without its default fields
                for line in lines:
                    client.on_data(line)  # raises on what tweepy cannot read (a media without media_key...)
            assert len(client.responses) == EVENTS
            for response in client.responses:
                assert isinstance(response.data, tweepy.Tweet)
                if endpoint == "search-stream":
                    assert response.matching_rules, "a filtered-stream event names the rules it matched"
                for media in response.includes.get("media", []):
                    assert media.media_key and media.type


def _xdk_consume(server: LoopbackServer, e: Endpoint, query: dict[str, str]) -> tuple[list[Any], Exception | None]:
    """What xdk's stream method yields over one connection (the server closes when it ends)."""
    method: Callable[..., Iterator[Any]] = getattr(Client(base_url=server.base_url, bearer_token="x").stream,
                                                   XDK[e.path])  # fmt: skip
    kwargs: dict[str, Any] = {}
    for name, value in query.items():
        kwarg = name.replace(".", "_")
        kwargs[kwarg] = int(value) if value.isdigit() else value.split(",")
    # one connection: when it ends, the server goes, so xdk's reconnection fails and it gives up
    config = StreamConfig(max_retries=0, initial_backoff=0.01, on_disconnect=lambda _: server.close())
    items: list[Any] = []
    error: list[Exception] = []

    def consume() -> None:
        try:
            items.extend(method(**kwargs, stream_config=config))
        except Exception as exc:  # StreamError once the server is gone
            error.append(exc)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    thread.join(20)
    assert not thread.is_alive(), "xdk did not give up"
    return items, error[0] if error else None


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("endpoint", XDK_STREAMS)
def test_xdk_parses_every_2167_event_of_the_loopback_source(
    endpoint: str, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    e = ENDPOINTS[endpoint]
    caplog.set_level(logging.DEBUG, logger="xdk.streaming")
    for query in _queries(e):
        caplog.clear()
        options = ServeOptions(rate=float("inf"), max_events=EVENTS, seed=seed, dialect="2.167")
        with LoopbackServer(options) as server:
            items, _ = _xdk_consume(server, e, query)
        dropped = [r.getMessage()[:300] for r in caplog.records if "Error processing line" in r.getMessage()]
        assert not dropped, dropped[:3]
        assert len(items) == EVENTS  # xdk drops what it cannot read without a word above DEBUG
        # xdk's compliance and label responses are RootModels over a union (data | errors):
        # their event is the root
        assert all(getattr(item, "root", item).data is not None for item in items)


@pytest.mark.parametrize("endpoint", [n for n in XDK_STREAMS if _data_of(ENDPOINTS[n]) == "Tweet"])
def test_xdk_drops_every_classic_event_with_the_counts_it_requested(
    endpoint: str, caplog: pytest.LogCaptureFixture
) -> None:
    e = ENDPOINTS[endpoint]
    caplog.set_level(logging.DEBUG, logger="xdk.streaming")
    query = {**_required(e), "tweet.fields": "public_metrics"}
    with LoopbackServer(ServeOptions(rate=float("inf"), max_events=EVENTS, seed=0)) as server:
        items, _ = _xdk_consume(server, e, query)
    dropped = [r for r in caplog.records if "Error processing line" in r.getMessage()]
    assert items == []
    assert len(dropped) == EVENTS
    assert all(r.levelno == logging.DEBUG and "repost_count" in r.getMessage() for r in dropped)


def _xdk_model(endpoint: str) -> Any:
    """The response model xdk's stream method for `endpoint` validates each line with."""
    method = getattr(Client(bearer_token="x").stream, XDK[ENDPOINTS[endpoint].path])
    found = re.search(r"response_model=(\w+)", inspect.getsource(method))
    assert found, method
    return inspect.getmodule(method).__dict__[found.group(1)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_the_clients_read_events_for_any_request(data: st.DataObject) -> None:
    """Beyond the bare and the rich request: whatever fields and expansions are asked for."""
    endpoint = data.draw(st.sampled_from(XDK_STREAMS))
    query = data.draw(xs.queries(endpoint))
    _xdk_model(endpoint).model_validate(data.draw(xs.events(endpoint, query=query, dialect="2.167")))
    if endpoint in TWEET_STREAMS:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            client = _Collecting()
            client.on_data(json.dumps(data.draw(xs.events(endpoint, query=query))))
            assert len(client.responses) == 1
