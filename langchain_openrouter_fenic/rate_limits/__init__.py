"""Rate limiting and retries.

- ``signals``: OpenRouter's rate-limit hints read out of a 429 (pure);
- ``policy``: every pacing decision (AIMD, GCRA slots, cooldowns, window budgets) as pure
  functions of a flat state and "now";
- ``local_state``: that state in this process; ``redis_state`` (+ ``redis_scripts``, the same
  decisions in Lua): that state in Redis, shared by processes and hosts, with a fallback;
- ``limiter``: ``AdaptiveRateLimiter``, the LangChain rate limiter (waiting, bounds, feedback);
- ``shared``: the process-wide limiter of each API key (``shared_rate_limiter``);
- ``retry``: the tenacity retry policy of a chat call; ``advice``: what its errors say;
- ``waits``: the switch that skips pacing and retry sleeps while recorded HTTP is replayed.

Names load on first access: the limiter is not needed to build a chain, and ``retry`` brings
tenacity.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .limiter import AdaptiveRateLimiter, WindowBudget
    from .shared import limiter_scope, shared_rate_limiter
    from .signals import RateLimitSignal, parse_rate_limit_signal

_LAZY = {
    "AdaptiveRateLimiter": ".limiter",
    "WindowBudget": ".limiter",
    "limiter_scope": ".shared",
    "shared_rate_limiter": ".shared",
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
