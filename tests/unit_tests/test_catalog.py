"""The live model catalog over the real 371-model snapshot, at the HTTP boundary on loopback.

The HTTP tests go through the package's real transport (the ``openai`` SDK) to a tiny
``ThreadingHTTPServer`` on 127.0.0.1 that serves the catalog routes, counts requests, and can be
told to delay or fail. The clock is a fake one wherever the TTL matters.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

import langchain_openrouter_fenic
from langchain_openrouter_fenic.catalog import (
    EndpointInfo,
    ModelCatalog,
    ModelInfo,
    estimate_cost,
)
from langchain_openrouter_fenic.catalog.disk_cache import CacheSettings, read_catalog
from langchain_openrouter_fenic.catalog.single_flight import SingleFlight as _SingleFlight
from langchain_openrouter_fenic.errors import (
    ModelNotFoundError,
    NotFoundError,
    OpenRouterError,
    ResponseParseError,
    ServiceUnavailableError,
)

SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"
KEY = "sk-or-v1-test-0123456789-very-secret"


@pytest.fixture(scope="module")
def entries() -> list[dict[str, Any]]:
    return json.loads(SNAPSHOT.read_text())["data"]  # type: ignore[no-any-return]


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --------------------------------------------------------------------------------------------
# a loopback OpenRouter that serves only the catalog routes


class CatalogServer:
    """Serves ``/api/v1/models``, ``/models/user`` and ``/models/{slug}/endpoints``."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self.entries = entries
        self.fail: dict[str, int] = {}  # route -> HTTP status to answer with
        self.delay = 0.0
        self.endpoints: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/api/v1"

    def count(self, route: str) -> int:
        with self._lock:
            return sum(1 for r in self.requests if r["route"] == route)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, route: str) -> tuple[int, Any]:
        if route in self.fail:
            status = self.fail[route]
            return status, {"error": {"code": status, "message": f"injected {status}"}}
        if route in ("/models", "/models/user"):
            return 200, {"data": self.entries}
        slug = route.removeprefix("/models/").removesuffix("/endpoints")
        if route.endswith("/endpoints") and slug in self.endpoints:
            return 200, {"data": {"id": slug, "endpoints": self.endpoints[slug]}}
        return 404, {"error": {"code": 404, "message": "Model not found"}}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                route = url.path.removeprefix("/api/v1")
                with server._lock:
                    server.requests.append(
                        {"route": route, "query": url.query,
                         "authorization": self.headers.get("Authorization")}
                    )  # fmt: skip
                if server.delay:
                    time.sleep(server.delay)
                status, body = server._answer(route)
                payload = json.dumps(body).encode()
                self.send_response(status)
                if status >= 500:  # retried at once: the tests do not wait out the backoff
                    self.send_header("Retry-After", "0")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def server(entries: list[dict[str, Any]]) -> Iterator[CatalogServer]:
    fake = CatalogServer(entries)
    yield fake
    fake.close()


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def _catalog(
    server: CatalogServer, cache_dir: Path, *, key: str | None = KEY, clock: Any = None,
    ttl: float = 3600.0,
) -> ModelCatalog:  # fmt: skip
    return ModelCatalog(
        server.base_url, key, cache=CacheSettings(cache_dir, ttl), clock=clock or time.time
    )


def _pure(entries: list[dict[str, Any]]) -> ModelCatalog:
    return ModelCatalog(
        "http://catalog.invalid/api/v1",
        None,
        fetch_json=lambda _path: {"data": entries},
        cache=CacheSettings(None, 0),
    )


# --------------------------------------------------------------------------------------------
# translation of the real catalog


