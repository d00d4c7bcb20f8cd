"""Turn the public OpenRouter recordings into this project's vcrpy cassettes.

    python tests/tools/import_real_recordings.py ../shared/openrouter-recordings/recordings.jsonl \
        ../shared/openrouter-recordings/catalog-2026-05-01.json cassettes/real

Each chat-completion recording becomes ``cassettes/real/<name>.yaml`` with two interactions: the
model's catalog entry (``GET /models/user``, from the real catalog snapshot, or a minimal entry
marked ``"x-synthesized": true`` when the model has left the catalog) and the recorded
``POST /chat/completions`` answer, byte for byte except that account ids (``user_id``) are
removed. Provenance (source repository and path) is kept in each cassette's ``x-source`` entry.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

BASE = "https://openrouter.ai/api/v1"


def scrub(body: str) -> str:
    """Remove account ids; keep everything else exactly as sent (leading padding included)."""
    return re.sub(r',\s*"user_id"\s*:\s*"[^"]*"', "", body)


def catalog_entry(model: str, catalog: dict[str, dict]) -> dict:
    if model in catalog:
        return catalog[model]
    return {
        "id": model,
        "name": model,
        "context_length": 128000,
        "x-synthesized": True,
        "pricing": {"prompt": "0.000001", "completion": "0.000002"},
        "architecture": {
            "input_modalities": ["text", "image", "file"],
            "output_modalities": ["text"],
        },
        "top_provider": {"context_length": 128000, "max_completion_tokens": 16384},
        "supported_parameters": [
            "max_tokens",
            "temperature",
            "tools",
            "tool_choice",
            "response_format",
            "structured_outputs",
            "reasoning",
            "include_reasoning",
        ],
    }


def cassette_name(rec_id: str) -> str:
    name = rec_id.split("/")[-1]
    name = re.sub(r"\.yaml#", "-", name)
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:120]


def main(recordings: str, catalog_path: str, out_dir: str) -> int:
    catalog = {m["id"]: m for m in json.loads(Path(catalog_path).read_text())}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for line in Path(recordings).read_text().splitlines():
        rec = json.loads(line)
        req, resp = rec["request"], rec["response"]
        if req["method"] != "POST" or not req["url"].split("?")[0].endswith("/chat/completions"):
            continue
        model = (req.get("body") or {}).get("model") or "openai/gpt-4o"
        models_body = json.dumps({"data": [catalog_entry(model, catalog)]})
        cassette = {
            "x-source": {"id": rec["id"], "repository_path": rec["source"]},
            "interactions": [
                {
                    "request": {
                        "method": "GET",
                        "uri": f"{BASE}/models/user",
                        "body": None,
                        "headers": {},
                    },
                    "response": {
                        "status": {"code": 200, "message": "OK"},
                        "headers": {"content-type": ["application/json"]},
                        "body": {"string": models_body},
                    },
                },
                {
                    "request": {
                        "method": "POST",
                        "uri": f"{BASE}/chat/completions",
                        "body": json.dumps(req.get("body"), sort_keys=True),
                        "headers": {},
                    },
                    "response": {
                        "status": {"code": resp["status"], "message": ""},
                        "headers": {"content-type": [resp["content_type"] or "application/json"]},
                        "body": {"string": scrub(resp["body"])},
                    },
                },
            ],
            "version": 1,
        }
        path = out / f"{cassette_name(rec['id'])}.yaml"
        path.write_text(yaml.safe_dump(cassette, sort_keys=False, allow_unicode=True, width=1000))
        count += 1
    print(f"wrote {count} cassettes to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
