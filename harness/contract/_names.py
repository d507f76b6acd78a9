"""Names the command line offers before anything heavy is imported."""

from __future__ import annotations

__all__ = ["ENGINES"]

ENGINES = ("fast", "reference")
