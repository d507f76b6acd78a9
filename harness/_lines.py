"""Numbered raw lines of a file, gzip by name, read up to a cut instead of failing at it."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

#: Builds the error to raise for an unreadable file: (message, line number or None).
ErrorFactory = Callable[[str, "int | None"], Exception]


def open_binary(path: Path, mode: str) -> IO[bytes]:
    """The file itself, or its gzip stream when its name ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    return open(path, mode)


class NumberedLines:
    """Iterates `(line number, bytes with terminator)`; a cut gzip ends early with `truncated`."""

    def __init__(self, path: Path, error: ErrorFactory) -> None:
        self.path = path
        self.truncated = False
        self._error = error
        try:
            self._file = open_binary(path, "rb")
        except OSError as exc:
            raise error(f"cannot open: {exc.strerror or exc}", None) from None
        self._gen = self._generate()

    def __iter__(self) -> NumberedLines:
        return self

    def __next__(self) -> tuple[int, bytes]:
        return next(self._gen)

    def _generate(self) -> Iterator[tuple[int, bytes]]:
        # Split chunks ourselves: gzip's readline drops what it decoded before a cut.
        lineno, pending = 0, bytearray()
        while True:
            try:
                chunk = self._file.read1(1 << 16)  # type: ignore[attr-defined]
            except gzip.BadGzipFile as exc:
                raise self._error(f"not a gzip file: {exc}", 1) from None
            except (EOFError, OSError, zlib.error):
                self.truncated, chunk = True, b""
            if not chunk:
                if pending:
                    yield lineno + 1, bytes(pending)
                return
            pending += chunk
            start = 0
            while (end := pending.find(b"\n", start)) >= 0:
                lineno += 1
                yield lineno, bytes(pending[start : end + 1])
                start = end + 1
            del pending[:start]

    def __enter__(self) -> NumberedLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
