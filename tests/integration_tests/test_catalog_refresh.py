"""The catalog keeps up with OpenRouter: new models, its TTL, and catalog GETs under retries.

- A model published after the catalog was cached is found: an id the copy lacks triggers one
  refetch (single flight, at most once a minute) before ``ModelNotFoundError``, in this process
  and in a new one that starts from the disk copy.
- A catalog GET that meets a 503, a 429 with a reset or a dropped connection is sent again, as
  chat calls are, and the error at the end says how many times it was sent.
"""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    ModelNotFoundError,
    RateLimitError,
    ServiceUnavailableError,
)
from langchain_openrouter_fenic._cli import main as cli
from langchain_openrouter_fenic.catalog import ModelCatalog
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.emulator_catalog import load_snapshot_catalog
from tests.support.emulator_replies import error_document

NEW_MODEL = "newlab/brand-new-1"


def _new_entry() -> dict[str, Any]:
    base = next(m for m in load_snapshot_catalog() if m["id"] == "mistralai/mistral-nemo")
    return {**json.loads(json.dumps(base)), "id": NEW_MODEL, "canonical_slug": NEW_MODEL,
            "name": "NewLab: Brand New 1"}  # fmt: skip


@pytest.fixture
def emu() -> Iterator[OpenRouterEmulator]:
    with OpenRouterEmulator().start() as server:
        yield server


def _llm(emu: OpenRouterEmulator, model: str = "openai/gpt-4o", **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"max_retries": 0, **kw}
    return ChatOpenRouter(model=model, api_key="sk-test", base_url=emu.url, **options)


# --------------------------------------------------------------------------------------------
# new models


def test_a_model_published_after_the_catalog_was_cached_is_found(
    emu: OpenRouterEmulator,
) -> None:
    _llm(emu).invoke("hi")  # the catalog is cached, in memory and on disk
    emu.add_model(_new_entry())
    assert _llm(emu, NEW_MODEL).invoke("hi").content
    assert emu.count("/models/user") == 2  # one refetch
    assert emu.chat_requests()[-1].json["model"] == NEW_MODEL
    _llm(emu, NEW_MODEL).invoke("again")
    assert emu.count("/models/user") == 2  # now in the copy


def test_a_new_process_with_a_fresh_disk_copy_finds_it_too(emu: OpenRouterEmulator) -> None:
    _llm(emu).invoke("hi")
    emu.add_model(_new_entry())
    ModelCatalog.clear_shared()  # a new worker process: the disk copy predates the model
    assert _llm(emu, NEW_MODEL).invoke("hi").content
    assert emu.count("/models/user") == 2
    ModelCatalog.clear_shared()  # the next process reads the refetched disk copy
    assert _llm(emu, NEW_MODEL).invoke("hi").content
    assert emu.count("/models/user") == 2


def test_unknown_ids_refetch_at_most_once_a_minute(emu: OpenRouterEmulator) -> None:
    _llm(emu).invoke("hi")
    for typo in ("openai/gpt-4.o", "openai/gtp-4o", "openai/gpt-4o-mni"):
        with pytest.raises(ModelNotFoundError):
            _llm(emu, typo).invoke("hi")
    assert emu.count("/models/user") == 2  # the first typo refetched; the others did not
    assert len(emu.chat_requests()) == 1


def test_concurrent_misses_share_one_refetch(emu: OpenRouterEmulator) -> None:
    _llm(emu).invoke("hi")
    emu.add_model(_new_entry())
    emu.catalog_latency = 0.3  # every caller arrives while the refetch is in flight
    barrier = threading.Barrier(8)
    found: list[str] = []

    def use() -> None:
        llm = _llm(emu, NEW_MODEL)
        barrier.wait()
        found.append(llm.model_info().id)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert found == [NEW_MODEL] * 8
    assert emu.count("/models/user") == 2


