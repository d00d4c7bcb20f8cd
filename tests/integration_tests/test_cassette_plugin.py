"""The cassette-testing plugin as a user meets it: a small suite recorded against the emulator,
then replayed with the emulator gone -- whole, each test alone, reversed -- and the failures a
user must understand (a changed request, a catalog answer the file lacks).

The user's suite runs in pytester (inline: the same process, a fresh pytest session each time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.emulator import OpenRouterEmulator, running_emulator

pytest_plugins = ["pytester"]

KEY = "sk-or-v1-" + "5e" * 32
PROMPT = 'Tell me a joke with setup "Why?" and punchline "Because."'
QUIET = ["-p", "no:randomly", "-p", "no:socket", "-q"]

USER_SUITE = """
import os

import pytest
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter


class Joke(BaseModel):
    setup: str
    punchline: str


def llm(model="openai/gpt-4o-mini"):
    return ChatOpenRouter(
        model=model, base_url=os.environ["USER_SUITE_URL"], api_key=os.environ["USER_SUITE_KEY"]
    )


@pytest.mark.vcr
@pytest.mark.openrouter_cassette
def test_structured():
    joke = llm().with_structured_output(Joke).invoke(os.environ["USER_SUITE_PROMPT"])
    assert joke == Joke(setup="Why?", punchline="Because.")


@pytest.mark.openrouter_cassette  # the marker alone: pytest-recording's cassette is implied
def test_plain():
    assert llm("deepseek/deepseek-chat").invoke("Say hi").content == "You said: Say hi"


def test_fixture(openrouter_cassette):  # the fixture alone, same effect
    assert llm().invoke("Say ho").content == "You said: Say ho"
    assert [r.method for r in openrouter_cassette.cassette.requests] == ["POST"]
"""


@pytest.fixture
def emulator() -> Iterator[OpenRouterEmulator]:
    with running_emulator(api_key=KEY) as server:
        yield server


@pytest.fixture
def user_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makepyfile(test_user=USER_SUITE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    monkeypatch.setenv("USER_SUITE_KEY", KEY)
    monkeypatch.setenv("USER_SUITE_PROMPT", PROMPT)
    return pytester


def _record(suite: pytest.Pytester, emulator: OpenRouterEmulator, *args: str) -> Any:
    os.environ["USER_SUITE_URL"] = emulator.url
    result = suite.runpytest(*QUIET, "--record-mode=rewrite", *args)
    result.assert_outcomes(passed=3)
    return result


def _files(suite: pytest.Pytester) -> dict[str, str]:
    root = suite.path / "cassettes"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def recorded(user_suite: pytest.Pytester, emulator: OpenRouterEmulator) -> pytest.Pytester:
    """The user's suite recorded, then the emulator stopped: replays have no server at all."""
    _record(user_suite, emulator)
    emulator.stop()
    return user_suite


def test_recording_writes_chat_only_cassettes_and_one_small_catalog(
    user_suite: pytest.Pytester, emulator: OpenRouterEmulator
) -> None:
    _record(user_suite, emulator)
    files = _files(user_suite)
    assert set(files) == {
        "openrouter-catalog.json",
        "test_user/test_structured.yaml",
        "test_user/test_plain.yaml",
        "test_user/test_fixture.yaml",
    }
    for name, text in files.items():
        assert KEY not in text and "authorization" not in text.lower(), name
        if name.endswith(".yaml"):
            uris = [i["request"]["uri"] for i in yaml.safe_load(text)["interactions"]]
            assert uris == [emulator.url + "/chat/completions"], name
            assert len(text) < 10_000, name
    catalog = json.loads(files["openrouter-catalog.json"])["answers"]
    listing = catalog["/models/user?output_modalities=all"]["body"]["data"]
    assert sorted(e["id"] for e in listing) == ["deepseek/deepseek-chat", "openai/gpt-4o-mini"]
    assert set(catalog) == {
        "/models/user?output_modalities=all",
        "/models/openai/gpt-4o-mini/endpoints",
    }
    assert len(files["openrouter-catalog.json"]) < 20_000
    # the emulator saw three catalog loads (one per test: nothing shared between tests)
    assert emulator.count("/models/user") == 3


def test_replays_pass_whole_alone_and_reversed_with_no_server(recorded: pytest.Pytester) -> None:
    before = _files(recorded)
    recorded.runpytest(*QUIET).assert_outcomes(passed=3)
    for name in ("test_structured", "test_fixture"):
        recorded.runpytest(*QUIET, f"test_user.py::{name}").assert_outcomes(passed=1)
    reversed_ids = [f"test_user.py::{n}" for n in ("test_fixture", "test_plain", "test_structured")]
    recorded.runpytest(*QUIET, *reversed_ids).assert_outcomes(passed=3)
    assert _files(recorded) == before  # a replay writes nothing


