"""CI sessions: `nox` runs tests, lint, typecheck, schemas and cassettes; `nox -s bench` measures."""

from __future__ import annotations

import glob

import nox

nox.options.sessions = ["tests", "lint", "typecheck", "schemas", "cassettes"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, on both cores."""
    session.install("-e", ".[test]")
    session.run("pytest", "-n", "2", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package."""
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
    for script in sorted(glob.glob("benchmarks/*.py")):
        session.run("python", script, *session.posargs)
