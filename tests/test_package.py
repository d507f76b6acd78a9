"""Package conventions: a sorted public surface, typed, small modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import harness

PACKAGE = Path(harness.__file__).parent


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's RUF022 order: CONSTANTS, then Classes, then everything else, each alphabetical
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_unique_and_importable() -> None:
    assert harness.__all__ == sorted(harness.__all__, key=_isort_key)
    assert len(set(harness.__all__)) == len(harness.__all__)
    for name in harness.__all__:
        assert getattr(harness, name) is not None, name


def test_package_is_typed() -> None:
    assert (PACKAGE / "py.typed").is_file()


def test_modules_stay_small() -> None:
    sizes = {p.relative_to(PACKAGE).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n >= 400} == {}


def test_loading_the_plugin_imports_no_heavy_dependency() -> None:
    # the plugin loads in every pytest run of every user: it must not pull in the world
    heavy = ("jsonschema", "requests", "urllib3", "trustme", "cryptography", "hypothesis", "msgspec", "click")
    code = "import sys, harness, harness.plugin; print('\\n'.join(sorted(sys.modules)))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert sorted(m for m in loaded if m.split(".")[0] in heavy) == []
    # the entry point's name stays `harness.plugin`: the same module as harness.testing.plugin
    assert sorted(m for m in loaded if m.startswith("harness.")) == [
        "harness._version",
        "harness.plugin",
        "harness.testing",
        "harness.testing.plugin",
    ]


def test_public_names_resolve_lazily_to_their_homes() -> None:
    homes = "('harness.contract.validator', 'harness.record.recorder')"
    code = f"import harness, sys; harness.Contract; print(*(m in sys.modules for m in {homes}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["True", "False"]
    assert set(harness.__all__) <= set(dir(harness))


def test_the_strategies_module_is_reached_from_the_package_as_readme_shows() -> None:
    from harness import strategies as xs
    from harness.testing import strategies

    assert xs is strategies and callable(xs.events)
