"""Rules benchmark: the filtered stream's rules API and filter with many rules installed.

    python benchmarks/rules.py            # prints the figures, writes bench-results/rules.json

A replay started with a large `max_rules` (a test of a consumer that manages thousands of
rules) must answer in time linear in what it is asked: `delete_all`, a delete by ids and a
lookup by ids at N and 10 N rules (the ratio near 10, not 100), and the filter's cost per
event line with 1,000 rules installed (X's Pro cap). The rules lock is held during a change,
so a slow change stalls every open stream.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.cassette.synth import encode_line
from harness.replay._rules import RuleBook


def timed(work: Callable[[], Any]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def book_of(n: int) -> tuple[RuleBook, list[str]]:
    book = RuleBook([], max_rules=n)
    made = book.set([{"value": f"word{i}", "tag": str(i)} for i in range(n)])
    return book, [r["id"] for r in made]


def changes(n: int) -> dict[str, float]:
    book, ids = book_of(n)
    lookup = timed(lambda: book.lookup(ids[: n // 10], 1000, None))
    by_ids = timed(lambda: book.change({"delete": {"ids": ids[: n // 2]}}, False, False))
    delete_all = timed(lambda: book.change(None, False, True))
    return {"lookup by ids": lookup, "delete by ids": by_ids, "delete_all": delete_all}


def filter_cost(rules: int, lines: int) -> float:
    """Seconds per event line through the filter, `rules` installed, each line matching one."""
    book, ids = book_of(rules)
    recorded = [
        encode_line({"data": {"id": str(i), "text": f"word{i % rules}"}, "matching_rules": [{"id": ids[i % rules]}]})
        for i in range(lines)
    ]
    book.set([*book.rules[1:], {"value": "word0"}])  # changed: every line goes through the filter
    select = book.selector()
    assert select is not None
    return timed(lambda: [select(raw) for raw in recorded]) / lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rules", type=int, default=2000, help="N: the small book (the large one: 10 N)")
    parser.add_argument("--out", type=Path, default=Path("bench-results/rules.json"), help="figures, as JSON")
    args = parser.parse_args()
    small, large = changes(args.rules), changes(10 * args.rules)
    figures: dict[str, float] = {}
    for name in small:
        figures[f"{name}, {args.rules} rules, ms"] = small[name] * 1000
        figures[f"{name}, {10 * args.rules} rules, ms"] = large[name] * 1000
        figures[f"{name}, ratio 10N / N"] = large[name] / small[name]
    figures["filter, 1000 rules, us per event line"] = filter_cost(1000, 20_000) * 1e6
    for name, value in figures.items():
        print(f"{name:50} {value:10.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
