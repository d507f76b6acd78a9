"""The checked-in sample cassettes are exactly what tests/data/make_cassettes.py builds."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from harness.cassette import Cassette
from harness.model import ENDPOINTS

ROOT = Path(__file__).resolve().parent.parent


def test_sample_cassettes_are_reproducible(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_cassettes", ROOT / "tests" / "data" / "make_cassettes.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build(tmp_path)
    assert len(built) == 3 + len(ENDPOINTS)
    synthetic = {Cassette(p).header.endpoint for p in built if p.parent.name == "synthetic"}
    assert synthetic == set(ENDPOINTS)  # a sample of every stream
    for path in built:
        rel = path.relative_to(tmp_path)
        assert (ROOT / "cassettes" / rel).read_bytes() == path.read_bytes(), rel
        labels = Cassette(path).header.labels
        assert labels["source"] in ("seed-example", "synthetic")
