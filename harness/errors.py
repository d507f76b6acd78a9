"""Every exception the harness raises on purpose.

    HarnessError
    ├── UsageError                    bad input from the caller (CLI flags, API arguments)
    │   ├── UnknownEndpointError      not a short name or path of a stream endpoint
    │   ├── ParameterError            a query parameter the endpoint refuses
    │   └── RuleError                 a filtered-stream rule the API would refuse
    ├── CassetteError                 a cassette that cannot be read or written (names file and line)
    │   ├── CassetteFormatError       not JSON, missing header, unknown format, bad record
    │   ├── CassetteVersionError      a format version this harness does not know
    │   ├── CassetteOrderError        records out of order
    │   └── CassetteWriteError        the file cannot be created or written (disk full...)
    ├── InputError                    an input file that cannot be read at all
    ├── StreamError                   a stream that could not be recorded or served
    │   └── HTTPStatusError           the server answered with a non-200 status
    └── NetworkBlockedError           a connection refused by the test plugin's network block (an OSError too)

The CLI turns any of these into one line on stderr and exit code 2 (or 1 where the
command documents it); the messages say what was expected, what was found, and where.
"""

from __future__ import annotations

from pathlib import Path


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class UsageError(HarnessError):
    """The caller asked for something the harness cannot do."""


class UnknownEndpointError(UsageError):
    """A name or path that is not one of the stream endpoints."""


class ParameterError(UsageError):
    """A query parameter the endpoint would refuse."""

    def __init__(self, message: str, *, parameter: str) -> None:
        super().__init__(message)
        self.parameter = parameter


class RuleError(UsageError):
    """A filtered-stream rule the API would refuse; `details` says why, one reason each."""

    def __init__(self, value: str, details: list[str]) -> None:
        super().__init__(f"invalid rule {value!r}: {'; '.join(details)}")
        self.value = value
        self.details = details


class CassetteError(HarnessError):
    """A cassette that cannot be read or written; `path` and `line` say where."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.path = str(path) if path is not None else None
        self.line = line
        self.reason = message
        where = self.path or "<cassette>"
        if line is not None:
            where = f"{where}:{line}"
        super().__init__(f"{where}: {message}")


class CassetteFormatError(CassetteError):
    """Not JSON, no header, an unknown format or a malformed record."""


class CassetteVersionError(CassetteError):
    """A cassette format version this harness cannot read."""


class CassetteOrderError(CassetteError):
    """Records out of order (offsets going back, a line before its connection)."""


class CassetteWriteError(CassetteError):
    """The cassette's file cannot be created or written (no such folder, disk full...)."""


class InputError(HarnessError):
    """An input that cannot be opened or decoded at all."""


class StreamError(HarnessError):
    """A stream that could not be recorded or served."""


class HTTPStatusError(StreamError):
    """The server answered a stream request with a non-200 status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class NetworkBlockedError(HarnessError, ConnectionRefusedError):
    """A connection (or a name lookup) the pytest plugin refused while a test replays: an OSError
    too, so that a client handles it as it handles the network failing."""
