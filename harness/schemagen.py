"""JSON Schemas (draft 2020-12) generated from the object model.

One file per definition (`Tweet.json`, `Problem.json`, ...) and one event schema per
endpoint (`search-stream.event.json`), in two profiles: `default` lets unknown members
through (X adds fields without notice), `strict` refuses them so drift is caught. The
output is deterministic, so the checked-in `schemas/` can be compared byte for byte.
"""

from __future__ import annotations

import difflib
import enum
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from harness._choice import parse_choice
from harness.model import (
    DEFINITIONS,
    ENDPOINTS,
    Alias,
    AnyObj,
    Arr,
    Bool,
    Definition,
    Int,
    Num,
    Obj,
    Ref,
    Str,
    Tup,
    Type,
    Union_,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE_URI = "https://x-stream-harness.dev/schemas/"

Schema = dict[str, Any]


class Profile(enum.StrEnum):
    """How unknown object members are treated."""

    DEFAULT = "default"
    STRICT = "strict"

    @classmethod
    def parse(cls, value: str | Profile) -> Profile:
        return parse_choice(cls, value, "schema profile")

    @property
    def folder(self) -> str:
        """Where this profile's files live, relative to the schema root."""
        return "" if self is Profile.DEFAULT else "strict/"


def definition_file(name: str) -> str:
    return f"{name}.json"


def event_file(endpoint: str) -> str:
    return f"{endpoint}.event.json"


def schema_uri(filename: str, profile: Profile = Profile.DEFAULT) -> str:
    return f"{BASE_URI}{profile.folder}{filename}"


def type_schema(t: Type) -> Schema:
    """The schema of one declared type (references stay relative, within a profile)."""
    if isinstance(t, Str):
        s: Schema = {"type": "string"}
        if t.enum is not None:
            s["enum"] = list(t.enum)
        if t.pattern is not None:
            s["pattern"] = t.pattern
        if t.format is not None:
            s["format"] = t.format
        if t.min_length is not None:
            s["minLength"] = t.min_length
        if t.max_length is not None:
            s["maxLength"] = t.max_length
        return s
    if isinstance(t, (Int, Num)):
        s = {"type": "integer" if isinstance(t, Int) else "number"}
        if t.minimum is not None:
            s["minimum"] = t.minimum
        if t.maximum is not None:
            s["maximum"] = t.maximum
        return s
    if isinstance(t, Bool):
        return {"type": "boolean"}
    if isinstance(t, Arr):
        s = {"type": "array", "items": type_schema(t.items)}
        if t.min_items is not None:
            s["minItems"] = t.min_items
        if t.max_items is not None:
            s["maxItems"] = t.max_items
        return s
    if isinstance(t, Tup):
        n = len(t.items)
        return {
            "type": "array",
            "prefixItems": [type_schema(i) for i in t.items],
            "minItems": n,
            "maxItems": n,
        }
    if isinstance(t, Ref):
        if t.name not in DEFINITIONS:
            raise KeyError(f"reference to undeclared definition {t.name!r}")
        return {"$ref": definition_file(t.name)}
    if isinstance(t, AnyObj):
        return {"type": "object"}
    raise TypeError(f"not a model type: {t!r}")


def _object_schema(obj: Obj, profile: Profile) -> Schema:
    properties: Schema = {}
    for f in obj.fields:
        prop = type_schema(f.type)
        if f.doc:
            prop = {"description": f.doc, **prop}
        properties[f.name] = prop
    s: Schema = {"type": "object", "properties": properties}
    required = [f.name for f in obj.fields if f.required]
    if required:
        s["required"] = required
    if obj.require_any:
        s["anyOf"] = [{"required": [name]} for name in obj.require_any]
    if profile is Profile.STRICT:
        s["additionalProperties"] = False
    return s


def _union_schema(union: Union_) -> Schema:
    # if/then per variant rather than oneOf: a bad member of a subtype is reported at its
    # own pointer instead of as "not valid under any of the given schemas".
    tag = union.tag
    return {
        "type": "object",
        "required": [tag],
        "properties": {tag: {"enum": list(union.tags)}},
        "allOf": [
            {
                "if": {"required": [tag], "properties": {tag: {"enum": list(v.tags)}}},
                "then": {"$ref": definition_file(v.obj)},
            }
            for v in union.variants
        ],
    }


def definition_schema(d: Definition, profile: Profile) -> Schema:
    head: Schema = {
        "$schema": DIALECT,
        "$id": schema_uri(definition_file(d.name), profile),
        "title": d.name,
    }
    if d.doc:
        head["description"] = d.doc
    if isinstance(d, Obj):
        body = _object_schema(d, profile)
    elif isinstance(d, Union_):
        body = _union_schema(d)
    elif isinstance(d, Alias):
        body = type_schema(d.type)
    else:  # pragma: no cover - Definition is closed
        raise TypeError(d)
    return {**head, **body}


def event_schema(endpoint: str, profile: Profile) -> Schema:
    e = ENDPOINTS[endpoint]
    return {
        "$schema": DIALECT,
        "$id": schema_uri(event_file(e.name), profile),
        "title": f"{e.name} event",
        "description": f"One JSON line of {e.method} {e.path}.",
        "$ref": definition_file(e.event),
    }


@cache
def generate(profile: Profile = Profile.DEFAULT) -> Mapping[str, Schema]:
    """Every schema of one profile, keyed by file name relative to the profile folder."""
    out: dict[str, Schema] = {}
    for name, d in DEFINITIONS.items():
        out[definition_file(name)] = definition_schema(d, profile)
    for name in ENDPOINTS:
        out[event_file(name)] = event_schema(name, profile)
    return dict(sorted(out.items()))


def render(schema: Schema) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def rendered_tree() -> dict[str, str]:
    """Every file of every profile, relative path → text, as `schemas/` must hold them."""
    files: dict[str, str] = {}
    for profile in Profile:
        for filename, schema in generate(profile).items():
            files[profile.folder + filename] = render(schema)
    return files


def write_tree(out: Path) -> list[Path]:
    """Write every schema under `out`, removing stale generated files; returns the paths."""
    files = rendered_tree()
    written = []
    for rel, text in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    for stale in sorted(out.rglob("*.json")):
        if stale.relative_to(out).as_posix() not in files:
            stale.unlink()
    return written


def diff_tree(root: Path) -> list[str]:
    """What differs between `root` and the generated schemas, one entry per file."""
    expected = rendered_tree()
    found = {p.relative_to(root).as_posix(): p for p in root.rglob("*.json")} if root.is_dir() else {}
    problems: list[str] = []
    for rel, text in expected.items():
        if rel not in found:
            problems.append(f"missing: {rel}")
            continue
        actual = found[rel].read_text(encoding="utf-8")
        if actual != text:
            delta = difflib.unified_diff(
                actual.splitlines(), text.splitlines(), f"{rel} (checked in)", f"{rel} (model)", n=1, lineterm=""
            )
            problems.append(f"differs: {rel}\n" + "\n".join(list(delta)[:40]))
    problems += [f"stale: {rel} (not generated by the model)" for rel in sorted(set(found) - set(expected))]
    return problems
