"""Lines of a file, cut in time linear in its size and memory bounded by `MAX_LINE`;
numbered, gzip by name, read up to a cut instead of failing at it."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

#: The longest line (terminator included) that file validation reads: an NDJSON line
#: beyond it is a finding, a cassette record beyond it an error, and never held in memory.
#: Stream lines are a few KB; the recorder keeps lines up to 1 MiB by default (--max-line).
MAX_LINE = 16 << 20
#: Builds the error to raise for an unreadable file: (message, line number or None).
ErrorFactory = Callable[[str, "int | None"], Exception]


def open_binary(path: Path, mode: str) -> IO[bytes]:
    """The file itself, or its gzip stream when its name ends in `.gz`."""
    if path.suffix == ".gz":
        return gzip.open(path, mode)  # type: ignore[return-value]
    return open(path, mode)


@dataclass(frozen=True)
class Long:
    """Stands for a line longer than the limit: its bytes were not kept."""

    size: int  # bytes, terminator included
    terminated: bool = True  # False: the file's last line, without a newline

    def describe(self, limit: int = MAX_LINE) -> str:
        return f"a line of {self.size} bytes, more than the {limit} a line may have: not read"


class LineCutter:
    """Cuts chunks into lines, terminator included: each byte is looked at once, and a
    line longer than `limit` is dropped as it comes, `Long` standing for it."""

    def __init__(self, limit: int | None = MAX_LINE) -> None:
        self.limit = limit
        self._pending = bytearray()  # the start of a line that has no newline yet
        self._dropped = 0  # bytes of the current line dropped (0: not too long so far)

    def feed(self, chunk: bytes) -> list[bytes | Long]:
        out: list[bytes | Long] = []
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            out.append(self._line(chunk[start : end + 1]))
            start = end + 1
        if start < len(chunk):
            self._hold(chunk[start:] if start else chunk)
        return out

    def end(self) -> bytes | Long | None:
        """The last line, if it has no newline."""
        if self._dropped:
            size, self._dropped = self._dropped, 0
            return Long(size, terminated=False)
        if not self._pending:
            return None
        line = bytes(self._pending)
        self._pending.clear()
        return line

    def _hold(self, piece: bytes) -> None:
        if self._dropped:
            self._dropped += len(piece)
            return
        self._pending += piece
        if self.limit is not None and len(self._pending) > self.limit:
            self._dropped = len(self._pending)
            self._pending = bytearray()

    def _line(self, piece: bytes) -> bytes | Long:
        if self._dropped:
            size, self._dropped = self._dropped + len(piece), 0
            return Long(size)
        if self._pending:
            self._pending += piece
            piece = bytes(self._pending)
            self._pending.clear()
        if self.limit is not None and len(piece) > self.limit:
            return Long(len(piece))
        return piece


class NumberedLines:
    """Iterates `(line number, bytes with terminator)`; a cut gzip ends early with `truncated`;
    a line longer than `max_line` is an error."""

    def __init__(self, path: Path, error: ErrorFactory, max_line: int | None = None) -> None:
        self.path = path
        self.max_line = max_line
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
        lineno, cutter = 0, LineCutter(self.max_line)
        while True:
            try:
                chunk = self._file.read1(1 << 16)  # type: ignore[attr-defined]
            except gzip.BadGzipFile as exc:
                raise self._error(f"not a gzip file: {exc}", 1) from None
            except (EOFError, OSError, zlib.error):
                self.truncated, chunk = True, b""
            lines: list[bytes | Long] = cutter.feed(chunk) if chunk else []
            if not chunk:
                last = cutter.end()
                lines = [last] if last is not None else []
            for line in lines:
                lineno += 1
                if isinstance(line, Long):
                    raise self._error(line.describe(self.max_line or 0), lineno)
                yield lineno, line
            if not chunk:
                return

    def __enter__(self) -> NumberedLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
