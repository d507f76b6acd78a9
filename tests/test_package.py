"""Package conventions: a sorted public surface, typed, small modules."""

from __future__ import annotations

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
