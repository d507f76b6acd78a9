"""The recorder: a live stream session into a cassette, each record written as it arrives.

    with Recorder("search-stream", "out.jsonl", RecordOptions(token=..., max_events=100)) as rec:
        ...
    result = rec.result

Lines are kept byte-exact and stamped with the monotonic time their bytes arrived (seconds
since the connection's request was sent). Records are written and flushed as they arrive
(the lines of one socket read together), so a killed recorder loses at most what was in
flight. Every string written or reported passes one redaction of the secrets first
(`redact.RedactingWriter` for the cassette, `Redaction.message` for messages and errors,
`Redaction.exception` for an exception that escapes `run()`).
A stop (`--duration`, `--max-events`, Ctrl-C) takes effect within a quarter of a second in
every phase: connecting, TLS, waiting for the response head, reading.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from harness._version import __version__
from harness.cassette import CassetteWriter, CloseReason, Header
from harness.errors import HarnessError, HTTPStatusError, StreamError, UsageError
from harness.record._http_client import Link, ProxyError, Stopped, open_stream
from harness.record._response import LineCheck, connect_error
from harness.record._segment import Counts, Outcome, Segment
from harness.record.backoff import Backoff, BackoffPolicy, Failure
from harness.record.redact import RedactingWriter, Redaction
from harness.record.rules import Rule, setup_rules
from harness.record.target import resolve_target

DEFAULT_BASE_URL = "https://api.x.com"
USER_AGENT = f"x-stream-harness/{__version__} (record)"
MAX_LINE = 1 << 20


class StopReason(enum.StrEnum):
    """Why a recording ended."""

    MAX_EVENTS = "max-events"
    DURATION = "duration"
    STOPPED = "stopped"  # stop(), Ctrl-C, SIGTERM
    SERVER_CLOSED = "server-closed"
    HTTP_STATUS = "http-status"  # a non-200 response ended it
    ERROR = "error"


@dataclass(frozen=True)
class RecordOptions:
    """What to record and how; `endpoint` names the stream when a URL's path is not its path."""

    params: Mapping[str, str] = field(default_factory=dict)
    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    endpoint: str | None = None
    max_events: int | None = None
    duration: float | None = None
    reconnect: bool = False
    read_timeout: float = 20.0
    connect_timeout: float = 10.0
    validate: bool = False
    redaction: Redaction = field(default_factory=Redaction)
    backoff: BackoffPolicy = field(default_factory=BackoffPolicy)
    max_line: int = MAX_LINE
    labels: Mapping[str, str] = field(default_factory=dict)
    # the filtered stream's rules (harness.record.rules): install these first (`replace`: and only these);
    # `read_rules`: read the rules in effect into the header (None: when the stream is named, not
    # given as a URL, or rules are given)
    rules: tuple[Rule, ...] | None = None
    replace_rules: bool = False
    read_rules: bool | None = None


@dataclass(frozen=True)
class RecordStats:
    """Counts over every connection of a recording."""

    connections: int = 0
    events: int = 0
    heartbeats: int = 0
    errors: int = 0  # in-stream error payloads
    violations: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    status: int | None = None  # of the last response

    @property
    def rate(self) -> float:
        return self.events / self.elapsed if self.elapsed > 0 else 0.0


@dataclass(frozen=True)
class RecordResult:
    """How a recording went; `error` is one line saying what went wrong, if anything did."""

    path: Path
    stats: RecordStats
    reason: StopReason
    error: str | None = None
    samples: tuple[str, ...] = ()  # the first contract violations, with --validate

    @property
    def ok(self) -> bool:
        return self.reason not in (StopReason.ERROR, StopReason.HTTP_STATUS)

    def raise_for_error(self) -> None:
        if self.reason is StopReason.HTTP_STATUS:
            raise HTTPStatusError(self.error or "non-200 response", status=self.stats.status or 0)
        if self.reason is StopReason.ERROR:
            raise StreamError(self.error or "the recording failed")


_TOKEN = re.compile(r"[\x21-\x7e]+")  # visible ASCII: X's tokens hold %2F and %3D as they are


