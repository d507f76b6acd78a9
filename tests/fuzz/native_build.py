"""Which build of the native checker the fuzzers and scenarios run.

`HARNESS_SPEEDUPS=/path/to/_speedups....so` loads that file as `harness.contract._speedups` (the
sanitized build `nox -s fuzz` makes, or an old one to show a test fails on it); call
`load()` before anything imports `harness`.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

VARIABLE = "HARNESS_SPEEDUPS"


def load() -> str:
    """The path of the build in use (the installed one if the variable is not set)."""
    path = os.environ.get(VARIABLE)
    if not path:
        return "installed"
    loaded = sys.modules.get("harness.contract._speedups")
    if loaded is not None and Path(getattr(loaded, "__file__", "")).resolve() == Path(path).resolve():
        return path  # loaded already
    if "harness" in sys.modules:
        raise RuntimeError(f"{VARIABLE} is read before harness is imported: too late")
    spec = importlib.util.spec_from_file_location("harness.contract._speedups", path)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"{VARIABLE}={path}: not a loadable extension")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["harness.contract._speedups"] = module
    return path


def sanitized(path: str) -> bool:
    """Whether an extension file was built with AddressSanitizer and UBSan."""
    data = Path(path).read_bytes()
    return b"__asan_init" in data and b"__ubsan_handle" in data
