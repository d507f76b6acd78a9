"""Record, validate and replay X API v2 stream sessions."""

from __future__ import annotations

from harness._version import __version__
from harness.cassette import Cassette, CassetteWriter, CloseReason, Connection, Header, Line, write_cassette
from harness.errors import HarnessError
from harness.faults import Fault
from harness.loopback import LoopbackServer, ServeOptions
from harness.model import ENDPOINTS, resolve_endpoint
from harness.recorder import Recorder, RecordOptions, RecordResult
from harness.replayer import ReplayServer
from harness.report import Finding, Validation, validate_paths
from harness.schemagen import Profile
from harness.validator import Contract, ReferenceEngine, Violation

__all__ = [
    "ENDPOINTS",
    "Cassette",
    "CassetteWriter",
    "CloseReason",
    "Connection",
    "Contract",
    "Fault",
    "Finding",
    "HarnessError",
    "Header",
    "Line",
    "LoopbackServer",
    "Profile",
    "RecordOptions",
    "RecordResult",
    "Recorder",
    "ReferenceEngine",
    "ReplayServer",
    "ServeOptions",
    "Validation",
    "Violation",
    "__version__",
    "resolve_endpoint",
    "validate_paths",
    "write_cassette",
]