def test_every_real_entry_translates(entries: list[dict[str, Any]]) -> None:
    assert len(entries) == 371
    for raw in entries:
        info = ModelInfo.from_api(raw)
        assert info.id == raw["id"]
        assert info.supported_parameters == frozenset(raw["supported_parameters"])
        assert info.input_modalities == frozenset(raw["architecture"]["input_modalities"])
        assert info.output_modalities == frozenset(raw["architecture"]["output_modalities"])
        for field, key in (("prompt_price", "prompt"), ("completion_price", "completion"),
                           ("cache_read_price", "input_cache_read")):  # fmt: skip
            listed = raw["pricing"].get(key)
            expected = float(listed) if listed is not None and float(listed) >= 0 else None
            assert getattr(info, field) == expected, (raw["id"], field)
        assert info.context_length == (
            raw["context_length"] or raw["top_provider"]["context_length"]
        )
        assert info.max_output_tokens == raw["top_provider"]["max_completion_tokens"]
        assert (
            info.supports_reasoning
            is bool({"reasoning", "include_reasoning"} & set(raw["supported_parameters"]))
            or "reasoning_effort" in raw["supported_parameters"]
        )
        hash(info)  # frozen records can key caches
    assert len(_pure(entries).models()) == 371  # nothing skipped by the catalog either


def test_gpt_4o_entry(entries: list[dict[str, Any]]) -> None:
    info = _pure(entries).get("openai/gpt-4o")
    assert info.name == "OpenAI: GPT-4o"
    assert (info.context_length, info.max_output_tokens) == (128000, 16384)
    assert info.prompt_price == 2.5e-06 and info.completion_price == 1e-05
    assert info.supports_tools and info.supports_tool_choice
    assert info.supports_structured_outputs and info.supports_response_format
    assert info.supports_temperature and not info.supports_reasoning
    assert not info.is_free and not info.is_router
    assert info.input_modalities == {"text", "image", "file"}


def test_router_prices_of_minus_one_are_unknown(entries: list[dict[str, Any]]) -> None:
    info = _pure(entries).get("openrouter/auto")
    assert info.prompt_price is None and info.completion_price is None
    assert info.is_router
    assert estimate_cost(info, prompt_tokens=10, completion_tokens=10) is None


@pytest.mark.parametrize(
    ("raw", "checks"),
    [
        pytest.param({"id": "a/b"}, {"name": "a/b", "context_length": None,
                     "input_modalities": frozenset({"text"}), "supported_parameters": frozenset()},
                     id="bare-id"),
        pytest.param({"id": "a/b", "top_provider": None, "context_length": 4096},
                     {"context_length": 4096, "max_output_tokens": None}, id="no-top-provider"),
        pytest.param({"id": "a/b", "context_length": None,
                      "top_provider": {"context_length": 8192, "max_completion_tokens": "512"}},
                     {"context_length": 8192, "max_output_tokens": 512}, id="top-provider-only"),
        pytest.param({"id": "a/b", "pricing": {"prompt": 0.5, "completion": "", "request": "0.01",
                      "image": "n/a"}},
                     {"prompt_price": 0.5, "completion_price": None, "request_price": 0.01,
                      "image_price": None}, id="odd-prices"),
        pytest.param({"id": "a/b", "architecture": {"modality": "text+image->text+audio"}},
                     {"input_modalities": frozenset({"text", "image"}),
                      "output_modalities": frozenset({"text", "audio"})}, id="modality-string"),
        pytest.param({"id": "a/b", "per_request_limits": {"prompt_tokens": 1000,
                      "completion_tokens": 200}},
                     {"max_output_tokens": 200}, id="per-request-limits"),
        pytest.param({"id": "a/b", "supported_parameters": ["Tools", None, 3, "tool_choice"]},
                     {"supported_parameters": frozenset({"tools", "tool_choice"})},
                     id="messy-parameters"),
        pytest.param({"id": "a/b", "reasoning": {"mandatory": True,
                      "supported_efforts": ["low", "high", "medium"]}},
                     {"supports_reasoning": True, "reasoning_mandatory": True,
                      "reasoning_efforts": ("high", "medium", "low")}, id="reasoning-object"),
        pytest.param({"id": "a/b", "reasoning": None, "context_length": True},
                     {"supports_reasoning": False, "context_length": None}, id="nulls"),
    ],
)  # fmt: skip
def test_every_shape_is_tolerated(raw: dict[str, Any], checks: dict[str, Any]) -> None:
    info = ModelInfo.from_api(raw)
    for field, expected in checks.items():
        assert getattr(info, field) == expected, field


