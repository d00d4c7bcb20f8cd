"""ChatOpenRouter in five steps, from real OpenRouter answers.

    bash scripts/demo.sh                            # offline (no key needed)
    OPENROUTER_API_KEY=sk-or-... bash scripts/demo.sh   # the same steps, live

1. structured output: the method the catalog picks for a model that lists ``structured_outputs``
   and for one that lists only tools, and why;
2. a typed provider error, with its advice;
3. a streamed answer: the provider that served it, its tokens and its exact cost;
4. a routing profile, as it goes on the wire;
5. ``explain`` for a model under a provider restriction.

Offline, every answer is a real OpenRouter answer recorded by another project's test suite
(``cassettes/real/``, provenance in ``cassettes/README.md``), copied into
``examples/replay/answers.json`` and served on loopback by ``examples/replay_server.py``; the
catalog is the real snapshot shipped in the package. Only the runtime dependencies are used.
"""

from __future__ import annotations

import io
import json
import logging
import os
import sys
import tempfile
import textwrap
from contextlib import ExitStack
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # replay_server.py lives beside this file

ANSWERS = HERE / "replay" / "answers.json"
SCHEMA_MODEL = "openai/gpt-4o-mini"  # lists structured_outputs
TOOLS_MODEL = "anthropic/claude-3.7-sonnet"  # lists tools + tool_choice, not structured_outputs
ERROR_MODEL = "google/gemini-2.0-flash-exp:free"  # the recorded answer: 429 from Google
LIVE_ERROR_MODEL = "openai/gpt-4o-mnii"  # live: a typo, caught against the catalog
REASONING_MODEL = "anthropic/claude-sonnet-4.5"
WIDTH = 96

METHODS = {
    "json_schema": "json_schema  (response_format: a strict JSON schema)",
    "function_calling": "forced tool  (tools=[the schema] + tool_choice naming it)",
}


def say(text: str, indent: int = 3) -> None:
    pad = " " * indent
    for paragraph in text.splitlines() or [""]:
        print(textwrap.fill(paragraph, WIDTH, initial_indent=pad, subsequent_indent=pad) or "")


def heading(text: str) -> None:
    print(f"\n== {text}")


def cli(*argv: str) -> str:
    from langchain_openrouter_fenic._cli import main as cli_main

    out, err = io.StringIO(), io.StringIO()
    code = cli_main(list(argv), stdout=out, stderr=err)
    if code != 0:
        raise RuntimeError(f"explain {' '.join(argv)} exited {code}: {err.getvalue()}")
    return out.getvalue()


def describe(msg: Any) -> str:
    meta, usage = msg.response_metadata, msg.usage_metadata or {}
    reasoning = (usage.get("output_token_details") or {}).get("reasoning")
    cost = meta.get("cost")
    if cost is None:
        cost_text = "unknown"
    elif meta.get("cost_estimated"):
        cost_text = f"${cost:.6f} (estimated from catalog prices)"
    else:
        cost_text = f"${cost:.6f} (usage.cost, exact)"
    tokens = f"{usage.get('input_tokens')} in, {usage.get('output_tokens')} out"
    if reasoning:
        tokens += f" ({reasoning} of them reasoning)"
    return (
        f"served by {meta.get('provider')} as {meta.get('model_name')}; tokens {tokens}; "
        f"cost {cost_text}"
    )


