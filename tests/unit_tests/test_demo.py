"""The demo: offline from real recorded answers, runtime dependencies only, README kept true."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.emulator import running_emulator
from tests.tools import build_demo_replay

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

# distributions the demo must not need (dev extras, the project's tests); yaml is not ours either
DEV_ONLY = ("pytest", "_pytest", "vcr", "yaml", "tests", "langchain_tests", "langgraph", "mypy")

_GUARDED_RUN = """
import importlib.abc, runpy, sys
BLOCKED = set(sys.argv[1].split(","))
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ImportError(f"the demo imported {name}, which is not a runtime dependency")
        return None
sys.meta_path.insert(0, Block())
sys.argv = [sys.argv[2]]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
    env["LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"] = str(tmp_path_factory.mktemp("demo-cache"))
    done = subprocess.run(
        [sys.executable, "-c", _GUARDED_RUN, ",".join(DEV_ONLY), str(EXAMPLES / "demo.py")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_replay_set_is_the_cassettes_byte_for_byte() -> None:
    committed = (EXAMPLES / "replay" / "answers.json").read_text()
    assert committed == build_demo_replay.render(build_demo_replay.build()), (
        "examples/replay/answers.json is stale: run tests/tools/build_demo_replay.py"
    )


def test_the_demo_shows_every_feature_offline(demo_output: str) -> None:
    out = " ".join(demo_output.split())  # wrapping does not matter here
    # 1. the catalog's choice for a structured_outputs model and for a tools-only one, and why
    assert "openai/gpt-4o-mini -> json_schema" in out
    assert "because the model lists structured_outputs" in out
    assert "anthropic/claude-3.7-sonnet -> forced tool" in out
    assert "because the model lists tools+tool_choice but not structured_outputs" in out
    # 2. a typed provider error and its advice (the recorded 429 from Google)
    assert "RateLimitError: status 429, provider 'Google'" in out
    assert "pass provider=ProviderPreferences(exclude=['Google'])" in out
    assert "use a paid (non-:free) model" in out
    # 3. a streamed answer: who served it, tokens, exact cost (the recorded usage)
    assert "> 2 + 2 = 4" in out
    assert "served by Google as anthropic/claude-sonnet-4.5; tokens 43 in, 36 out" in out
    assert "cost $0.000669 (usage.cost, exact)" in out
    # 4. the routing profile as the server received it
    assert '{"reasoning": {"effort": "high"}, "provider": {"order": ["amazon-bedrock",' in out
    assert '"data_collection": "deny"}}' in out
    assert "served by Amazon Bedrock" in out
    # 5. explain
    assert "Strategy function_calling" in out
    assert "Routing only=anthropic,amazon-bedrock" in out


def test_the_readme_shows_the_demo_as_it_runs(demo_output: str) -> None:
    readme = (ROOT / "README.md").read_text()
    assert build_demo_replay.readme_with(demo_output, readme) == readme, (
        "README.md's demo output differs from the demo's: run "
        "`.venv/bin/python tests/tools/build_demo_replay.py --readme`"
    )


@pytest.mark.parametrize("script", ["demo.py", "replay_server.py"])
def test_the_demo_sources_import_no_dev_dependency(script: str) -> None:
    tree = ast.parse((EXAMPLES / script).read_text())
    imported = {
        alias.name.partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.partition(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not imported & set(DEV_ONLY)


def test_the_live_path_runs_every_step_against_the_service(tmp_path: Path) -> None:
    # with a key the demo talks to OpenRouter itself; here the emulator stands in for it
    key = "sk-or-v1-" + "d3" * 32
    with running_emulator(api_key=key) as service:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENROUTER_")}
        env.update(
            OPENROUTER_API_KEY=key,
            OPENROUTER_API_BASE=service.url,
            LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR=str(tmp_path),
        )
        done = subprocess.run(
            [sys.executable, "-c", _GUARDED_RUN, ",".join(DEV_ONLY), str(EXAMPLES / "demo.py")],
            capture_output=True,
            text=True,
            env=env,
            cwd=ROOT,
            timeout=120,
        )
        chats = [r.json for r in service.chat_requests()]
        url = service.url
    assert done.returncode == 0, done.stdout + done.stderr
    out = " ".join(done.stdout.split())
    assert out.startswith("live: OpenRouter, with OPENROUTER_API_KEY")
    # 1. the catalog's choice, from the live catalog and /endpoints
    assert "openai/gpt-4o-mini -> json_schema" in out
    assert "anthropic/claude-3.7-sonnet -> forced tool" in out
    # 2. the live error is a typo, caught against the catalog before a chat request, with advice
    assert "ModelNotFoundError: raised before the chat request was sent" in out
    assert "Close ids: openai/gpt-4o-mini" in out
    # 3. the stream and 4. the profile, as the service received them
    assert "served by Emulated as anthropic/claude-sonnet-4.5" in out
    assert "cost $0." in out and "(usage.cost, exact)" in out
    assert [c["model"] for c in chats] == ["anthropic/claude-sonnet-4.5"] * 2
    assert chats[0]["stream"] is True and chats[0]["reasoning"] == {"effort": "low"}
    assert chats[1]["reasoning"] == {"effort": "high"}
    assert chats[1]["provider"] == {
        "order": ["amazon-bedrock", "anthropic"],
        "data_collection": "deny",
    }
    # 5. explain, live: the providers from /endpoints
    assert "Catalog live, from " + url in out
    assert "Providers (3, from /endpoints)" in out
    assert " None" not in out and key not in done.stdout + done.stderr
