"""Rate limiting and retries.

- ``signals``: OpenRouter's rate-limit hints read out of a 429 (pure);
- ``policy``: the pure pacing schedule (AIMD, GCRA slots, cooldowns, window budgets) over "now";
- ``limiter``: ``AdaptiveRateLimiter``, the LangChain rate limiter (in-process state, waiting);
- ``retry``: the tenacity retry policy of a chat call;
- ``waits``: the switch that skips pacing and retry sleeps while recorded HTTP is replayed.

Names load on first access: the limiter is not needed to build a chain, and ``retry`` brings
tenacity.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .limiter import AdaptiveRateLimiter, WindowBudget, limiter_scope, shared_rate_limiter
    from .signals import RateLimitSignal, parse_rate_limit_signal

_LAZY = {
    "AdaptiveRateLimiter": ".limiter",
    "WindowBudget": ".limiter",
    "limiter_scope": ".limiter",
    "shared_rate_limiter": ".limiter",
    "RateLimitSignal": ".signals",
    "parse_rate_limit_signal": ".signals",
}

__all__ = [
    "AdaptiveRateLimiter",
    "RateLimitSignal",
    "WindowBudget",
    "limiter_scope",
    "parse_rate_limit_signal",
    "shared_rate_limiter",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