def test_a_changed_request_fails_with_what_changed_and_how_to_rerecord(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("USER_SUITE_PROMPT", PROMPT.replace("Because.", "Just because."))
    # -rN: no short summary, which repeats the message in full where CI is set
    result = recorded.runpytest(*QUIET, "-rN", "test_user.py::test_structured")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "test_user.py::test_structured sent requests that its cassette does not hold" in text
    assert "POST http://127.0.0.1:" in text and "/chat/completions" in text
    assert "body differs at $.messages[0].content" in text
    assert "pytest test_user.py::test_structured --record-mode=rewrite" in text
    assert text.count("POST http://127.0.0.1:") == 1  # the retries of one request: one line


def test_after_a_run_one_command_re_records_every_test_that_missed(
    recorded: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two tests whose requests changed (as after an upgrade that builds requests differently)
    monkeypatch.setenv("USER_SUITE_PROMPT", PROMPT + " ")
    plain = recorded.path / "cassettes" / "test_user" / "test_plain.yaml"
    doc = yaml.safe_load(plain.read_text())
    request = doc["interactions"][0]["request"]
    request["body"] = request["body"].replace('"Say hi"', '"Say hi there"')
    plain.write_text(yaml.safe_dump(doc))
    result = recorded.runpytest(*QUIET, "-rN")
    result.assert_outcomes(passed=1, failed=2)
    summary = result.stdout.str().split("openrouter cassettes", 1)[1].splitlines()
    assert summary[1:4] == [
        "2 replayed test(s) sent requests that their cassettes do not hold:",
        "  test_user.py::test_structured",
        "  test_user.py::test_plain",
    ]
    assert "an upgraded langchain-openrouter-fenic" in summary[4]
    command = "pytest test_user.py::test_structured test_user.py::test_plain --record-mode=rewrite"
    assert summary[5] == f"  {command}"


def test_a_run_without_misses_prints_no_summary(recorded: pytest.Pytester) -> None:
    result = recorded.runpytest(*QUIET)
    result.assert_outcomes(passed=3)
    assert "openrouter cassettes" not in result.stdout.str()


def test_a_catalog_answer_missing_from_the_file_fails_the_test(recorded: pytest.Pytester) -> None:
    path = recorded.path / "cassettes" / "openrouter-catalog.json"
    doc = json.loads(path.read_text())
    del doc["answers"]["/models/openai/gpt-4o-mini/endpoints"]
    path.write_text(json.dumps(doc))
    # with_structured_output survives a failed /endpoints (model-level rule): the test would
    # pass, yet the replay is not the recording, so the plugin fails it
    result = recorded.runpytest(*QUIET, "test_user.py::test_structured")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "GET /models/openai/gpt-4o-mini/endpoints (catalog)" in text
    assert "--record-mode=rewrite" in text


def test_without_pytest_recording_the_plugin_opens_its_own_cassettes(
    user_suite: pytest.Pytester, emulator: OpenRouterEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_suite.makepyfile(test_user=USER_SUITE.replace("@pytest.mark.vcr\n", ""))
    os.environ["USER_SUITE_URL"] = emulator.url
    monkeypatch.setenv("LANGCHAIN_OPENROUTER_FENIC_RECORD_MODE", "rewrite")
    user_suite.runpytest(*QUIET, "-p", "no:recording").assert_outcomes(passed=3)
    assert "test_user/test_plain.yaml" in _files(user_suite)
    emulator.stop()
    monkeypatch.setenv("LANGCHAIN_OPENROUTER_FENIC_RECORD_MODE", "none")
    user_suite.runpytest(*QUIET, "-p", "no:recording").assert_outcomes(passed=3)
    monkeypatch.setenv("USER_SUITE_PROMPT", "something else")
    result = user_suite.runpytest(*QUIET, "-p", "no:recording", "test_user.py::test_structured")
    result.assert_outcomes(failed=1)
    assert "LANGCHAIN_OPENROUTER_FENIC_RECORD_MODE=rewrite pytest" in result.stdout.str()


def test_the_plugin_leaves_other_tests_alone(
    pytester: pytest.Pytester, emulator: OpenRouterEmulator
) -> None:
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        test_other=f'''
        import pytest
        from langchain_openrouter_fenic import ChatOpenRouter

        @pytest.mark.vcr
        def test_other():
            llm = ChatOpenRouter(model="openai/gpt-4o-mini", base_url="{emulator.url}",
                                 api_key="{KEY}")
            llm.with_structured_output({{"title": "T", "type": "object",
                "properties": {{"a": {{"type": "string"}}}}}}).invoke("hi")
        '''
    )
    pytester.runpytest(*QUIET, "--record-mode=rewrite").assert_outcomes(passed=1)
    text = (pytester.path / "cassettes" / "test_other" / "test_other.yaml").read_text()
    # vcrpy as configured by the project, untouched: the catalog is in, headers are not scrubbed
    assert "/models/user" in text and "user-agent" in text.lower()  # name case varies by vcrpy


def test_installing_the_package_imports_nothing_heavy_into_other_suites(tmp_path: Path) -> None:
    (tmp_path / "test_nothing.py").write_text(
        textwrap.dedent(
            """
            import sys

            def test_nothing():
                heavy = [m for m in ("langchain_openrouter_fenic", "vcr", "langchain_core")
                         if m in sys.modules]
                assert heavy == []
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:recording",
         "test_nothing.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    plugins = subprocess.run(
        [sys.executable, "-m", "pytest", "--trace-config", "--co", "-q", "test_nothing.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    ).stdout  # fmt: skip
    assert "_langchain_openrouter_fenic_pytest" in plugins  # loaded, and inert


def test_a_test_never_recorded_says_so(user_suite: pytest.Pytester) -> None:
    os.environ["USER_SUITE_URL"] = "http://127.0.0.1:9/api/v1"  # nothing listens there
    result = user_suite.runpytest(*QUIET, "test_user.py::test_fixture")
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    assert "GET /models/user?output_modalities=all (catalog)" in text  # its first request
    assert "pytest test_user.py::test_fixture --record-mode=rewrite" in text


def test_a_deleted_cassette_says_so(recorded: pytest.Pytester) -> None:
    (recorded.path / "cassettes" / "test_user" / "test_fixture.yaml").unlink()
    result = recorded.runpytest(*QUIET, "test_user.py::test_fixture")
    result.assert_outcomes(failed=1)
    assert "the cassette is empty: it was never recorded" in result.stdout.str()
