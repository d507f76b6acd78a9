"""Writing a cassette: each record as it comes, from a thread of its own (`CassetteWriter`), or a
whole session at once (`write_cassette`). Here is where a line is written to a cassette."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from harness.cassette._lines import open_binary
from harness.cassette.records import (
    Close,
    CloseReason,
    Connection,
    Header,
    Line,
    Record,
    RecordOrder,
    encode_header,
    encode_lines,
    encode_record,
)
from harness.errors import CassetteOrderError, CassetteWriteError

__all__ = ["CassetteWriter", "write_cassette"]


class _Background:
    """Writes blocks in a thread of its own, in order, while the caller goes on.

    At most one block waits: a killed process loses what it had not yet handed over and
    that one block. A failed write is raised by the next `put` or by `close`.
    """

    def __init__(self, write: Callable[[bytes], None]) -> None:
        self._write = write
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="cassette-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (data := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._write(data)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc

    def put(self, data: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(data)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error


class CassetteWriter:
    """Appends records to a new cassette, flushing each so a killed process loses nothing."""

    def __init__(self, path: str | Path, header: Header, *, overwrite: bool = True, background: bool = False) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open_binary(self.path, "wb" if overwrite else "xb")
        except OSError as exc:
            raise CassetteWriteError(f"cannot create: {exc.strerror or exc}", path=self.path) from None
        self._failed = False
        self._order = RecordOrder()
        self.header = header
        self.records = 0
        self._emit: Callable[[bytes], None] = self._write
        self._write(encode_header(header))
        self._background = _Background(self._write) if background else None
        if self._background is not None:
            self._emit = self._background.put

    def _write(self, data: bytes) -> None:
        try:
            self._file.write(data)
            self._file.flush()
        except OSError as exc:
            self._failed = True
            raise CassetteWriteError(f"cannot write: {exc.strerror or exc}", path=self.path) from None

    def write(self, record: Record) -> None:
        problem = self._order.check(record)
        if problem:
            raise CassetteOrderError(problem, path=self.path, line=self.records + 2)
        self._emit(encode_record(record))
        self.records += 1

    def connection(self, status: int, reason: str = "", headers: tuple[tuple[str, str], ...] = (),
                   *, offset: float = 0.0, started: float = 0.0, url: str | None = None) -> Connection:  # fmt: skip
        c = Connection(self._order.count, status, reason, headers, offset, started, url)
        self.write(c)
        return c

    def line(self, raw: bytes, offset: float) -> None:
        self.write(Line(offset, raw))

    def lines(self, raws: list[bytes], offset: float) -> None:
        """Lines that arrived together (one socket read): one order check, write and flush.

        Each must hold one LF, at its end (as `harness._wire.LineSplitter` cuts them).
        """
        if not raws:
            return
        problem = self._order.line(offset)
        if problem:
            raise CassetteOrderError(problem, path=self.path, line=self.records + 2)
        self._emit(encode_lines(raws, offset, split=True))
        self.records += len(raws)

    def close_connection(self, reason: CloseReason, offset: float, error: str | None = None) -> None:
        self.write(Close(max(offset, self._order.last), reason, error))

    @property
    def in_connection(self) -> bool:
        return not self._order.closed

    def close(self) -> None:
        if not self._file.closed:
            try:
                if self._background is not None:
                    self._background.close()
            finally:
                try:
                    self._file.close()
                except OSError:
                    if not self._failed:  # else it was said already: what could be written is there
                        raise

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_cassette(path: str | Path, header: Header, records: list[Record] | Iterator[Record]) -> Path:
    """Write a whole cassette at once (synthetic sessions, conversions, tests)."""
    with CassetteWriter(path, header) as w:
        for r in records:
            w.write(r)
    return Path(path)
