"""LangChain's standard integration suite, replayed offline from cassettes.

The cassettes in ``cassettes/emulator/standard/`` were recorded against the project's loopback
OpenRouter emulator. To re-record them::

    LANGCHAIN_OPENROUTER_FENIC_RECORD=1 .venv/bin/python -m pytest \
        tests/integration_tests/test_standard.py

Without that variable every request must match a recorded one (method, path and JSON body).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_tests.integration_tests import ChatModelIntegrationTests

from tests.conftest import CASSETTES, project_vcr
from tests.support import media
from tests.support.cassettes import json_body_matcher, reset_shared_state
from tests.support.standard_capabilities import MODEL, OVERRIDE_MODEL, OpenRouterCapabilities

RECORD = os.environ.get("LANGCHAIN_OPENROUTER_FENIC_RECORD") == "1"
PORT = 18765
BASE_URL = f"http://127.0.0.1:{PORT}/api/v1"


@pytest.fixture(scope="module")
def _recording_emulator() -> Iterator[Any]:
    if not RECORD:
        yield None
        return
    from tests.support.cassettes import catalog_entries
    from tests.support.emulator import OpenRouterEmulator

    with OpenRouterEmulator(port=PORT, catalog=catalog_entries([MODEL, OVERRIDE_MODEL])) as emu:
        yield emu


@pytest.fixture(autouse=True)
def _local_sample_media(monkeypatch: pytest.MonkeyPatch) -> None:
    """The media tests download sample files from the internet with httpx.get before calling the
    model; offline they get small valid files made in code instead (the model's own HTTP is
    still replayed from the cassette)."""
    import httpx

    def sample(url: str, *args: Any, **kwargs: Any) -> httpx.Response:
        return httpx.Response(
            200, content=media.for_url(str(url)), request=httpx.Request("GET", url)
        )

    monkeypatch.setattr(httpx, "get", sample)
    # nothing is fetched from wikimedia.org; this only names us if the suite ever does
    monkeypatch.setenv(
        "LANGCHAIN_TESTS_USER_AGENT", "langchain-openrouter-fenic-tests/0.1 (offline)"
    )


@pytest.fixture(autouse=True)
def _cassette(
    request: pytest.FixtureRequest, _recording_emulator: Any, _local_sample_media: None
) -> Iterator[None]:
    reset_shared_state()
    recorder = project_vcr(
        record_mode="all" if RECORD else "none", match_on=["method", "path", "json_body"]
    )
    recorder.register_matcher("json_body", json_body_matcher)
    name = request.node.name.replace("[", "-").replace("]", "")
    with recorder.use_cassette(str(CASSETTES / "emulator" / "standard" / f"{name}.yaml")):
        yield


class TestChatOpenRouterStandard(OpenRouterCapabilities, ChatModelIntegrationTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {
            "model": MODEL,
            "api_key": "standard-suite-key",
            "base_url": BASE_URL,
            "max_retries": 0,
        }

    @property
    def supports_image_tool_message(self) -> bool:
        return True
