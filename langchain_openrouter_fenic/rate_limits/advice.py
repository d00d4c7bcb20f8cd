"""What a rate-limit error says when a wait is longer than the caller allows (pure text)."""

from __future__ import annotations

from datetime import datetime, timezone

from ..errors import RateLimitError

__all__ = ["resets_advice", "wait_refused"]


def resets_advice(wait: float, max_wait: float, wall_now: float) -> str:
    """When the limit resets, why that is too long, and what to change."""
    at = datetime.fromtimestamp(wall_now + wait, tz=timezone.utc)
    return (
        f"The limit resets at {at:%Y-%m-%d %H:%M:%S} UTC (in {wait:.0f} s), later than "
        f"max_rate_limit_wait={max_wait:g} s. Wait until then, raise max_rate_limit_wait, use "
        "another model (e.g. a paid variant of a ':free' model), or add your own provider key "
        "(BYOK) at https://openrouter.ai/settings/integrations."
    )


def wait_refused(wait: float, max_wait: float, wall_now: float, cause: str) -> RateLimitError:
    """The error of an acquire that would wait longer than ``max_wait`` (nothing was sent)."""
    return RateLimitError(
        f"OpenRouter rate limit: the rate limiter would hold this request for {wait:.1f} s "
        f"({cause}); no request was sent. " + resets_advice(wait, max_wait, wall_now),
        status_code=429,
        retry_after=wait,
    )
