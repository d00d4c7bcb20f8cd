"""The `explain` and `models` commands: offline from the snapshot, online against the emulator."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from langchain_openrouter_fenic._cli import main, render_table

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = json.loads((ROOT / "langchain_openrouter_fenic/data/catalog-snapshot.json").read_text())
RAW = {m["id"]: m for m in SNAPSHOT["data"]}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------------------------
# explain, offline (no key: the shipped snapshot)


def test_explain_json_schema_model_offline() -> None:
    code, out, _ = run("explain", "openai/gpt-4o")
    assert code == 0
    assert "Model       openai/gpt-4o  (OpenAI: GPT-4o)" in out
    assert f"snapshot of {SNAPSHOT['snapshot_date']}" in out
    assert "OPENROUTER_API_KEY is not set" in out
    assert "Context     128,000 tokens, max output 16,384" in out
    assert "USD per million tokens: 2.5 in / 10 out" in out
    assert "Strategy    json_schema" in out
    assert "Recovery    a 404" in out
    assert "no endpoint data offline" in out


def test_explain_forced_tool_model_with_routing_offline() -> None:
    code, out, _ = run(
        "explain", "anthropic/claude-3.7-sonnet", "--provider-only", "anthropic,amazon-bedrock"
    )
    assert code == 0
    assert "Strategy    function_calling" in out
    assert "tools+tool_choice but not structured_outputs" in out
    assert "only=anthropic,amazon-bedrock" in out
    assert "3 in / 15 out / 0.3 cache read" in out
    assert "Recovery" not in out  # nothing to fall back to


def test_explain_unsupported_model_offline() -> None:
    code, out, _ = run("explain", "google/gemma-3-27b-it:free")
    assert code == 0
    assert "Strategy    none (with_structured_output raises)" in out
    assert 'method="json_mode"' in out.replace("\n            ", " ")


def test_explain_prefer_tools_switches_a_model_listing_both() -> None:
    assert "Strategy    json_schema" in run("explain", "openai/gpt-4o")[1]
    assert "Strategy    function_calling" in run("explain", "openai/gpt-4o", "--prefer-tools")[1]


def test_explain_json_is_machine_readable() -> None:
    code, out, _ = run("explain", "openai/gpt-4o", "--json", "--provider-exclude", "azure")
    report = json.loads(out)
    assert code == 0
    assert report["model"] == "openai/gpt-4o"
    assert report["catalog"] == {
        "source": "snapshot",
        "snapshot_date": SNAPSHOT["snapshot_date"],
        "note": "OPENROUTER_API_KEY is not set",
    }
    assert report["prices_per_million"] == {"prompt": 2.5, "completion": 10.0, "cache_read": None}
    assert report["strategy"]["method"] == "json_schema"
    assert report["routing"] == {"only": [], "exclude": ["azure"],
                                 "provider": {"ignore": ["azure"]},
                                 "restrictions": ["exclude=['azure']"],
                                 "structured_output_strategy": "auto"}  # fmt: skip
    assert report["routing_warnings"] == []
    assert report["endpoints"] is None
    assert report["supported_parameters"] == sorted(RAW["openai/gpt-4o"]["supported_parameters"])


def test_explain_unknown_model_names_close_ids() -> None:
    code, out, err = run("explain", "openai/gpt4o")
    assert (code, out) == (1, "")
    assert "Unknown model 'openai/gpt4o'" in err and "openai/gpt-4o" in err


def test_usage_errors_and_help_return_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("frobnicate")[0] == 2
    assert run("--help")[0] == 0
    assert "explain" in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# models


def test_models_supports_filter_matches_the_catalog() -> None:
    code, out, _ = run("models", "--supports", "structured_outputs,tools", "--json")
    listed = [m["id"] for m in json.loads(out)["models"]]
    expected = sorted(
        i
        for i, m in RAW.items()
        if {"structured_outputs", "tools"} <= set(m["supported_parameters"])
    )
    assert code == 0
    assert listed == expected
    assert len(listed) == 206


def test_models_unknown_supports_name_is_a_usage_error_with_close_names() -> None:
    code, out, err = run("models", "--supports", "structured_output")
    assert (code, out) == (2, "")
    assert "no model lists the parameter 'structured_output'" in err
    assert "(did you mean structured_outputs?)" in err
    assert "Parameters in the snapshot catalog: " in err and "tool_choice" in err


def test_models_unknown_supports_names_are_all_reported() -> None:
    code, _, err = run("models", "--supports", "tools,toolz,frobnication")
    assert code == 2
    assert "'toolz' (did you mean tools?)" in err
    assert "'frobnication'." in err or "'frobnication';" in err  # no close name: none made up
    assert "'tools'" not in err.split("Parameters in")[0]  # a known name is not reported


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["--help"], ["models", "--help"], ["explain", "--help"]):
        assert run(*argv)[0] == 0
        text = capsys.readouterr().out
        assert "exit status:" in text, argv
        assert "2    usage error" in text and "unknown --supports parameter" in text
        assert "1    explain: the model id is not in the catalog" in text
        assert "141  the output was closed" in text


@pytest.mark.parametrize(
    ("value", "problem"),
    [("-1", "'-1': a price is a number of USD per million tokens, 0 or more"),
     ("nan", "'nan': a price is a number"),
     ("cheap", "'cheap' is not a number")],
)  # fmt: skip
def test_models_a_bad_price_cap_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], value: str, problem: str
) -> None:
    code, out, _ = run("models", "--max-prompt-price", value)
    assert (code, out) == (2, "")
    err = capsys.readouterr().err  # argparse writes to the process's stderr
    assert f"argument --max-prompt-price: {problem}" in err


def test_explain_contradictory_routing_is_a_usage_error_before_any_lookup() -> None:
    code, out, err = run(
        "explain", "openai/gpt-4o", "--provider-only", "azure", "--provider-exclude", "Azure"
    )
    assert (code, out) == (2, "")
    assert err.startswith("langchain-openrouter-fenic explain: error: only and exclude both name")
    assert "'azure'" in err and "remove it from one of them" in err


def test_a_reader_that_leaves_early_ends_the_command_quietly() -> None:
    # the reading end is closed before the command starts, so its first write finds no reader
    read_end, write_end = os.pipe()
    os.close(read_end)
    env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    try:
        done = subprocess.run(
            [sys.executable, "-m", "langchain_openrouter_fenic", "models", "--offline"],
            stdout=write_end, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env, timeout=60,
            check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, "")


def test_models_price_cap_is_per_million_tokens() -> None:
    rows = json.loads(run("models", "--max-prompt-price", "0.1", "--json")[1])["models"]
    assert rows
    assert all(r["prompt_per_million"] is not None and r["prompt_per_million"] <= 0.1 for r in rows)
    expected = {
        i for i, m in RAW.items() if 0 <= float(m["pricing"]["prompt"]) * 1_000_000 <= 0.1 + 1e-9
    }
    assert {r["id"] for r in rows} == expected


def test_models_table_is_aligned_and_shows_the_catalog() -> None:
    code, out, _ = run("models", "--supports", "structured_outputs", "--max-prompt-price", "0.05")
    lines = out.splitlines()
    assert code == 0
    assert lines[0].split() == ["MODEL", "CONTEXT", "IN", "$/M", "OUT", "$/M", "STRUCTURED",
                                "OUTPUT"]  # fmt: skip
    assert set(lines[1]) <= {"-", " "}
    widths = {len(line) for line in lines[2:-1]}
    assert len(widths) == 1  # every row as wide as the others: right-aligned numbers
    assert lines[-1].startswith(f"{len(lines) - 3} model(s); catalog: snapshot of")


def test_render_table_alignment() -> None:
    table = render_table(["A", "NUM"], [["x", "1"], ["long", "1,000"]], right={1})
    assert table.splitlines() == ["A       NUM", "----  -----", "x         1", "long  1,000"]


# --------------------------------------------------------------------------------------------
# online: the live catalog and /endpoints (loopback emulator), and an unreachable OpenRouter


@pytest.fixture
def online(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from tests.support.emulator import OpenRouterEmulator

    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


def test_explain_online_lists_providers_and_what_each_supports(online: Any) -> None:
    code, out, _ = run("explain", "openai/gpt-4o-mini", "--base-url", online.url,
                       "--provider-exclude", "azure")  # fmt: skip
    assert code == 0
    assert "Catalog     live" in out
    assert "Providers (3, from /endpoints):" in out
    header = next(line for line in out.splitlines() if line.startswith("PROVIDER"))
    assert header.split()[-4:] == ["TOOLS+CHOICE", "ALLOWED", "UPTIME", "30M"]
    azure = next(line for line in out.splitlines() if line.startswith("Azure"))
    assert azure.split()[-2] == "no"  # ALLOWED: excluded
    assert "2/2 allowed providers support structured_outputs" in out
    assert online.count("/endpoints") == 1
    assert online.chat_requests() == []


def test_explain_online_json_endpoints(online: Any) -> None:
    report = json.loads(run("explain", "openai/gpt-4o-mini", "--base-url", online.url,
                            "--provider-only", "openai", "--json")[1])  # fmt: skip
    assert report["catalog"]["source"] == "live"
    allowed = {e["provider"]: e["allowed"] for e in report["endpoints"]}
    assert allowed == {"OpenAI": True, "Azure": False, "Novita": False}
    assert report["endpoints"][0]["prompt_per_million"] == 0.15
    assert report["strategy"]["source"] == "endpoints"


def test_explain_online_names_a_misspelt_provider(online: Any) -> None:
    code, out, _ = run("explain", "openai/gpt-4o-mini", "--base-url", online.url,
                       "--provider-only", "OpenAl,azure")  # fmt: skip
    assert code == 0
    warning = next(line for line in out.splitlines() if line.startswith("Warning"))
    assert "'OpenAl' (did you mean 'OpenAI'?) matches no provider" in warning
    assert "Strategy    json_schema" in out  # Azure is still allowed


def test_explain_online_says_when_the_routing_leaves_no_endpoint(online: Any) -> None:
    code, out, _ = run("explain", "openai/gpt-4o-mini", "--base-url", online.url,
                       "--provider", '{"only": ["OpenAl"]}')  # fmt: skip
    assert code == 0
    assert "Strategy    none: the routing leaves no endpoint" in out
    why = " ".join(line.strip() for line in out.split("Why", 1)[1].split("\n\n")[0].splitlines())
    assert "OpenAI (openai), Azure (azure), Novita (novita" in why
    assert "did you mean 'OpenAI'?" in why
    assert online.chat_requests() == []


@pytest.mark.parametrize(
    ("provider", "allowed"),
    [
        ('{"quantizations": ["fp8"]}', {"OpenAI": False, "Azure": False, "Novita": True}),
        ('{"max_price": {"prompt": 0.1}}', {"OpenAI": False, "Azure": False, "Novita": False}),
        ('{"order": ["azure"], "allow_fallbacks": false}',
         {"OpenAI": False, "Azure": True, "Novita": False}),
    ],
)  # fmt: skip
def test_explain_online_applies_every_endpoint_filter(
    online: Any, provider: str, allowed: dict[str, bool]
) -> None:
    report = json.loads(run("explain", "openai/gpt-4o-mini", "--base-url", online.url,
                            "--provider", provider, "--json")[1])  # fmt: skip
    assert {e["provider"]: e["allowed"] for e in report["endpoints"]} == allowed
    if not any(allowed.values()):
        assert report["strategy"]["error"] == "NoAllowedProvidersError"


def test_explain_provider_json_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, _err = run("explain", "openai/gpt-4o", "--provider", '{"excludes": ["x"]}')
    assert code == 2  # argparse prints the usage error itself
    printed = capsys.readouterr().err
    assert "argument --provider" in printed and "Did you mean exclude?" in printed


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_openrouter_falls_back_to_the_snapshot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-test")
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    code, out, _ = run("explain", "openai/gpt-4o", "--base-url", url, "--json")
    report = json.loads(out)
    assert code == 0
    assert report["catalog"]["source"] == "snapshot"
    assert url in report["catalog"]["note"]
    assert report["strategy"]["method"] == "json_schema"


def test_module_entry_point_runs() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENROUTER_API_KEY"}
    done = subprocess.run(
        [sys.executable, "-m", "langchain_openrouter_fenic", "models", "--supports",
         "structured_outputs", "--max-prompt-price", "0.02", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["catalog"]["source"] == "snapshot"
