"""Every input in corpus/ through every entry point of the native checker and the
jsonschema-rs fallback, against the reference: what the fuzzers found (or were seeded with) stays fixed.

`<endpoint>--<what>.line` is one raw stream line; `<endpoint>--<what>.record` one
cassette record line. `nox -s fuzz` writes what it finds to tests/fuzz/found/ in this
form: once fixed, move them here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from checks import Oracle, check_record

from harness.contract.schemagen import Profile

CORPUS = Path(__file__).resolve().parent / "corpus"
ORACLES = {p: Oracle(p) for p in Profile}


def test_the_corpus_is_there() -> None:
    assert len(list(CORPUS.glob("*.line"))) >= 20 and list(CORPUS.glob("*.record"))


@pytest.mark.parametrize("path", sorted(CORPUS.iterdir()), ids=lambda p: p.name)
@pytest.mark.parametrize("profile", list(Profile))
def test_corpus(path: Path, profile: Profile) -> None:
    endpoint = path.name.split("--")[0]
    data = path.read_bytes()
    if path.suffix == ".record":
        found = check_record(ORACLES[profile], data, endpoint)
    else:
        found = ORACLES[profile].check(data, endpoint)
    assert [str(f) for f in found] == []
