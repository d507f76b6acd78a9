"""CI sessions: `nox` runs tests, lint, typecheck, schemas and cassettes; `nox -s bench` measures;
`nox -s fuzz` fuzzes the native checker built with sanitizers.

`nox -s versions` runs the suite under every CPython from 3.11 that this machine has
(`requires-python` says 3.11+); `.ci/run` and the GitHub workflow run the same sessions.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "schemas", "cassettes"]
nox.options.reuse_existing_virtualenvs = True

SUPPORTED = ("3.11", "3.12", "3.13")


def _add_pyenv_interpreters() -> None:
    """Put pyenv's installed CPythons on PATH: its shims only answer for the selected version."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    dirs = sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin")))
    if dirs:
        os.environ["PATH"] = os.pathsep.join([*dirs, os.environ.get("PATH", "")])


def _runs(version: str) -> bool:
    exe = shutil.which(f"python{version}")
    return exe is not None and subprocess.run([exe, "-c", "pass"], capture_output=True).returncode == 0


_add_pyenv_interpreters()
INTERPRETERS = [v for v in SUPPORTED if _runs(v)]


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, on both cores."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", *session.posargs)


@nox.session(python=INTERPRETERS)
def versions(session: nox.Session) -> None:
    """The test suite under each CPython the machine has, from 3.11 (requires-python)."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", "-q", "-p", "no:cacheprovider", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package and its tests."""
    session.install("-e", ".[dev]")
    session.run("mypy")


@nox.session
def schemas(session: nox.Session) -> None:
    """Regenerate the schemas into a temp dir and fail on any difference from schemas/."""
    session.install("-e", ".")
    out = session.create_tmp() + "/schemas"
    session.run("harness", "schemas", "generate", "--out", out)
    session.run("diff", "-ru", "schemas", out, external=True)


@nox.session
def cassettes(session: nox.Session) -> None:
    """Validate every cassette; the seed examples' known violations are stated, not hidden."""
    session.install("-e", ".")
    session.run("harness", "validate", "cassettes/", "--baseline", "cassettes/known-violations.json")


@nox.session
def bench(session: nox.Session) -> None:
    """Run every benchmark and print its figures."""
    session.install("-e", ".[test,bench]")
    for script in sorted(glob.glob("benchmarks/[!_]*.py")):  # _replay_load.py is replay.py's helper
        session.run("python", script, *session.posargs)


SANITIZERS = "-fsanitize=address,undefined"


@nox.session
def fuzz(session: nox.Session) -> None:
    """The native checker built with ASan and UBSan, fuzzed against the reference for a
    bounded time: `nox -s fuzz -- --seconds 600 --seed 7` (default 180 s, seed from the clock)."""
    session.install("-e", ".[test]")
    build = os.path.join(session.create_tmp(), "sanitized")
    flags = f"{SANITIZERS} -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
    session.run("python", "setup.py", "-q", "build_ext", "--force", "--build-lib", build,
                "--build-temp", os.path.join(build, "obj"), env={"CFLAGS": flags, "LDFLAGS": SANITIZERS})  # fmt: skip
    [extension] = glob.glob(os.path.join(build, "harness", "contract", "_speedups*.so"))
    # CPython is not built with ASan: its runtime must be loaded first; CPython's own
    # allocations at exit are not leaks worth reporting; malloc, not pymalloc, so that
    # ASan sees each object freed
    libasan = session.run("gcc", "-print-file-name=libasan.so", external=True, silent=True)
    env = {
        "HARNESS_SPEEDUPS": extension,
        "LD_PRELOAD": str(libasan).strip(),
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=1",
        "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
        "PYTHONMALLOC": "malloc",
    }
    fuzzer = os.path.join("tests", "fuzz", "fuzz_checker.py")
    session.run("python", fuzzer, "--require-sanitized", "--save", "tests/fuzz/found", *session.posargs, env=env)