def test_the_cli_finds_a_new_model_as_the_chat_model_does(
    emu: OpenRouterEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    _llm(emu).invoke("hi")
    emu.add_model(_new_entry())
    ModelCatalog.clear_shared()  # `python -m langchain_openrouter_fenic`: a new process
    monkeypatch.setenv("OPENROUTER_API_KEY", "sk-test")
    out, err = io.StringIO(), io.StringIO()
    code = cli(["explain", f"{NEW_MODEL}:nitro", "--base-url", emu.url], stdout=out, stderr=err)
    assert code == 0, err.getvalue()
    assert out.getvalue().startswith(f"Model       {NEW_MODEL}  (")
    assert "Catalog     live" in out.getvalue()
    assert emu.count("/models/user") == 2  # the disk copy lacked it: one refetch


# --------------------------------------------------------------------------------------------
# catalog GETs under the retry policy

_UNAVAILABLE = error_document(503, "Service Unavailable")


def test_one_503_on_the_catalog_is_retried(emu: OpenRouterEmulator) -> None:
    emu.set_get_reply("/models/user", Reply.json(503, _UNAVAILABLE, {"Retry-After": "0"}), times=1)
    assert _llm(emu, max_retries=2, temperature=0.5).invoke("hi").content
    assert emu.count("/models/user") == 2
    assert "temperature" in emu.chat_requests()[0].json  # the catalog was there to check it


async def test_async_catalog_reads_are_retried_after_a_429_reset(emu: OpenRouterEmulator) -> None:
    started = time.monotonic()  # before the reset is set: a slow set-up cannot shorten the wait
    reset_ms = int((time.time() + 0.3) * 1000)
    emu.set_get_reply("/models/user", Reply.rate_limited(reset_ms=reset_ms), times=1)
    assert (await _llm(emu, max_retries=1).amodel_info()).id == "openai/gpt-4o"
    assert time.monotonic() - started >= 0.2  # it waited for the reset it was given
    assert emu.count("/models/user") == 2


def test_endpoints_and_dropped_connections_are_retried(emu: OpenRouterEmulator) -> None:
    emu.set_get_reply("/endpoints", Reply.drop_connection(), times=1)
    emu.set_get_reply("/models/user", Reply.drop_connection(), times=1)
    catalog = _llm(emu, max_retries=2).catalog
    assert catalog.endpoints("openai/gpt-4o")
    assert emu.count("/models/user") == 2 and emu.count("/openai/gpt-4o/endpoints") == 2


def test_the_error_says_how_many_times_the_catalog_was_asked(emu: OpenRouterEmulator) -> None:
    emu.set_get_reply("/models/user", Reply.json(503, _UNAVAILABLE, {"Retry-After": "0"}))
    with pytest.raises(ServiceUnavailableError) as error:
        _llm(emu, max_retries=2).model_info()
    message = str(error.value)
    assert "Could not load the OpenRouter model catalog" in message
    assert "GET /models/user: OpenRouter returned HTTP 503" in message
    assert "Sent 3 times (max_retries=2)." in message
    assert "retried up to" not in message
    assert emu.count("/models/user") == 3


def test_the_error_names_the_public_catalog_when_the_account_view_was_refused(
    emu: OpenRouterEmulator,
) -> None:
    emu.set_get_reply("/models/user", Reply.json(403, error_document(403, "Forbidden")))
    emu.set_get_reply("/models", Reply.json(503, _UNAVAILABLE, {"Retry-After": "0"}))
    with pytest.raises(ServiceUnavailableError) as error:
        _llm(emu, max_retries=1).model_info()
    message = str(error.value)
    assert "GET /models (after /models/user was refused with HTTP 403): " in message
    assert "Sent 2 times (max_retries=1)." in message
    assert emu.count("/models/user") == 1 and emu.count("/models") == 2


def test_a_failed_endpoints_call_names_it(emu: OpenRouterEmulator) -> None:
    emu.set_get_reply("/endpoints", Reply.json(503, _UNAVAILABLE, {"Retry-After": "0"}))
    with pytest.raises(ServiceUnavailableError) as error:
        _llm(emu, max_retries=1).catalog.endpoints("openai/gpt-4o")
    assert "GET /models/openai/gpt-4o/endpoints: OpenRouter returned HTTP 503" in str(error.value)
    assert "Sent 2 times (max_retries=1)." in str(error.value)


def test_a_429_reset_too_far_away_is_not_waited_for(emu: OpenRouterEmulator) -> None:
    reset_ms = int((time.time() + 3600) * 1000)
    emu.set_get_reply("/models/user", Reply.rate_limited(reset_ms=reset_ms))
    with pytest.raises(RateLimitError) as error:
        _llm(emu, max_retries=2).model_info()
    assert emu.count("/models/user") == 1
    assert "later than max_rate_limit_wait=60 s" in str(error.value)
    assert "Sent" not in str(error.value) and "retried up to" not in str(error.value)
