"""Shared fixtures: an isolated catalog cache, cassette replay, the loopback emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
import vcr

ROOT = Path(__file__).resolve().parents[1]
CASSETTES = ROOT / "cassettes"

# what a cassette may never keep; rate-limit and content-type headers are kept on purpose
SCRUBBED_REQUEST_HEADERS = [
    "authorization",
    "cookie",
    "x-api-key",
    "openai-organization",
    "openai-project",
]
SCRUBBED_RESPONSE_HEADERS = ["set-cookie", "cf-ray", "x-clerk-user-id"]


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No test sees the developer's key, base URL or catalog cache."""
    for name in (
        "OPENROUTER_API_KEY",
        "OPENROUTER_API_BASE",
        "OPENROUTER_APP_URL",
        "OPENROUTER_APP_TITLE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(
        "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR", str(tmp_path_factory.mktemp("catalog-cache"))
    )
    # shared catalogs outlive a test and keep the cache directory they were made with
    from langchain_openrouter_fenic.catalog import ModelCatalog

    ModelCatalog.clear_shared()


def _drop_response_headers(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in SCRUBBED_RESPONSE_HEADERS:
            del headers[name]
    return response


def project_vcr(**overrides: Any) -> vcr.VCR:
    options: dict[str, Any] = {
        "cassette_library_dir": str(CASSETTES),
        "record_mode": "none",
        "match_on": ["method", "path"],
        "filter_headers": SCRUBBED_REQUEST_HEADERS,
        "before_record_response": _drop_response_headers,
        "decode_compressed_response": True,
    }
    options.update(overrides)
    return vcr.VCR(**options)


@pytest.fixture
def replay_cassette() -> Callable[..., AbstractContextManager[Any]]:
    """``with replay_cassette(path):`` replays a cassette; unmatched requests fail."""
    recorder = project_vcr()

    def use(path: Path | str, **kw: Any) -> AbstractContextManager[Any]:
        cassette: AbstractContextManager[Any] = recorder.use_cassette(
            str(path), allow_playback_repeats=True, **kw
        )
        return cassette

    return use


@pytest.fixture
def emulator() -> Iterator[Any]:
    from tests.support.emulator import OpenRouterEmulator

    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """One real redis-server for the session (tests that break it start their own)."""
    from tests.support.redis_server import RedisServer

    with RedisServer() as server:
        yield server


@pytest.fixture
def redis_url(redis_server: Any) -> str:
    """The session's Redis, emptied for this test."""
    client = redis_server.client()
    try:
        client.flushall()
    finally:
        client.close()
    return str(redis_server.url)
