"""Record, validate and replay X API v2 stream sessions.

The public names are imported when first used (PEP 562): the pytest plugin loads in every
test run of every user, and `import harness` must not pull in jsonschema, requests or trustme.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness._version import __version__

if TYPE_CHECKING:
    from harness._findings import Tally
    from harness._redact import Redaction
    from harness.backoff import BackoffPolicy
    from harness.cassette import Cassette, CassetteWriter, CloseReason, Connection, Header, Line, write_cassette
    from harness.checker import Contract
    from harness.errors import HarnessError
    from harness.faults import Fault
    from harness.loopback import LoopbackServer, ServeOptions
    from harness.model import ENDPOINTS, resolve_endpoint
    from harness.recorder import Recorder, RecordOptions, RecordResult, RecordStats, StopReason
    from harness.replayer import ReplayServer
    from harness.report import Finding, Validation, validate_paths
    from harness.schemagen import Profile
    from harness.validator import Engine, ReferenceEngine, Violation

# public name -> the module that defines it
_HOMES = {
    "BackoffPolicy": "harness.backoff",
    "Engine": "harness.validator",
    "RecordStats": "harness.recorder",
    "Redaction": "harness._redact",
    "StopReason": "harness.recorder",
    "Tally": "harness._findings",
    "ENDPOINTS": "harness.model",
    "Cassette": "harness.cassette",
    "CassetteWriter": "harness.cassette",
    "CloseReason": "harness.cassette",
    "Connection": "harness.cassette",
    "Contract": "harness.checker",
    "Fault": "harness.faults",
    "Finding": "harness.report",
    "HarnessError": "harness.errors",
    "Header": "harness.cassette",
    "Line": "harness.cassette",
    "LoopbackServer": "harness.loopback",
    "Profile": "harness.schemagen",
    "RecordOptions": "harness.recorder",
    "RecordResult": "harness.recorder",
    "Recorder": "harness.recorder",
    "ReferenceEngine": "harness.validator",
    "ReplayServer": "harness.replayer",
    "ServeOptions": "harness.loopback",
    "Validation": "harness.report",
    "Violation": "harness.validator",
    "resolve_endpoint": "harness.model",
    "validate_paths": "harness.report",
    "write_cassette": "harness.cassette",
}

__all__ = [
    "ENDPOINTS",
    "BackoffPolicy",
    "Cassette",
    "CassetteWriter",
    "CloseReason",
    "Connection",
    "Contract",
    "Engine",
    "Fault",
    "Finding",
    "HarnessError",
    "Header",
    "Line",
    "LoopbackServer",
    "Profile",
    "RecordOptions",
    "RecordResult",
    "RecordStats",
    "Recorder",
    "Redaction",
    "ReferenceEngine",
    "ReplayServer",
    "ServeOptions",
    "StopReason",
    "Tally",
    "Validation",
    "Violation",
    "__version__",
    "resolve_endpoint",
    "validate_paths",
    "write_cassette",
]


if not TYPE_CHECKING:  # mypy reads the imports above; a module __getattr__ would hide missing names

    def __getattr__(name: str) -> Any:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'harness' has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value  # once: later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_HOMES))
