"""Checks during which a garbage collection runs a finalizer that changes their input.

Run as `python finalizers.py NAME`: exit 0 and "NAME ok" if the checker held; a crash
(a segfault, or the debug allocator's report of a freed block read) otherwise. Each one
retries over collection thresholds so that a collection falls inside the check: a lone
surrogate made the checker raise (and so allocate) there. Run with PYTHONMALLOC=debug,
so that reading a freed block crashes instead of reading stale bytes.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Callable
from typing import Any

from native_build import load

load()

from harness.contract import schemagen  # noqa: E402  (after load(): it picks the build)
from harness.contract._native import NativeModel  # noqa: E402

SCHEMA = schemagen.event_file("search-stream")
MODEL = NativeModel()
PROBLEM = {"type": "https://api.x.com/2/problems/operational-disconnect", "title": "t",
           "disconnect_type": "UpstreamOperationalDisconnect"}  # fmt: skip
EVENT = '{"data": {"id": "1", "text": "\u65e5", "edit_history_tweet_ids": ["1"]}}'


class Bomb:
    """Garbage in a cycle: its finalizer runs `then` at the next collection."""

    def __init__(self, then: Callable[[], Any]) -> None:
        self.then = then
        self.cycle = self

    def __del__(self) -> None:
        self.then()


def str_lines_emptied() -> None:
    """Program.kinds over str lines: the list is emptied while it is read."""
    for threshold in range(1, 40):
        lines = ["\ud800", *[EVENT + " " * i for i in range(50)]]
        kinds = MODEL.program.kinds
        root, data, errors = MODEL.roots[SCHEMA]
        gc.collect()
        gc.set_threshold(threshold)
        Bomb(lines.clear)
        kinds(root, lines, "event", "error", data, errors)
        gc.set_threshold(700)


def full_free_list() -> None:
    """CPython keeps up to 80 freed dicts for reuse: with its list full, the next freed dict
    goes back to the allocator, where reading it is seen."""
    spare: list[dict[str, object]] = [{} for _ in range(100)]
    del spare


def dict_freed() -> None:
    """Program.accepts: the union's dict is freed while its members are walked."""
    for threshold in range(1, 40):
        # the surrogate first (it is read before the tag); members enough that the dict's
        # table is freed, not kept on CPython's free list for small ones
        problem = {"\ud800": 1, **PROBLEM, **{f"x{i}": i for i in range(20)}}
        payload: dict[str, Any] = {"errors": [problem]}
        del problem
        accepts = MODEL.program.accepts
        root = MODEL.roots[SCHEMA][0]
        gc.collect()
        gc.set_threshold(threshold)

        def then(errors: list[Any] = payload["errors"]) -> None:  # this round's list
            full_free_list()
            errors.clear()

        Bomb(then)
        accepts(root, payload)
        gc.set_threshold(700)


SCENARIOS = {f.__name__: f for f in (str_lines_emptied, dict_freed)}

if __name__ == "__main__":
    for name in sys.argv[1:] or SCENARIOS:
        SCENARIOS[name]()
        print(name, "ok", flush=True)
