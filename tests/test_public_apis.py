"""The recorder reads other packages through their public APIs only (issue 12): no `obj._private`
on anything but its own `self`, no private module of another package imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import harness

RECORDER_MODULES = ("recorder", "_segment", "_response", "_http_client", "_redact", "backoff", "_cli_stream")


def _private_reads(source: str) -> list[str]:
    tree = ast.parse(source)
    own = {"self", "cls"}
    # names bound to harness's own modules (`from harness import _response as _diagnose`)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "harness":
            own |= {a.asname or a.name for a in node.names}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in own):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "hasattr", "setattr")
            and len(node.args) > 1
            and isinstance(node.args[1], ast.Constant)
            and str(node.args[1].value).startswith("_")
            and not str(node.args[1].value).startswith("__")
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.ImportFrom) and node.module and not node.module.startswith("harness"):
            if any(part.startswith("_") for part in node.module.split(".")) and node.module != "__future__":
                found.append(f"line {node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Import):
            found += [f"line {node.lineno}: import {a.name}" for a in node.names
                      if any(p.startswith("_") for p in a.name.split("."))]  # fmt: skip
    return found


@pytest.mark.parametrize("module", RECORDER_MODULES)
def test_the_recorder_reads_no_private_attribute_of_another_package(module: str) -> None:
    path = Path(harness.__file__).parent / f"{module}.py"
    assert _private_reads(path.read_text()) == []


def test_the_check_sees_private_reads() -> None:
    assert _private_reads("def f(resp):\n    return resp.raw._fp.fp.read1") == ["line 2: resp.raw._fp"]
    assert _private_reads("import re._parser\n") == ["line 1: import re._parser"]
    assert _private_reads("getattr(raw, '_fp', None)") == ["line 1: getattr(raw, '_fp', None)"]
    assert _private_reads("def f(self):\n    return self._x\n") == []