class Demo:
    def __init__(self, *, base_url: str | None, api_key: str | None, replay: Any = None) -> None:
        self.base_url, self.api_key, self.replay = base_url, api_key, replay
        self.explain_flags = ["--offline"] if replay is not None else []

    def llm(self, model: str, **kwargs: Any) -> Any:
        from langchain_openrouter_fenic import ChatOpenRouter

        connection: dict[str, Any] = {"app_title": "langchain-openrouter-fenic demo"}
        if self.replay is not None:
            connection.update(base_url=self.base_url, api_key=self.api_key)
        return ChatOpenRouter(model=model, **connection, **kwargs)

    def structured_output(self) -> None:
        heading("1. Structured output: the catalog picks the method for each model")
        for model in (SCHEMA_MODEL, TOOLS_MODEL):
            strategy = json.loads(cli("explain", model, "--json", *self.explain_flags))["strategy"]
            say(f"{model:<30} -> {METHODS[strategy['method']]}")
            say(f"because {strategy['reason']}", indent=6)
        say(
            "llm.with_structured_output(Schema) sends that request; a model that lists neither "
            "raises StructuredOutputUnsupportedError before any request."
        )

    def provider_error(self) -> None:
        from langchain_openrouter_fenic import OpenRouterError

        heading("2. A typed provider error, with its advice")
        model = ERROR_MODEL if self.replay is not None else LIVE_ERROR_MODEL
        say(f"{model}.invoke('Tell me a joke.'), max_retries=0:")
        try:
            self.llm(model, max_retries=0).invoke("Tell me a joke.")
        except OpenRouterError as err:
            sent = err.status_code is not None
            facts = [
                f"status {err.status_code}" if sent else "raised before the chat request was sent",
                f"provider {err.provider_name!r}" if err.provider_name else "",
                f"retry_after {err.retry_after:g} s" if err.retry_after is not None else "",
            ]
            say(f"{type(err).__name__}: {', '.join(fact for fact in facts if fact)}")
            say(str(err), indent=6)
        else:
            say("(no error this time)")

    def streamed_answer(self) -> None:
        heading("3. A streamed answer: who served it, its tokens, its exact cost")
        llm = self.llm(REASONING_MODEL, reasoning_effort="low")
        say(f"{REASONING_MODEL}.stream('What is 2+2?'), reasoning_effort='low':")
        print("   > ", end="", flush=True)
        message, reasoning = None, ""
        for chunk in llm.stream("What is 2+2?"):
            reasoning += chunk.additional_kwargs.get("reasoning_content") or ""
            print(chunk.content, end="", flush=True)
            message = chunk if message is None else message + chunk
        print()
        if reasoning:
            say(f"(reasoning, streamed beside the text: {reasoning.strip()!r})")
        say(describe(message))

    def routing_profile(self) -> None:
        from langchain_openrouter_fenic import Profile, ProviderPreferences

        heading("4. A routing profile on the wire")
        deep = Profile(
            reasoning_effort="high",
            provider=ProviderPreferences(
                order=["amazon-bedrock", "anthropic"], data_collection="deny"
            ),
        )
        llm = self.llm(REASONING_MODEL, profiles={"deep": deep})
        say(
            "profiles={'deep': Profile(reasoning_effort='high', provider=ProviderPreferences("
            "order=['amazon-bedrock', 'anthropic'], data_collection='deny'))}"
        )
        reply = llm.with_profile("deep").invoke("Reply with the single word: ok")
        if self.replay is not None:
            sent, where = self.replay.requests[-1], "sent (as the replay server received it)"
        else:
            sent, where = deep.to_request_body(llm.model_info()), "sent"
        wire = {key: sent[key] for key in ("reasoning", "provider") if key in sent}
        say(f"{where}: {json.dumps(wire)}")
        say(f"> {reply.content}")
        say(describe(reply))

    def explain(self) -> None:
        heading(f"5. explain {TOOLS_MODEL} --provider-only anthropic,amazon-bedrock")
        text = cli(
            "explain",
            TOOLS_MODEL,
            "--provider-only",
            "anthropic,amazon-bedrock",
            *self.explain_flags,
        )
        for line in text.rstrip().splitlines():
            print(f"   {line}".rstrip())

    def run(self) -> None:
        self.structured_output()
        self.provider_error()
        self.streamed_answer()
        self.routing_profile()
        self.explain()


def main(argv: list[str]) -> int:
    # the library's own log lines (e.g. the rate limiter slowing down after a 429), shown inline
    logging.basicConfig(level=logging.WARNING, format="   [log] %(message)s", stream=sys.stdout)
    if os.environ.get("OPENROUTER_API_KEY"):
        print("live: OpenRouter, with OPENROUTER_API_KEY (this spends a few cents of credit)")
        Demo(base_url=None, api_key=None).run()
        return 0
    from replay_server import ReplayServer

    with ExitStack() as stack:
        # a catalog cache of its own: the replayed catalog never mixes with a real one
        cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-catalog-"))
        os.environ["LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"] = cache
        server = stack.enter_context(ReplayServer.from_file(ANSWERS))
        print("offline: real OpenRouter answers replayed on loopback (OPENROUTER_API_KEY is unset)")
        for answer in server.answers.values():
            say(f"{answer['purpose']}: {answer['cassette']}", indent=2)
        Demo(base_url=server.url, api_key="demo-replay-key", replay=server).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
