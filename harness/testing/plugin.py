"""The pytest plugin: replay a cassette to the consumer under test, record it when asked.

Registered through the `pytest11` entry point. Settings come, in order of precedence,
from the test's `stream_cassette` marker, the command line, then the `stream_config`
fixture (override it in a conftest.py to set project defaults).

Record modes: `none` (default: replay only; a missing cassette fails the test and says
how to record it), `once` (record when the cassette is missing), `all` (re-record every
time). vcrpy's `new_episodes` has no meaning for a stream — a session is one recording,
not a set of request/response pairs to append to — so it is not offered.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

import pytest

if TYPE_CHECKING:
    from harness.record.recorder import Recorder
    from harness.testing._replay import StreamReplay
    from harness.testing.assertions import ContractChecker

SUFFIXES = (".jsonl", ".jsonl.gz")
LOOPBACK = "loopback"
REDACT = ("redact_headers", "redact_params", "redact_json")


class RecordMode(enum.StrEnum):
    """When the plugin records instead of replaying."""

    NONE = "none"
    ONCE = "once"
    ALL = "all"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("x-stream", "x-stream harness: record and replay X API v2 streams")
    group.addoption(
        "--stream-record-mode",
        choices=[m.value for m in RecordMode],
        default=None,
        help="none (default): replay only, a missing cassette fails; once: record missing cassettes; all: re-record.",
    )
    group.addoption(
        "--stream-cassette-dir",
        default=None,
        help="Where cassettes live (default: a cassettes/ folder beside each test module).",
    )
    group.addoption("--replay-speed", default=None, help="Replay speed: a factor (1 = recorded timing) or 'max'.")
    group.addoption(
        "--stream-record-url",
        default=None,
        help=f"Base URL recorded from (default https://api.x.com); '{LOOPBACK}' records the built-in source.",
    )
    group.addoption(
        "--stream-block-network",
        action="store_true",
        default=None,
        help="While a test replays, refuse every connection but the replay's and allowed_hosts'.",
    )
    group.addoption(
        "--stream-token-env",
        default=None,
        help="Environment variable holding the bearer token used to record (default X_BEARER_TOKEN).",
    )
    group.addoption(
        "--stream-dialect",
        choices=["classic", "2.167"],
        default=None,
        help="Member names (default classic) the contract fixture checks and loopback recordings use; 2.167: xdk's.",
    )


def pytest_configure(config: pytest.Config) -> None:
    try:
        parse_speed(config.getoption("--replay-speed", None))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    config.addinivalue_line(
        "markers",
        "stream_cassette(name=None, *, speed=None, faults=(), on_end=None, endpoint=None, params=None, "
        "max_events=None, duration=None, rules=None, allow_missing_fields=False, dialect=None, block_network=None, "
        "allowed_hosts=(), relax=(), connections=1, redact_headers=(), redact_params=(), redact_json=()): the "
        "cassette the stream fixtures replay (default: MODULE/TEST), a file name with or without its extension "
        "or a path relative to the cassette dir; faults are replayer fault specs such as 'disconnect@5'; "
        "endpoint/params/max_events/duration say what to record, redact_* what to keep out of it; rules, the "
        "filtered stream's first rules ([{'value', 'tag'}], default: the cassette's); allow_missing_fields: pass "
        "a test whose consumer asks for fields the cassette lacks; dialect: the member names to record and check "
        "(classic or 2.167); block_network/allowed_hosts guard the replay; relax names conduct checks not to "
        "apply (backoff, connections, read-timeout), connections how many streams may be open at once.",
    )


@dataclass(frozen=True)
class StreamSettings:
    """Everything the stream fixtures need for one test, precedence already applied."""

    cassette: Path
    record_mode: RecordMode = RecordMode.NONE
    speed: float | None = 1.0
    faults: tuple[str, ...] = ()
    on_end: str = "hold"
    endpoint: str | None = None
    params: Mapping[str, str] = field(default_factory=dict)
    record_url: str = "https://api.x.com"
    token_env: str = "X_BEARER_TOKEN"
    max_events: int | None = 20
    duration: float | None = 30.0
    rules: tuple[Mapping[str, str], ...] | None = None  # the filtered stream's first rules (None: the cassette's)
    allow_missing_fields: bool = False  # else a request for fields the cassette lacks fails the test
    dialect: str = "classic"  # a harness.model.dialect.Dialect value
    test: str = ""  # the test's node id, for messages
    block_network: bool = False
    allowed_hosts: tuple[str, ...] = ()
    relax: tuple[str, ...] = ()
    connections: int = 1
    redact_headers: tuple[str, ...] = ()
    redact_params: tuple[str, ...] = ()
    redact_json: tuple[str, ...] = ()


def _bad(message: str) -> NoReturn:
    """A settings mistake: one clean line in the test's report, no traceback."""
    pytest.fail(message, pytrace=False)


