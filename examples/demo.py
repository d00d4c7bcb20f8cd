"""ChatOpenRouter in two turns: a streamed answer, then a tool-using exchange.

Live against OpenRouter when OPENROUTER_API_KEY is set (model: $DEMO_MODEL, default
openai/gpt-4o-mini); otherwise replayed offline from cassettes/emulator/demo.yaml.
Each answer prints the provider that served it, its tokens and its cost.

Re-record the offline cassette against the loopback emulator with:  python examples/demo.py --record
"""

from __future__ import annotations

import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASSETTE = ROOT / "cassettes" / "emulator" / "demo.yaml"
REPLAY_BASE_URL = "http://127.0.0.1:18766/api/v1"


def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"{city}: 18 °C, light rain"


def describe(msg: Any) -> str:
    meta, usage = msg.response_metadata, msg.usage_metadata or {}
    cost = meta.get("cost")
    cost_text = (
        "unknown"
        if cost is None
        else f"${cost:.6f}" + (" (estimated)" if meta.get("cost_estimated") else "")
    )
    return (
        f"served by {meta.get('provider')} ({meta.get('model_name')}); "
        f"tokens in/out {usage.get('input_tokens')}/{usage.get('output_tokens')}; cost {cost_text}"
    )


def run(llm: Any) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage

    print("== 1. a streamed answer")
    message = None
    for chunk in llm.stream("In one sentence: why is the sky blue?"):
        print(chunk.content, end="", flush=True)
        message = chunk if message is None else message + chunk
    print()
    print("   ", describe(message))

    print("== 2. a tool-using turn")
    with_tools = llm.bind_tools([get_weather])
    history: list[Any] = [HumanMessage("What is the weather in Paris? Use the get_weather tool.")]
    reply = with_tools.invoke(history)
    history.append(reply)
    for call in reply.tool_calls:
        print(f"    tool call: {call['name']}({call['args']})")
        history.append(ToolMessage(get_weather(**call["args"]), tool_call_id=call["id"]))
    print("   ", describe(reply))
    final = with_tools.invoke(history)
    print("   ", final.content)
    print("   ", describe(final))


def main(argv: list[str]) -> int:
    from langchain_openrouter_fenic import ChatOpenRouter

    model = os.environ.get("DEMO_MODEL", "openai/gpt-4o-mini")
    if os.environ.get("OPENROUTER_API_KEY") and "--record" not in argv:
        print(f"live: {model} via OpenRouter")
        run(ChatOpenRouter(model=model, app_title="langchain-openrouter-fenic demo"))
        return 0
    sys.path.insert(0, str(ROOT))
    os.environ["LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"] = tempfile.mkdtemp()
    from tests.conftest import project_vcr
    from tests.support.cassettes import json_body_matcher

    record = "--record" in argv
    recorder = project_vcr(
        record_mode="all" if record else "none", match_on=["method", "path", "json_body"]
    )
    recorder.register_matcher("json_body", json_body_matcher)
    with ExitStack() as stack:
        if record:
            from tests.support.cassettes import catalog_entries
            from tests.support.emulator import OpenRouterEmulator

            stack.enter_context(OpenRouterEmulator(port=18766, catalog=catalog_entries([model])))
        stack.enter_context(recorder.use_cassette(str(CASSETTE)))
        print(
            f"{'recording' if record else 'offline replay of'} {CASSETTE.relative_to(ROOT)} "
            "(set OPENROUTER_API_KEY to run live)"
        )
        run(ChatOpenRouter(model=model, api_key="demo-replay-key", base_url=REPLAY_BASE_URL))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