@pytest.mark.parametrize("raw", [{}, {"id": ""}, {"id": 5}, ["a/b"]])
def test_entry_without_an_id_is_rejected(raw: Any) -> None:
    with pytest.raises(ValueError, match="without an 'id'"):
        ModelInfo.from_api(raw)


def test_per_request_limits_are_frozen_and_picklable() -> None:
    import copy
    import pickle

    info = ModelInfo.from_api({"id": "a/b", "per_request_limits": {"prompt_tokens": 10}})
    assert info.per_request_limits == {"prompt_tokens": 10}
    with pytest.raises(TypeError):
        info.per_request_limits["prompt_tokens"] = 1  # type: ignore[index]
    assert pickle.loads(pickle.dumps(info)) == info
    assert copy.deepcopy(info) == info


# --------------------------------------------------------------------------------------------
# resolving ids


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        pytest.param("openai/gpt-4o", "openai/gpt-4o", id="exact"),
        pytest.param("google/gemma-3-27b-it:free", "google/gemma-3-27b-it:free", id="free"),
        pytest.param("anthropic/claude-3.7-sonnet:thinking",
                     "anthropic/claude-3.7-sonnet:thinking", id="thinking"),
        pytest.param("openai/gpt-4o:online", "openai/gpt-4o", id="online"),
        pytest.param("openai/gpt-4o:nitro", "openai/gpt-4o", id="nitro"),
        pytest.param("openai/gpt-4o:floor", "openai/gpt-4o", id="floor"),
        pytest.param("anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet",
                     id="canonical-slug-prefers-plain-id"),
        pytest.param("openrouter/auto", "openrouter/auto", id="router"),
        pytest.param("~openai/gpt-latest", "~openai/gpt-latest", id="alias-id"),
    ],
)  # fmt: skip
def test_ids_resolve(entries: list[dict[str, Any]], asked: str, found: str) -> None:
    assert _pure(entries).get(asked).id == found


def test_unknown_model_names_up_to_five_close_ids(entries: list[dict[str, Any]]) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        _pure(entries).get("openai/gpt-4.o")
    assert error.value.suggestions[0] == "openai/gpt-4o"
    assert 1 <= len(error.value.suggestions) <= 5
    message = str(error.value)
    assert "'openai/gpt-4.o' is not in OpenRouter's model catalog (371 models" in message
    assert "Close ids: openai/gpt-4o," in message
    assert "https://openrouter.ai/models" in message
    assert isinstance(error.value, ValueError)


def test_a_bare_slug_suggests_the_full_id(entries: list[dict[str, Any]]) -> None:
    with pytest.raises(ModelNotFoundError) as error:
        _pure(entries).get("claude-sonnet-4")
    assert "anthropic/claude-sonnet-4" in error.value.suggestions


def test_unknown_variant_is_not_resolved_to_its_base(entries: list[dict[str, Any]]) -> None:
    with pytest.raises(ModelNotFoundError):
        _pure(entries).get("openai/gpt-4o:free")  # a different model (with different limits)


# --------------------------------------------------------------------------------------------
# fetching over HTTP