def parse_speed(value: Any) -> float | None:
    """A speed factor, or None for 'max'; raises ValueError naming what was expected."""
    if value is None or value == "max":
        return None
    try:
        speed = float(value)
    except (TypeError, ValueError):
        speed = float("nan")
    if not speed > 0:
        raise ValueError(f"replay speed: expected a factor > 0 or 'max', found {value!r}")
    return speed


def find_cassette(directory: Path, name: str) -> Path:
    """The cassette NAME names: as given, or with a cassette extension added."""
    base = directory / name
    if base.name.endswith(SUFFIXES) or base.is_file():
        return base
    for suffix in SUFFIXES:
        if base.with_name(base.name + suffix).is_file():
            return base.with_name(base.name + suffix)
    return base.with_name(base.name + SUFFIXES[0])


def strings(value: Any) -> tuple[str, ...]:
    """One string or several, as a tuple."""
    return (value,) if isinstance(value, str) else tuple(map(str, value))


def default_name(nodeid: str) -> str:
    """MODULE/TEST from a node id: tests of the same name in two modules get two cassettes."""
    path, _, rest = nodeid.partition("::")
    return f"{Path(path).stem}/{rest.replace('::', '.')}"


def resolve_settings(request: pytest.FixtureRequest, config_fixture: Mapping[str, Any]) -> StreamSettings:
    """Marker > command line > `stream_config` fixture > defaults."""
    marker = request.node.get_closest_marker("stream_cassette")
    mark_kw: dict[str, Any] = dict(marker.kwargs) if marker else {}
    if marker and marker.args:
        mark_kw.setdefault("name", marker.args[0])
    opt = request.config.getoption
    cli = {
        "record_mode": opt("--stream-record-mode"),
        "cassette_dir": opt("--stream-cassette-dir"),
        "speed": opt("--replay-speed"),
        "record_url": opt("--stream-record-url"),
        "token_env": opt("--stream-token-env"),
        "block_network": opt("--stream-block-network"),
        "dialect": opt("--stream-dialect"),
    }

    def pick(key: str, default: Any) -> Any:
        for layer in (mark_kw, cli, config_fixture):
            if layer.get(key) is not None:
                return layer[key]
        return default

    def limit(key: str, default: float) -> Any:
        # a limit set to None in the marker or stream_config is "no limit", not "the default"
        for layer in (mark_kw, cli, config_fixture):
            if key in layer and (layer[key] is not None or layer is not cli):
                return layer[key]
        return default

    known = {"name", "speed", "faults", "on_end", "endpoint", "params", "max_events", "duration", "record_mode",
             "rules", "allow_missing_fields", "dialect", "block_network", "allowed_hosts", "relax", "connections",
             *REDACT}  # fmt: skip
    unknown = sorted(set(mark_kw) - known)
    if unknown:
        _bad(f"stream_cassette: unknown argument(s) {unknown}: expected some of {sorted(known)}")
    directory = Path(pick("cassette_dir", request.path.parent / "cassettes"))
    try:
        mode = RecordMode(pick("record_mode", RecordMode.NONE))
    except ValueError:
        _bad(f"record mode: expected one of {', '.join(m.value for m in RecordMode)}")
    try:
        speed = parse_speed(pick("speed", 1.0))
    except ValueError as exc:
        _bad(str(exc))
    relax = pick("relax", ())
    return StreamSettings(
        cassette=find_cassette(directory, str(pick("name", default_name(request.node.nodeid)))),
        record_mode=mode,
        speed=speed,
        faults=strings(pick("faults", ())),
        on_end=str(pick("on_end", "hold")),
        endpoint=pick("endpoint", None),
        params=dict(pick("params", {})),
        record_url=str(pick("record_url", "https://api.x.com")),
        token_env=str(pick("token_env", "X_BEARER_TOKEN")),
        max_events=limit("max_events", 20),
        duration=limit("duration", 30.0),
        rules=None if mark_kw.get("rules") is None else tuple(mark_kw["rules"]),
        allow_missing_fields=bool(pick("allow_missing_fields", False)),
        dialect=str(pick("dialect", "classic")),
        test=request.node.nodeid,
        block_network=bool(pick("block_network", False)),
        allowed_hosts=strings(pick("allowed_hosts", ())),
        relax=("backoff", "connections", "read-timeout") if relax is True else strings(relax),
        connections=int(pick("connections", 1)),
        **{key: strings(pick(key, ())) for key in REDACT},
    )


