"""LangChain's standard unit suite for ChatOpenRouter.

``with_structured_output`` consults the live catalog, so the model points at the loopback
emulator (started once for this module, on a free port: suites may run side by side). The
serialization snapshot names the emulator's URL, so its port is normalised there.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_tests.unit_tests import ChatModelUnitTests
from syrupy.assertion import SnapshotAssertion

from langchain_openrouter_fenic import ChatOpenRouter
from tests.support.standard_capabilities import MODEL, OpenRouterCapabilities

_EMULATOR: Any = None


def _emulator_url() -> str:
    global _EMULATOR
    if _EMULATOR is None:
        from tests.support.emulator import OpenRouterEmulator

        _EMULATOR = OpenRouterEmulator().start()
    return str(_EMULATOR.url)


_SNAPSHOT_URL = "http://127.0.0.1:18767/api/v1"  # the URL the committed snapshot names


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """The serialized model names the emulator's URL; its free port is not part of the check."""

    def same_url(*, data: Any, path: Any) -> Any:
        return _SNAPSHOT_URL if _EMULATOR is not None and data == _EMULATOR.url else data

    return snapshot.with_defaults(matcher=same_url)


@pytest.fixture(scope="module", autouse=True)
def _stop_emulator() -> Any:
    yield
    global _EMULATOR
    if _EMULATOR is not None:
        _EMULATOR.stop()
        _EMULATOR = None


class TestChatOpenRouterStandardUnit(OpenRouterCapabilities, ChatModelUnitTests):
    @property
    def chat_model_params(self) -> dict[str, Any]:
        return {"model": MODEL, "api_key": "unit-suite-key", "base_url": _emulator_url()}

    @property
    def init_from_env_params(self) -> tuple[dict[str, str], dict[str, Any], dict[str, Any]]:
        return (
            {
                "OPENROUTER_API_KEY": "env-key",
                "OPENROUTER_API_BASE": "https://example.test/api/v1",
                "OPENROUTER_APP_TITLE": "env-title",
            },
            {"model": MODEL},
            {
                "api_key": "env-key",
                "base_url": "https://example.test/api/v1",
                "app_title": "env-title",
            },
        )

    @pytest.mark.xfail(
        strict=True,
        reason=(
            "langchain-core's load(allowed_objects='all') revives only classes listed in its own "
            "langchain_core.load.mapping; a package outside that list needs "
            "additional_import_mappings, which the standard test does not pass. The dumps side "
            "(snapshot) passes; test_serialization_round_trip below checks the full round trip."
        ),
    )
    def test_serdes(self, model: Any, snapshot: Any) -> None:
        super().test_serdes(model, snapshot)


@pytest.mark.filterwarnings("ignore:The function `load` is in beta")
def test_serialization_round_trip_keeps_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from langchain_core.load import dumpd, dumps, load

    llm = ChatOpenRouter(
        model="openai/gpt-4o-mini",
        api_key="sk-or-secret-123",
        base_url="https://example.test/api/v1",
        temperature=0.0,
    )
    assert "sk-or-secret-123" not in dumps(llm)
    assert "sk-or-secret-123" not in repr(llm) and "sk-or-secret-123" not in str(llm)
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-or-secret-123")
    path = ("langchain_openrouter_fenic", "chat_models", "ChatOpenRouter")
    revived = load(
        dumpd(llm),
        secrets_from_env=True,
        valid_namespaces=["langchain_openrouter_fenic"],
        additional_import_mappings={path: path},
        allowed_objects=[ChatOpenRouter],
    )
    assert isinstance(revived, ChatOpenRouter)
    assert revived.api_key is not None and revived.api_key.get_secret_value() == "sk-or-secret-123"
    assert (revived.model, revived.base_url, revived.temperature) == (
        llm.model,
        llm.base_url,
        llm.temperature,
    )
