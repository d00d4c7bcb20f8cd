"""The process-wide limiter of each API key: what every ``ChatOpenRouter`` of a key shares.

One ``AdaptiveRateLimiter`` per (key, base URL, scope, Redis URL), made on first use and kept in
a registry that starts empty in a forked child (``_process_local``). Only a SHA-256 digest of
the key is kept. ``:free`` models have a scope of their own, which starts from OpenRouter's
published free-tier limits. With ``LANGCHAIN_OPENROUTER_FENIC_REDIS_URL`` set, the state of these
limiters is kept in that Redis, so every worker process and host of a key shares its limits
without code changes.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from .._process_local import ProcessRegistry
from .limiter import FREE_DAILY_PAUSE, AdaptiveRateLimiter

__all__ = [
    "FREE_DAILY_LIMIT",
    "FREE_WINDOW",
    "REDIS_URL_ENV",
    "limiter_scope",
    "shared_rate_limiter",
]

REDIS_URL_ENV = "LANGCHAIN_OPENROUTER_FENIC_REDIS_URL"
# OpenRouter's published :free limits: 20 requests per minute; 50 per day below 10 credits
# purchased, 1000 from 10 on. The daily cap starts at the higher (a 429 teaches the lower).
FREE_WINDOW = (20, 60.0)
FREE_DAILY_LIMIT = 1000

_FREE_SCOPE = "free"
_DEFAULT_SCOPE = "default"

_SHARED: ProcessRegistry[tuple[str, str, str, str], AdaptiveRateLimiter] = ProcessRegistry(
    "rate limiters"
)


def limiter_scope(model_id: str) -> str:
    """The shared limiter a model's requests go through: ``"free"`` for ``:free`` ids.

    OpenRouter counts ``:free`` models against their own budget (20 requests per minute, a
    daily cap), apart from the key's paid traffic; a separate limiter keeps that small budget
    from slowing the key's paid models.
    """
    from ..catalog.model_ids import variant_suffixes

    # any id form: stacked (``x:free:online``) or with a preset (``x:free@preset/p``)
    return _FREE_SCOPE if "free" in variant_suffixes(model_id) else _DEFAULT_SCOPE


def shared_rate_limiter(
    api_key: str | None, base_url: str, *, scope: str = _DEFAULT_SCOPE
) -> AdaptiveRateLimiter:
    """The process-wide limiter of one API key at one base URL and scope (made on first use).

    Every ``ChatOpenRouter`` of a key shares OpenRouter's limits, so they share one limiter;
    ``scope`` separates budgets OpenRouter counts apart (``limiter_scope(model_id)``).
    """
    if not scope:
        raise ValueError(f"scope={scope!r} must be a non-empty name, e.g. limiter_scope(model_id).")
    digest = hashlib.sha256((api_key or "").encode()).hexdigest()
    redis_url = os.environ.get(REDIS_URL_ENV, "").strip()
    return _shared(digest, base_url.rstrip("/"), scope, redis_url)


def _shared(digest: str, base_url: str, scope: str, redis_url: str) -> AdaptiveRateLimiter:
    key = (digest, base_url, scope, redis_url)

    def make() -> AdaptiveRateLimiter:
        options: dict[str, Any] = {}
        if scope == _FREE_SCOPE:
            options = {
                "window_budget": FREE_WINDOW,
                "daily_limit": FREE_DAILY_LIMIT,
                "max_pause": FREE_DAILY_PAUSE,  # the daily quota is this scope's own
            }
        if redis_url:
            account = hashlib.sha256(f"{base_url}\n{digest}".encode()).hexdigest()
            options.update(redis_url=redis_url, redis_name=account, redis_scope=scope)
        limiter = AdaptiveRateLimiter(**options)
        limiter._registry_key = key
        return limiter

    return _SHARED.get_or_create(key, make)


def shared_again(
    digest: str, base_url: str, scope: str, redis_url: str, max_wait: float | None
) -> AdaptiveRateLimiter:
    """Unpickling a shared limiter: this process's limiter of the same key and scope."""
    return _shared(digest, base_url, scope, redis_url).with_max_wait(max_wait)
