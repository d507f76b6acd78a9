"""What one replayed connection serves: the endpoint's recording, each consumer's place in it,
and the items of one connection up to what the end of the recording and `on_end` say."""

from __future__ import annotations

import contextlib
import enum
import math
from collections.abc import Generator, Iterator
from dataclasses import dataclass

from harness._choice import parse_choice
from harness._recording import Item, Recorded, read_items
from harness._replay_stream import Finish
from harness._wire import STREAM_HEADERS
from harness.cassette import CloseReason
from harness.model import Endpoint

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "proxy-connection",
}


class OnEnd(enum.StrEnum):
    """What a stream does when the recording runs out."""

    HOLD = "hold"
    CLOSE = "close"
    LOOP = "loop"

    @classmethod
    def parse(cls, value: OnEnd | str) -> OnEnd:
        return parse_choice(cls, value, "on_end")


@dataclass(frozen=True)
class Resume:
    """Where a consumer's next connection takes up a cut one."""

    serial: int
    item: Item | None  # the first line not sent; None: from the start


class Cursor:
    """One consumer's place in an endpoint's recording."""

    def __init__(self) -> None:
        self.next = 0
        self.resume: Resume | None = None


class Recording:
    """An endpoint's recorded connections, all its cassettes in the order given."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.connections: list[Recorded] = []
        self.query: dict[str, str] = {}

    def at(self, serial: int, loop: bool) -> Recorded | None:
        n = len(self.connections)
        return self.connections[serial % n] if loop else (self.connections[serial] if serial < n else None)

    def headers(self, rec: Recorded | None) -> tuple[tuple[str, str], ...]:
        """A recorded head made fit to send: our own framing, no hop-by-hop headers."""
        if rec is None or rec.status != 200:
            rec = next((r for r in reversed(self.connections) if r.status == 200), None)
        kept = [(k, v) for k, v in (rec.headers if rec else ()) if k.lower() not in HOP_BY_HOP]
        if not any(k.lower() == "content-type" for k, _ in kept):
            kept.insert(0, STREAM_HEADERS[0])
        return (*kept, STREAM_HEADERS[1], ("Connection", "close"))


class Plan:
    """The items one HTTP connection serves: a recorded connection (or the rest of a cut one), then what
    its end and `on_end` say."""

    def __init__(self, recording: Recording, serial: int, rec: Recorded | None, resume: Resume | None,
                 on_end: OnEnd) -> None:  # fmt: skip
        self.recording, self.serial, self.rec, self.resume, self.on_end = recording, serial, rec, resume, on_end

    def describe(self) -> str:
        if self.rec is None:
            return f"the recording has run out: {self.on_end}"
        start = self.resume.item if self.resume else None
        where = f" from line {start.number}" if start else ""
        return f"recorded connection {self.rec.name}{where}"

    def items(self) -> Generator[Item | Finish, None, None]:
        rec, serial = self.rec, self.serial
        if rec is None:  # run out before this connection came
            yield from self._after(serial - 1, 0.0)
            return
        loop = self.on_end is OnEnd.LOOP
        start = self.resume.item if self.resume else None
        # a cut connection goes on right after the head: its next line first, the gaps after it as recorded
        shift = rec.offset - start.recorded if start else 0.0
        lines = read_items(rec, serial, shift, start.position, start.number) if start else read_items(rec, serial, 0.0)
        while True:
            self.serial = serial
            with contextlib.closing(lines):
                yield from lines
            end = shift + rec.close.offset
            last = (
                (serial + 1) % len(self.recording.connections) == 0
                if loop
                else serial + 1 >= len(self.recording.connections)
            )
            if rec.close.reason is not CloseReason.CLIENT_STOPPED or not last or self.on_end is OnEnd.CLOSE:
                yield Finish(end, rec.close.reason is not CloseReason.ERROR, serial)
                return
            if self.on_end is OnEnd.HOLD:
                yield from self._after(serial, end)
                return
            serial += 1
            nxt = self.recording.at(serial, True)
            assert nxt is not None
            rec, shift = nxt, end - nxt.offset
            lines = read_items(rec, serial, shift)

    def _after(self, serial: int, end: float) -> Iterator[Item | Finish]:
        self.serial = serial
        if self.on_end is OnEnd.CLOSE:
            yield Finish(end, True, serial)
            return
        while True:
            yield Item(None, b"\r\n", False, serial + 1, -1, 0, math.nan)