def test_user_catalog_first_with_all_output_modalities(
    server: CatalogServer, cache_dir: Path
) -> None:
    catalog = _catalog(server, cache_dir)
    assert catalog.get("openai/gpt-4o").id == "openai/gpt-4o"
    assert [(r["route"], r["query"]) for r in server.requests] == [
        ("/models/user", "output_modalities=all")
    ]
    assert server.requests[0]["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("status", [401, 403, 404])
def test_refused_user_catalog_falls_back_to_public_models(
    server: CatalogServer, cache_dir: Path, status: int
) -> None:
    server.fail["/models/user"] = status
    catalog = _catalog(server, cache_dir)
    assert catalog.get("openai/gpt-4o").id == "openai/gpt-4o"
    assert [r["route"] for r in server.requests] == ["/models/user", "/models"]
    with pytest.raises(ModelNotFoundError) as error:
        catalog.get("nobody/nothing")
    assert "/models/user hides" not in str(error.value)  # the public list was used


async def test_async_fallback_to_public_models(server: CatalogServer, cache_dir: Path) -> None:
    server.fail["/models/user"] = 401
    info = await _catalog(server, cache_dir).aget("openai/gpt-4o")
    assert info.id == "openai/gpt-4o"
    assert [r["route"] for r in server.requests] == ["/models/user", "/models"]


def test_without_a_key_only_public_models_are_asked(server: CatalogServer, cache_dir: Path) -> None:
    _catalog(server, cache_dir, key=None).get("openai/gpt-4o")
    assert [r["route"] for r in server.requests] == ["/models"]


def test_other_failures_are_not_hidden_by_the_fallback(
    server: CatalogServer, cache_dir: Path
) -> None:
    server.fail["/models/user"] = 503
    with pytest.raises(ServiceUnavailableError, match="Could not load the OpenRouter model"):
        _catalog(server, cache_dir).get("openai/gpt-4o")
    assert [r["route"] for r in server.requests] == ["/models/user"] * 3  # retried, no fallback


def test_a_body_without_data_is_a_clear_error() -> None:
    catalog = ModelCatalog(
        "http://x/api/v1", None, fetch_json=lambda _p: {"models": []}, cache=CacheSettings(None, 0)
    )
    with pytest.raises(ResponseParseError, match="without a 'data' list"):
        catalog.get("a/b")


def test_key_never_in_repr_or_cache_file(server: CatalogServer, cache_dir: Path) -> None:
    catalog = _catalog(server, cache_dir)
    catalog.get("openai/gpt-4o")
    assert KEY not in repr(catalog) and KEY not in str(vars(catalog))
    assert repr(catalog).endswith("api_key=set, 371 models)")
    files = list(cache_dir.iterdir())
    assert len(files) == 1
    text = files[0].read_text()
    assert KEY not in text and KEY[:16] not in text and KEY not in files[0].name
    assert "openai/gpt-4o" in text


# --------------------------------------------------------------------------------------------
# one request for many concurrent first uses


def test_50_threads_make_one_request(server: CatalogServer, cache_dir: Path) -> None:
    server.delay = 0.3  # every caller arrives while the first fetch is in flight
    catalog = _catalog(server, cache_dir)
    barrier = threading.Barrier(50)
    found: list[str] = []

    def use() -> None:
        barrier.wait()
        found.append(catalog.get("anthropic/claude-sonnet-4").id)

    threads = [threading.Thread(target=use) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == ["anthropic/claude-sonnet-4"] * 50
    assert len(server.requests) == 1


async def test_50_tasks_make_one_request(server: CatalogServer, cache_dir: Path) -> None:
    server.delay = 0.3
    catalog = _catalog(server, cache_dir)
    infos = await asyncio.gather(*(catalog.aget("openai/gpt-4o") for _ in range(50)))
    assert {info.id for info in infos} == {"openai/gpt-4o"}
    assert len(server.requests) == 1


def test_threads_and_two_event_loops_share_one_request(
    server: CatalogServer, cache_dir: Path
) -> None:
    server.delay = 0.3
    catalog = _catalog(server, cache_dir)
    start = threading.Barrier(3 + 10)
    results: Counter[str] = Counter()
    lock = threading.Lock()

    async def tasks() -> list[ModelInfo]:
        return await asyncio.gather(*(catalog.aget("openai/gpt-4o") for _ in range(15)))

    def loop_thread() -> None:
        start.wait()
        for info in asyncio.run(tasks()):
            with lock:
                results[info.id] += 1

    def sync_thread() -> None:
        start.wait()
        info = catalog.get("openai/gpt-4o")
        with lock:
            results[info.id] += 1

    threads = [threading.Thread(target=loop_thread) for _ in range(3)]
    threads += [threading.Thread(target=sync_thread) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"openai/gpt-4o": 3 * 15 + 10}
    assert len(server.requests) == 1


def test_concurrent_failures_are_shared_then_retried(
    server: CatalogServer, cache_dir: Path
) -> None:
    server.delay = 0.2
    server.fail["/models/user"] = 503
    catalog = _catalog(server, cache_dir)
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)  # all arrive while the load (3 sends, 0.6 s) is in flight

    def use() -> None:
        barrier.wait()
        try:
            catalog.get("openai/gpt-4o")
        except OpenRouterError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=use) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 20 and len(server.requests) == 3  # one load, sent 3 times
    del server.fail["/models/user"]
    server.delay = 0.0
    assert catalog.get("openai/gpt-4o").id == "openai/gpt-4o"  # not cached as a failure
    assert len(server.requests) == 4