class Recorder:
    """Records one stream into one cassette: `run()` here, or `start()`/`stop()` in a thread."""

    def __init__(self, target: str, cassette: str | Path, options: RecordOptions | None = None, *,
                 on_message: Callable[[str], None] | None = None) -> None:  # fmt: skip
        self.options = options or RecordOptions()
        o = self.options
        if o.token is not None and not _TOKEN.fullmatch(o.token):  # a CR/LF would add request headers
            raise UsageError("the bearer token must be visible ASCII characters only (no space, line break or other)")
        self.redaction = self.options.redaction.with_secret(self.options.token)
        try:
            self.target = resolve_target(target, o.params, base_url=o.base_url, endpoint=o.endpoint)
        except HarnessError as exc:  # a parameter may quote the token back
            raise self.redaction.exception(exc) from None
        self.path = Path(cassette)
        # rules to install are always set up (and read back); else as asked, by default for a named stream
        reads = o.rules is not None or (o.read_rules if o.read_rules is not None else "://" not in target)
        self._reads_rules = reads and self.target.endpoint.name == "search-stream"
        self.rules: tuple[Rule, ...] | None = None  # read before connecting, for the header
        self.api_calls: tuple[Mapping[str, Any], ...] = ()
        self.on_message = on_message
        self.counts = Counts()
        self.origin = 0.0
        self._t0 = 0.0  # time.monotonic() when the current connection's request was sent
        self._stop: StopReason | None = None
        self._wake = threading.Event()
        self._lock = threading.RLock()  # re-entered by a signal handler on this thread
        self._fetching = ""  # the URL being requested (a redirect's target, after one)
        self._thread: threading.Thread | None = None
        self._failed: BaseException | None = None
        self.check: LineCheck | None = None
        self.result: RecordResult | None = None
        self.clock_origin: float | None = None  # time.monotonic() of the first request
        self._cassette: CassetteWriter

    # -- control ----------------------------------------------------------------------------
    @property
    def stats(self) -> RecordStats:
        """A snapshot of the counts so far (cheap; safe from any thread)."""
        c = self.counts
        elapsed = time.monotonic() - self.origin if self.origin else 0.0
        return RecordStats(c.connections, c.events, c.heartbeats, c.errors, c.violations, c.bytes, elapsed, c.status)

    def request_stop(self, reason: StopReason = StopReason.STOPPED) -> None:
        """Ask the recording to end soon; safe from other threads and signal handlers."""
        with self._lock:
            if self._stop is None:
                self._stop = reason
        self._wake.set()  # every wait of the connection looks at `_stop` at least every SLICE

    @property
    def running(self) -> bool:
        """Recording in the background thread that `start()` began."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Recorder:
        """Record in a background thread."""
        self._thread = threading.Thread(target=self._run_captured, name="harness-recorder", daemon=True)
        self._thread.start()
        return self

    def _run_captured(self) -> None:
        try:
            self.run()
        except BaseException as exc:  # handed to whoever waits
            self._failed = exc

    def wait(self, timeout: float | None = None) -> RecordResult:
        """The result once the background recording has ended; TimeoutError if it has not."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise TimeoutError(f"the recording into {self.path} is still running after {timeout} s")
        if self._failed is not None:
            raise self._failed
        if self.result is None:
            raise UsageError("the recorder was never started")
        return self.result

    def stop(self, timeout: float | None = 30.0) -> RecordResult:
        self.request_stop()
        return self.wait(timeout)

    def __enter__(self) -> Recorder:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- recording ----------------------------------------------------------------------------
    def header(self, final_url: str | None = None) -> Header:
        """The cassette's header; `final_url`: where redirects led (recorded as `url`)."""
        r, t = self.redaction, self.target
        url, labels = self._shown_url(None), {"source": "recorded", **self.options.labels}
        if final_url is not None:
            labels["redirected-from"] = url
            url = self._shown_url(final_url)
        return Header(
            endpoint=t.endpoint.name,
            url=url,
            query=r.query(t.params),
            request_headers=dict(r.headers_list(self._request_headers().items())),
            recorded_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            tool=f"x-stream-harness/{__version__}",
            labels=labels,
            rules=self.rules,
            api_calls=self.api_calls,
        )

    def _shown_url(self, final_url: str | None) -> str:
        """The URL a response came from as the cassette says it: redacted, its query as
        parameters; `final_url`: where redirects led (None: the target itself)."""
        r, t = self.redaction, self.target
        if final_url is None:
            return r.url(t.url, t.params)
        parts = urlsplit(final_url)
        return r.url(urlunsplit((*parts[:3], "", "")), dict(parse_qsl(parts.query, keep_blank_values=True)))

    def _request_headers(self) -> dict[str, str]:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", "Accept-Encoding": "gzip"}
        if self.options.token:
            headers["Authorization"] = f"Bearer {self.options.token}"
        return headers

    def run(self) -> RecordResult:
        """Record until a stop condition; never raises for what the stream does (see `result`).

        What does escape (a bug, a second Ctrl-C) is raised with its text redacted like every
        other output: a redacted copy with the same traceback, when its text held a secret.
        """
        try:
            return self._record()
        except BaseException as exc:
            shown = self.redaction.exception(exc)
            if shown is exc:
                raise
        raise shown  # outside the handler, so that the original is not its context

    def _record(self) -> RecordResult:
        o = self.options
        if o.validate and self.check is None:
            self.check = LineCheck(self.target.endpoint.name, self.counts)
        self.origin = self.clock_origin = time.monotonic()
        timer = threading.Timer(o.duration, self.request_stop, (StopReason.DURATION,)) if o.duration else None
        backoff = Backoff(o.backoff)
        reason, error = StopReason.SERVER_CLOSED, None
        if self._reads_rules:
            self.rules, self.api_calls = setup_rules(self.target.url, o.token, self.redaction, o.rules, o.replace_rules,
                                                     self.tell)  # fmt: skip
        self._cassette = CassetteWriter(self.path, self.header(), background=True)
        try:
            if timer is not None:
                timer.daemon = True
                timer.start()
            try:
                while self._stop is None:
                    outcome = self._connect()
                    if self._stop is not None:
                        break
                    if outcome.failure is None or not o.reconnect:
                        reason, error = _final(outcome)
                        break
                    if outcome.established:
                        backoff.reset()
                    delay = backoff.next(outcome.failure)
                    delay = outcome.wait if outcome.wait is not None else delay
                    self.tell(f"{outcome.error or 'the server closed the stream'}; reconnecting in {delay:g} s")
                    if self._wake.wait(delay):
                        break
            except BaseException as exc:  # a second Ctrl-C, or a bug: still end the segment
                writer = RedactingWriter(self._cassette, self.redaction)
                if writer.in_connection:
                    stopped = isinstance(exc, KeyboardInterrupt)
                    why = CloseReason.CLIENT_STOPPED if stopped else CloseReason.ERROR
                    writer.close_connection(why, time.monotonic() - self._t0, None if stopped else f"recorder: {exc!r}")
                raise
            finally:
                if timer is not None:
                    timer.cancel()
        finally:
            self._cassette.close()
        if self._stop is not None:
            reason, error = self._stop, None
        m = self.redaction.message
        samples = tuple(map(m, self.check.samples)) if self.check is not None else ()
        self.result = RecordResult(self.path, self.stats, reason, None if error is None else m(error), samples)
        return self.result

    @property
    def stopping(self) -> StopReason | None:
        """Why the recording is stopping, once a stop was asked for."""
        return self._stop

    def max_events_reached(self) -> None:
        self.request_stop(StopReason.MAX_EVENTS)

    def tell(self, message: str) -> None:
        """Say something on the user's channel: with the secrets redacted, like everything else."""
        if self.on_message is not None:
            self.on_message(self.redaction.message(message))

    def _link(self) -> Link:
        o = self.options
        return Link(lambda: self._stop is not None, o.connect_timeout, o.read_timeout)

    def _redirect(self, source: str, target: str) -> None:
        elsewhere = urlsplit(source)[:2] != urlsplit(target)[:2]
        note = " (another host: the token is not sent there)" if elsewhere else ""
        p = urlsplit(target)  # never a user:password@ on screen
        self.tell(f"redirected to {urlunsplit((p.scheme, p.netloc.rpartition('@')[2], p.path, p.query, ''))}{note}")
        self._fetching = target

    def _connect(self) -> Outcome:
        o, t = self.options, self.target
        # commas stay as they are (`tweet.fields=id,text`), as X's own examples write them
        url = self._fetching = t.url + ("?" + urlencode(t.params, safe=",:") if t.params else "")
        t0 = self._t0 = time.monotonic()
        try:
            link, head, final = open_stream(url, self._request_headers(), self._link, self._redirect)
        except Stopped:
            return Outcome(None)
        except (OSError, ValueError, ProxyError) as exc:  # ssl.SSLError is an OSError, NotHTTP a ValueError
            where = urlsplit(self._fetching)
            return Outcome(Failure.NETWORK, connect_error(exc, urlunsplit((*where[:3], "", "")), o.connect_timeout,
                                                          o.read_timeout))  # fmt: skip
        try:
            if final != url and self._cassette.records == 0:  # the header says where the stream came from
                self._cassette.close()
                self._cassette = CassetteWriter(self.path, self.header(final), background=True)
            # and a connection that came from elsewhere (a reconnection redirected, or not) says so
            shown = self._shown_url(None if final == url else final)
            came_from = None if shown == self._cassette.header.url else shown
            writer = RedactingWriter(self._cassette, self.redaction)
            return Segment(self, writer, t0, came_from).record(link, head)
        finally:
            link.close()


def _final(outcome: Outcome) -> tuple[StopReason, str | None]:
    if outcome.status is not None and outcome.status != 200:
        return StopReason.HTTP_STATUS, outcome.error
    if outcome.error is not None:
        return StopReason.ERROR, outcome.error
    return StopReason.SERVER_CLOSED, None
