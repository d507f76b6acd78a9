"""Suite-wide settings.

Hypothesis's deadline (200 ms per example) and its too-slow health check are timings: a one-off
stall of the process (load, GC, the other xdist worker: ~0.3 s) fails them with no bug at all,
as a `FlakyFailure` ("Unreliable test timings"). Speed targets live in the benchmarks, not in
timed assertions, so both are off for every property test.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

settings.register_profile("suite", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("suite")