async def test_sync_use_inside_the_loop_of_an_async_load_does_not_deadlock() -> None:
    flight = _SingleFlight()
    gate = asyncio.Event()

    async def slow() -> str:
        await gate.wait()
        return "async"

    leader = asyncio.create_task(flight.arun("models", slow))
    await asyncio.sleep(0)  # the task now leads the load
    assert flight.run("models", lambda: "sync") == "sync"  # would block the loop if it waited
    gate.set()
    assert await leader == "async"


async def test_a_cancelled_leader_hands_the_load_to_a_waiter() -> None:
    flight = _SingleFlight()
    calls: list[str] = []

    async def load(name: str) -> str:
        calls.append(name)
        await asyncio.sleep(0.05 if name == "first" else 0)
        return name

    first = asyncio.create_task(flight.arun("k", lambda: load("first")))
    await asyncio.sleep(0)
    second = asyncio.create_task(flight.arun("k", lambda: load("second")))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "second"
    assert calls == ["first", "second"]
    with pytest.raises(asyncio.CancelledError):
        await first


# --------------------------------------------------------------------------------------------
# TTL, disk cache, stale copies


def test_ttl_expiry_refetches(server: CatalogServer, cache_dir: Path) -> None:
    clock = FakeClock()
    catalog = _catalog(server, cache_dir, clock=clock, ttl=600)
    catalog.get("openai/gpt-4o")
    clock.now += 599
    catalog.get("openai/gpt-4o")
    assert len(server.requests) == 1
    clock.now += 2
    catalog.get("openai/gpt-4o")
    assert len(server.requests) == 2


def test_another_process_uses_the_fresh_disk_copy(server: CatalogServer, cache_dir: Path) -> None:
    clock = FakeClock()
    _catalog(server, cache_dir, clock=clock).get("openai/gpt-4o")
    clock.now += 1800
    other = _catalog(server, cache_dir, clock=clock)  # a second process: empty memory
    assert other.get("anthropic/claude-sonnet-4").context_length == 1_000_000
    assert len(server.requests) == 1
    clock.now += 1801  # now the disk copy is older than the TTL
    _catalog(server, cache_dir, clock=clock).get("openai/gpt-4o")
    assert len(server.requests) == 2


def test_ttl_zero_writes_no_disk_copy_and_refreshes_memory_hourly(
    server: CatalogServer, tmp_path: Path
) -> None:
    clock = FakeClock()
    catalog = ModelCatalog(server.base_url, KEY, cache=CacheSettings(None, 0), clock=clock)
    catalog.get("openai/gpt-4o")
    clock.now += 3599
    catalog.get("openai/gpt-4o")
    assert len(server.requests) == 1
    clock.now += 2  # with the disk cache off, the memory copy still has the default TTL
    catalog.get("openai/gpt-4o")
    assert len(server.requests) == 2
    assert list(tmp_path.iterdir()) == []


