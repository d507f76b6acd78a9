"""`--rate`: events per second, or `live` for each stream's own (see `harness.model.practice`)."""

from __future__ import annotations

import math
from typing import Any

import click

LIVE = "live"


class Rate(click.ParamType[float | str]):
    """A number of events per second >= `minimum` (or inf), or `live`."""

    name = "rate"

    def __init__(self, minimum: float) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float | str:
        if isinstance(value, float) or value == LIVE:
            return value  # type: ignore[no-any-return]
        try:
            rate = float(value)
        except ValueError:
            self.fail(f"expected events per second or {LIVE!r}, found {value!r}", param, ctx)
        if math.isnan(rate) or rate < self.minimum:
            self.fail(f"expected events per second >= {self.minimum:g} (or {LIVE!r}), found {value!r}", param, ctx)
        return rate
