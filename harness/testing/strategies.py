"""Hypothesis strategies for X stream payloads and whole sessions, built from the object model.

    from hypothesis import given
    from harness.testing import strategies as xs

    @given(xs.events("search-stream"))
    def test_consumer_handles_any_event(event):
        assert my_consumer.handle(event) is not None

By default they draw events as the live API sends them (`harness.model.practice`): for a
drawn request (or the `query` given), with the members that request selects, includes
holding exactly what the expansions reference, snowflake ids agreeing with `created_at`,
named as `dialect` names them ("classic" or "2.167"). `edge=True` draws from the schema
alone instead: the minimum and the corners a robust consumer must survive. Either way
payloads are valid and shrink towards their required core; for invalid inputs, mutate a
drawn payload.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.cassette import Header, Record
from harness.cassette.synth import Synth, problem_kinds, synthetic_session
from harness.model import DEFINITIONS, ENDPOINTS, Arr, Endpoint, Str, resolve_endpoint
from harness.model.dialect import Dialect, translate
from harness.model.practice import FIELD_PARAMS

__all__ = ["error_payloads", "events", "objects", "problems", "queries", "sessions"]


class _Draws:
    """A `harness.cassette.synth.Source` whose choices are hypothesis draws."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float) -> float:
        return self.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def _synth(draw: st.DrawFn, optional: float, edge: bool = False) -> Synth:
    return Synth(source=_Draws(draw), optional=optional, practice=not edge)


def objects(
    name: str, *, optional: float = 0.5, edge: bool = False, dialect: Dialect | str = Dialect.CLASSIC
) -> st.SearchStrategy[Any]:
    """Valid instances of one model definition (`"Tweet"`, `"User"`, `"Media"`, ...)."""
    if name not in DEFINITIONS:
        raise KeyError(f"unknown definition {name!r}: expected one of {', '.join(DEFINITIONS)}")
    return st.composite(lambda draw: translate(_synth(draw, optional, edge).definition(name), name, dialect))()


def queries(endpoint: str) -> st.SearchStrategy[dict[str, str]]:
    """Requests an app may make to `endpoint`: subsets of its `*.fields` and `expansions`."""
    e = resolve_endpoint(endpoint)
    return st.fixed_dictionaries({}, optional=_choosable(e)).map(lambda q: {**_required(e), **q})


def _choosable(e: Endpoint) -> dict[str, st.SearchStrategy[str]]:
    out: dict[str, st.SearchStrategy[str]] = {}
    for p in e.params:
        if (p.name in FIELD_PARAMS or p.name == "expansions") and isinstance(p.type, Arr):
            items = p.type.items
            assert isinstance(items, Str) and items.enum
            out[p.name] = st.lists(st.sampled_from(items.enum), min_size=1, unique=True).map(",".join)
    return out


def _required(e: Endpoint) -> dict[str, str]:
    return {p.name: "1" for p in e.params if p.required}  # the partition parameters, all from 1


def events(
    endpoint: str | None = None,
    *,
    optional: float = 0.5,
    query: dict[str, str] | None = None,
    dialect: Dialect | str = Dialect.CLASSIC,
    edge: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid stream events (`data`, maybe `includes`...) of one endpoint, or of any.

    Shaped as live answers `query` (default: a drawn request, see `queries`); with `edge`,
    drawn from the schema alone.
    """
    names = [resolve_endpoint(endpoint).name] if endpoint else list(ENDPOINTS)
    Dialect.parse(dialect)

    @st.composite
    def draw_event(draw: st.DrawFn) -> dict[str, Any]:
        name = draw(st.sampled_from(names))
        if edge:
            return translate(_synth(draw, optional, edge).event(name), ENDPOINTS[name].event, dialect)  # type: ignore[no-any-return]
        asked = query if query is not None else draw(queries(name))
        return _synth(draw, optional).event(name, asked, dialect)

    return draw_event()


def problems(kind: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """Valid Problem objects of one subtype (`operational-disconnect`, ...) or of any."""
    kinds = [kind] if kind else problem_kinds()

    @st.composite
    def draw_problem(draw: st.DrawFn) -> dict[str, Any]:
        return _synth(draw, 0.5).problem_body(draw(st.sampled_from(kinds)))

    return draw_problem()


def error_payloads(kind: str | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """In-stream error payloads: `{"errors": [problem, ...]}`."""
    return st.lists(problems(kind), min_size=1, max_size=3).map(lambda ps: {"errors": ps})


def sessions(
    endpoint: str | None = None,
    *,
    max_events: int = 20,
    max_connections: int = 3,
    dialect: Dialect | str = Dialect.CLASSIC,
    edge: bool = False,
) -> st.SearchStrategy[tuple[Header, list[Record]]]:
    """Whole recorded sessions with timing: a cassette header and its records (events as
    `events` draws them)."""
    names = [resolve_endpoint(endpoint).name] if endpoint else list(ENDPOINTS)

    @st.composite
    def draw_session(draw: st.DrawFn) -> tuple[Header, list[Record]]:
        connections = draw(st.integers(1, max_connections))
        name = draw(st.sampled_from(names))
        return synthetic_session(
            name,
            events=draw(st.integers(0, max_events)),
            rate=draw(st.floats(0.05, 50)),
            heartbeat=20.0,
            connections=connections,
            errors=draw(st.lists(st.sampled_from(["operational-disconnect"]), max_size=connections)),
            source=_Draws(draw),
            query=_required(ENDPOINTS[name]) if edge else draw(queries(name)),
            dialect=dialect,
            practice=not edge,
        )

    return draw_session()