def test_env_settings_are_used_by_default(
    server: CatalogServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR", str(tmp_path / "env-cache"))
    ModelCatalog(server.base_url, KEY).get("openai/gpt-4o")
    files = list((tmp_path / "env-cache").iterdir())
    assert len(files) == 1 and read_catalog(files[0]) is not None


def test_stale_disk_copy_is_used_with_a_warning_when_the_fetch_fails(
    server: CatalogServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    _catalog(server, cache_dir, clock=clock).get("openai/gpt-4o")
    clock.now += 3 * 3600
    server.fail["/models/user"] = 503
    fresh_process = _catalog(server, cache_dir, clock=clock)
    with caplog.at_level(
        logging.WARNING, logger="langchain_openrouter_fenic.catalog.model_catalog"
    ):
        info = fresh_process.get("openai/gpt-4o")
    assert info.id == "openai/gpt-4o"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "Could not refresh the OpenRouter model catalog" in text
    assert "injected 503" in text and "fetched 3.0 h ago" in text and "disk cache" in text
    # the stale copy is served for a while without hammering OpenRouter, then retried
    fresh_process.get("openai/gpt-4o")
    assert server.count("/models/user") == 1 + 3
    clock.now += 61
    fresh_process.get("openai/gpt-4o")
    assert server.count("/models/user") == 1 + 3 + 3


def test_stale_memory_copy_is_used_when_the_refresh_fails(
    server: CatalogServer, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    catalog = ModelCatalog(server.base_url, KEY, cache=CacheSettings(None, 60), clock=clock)
    catalog.get("openai/gpt-4o")
    clock.now += 120
    server.fail["/models/user"] = 503
    with caplog.at_level(
        logging.WARNING, logger="langchain_openrouter_fenic.catalog.model_catalog"
    ):
        assert catalog.get("openai/gpt-4o").id == "openai/gpt-4o"
    assert "fetched 2 min ago" in caplog.text


async def test_async_stale_copy_and_recovery(
    server: CatalogServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    catalog = _catalog(server, cache_dir, clock=clock)
    await catalog.aget("openai/gpt-4o")
    clock.now += 4000
    server.fail["/models/user"] = 503
    with caplog.at_level(
        logging.WARNING, logger="langchain_openrouter_fenic.catalog.model_catalog"
    ):
        assert (await catalog.aget("openai/gpt-4o")).id == "openai/gpt-4o"
    assert "Could not refresh" in caplog.text
    del server.fail["/models/user"]
    clock.now += 61
    await catalog.aget("openai/gpt-4o")
    assert server.count("/models/user") == 1 + 3 + 1
    assert "Could not refresh" in caplog.text


def test_no_cached_copy_raises_a_clear_error(server: CatalogServer, cache_dir: Path) -> None:
    server.fail["/models/user"] = 503
    with pytest.raises(ServiceUnavailableError) as error:
        _catalog(server, cache_dir).get("openai/gpt-4o")
    message = str(error.value)
    assert message.startswith(f"Could not load the OpenRouter model catalog from {server.base_url}")
    assert "injected 503" in message and f"no cached copy in {cache_dir}" in message
    assert "Sent 3 times (max_retries=2)." in message
    assert "Check the network, base_url and API key" in message
    assert error.value.status_code == 503
    assert isinstance(error.value.__cause__, ServiceUnavailableError)


def test_unreachable_openrouter_without_a_copy(cache_dir: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    catalog = ModelCatalog(
        f"http://127.0.0.1:{port}/api/v1", KEY, cache=CacheSettings(None, 0), timeout=5,
        max_retries=0,
    )  # fmt: skip
    with pytest.raises(OpenRouterError, match="disk cache is disabled") as error:
        catalog.get("openai/gpt-4o")
    assert "Not retried (max_retries=0)." in str(error.value)
    assert "retried up to" not in str(error.value)


def test_cached_reads_memory_or_disk_but_never_the_network(
    server: CatalogServer, cache_dir: Path
) -> None:
    clock = FakeClock()
    assert _catalog(server, cache_dir, clock=clock).cached("openai/gpt-4o") is None
    assert server.requests == []
    _catalog(server, cache_dir, clock=clock).get("openai/gpt-4o")
    clock.now += 10 * 3600  # even a stale copy answers cached()
    other = _catalog(server, cache_dir, clock=clock)
    info = other.cached("openai/gpt-4o:online")
    assert info is not None and info.id == "openai/gpt-4o"
    assert other.cached("nobody/nothing") is None
    assert len(server.requests) == 1


def test_an_id_the_copy_lacks_is_refetched_at_most_once_a_minute(
    server: CatalogServer, cache_dir: Path, entries: list[dict[str, Any]]
) -> None:
    clock = FakeClock()
    catalog = _catalog(server, cache_dir, clock=clock)
    catalog.get("openai/gpt-4o")
    server.entries = [*entries, {"id": "newlab/model-1", "supported_parameters": ["tools"]}]
    assert catalog.get("newlab/model-1").supports_tools  # one refetch found it
    assert server.count("/models/user") == 2
    with pytest.raises(ModelNotFoundError):
        catalog.get("nobody/nothing")  # within the minute: no second refetch
    clock.now += 30
    with pytest.raises(ModelNotFoundError):
        catalog.get("nobody/nothing")
    assert server.count("/models/user") == 2
    clock.now += 31
    with pytest.raises(ModelNotFoundError):
        catalog.get("nobody/nothing")
    assert server.count("/models/user") == 3


async def test_a_failed_refetch_still_reports_the_model_unknown(
    server: CatalogServer, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    catalog = _catalog(server, cache_dir)
    await catalog.aget("openai/gpt-4o")
    server.fail["/models/user"] = 503
    with pytest.raises(ModelNotFoundError, match="'nobody/nothing' is not in"):
        await catalog.aget("nobody/nothing")
    assert "Could not refetch the OpenRouter model catalog" in caplog.text
    assert server.count("/models/user") == 1 + 3
    assert (await catalog.aget("openai/gpt-4o")).id == "openai/gpt-4o"  # the copy is kept


def test_peek_reads_memory_within_its_ttl_only(server: CatalogServer, cache_dir: Path) -> None:
    clock = FakeClock()
    catalog = _catalog(server, cache_dir, clock=clock, ttl=600)
    assert catalog.peek("openai/gpt-4o") is None and server.requests == []
    catalog.get("openai/gpt-4o")
    assert catalog.peek("openai/gpt-4o:nitro").id == "openai/gpt-4o"  # type: ignore[union-attr]
    assert catalog.peek_endpoints("openai/gpt-4o") is None
    clock.now += 601
    assert catalog.peek("openai/gpt-4o") is None  # due for a refresh: not "at hand"
    assert len(server.requests) == 1


# --------------------------------------------------------------------------------------------
# shared catalogs


def test_one_shared_catalog_per_base_url_and_key() -> None:
    ModelCatalog.clear_shared()
    try:
        a = ModelCatalog.shared("https://openrouter.ai/api/v1", KEY)
        assert ModelCatalog.shared("https://openrouter.ai/api/v1/", KEY) is a
        assert ModelCatalog.shared("https://openrouter.ai/api/v1", KEY + "2") is not a
        assert ModelCatalog.shared("http://127.0.0.1:1/api/v1", KEY) is not a
        assert KEY not in repr(a) and "not loaded" in repr(a)
        assert all(KEY not in str(scope) for scope in ModelCatalog._registry)
    finally:
        ModelCatalog.clear_shared()


def test_shared_creation_is_thread_safe() -> None:
    ModelCatalog.clear_shared()
    try:
        seen: list[ModelCatalog] = []
        barrier = threading.Barrier(20)

        def make() -> None:
            barrier.wait()
            seen.append(ModelCatalog.shared("https://example.invalid/api/v1", KEY))

        threads = [threading.Thread(target=make) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({id(c) for c in seen}) == 1
    finally:
        ModelCatalog.clear_shared()


# --------------------------------------------------------------------------------------------
# endpoints

ENDPOINTS = [
    {"name": "OpenAI | openai/gpt-4o", "provider_name": "OpenAI", "tag": "openai",
     "quantization": None, "context_length": 128000, "max_completion_tokens": 16384,
     "max_prompt_tokens": None, "pricing": {"prompt": "0.0000025", "completion": "0.00001"},
     "supported_parameters": ["tools", "tool_choice", "structured_outputs", "temperature"],
     "status": 0, "uptime_last_30m": 99.5, "supports_implicit_caching": True},
    {"name": "Azure | openai/gpt-4o", "provider_name": "Azure", "tag": "azure",
     "quantization": "unknown", "context_length": 128000, "max_completion_tokens": None,
     "pricing": {"prompt": "0.000003", "completion": "0.000012"},
     "supported_parameters": ["tools", "tool_choice"], "status": -2, "uptime_last_30m": None},
]  # fmt: skip


def test_endpoints_are_parsed_and_cached_for_the_ttl(
    server: CatalogServer, cache_dir: Path
) -> None:
    server.endpoints["openai/gpt-4o"] = ENDPOINTS
    clock = FakeClock()
    catalog = _catalog(server, cache_dir, clock=clock, ttl=300)
    first = catalog.endpoints("openai/gpt-4o")
    assert first[0] == EndpointInfo(
        provider_name="OpenAI", tag="openai", name="OpenAI | openai/gpt-4o", quantization=None,
        context_length=128000, max_completion_tokens=16384, prompt_price=2.5e-06,
        completion_price=1e-05,
        supported_parameters=frozenset({"tools", "tool_choice", "structured_outputs",
                                        "temperature"}),
        status=0, uptime_last_30m=99.5, supports_implicit_caching=True,
    )  # fmt: skip
    assert first[1].quantization == "unknown" and first[1].status == -2
    assert catalog.endpoints("openai/gpt-4o:nitro") == first  # routing suffix: same model
    assert server.count("/models/openai/gpt-4o/endpoints") == 1
    clock.now += 301
    catalog.endpoints("openai/gpt-4o")
    assert server.count("/models/openai/gpt-4o/endpoints") == 2


async def test_async_endpoints_fall_back_to_the_canonical_slug(
    server: CatalogServer, cache_dir: Path
) -> None:
    # served only under the slug of the catalog's links.details, not under the id
    server.endpoints["anthropic/claude-3-7-sonnet-20250219"] = ENDPOINTS[:1]
    catalog = _catalog(server, cache_dir)
    await catalog.aget("anthropic/claude-3.7-sonnet")
    endpoints = await asyncio.gather(
        *(catalog.aendpoints("anthropic/claude-3.7-sonnet") for _ in range(10))
    )
    assert all(e[0].provider_name == "OpenAI" for e in endpoints)
    assert server.count("/models/anthropic/claude-3.7-sonnet/endpoints") == 1
    assert server.count("/models/anthropic/claude-3-7-sonnet-20250219/endpoints") == 1


def test_endpoints_are_asked_under_the_model_id_first(
    server: CatalogServer, cache_dir: Path
) -> None:
    server.endpoints["anthropic/claude-3.7-sonnet"] = ENDPOINTS
    catalog = _catalog(server, cache_dir)
    catalog.get("anthropic/claude-3.7-sonnet")
    assert len(catalog.endpoints("anthropic/claude-3.7-sonnet")) == 2
    assert [r["route"] for r in server.requests[1:]] == [
        "/models/anthropic/claude-3.7-sonnet/endpoints"
    ]


def test_endpoints_of_an_unknown_model_raise_not_found(
    server: CatalogServer, cache_dir: Path
) -> None:
    with pytest.raises(NotFoundError):
        _catalog(server, cache_dir).endpoints("nobody/nothing")


# --------------------------------------------------------------------------------------------
# cost


def test_estimated_cost_splits_cached_and_written_prompt_tokens(
    entries: list[dict[str, Any]],
) -> None:
    info = _pure(entries).get("anthropic/claude-sonnet-4")  # 3 / 15 USD per M; read 0.3; write 3.75
    cost = estimate_cost(
        info, prompt_tokens=10_000, completion_tokens=1_000, cached_tokens=6_000,
        cache_write_tokens=2_000,
    )  # fmt: skip
    expected = 2_000 * 3e-6 + 6_000 * 3e-7 + 2_000 * 3.75e-6 + 1_000 * 1.5e-5
    assert cost == pytest.approx(expected)


def test_estimated_cost_without_cache_prices_uses_the_prompt_price(
    entries: list[dict[str, Any]],
) -> None:
    info = _pure(entries).get("openai/gpt-4o")  # no input_cache_read listed
    cost = estimate_cost(info, prompt_tokens=1_000, completion_tokens=100, cached_tokens=400)
    assert cost == pytest.approx(1_000 * 2.5e-6 + 100 * 1e-5)
    free = _pure(entries).get("google/gemma-3-27b-it:free")
    assert estimate_cost(free, prompt_tokens=5, completion_tokens=5) == 0.0
