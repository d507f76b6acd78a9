"""Record, validate and replay X API v2 stream sessions.

The public names are imported when first used (PEP 562): the pytest plugin loads in every
test run of every user, and `import harness` must not pull in jsonschema, requests or trustme.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness._version import __version__

if TYPE_CHECKING:
    from harness.cassette import Cassette, CassetteWriter, CloseReason, Connection, Header, Line, write_cassette
    from harness.contract._findings import Tally
    from harness.contract.checker import Contract
    from harness.contract.report import Finding, Validation, validate_paths
    from harness.contract.schemagen import Profile
    from harness.contract.validator import Engine, ReferenceEngine, Violation
    from harness.errors import HarnessError
    from harness.model import ENDPOINTS, resolve_endpoint
    from harness.record.backoff import BackoffPolicy
    from harness.record.recorder import Recorder, RecordOptions, RecordResult, RecordStats, StopReason
    from harness.record.redact import Redaction
    from harness.replay.faults import Fault
    from harness.replay.loopback import LoopbackServer, ServeOptions
    from harness.replay.server import ReplayServer
    from harness.testing import strategies as strategies  # a module, re-exported

# public name -> the module that defines it
# modules reached from the package, as README's examples do (`from harness import strategies`)
_MODULES = {"strategies": "harness.testing.strategies"}
_HOMES = {
    "BackoffPolicy": "harness.record.backoff",
    "Engine": "harness.contract.validator",
    "RecordStats": "harness.record.recorder",
    "Redaction": "harness.record.redact",
    "StopReason": "harness.record.recorder",
    "Tally": "harness.contract._findings",
    "ENDPOINTS": "harness.model",
    "Cassette": "harness.cassette",
    "CassetteWriter": "harness.cassette",
    "CloseReason": "harness.cassette",
    "Connection": "harness.cassette",
    "Contract": "harness.contract.checker",
    "Fault": "harness.replay.faults",
    "Finding": "harness.contract.report",
    "HarnessError": "harness.errors",
    "Header": "harness.cassette",
    "Line": "harness.cassette",
    "LoopbackServer": "harness.replay.loopback",
    "Profile": "harness.contract.schemagen",
    "RecordOptions": "harness.record.recorder",
    "RecordResult": "harness.record.recorder",
    "Recorder": "harness.record.recorder",
    "ReferenceEngine": "harness.contract.validator",
    "ReplayServer": "harness.replay.server",
    "ServeOptions": "harness.replay.loopback",
    "Validation": "harness.contract.report",
    "Violation": "harness.contract.validator",
    "resolve_endpoint": "harness.model",
    "validate_paths": "harness.contract.report",
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
        if name in _MODULES:
            value: Any = importlib.import_module(_MODULES[name])
        elif name in _HOMES:
            value = getattr(importlib.import_module(_HOMES[name]), name)
        else:
            raise AttributeError(f"module 'harness' has no attribute {name!r}")
        globals()[name] = value  # once: later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted(set(globals()) | set(_HOMES) | set(_MODULES))
