"""Free-tier scope: ``:free`` models get their own shared limiter, so their small window budget
(20 requests per minute) never slows the key's paid models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from langchain_openrouter_fenic.rate_limits import shared as module
from langchain_openrouter_fenic.rate_limits.shared import limiter_scope, shared_rate_limiter
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal

SNAPSHOT = Path(module.__file__).parents[1] / "data" / "catalog-snapshot.json"
KEY = "sk-or-v1-" + "5" * 40
BASE_URL = "https://openrouter.ai/api/v1"


@pytest.mark.parametrize(
    ("model_id", "scope"),
    [
        ("meta-llama/llama-3.3-70b-instruct:free", "free"),
        ("openai/gpt-4o-mini", "default"),
        ("anthropic/claude-3.7-sonnet:thinking", "default"),
        ("openrouter/auto", "default"),
        ("someone/free-model", "default"),  # "free" in the name is not the :free variant
        ("openrouter/free:beta", "default"),
        ("meta-llama/llama-3.3-70b-instruct:free:online", "free"),  # stacked variants
        ("google/gemma-3-27b-it:free:nitro", "free"),
        ("google/gemma-3-27b-it:free@preset/my-preset", "free"),
        ("@preset/free", "default"),  # a preset alone: its model is unknown here
    ],
)
def test_limiter_scope_is_free_only_for_free_variants(model_id: str, scope: str) -> None:
    assert limiter_scope(model_id) == scope


def test_every_free_model_of_the_real_catalog_has_the_free_scope() -> None:
    ids = [entry["id"] for entry in json.loads(SNAPSHOT.read_text())["data"]]
    free = {i for i in ids if limiter_scope(i) == "free"}
    assert free == {i for i in ids if i.endswith(":free")}
    assert 0 < len(free) < len(ids)


def test_one_shared_limiter_per_key_base_url_and_scope() -> None:
    paid = shared_rate_limiter(KEY, BASE_URL)
    free = shared_rate_limiter(KEY, BASE_URL, scope="free")
    assert free is not paid
    assert shared_rate_limiter(KEY, BASE_URL + "/", scope="free") is free
    assert shared_rate_limiter(KEY, BASE_URL, scope="default") is paid
    assert shared_rate_limiter("sk-or-v1-other", BASE_URL, scope="free") is not free
    assert not any(KEY in part for entry in module._SHARED for part in entry)  # digest only


def test_a_free_models_window_budget_does_not_slow_the_paid_models_of_the_key() -> None:
    key = "sk-or-v1-" + "6" * 40
    paid = shared_rate_limiter(key, BASE_URL, scope=limiter_scope("openai/gpt-4o-mini"))
    free = shared_rate_limiter(key, BASE_URL, scope=limiter_scope("google/gemma-3-12b-it:free"))
    paid_rate = paid.requests_per_minute
    # the free tier's real answer: 20 per minute, window spent, resets in 40 s
    free.record_rate_limited(RateLimitSignal(limit=20, remaining=0, reset_in=40.0))
    assert free.cooldown_remaining() > 30
    assert free.window_budget is not None and free.window_budget.limit == 20
    assert paid.cooldown_remaining() == 0.0
    assert paid.window_budget is None
    assert paid.requests_per_minute == paid_rate
    assert paid.acquire(blocking=False)  # the paid model may send right now


def test_an_empty_scope_is_refused_with_its_name() -> None:
    with pytest.raises(ValueError, match=r"scope=''.*limiter_scope"):
        shared_rate_limiter(KEY, BASE_URL, scope="")