@pytest.fixture
def stream_config() -> dict[str, Any]:
    """Project-wide stream settings (override in conftest.py); lowest precedence."""
    return {}


@pytest.fixture
def stream_settings(request: pytest.FixtureRequest, stream_config: dict[str, Any]) -> StreamSettings:
    """The resolved stream settings of this test (marker > command line > stream_config)."""
    return resolve_settings(request, stream_config)


def _usable(path: Path) -> bool:
    """A cassette to replay: there, and holding a connection (a failed recording holds none)."""
    from harness.testing._recording import holds_connection

    return path.is_file() and holds_connection(path)


def _recording_due(s: StreamSettings) -> bool:
    return s.record_mode is RecordMode.ALL or (s.record_mode is RecordMode.ONCE and not _usable(s.cassette))


@pytest.fixture
def stream_cassette(request: pytest.FixtureRequest, stream_settings: StreamSettings) -> Path:
    """This test's cassette. Alone (no replay fixture), it is recorded first, from the source, when the
    record mode asks for it; with `stream_replay`, the consumer's own session is recorded through it."""
    s = stream_settings
    through_consumer = {"stream_replay", "stream_replay_proxy"} & set(request.fixturenames)
    if _recording_due(s):
        if not through_consumer:
            from harness.testing._session import record_ahead

            record_ahead(s)
    elif not _usable(s.cassette):
        found = "holds no connection (a failed recording)" if s.cassette.is_file() else "not found"
        _bad(
            f"{s.test}: cassette {found}: {s.cassette} (record mode 'none' only replays). Record it with "
            f"`pytest --stream-record-mode=once` (add --stream-record-url={LOOPBACK} for the built-in source), "
            f"or `harness record ENDPOINT -o {s.cassette}`."
        )
    return s.cassette


@contextlib.contextmanager
def _served(settings: StreamSettings, cassette: Path, *, proxy: bool) -> Iterator[StreamReplay]:
    from harness.testing._session import recording, replaying  # imported when used: the plugin loads in every run

    with (recording(settings, proxy=proxy) if _recording_due(settings) else
          replaying(settings, cassette, proxy=proxy)) as served:  # fmt: skip
        yield served


@pytest.fixture
def stream_replay(stream_settings: StreamSettings, stream_cassette: Path) -> Iterator[StreamReplay]:
    """The replay of this test's cassette: the server's `.base_url`, `.url(endpoint)`, `.inject()`, `.log`,
    and the consumer's side: `.requests`, `.assert_requested()`, `.all_played`, `.push()`, `.wait_connections()`.
    The consumer's conduct (backoff, connections, read timeout) is checked; what it broke fails the test.
    In record modes once (no cassette yet) and all, the consumer's own session is recorded through it."""
    with _served(stream_settings, stream_cassette, proxy=False) as served:
        yield served


@pytest.fixture
def stream_replay_proxy(
    stream_settings: StreamSettings, stream_cassette: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[StreamReplay]:
    """`stream_replay` behind a TLS proxy for api.x.com/api.twitter.com; sets HTTPS_PROXY and REQUESTS_CA_BUNDLE."""
    from harness.replay._proxy import client_env

    with _served(stream_settings, stream_cassette, proxy=True) as served:
        assert served.server.proxy_url and served.server.ca_bundle
        apply_env(monkeypatch, client_env(served.server.proxy_url, served.server.ca_bundle))
        yield served


class RecorderFactory(Protocol):
    def __call__(self, target: str, cassette: str | Path | None = None, **options: Any) -> Recorder: ...


@pytest.fixture
def stream_recorder(stream_settings: StreamSettings) -> Iterator[RecorderFactory]:
    """Make recorders (`stream_recorder(target, path, **RecordOptions)`), stopped after the test."""
    from harness.record.recorder import Recorder, RecordOptions

    made: list[Recorder] = []

    def make(target: str, cassette: str | Path | None = None, **options: Any) -> Recorder:
        recorder = Recorder(target, cassette or stream_settings.cassette, RecordOptions(**options))
        made.append(recorder)
        return recorder

    yield make
    for recorder in made:
        if recorder.running:
            recorder.stop()


@pytest.fixture
def contract(request: pytest.FixtureRequest) -> ContractChecker:
    """Contract assertions: `contract.assert_valid(payload, endpoint=...)`, `assert_cassette_valid(path)`;
    `contract.strict.assert_valid(...)` with the strict profile (unknown members are violations)."""
    from harness.testing.assertions import ContractChecker

    return ContractChecker(dialect=request.config.getoption("--stream-dialect", None) or "classic")


def apply_env(monkeypatch: pytest.MonkeyPatch, env: dict[str, str | None]) -> None:
    """Set (or, None, unset) environment variables for the test."""
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
