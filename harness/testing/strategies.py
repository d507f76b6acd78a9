"""Hypothesis strategies for X stream payloads and whole sessions, built from the object model.

    from hypothesis import given
    from harness.testing import strategies as xs

    @given(xs.events("search-stream"))
    def test_consumer_handles_any_event(event):
        assert my_consumer.handle(event) is not None

They draw realistic, valid payloads (every required member, patterns, enums, formats),
shrinking towards the required core of each object. For invalid inputs, mutate a drawn
payload.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.cassette import Header, Record
from harness.cassette.synth import Synth, problem_kinds, synthetic_session
from harness.model import DEFINITIONS, ENDPOINTS, resolve_endpoint

__all__ = ["error_payloads", "events", "objects", "problems", "sessions"]


class _Draws:
    """A `harness.cassette.synth.Source` whose choices are hypothesis draws."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def real(self, lo: float, hi: float) -> float:
        return self.draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def _synth(draw: st.DrawFn, optional: float) -> Synth:
    return Synth(source=_Draws(draw), optional=optional)


def objects(name: str, *, optional: float = 0.5) -> st.SearchStrategy[Any]:
    """Valid instances of one model definition (`"Tweet"`, `"User"`, `"Media"`, ...)."""
    if name not in DEFINITIONS:
        raise KeyError(f"unknown definition {name!r}: expected one of {', '.join(DEFINITIONS)}")
    return st.composite(lambda draw: _synth(draw, optional).definition(name))()


def events(endpoint: str | None = None, *, optional: float = 0.5) -> st.SearchStrategy[dict[str, Any]]:
    """Valid stream events (`data`, maybe `includes`...) of one endpoint, or of any."""
    names = [resolve_endpoint(endpoint).name] if endpoint else list(ENDPOINTS)

    @st.composite
    def draw_event(draw: st.DrawFn) -> dict[str, Any]:
        return _synth(draw, optional).event(draw(st.sampled_from(names)))

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
    endpoint: str | None = None, *, max_events: int = 20, max_connections: int = 3
) -> st.SearchStrategy[tuple[Header, list[Record]]]:
    """Whole recorded sessions with timing: a cassette header and its records."""
    names = [resolve_endpoint(endpoint).name] if endpoint else list(ENDPOINTS)

    @st.composite
    def draw_session(draw: st.DrawFn) -> tuple[Header, list[Record]]:
        connections = draw(st.integers(1, max_connections))
        return synthetic_session(
            draw(st.sampled_from(names)),
            events=draw(st.integers(0, max_events)),
            rate=draw(st.floats(0.05, 50)),
            heartbeat=20.0,
            connections=connections,
            errors=draw(st.lists(st.sampled_from(["operational-disconnect"]), max_size=connections)),
            source=_Draws(draw),
        )

    return draw_session()
