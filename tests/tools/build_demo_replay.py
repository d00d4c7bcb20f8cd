"""Build the demo's replay set from the real cassettes, and paste the demo's output into README.

    .venv/bin/python tests/tools/build_demo_replay.py            # examples/replay/answers.json
    .venv/bin/python tests/tools/build_demo_replay.py --readme   # and README.md's demo output

The demo (examples/demo.py) runs with the runtime dependencies only, so it cannot read the
YAML cassettes itself: this tool copies the recorded answers it uses into one JSON file, byte
for byte. ``tests/unit_tests/test_demo.py`` checks that file and the README against a fresh
build, so neither can drift from the cassettes or the demo.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "examples" / "replay" / "answers.json"
README = ROOT / "README.md"
README_START = "<!-- demo-output:start (tests/tools/build_demo_replay.py --readme) -->"
README_END = "<!-- demo-output:end -->"

#: the cassettes/real/ answers the demo replays, by what the demo uses them for
DEMO_CASSETTES = {
    "a provider error": "test_openrouter_errors_raised-0",
    "a streamed answer": "test_openrouter_streaming_reasoning-0",
    "a routing profile": "test_openrouter_thinking_high_emits_effort_high-0",
}


def build() -> dict[str, Any]:
    answers, catalog = [], {}
    for purpose, name in DEMO_CASSETTES.items():
        path = ROOT / "cassettes" / "real" / f"{name}.yaml"
        cassette = yaml.safe_load(path.read_text())
        catalog_call, chat_call = cassette["interactions"]
        for entry in json.loads(catalog_call["response"]["body"]["string"])["data"]:
            catalog[entry["id"]] = entry
        request = json.loads(chat_call["request"]["body"])
        response = chat_call["response"]
        answers.append({
            "purpose": purpose,
            "cassette": str(path.relative_to(ROOT)),
            "source": cassette["x-source"]["id"],
            "model": request["model"],
            "stream": bool(request.get("stream")),
            "recorded_request": request,
            "status": response["status"]["code"],
            "content_type": response["headers"]["content-type"][0],
            "body": response["body"]["string"],
        })  # fmt: skip
    return {
        "about": "Real OpenRouter answers copied from cassettes/real/ (provenance: "
        "cassettes/README.md) by tests/tools/build_demo_replay.py; served by "
        "examples/replay_server.py. Do not edit by hand.",
        "answers": answers,
        "catalog_entries": [catalog[k] for k in sorted(catalog)],
    }


def render(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=1, ensure_ascii=False) + "\n"


def demo_output() -> str:
    """The offline demo's output, run as a user would (no key, a fresh catalog cache)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    with tempfile.TemporaryDirectory() as cache:
        env["LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"] = cache
        done = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "demo.py")],
            capture_output=True, text=True, env=env, cwd=ROOT, check=True, timeout=120,
        )  # fmt: skip
    return done.stdout + done.stderr


def readme_with(output: str, readme: str) -> str:
    start, end = readme.index(README_START), readme.index(README_END)
    block = f"{README_START}\n```text\n$ bash scripts/demo.sh\n{output.rstrip()}\n```\n"
    return readme[:start] + block + readme[end:]


def main(argv: list[str]) -> int:
    OUTPUT.write_text(render(build()))
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    if "--readme" in argv:
        README.write_text(readme_with(demo_output(), README.read_text()))
        print(f"pasted the demo's output into {README.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
