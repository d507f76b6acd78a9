"""The `harness` command: one click group (`app`), a module per command family."""

from harness.cli.app import main

__all__ = ["main"]
