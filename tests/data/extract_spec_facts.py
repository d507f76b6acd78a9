"""Extracts the stream endpoints' facts from the X API OpenAPI documents into
`stream_spec_facts.json` (run by hand: python tests/data/extract_spec_facts.py SPEC_DIR).

The tests read the checked-in JSON, never the specs: the project does not need the specs
at run or test time. SPEC_DIR holds openapi-2.166.json and openapi-2.167.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VERSIONS = ("2.166", "2.167")
# the data schemas whose `oneOf` members each require one key: the event kinds
KIND_SCHEMAS = {
    "2.166": {
        "tweets-compliance": "TweetComplianceData",
        "users-compliance": "UserComplianceData",
        "tweets-label": "TweetLabelData",
    },
    "2.167": {
        "tweets-compliance": "PostComplianceData",
        "users-compliance": "UserComplianceData",
        "tweets-label": "PostLabelData",
    },
}


def _param(doc: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in p:
        p = doc["components"]["parameters"][p["$ref"].rsplit("/", 1)[1]]
    schema = p["schema"]
    out: dict[str, Any] = {"name": p["name"], "required": bool(p.get("required", False))}
    for key in ("minimum", "maximum", "format"):
        if key in schema:
            out[key] = schema[key]
    if "items" in schema:
        out["enum"] = schema["items"]["enum"]
    return out


def _ref(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


def extract(spec_dir: Path) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for version in VERSIONS:
        doc = json.loads((spec_dir / f"openapi-{version}.json").read_text(encoding="utf-8"))
        endpoints = {}
        for path, ops in sorted(doc["paths"].items()):
            get = ops.get("get")
            if not get or (not path.endswith("/stream") and "/stream/lang/" not in path):
                continue
            response = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
            endpoints[path] = {
                "operationId": get["operationId"],
                "params": [_param(doc, p) for p in get.get("parameters", [])],
                "response": response.rsplit("/", 1)[1],
            }
        kinds: dict[str, Any] = {}
        for short, name in KIND_SCHEMAS[version].items():
            kinds[short] = [_ref(doc, ref["$ref"].rsplit("/", 1)[1])["required"][0] for ref in _ref(doc, name)["oneOf"]]
        payload = _ref(doc, "ActivityStreamingResponsePayload")["discriminator"]["mapping"]
        kinds["activity"] = {tag: ref.rsplit("/", 1)[1] for tag, ref in sorted(payload.items())}
        facts[version] = {"info_version": doc["info"]["version"], "endpoints": endpoints, "event_kinds": kinds}
    return facts


if __name__ == "__main__":
    out = HERE / "stream_spec_facts.json"
    out.write_text(json.dumps(extract(Path(sys.argv[1])), indent=1) + "\n", encoding="utf-8")
    print(out)
