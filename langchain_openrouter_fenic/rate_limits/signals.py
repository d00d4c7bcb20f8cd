"""Read OpenRouter's rate-limit signals out of a 429 answer (pure functions over data).

OpenRouter says how long to back off in several places, depending on who limited the request:

- its own limits (e.g. the ``:free`` tier, 20 per minute or 50 per day) send ``X-RateLimit-Limit``,
  ``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` as headers *and* echo them in
  ``error.metadata.headers``. ``Reset`` is an epoch in **milliseconds** (10-digit values are
  seconds). ``Limit`` is the budget of the window that ends at ``Reset``, not a per-minute rate;
- upstream providers' 429s may carry ``Retry-After`` (seconds or an HTTP date, as a header or in
  ``error.metadata.headers``) and ``error.metadata.retry_after_seconds``;
- newer answers carry ``error.availability.retry_after``.

Missing or garbage values are ignored: a signal is advice, never a reason to fail.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timezone
from email.utils import parsedate_to_datetime
from typing import Any

__all__ = ["RateLimitSignal", "parse_rate_limit_signal"]

# Epochs above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MILLISECOND_EPOCH_ABOVE = 1e11
# Epochs below this (Sep 2001) cannot be a reset instant; they are read as "seconds from now".
_SECONDS_EPOCH_ABOVE = 1e9
# A wait longer than this is a parsing accident, not advice (the longest real quota is daily).
_LONGEST_PLAUSIBLE_WAIT = 31 * 24 * 3600.0


@dataclass(frozen=True, slots=True)
class RateLimitSignal:
    """What a 429 said about when to send again. Every field is None when it was not given.

    Attributes:
        limit: ``X-RateLimit-Limit``: requests allowed in the window that ends at the reset.
        remaining: ``X-RateLimit-Remaining``: requests still allowed in that window.
        reset_in: seconds from ``now`` until ``X-RateLimit-Reset`` (0.0 if already past).
        retry_after: seconds to wait, from ``Retry-After`` / ``metadata.retry_after_seconds`` /
            ``availability.retry_after`` (the longest when several are given).
    """

    limit: int | None = None
    remaining: int | None = None
    reset_in: float | None = None
    retry_after: float | None = None

    @property
    def has_window_budget(self) -> bool:
        """True when Limit and Reset describe a window budget (Limit requests until Reset)."""
        return self.limit is not None and self.reset_in is not None

    @property
    def window_spent(self) -> bool:
        """True when this 429 says its window's budget is spent (``remaining`` 0 or not given).

        A 429 that leaves budget (``remaining > 0``) was not caused by that window: the window
        it names is no reason to pause until its reset.
        """
        return self.reset_in is not None and (self.remaining is None or self.remaining <= 0)

    def wait_seconds(self) -> float | None:
        """How long nothing may be sent: the later of reset and retry-after, or None if unknown.

        A reset that comes with budget still remaining (``remaining > 0``) does not force a wait.
        """
        waits = [self.retry_after]
        if self.window_spent:
            waits.append(self.reset_in)
        known = [w for w in waits if w is not None]
        return max(known) if known else None


def parse_rate_limit_signal(
    headers: Mapping[str, str] | None, body: Any, *, now: float
) -> RateLimitSignal:
    """Collect every rate-limit hint of one answer.

    Args:
        headers: the response headers, names in any case (None when there was no response).
        body: the decoded JSON error body (``{"error": {...}}``), the ``error`` object itself,
            its JSON text, or None.
        now: the current wall-clock time, epoch seconds (``time.time()``), to turn the reset
            epoch and HTTP dates into "seconds from now".
    """
    error = _error_object(body)
    metadata = _mapping(error.get("metadata"))
    availability = _mapping(error.get("availability"))
    # the response headers win; OpenRouter echoes the same values inside the body
    sources = [_lower_keys(headers), _lower_keys(_mapping(metadata.get("headers")))]

    reset_epoch = _first(_parse_epoch(s.get("x-ratelimit-reset"), now) for s in sources)
    retry_afters = [_parse_retry_after(s.get("retry-after"), now) for s in sources]
    retry_afters.append(_parse_seconds(metadata.get("retry_after_seconds")))
    retry_afters.append(_parse_seconds(availability.get("retry_after")))
    known_retry_afters = [r for r in retry_afters if r is not None]
    return RateLimitSignal(
        limit=_first(_parse_count(s.get("x-ratelimit-limit"), minimum=1) for s in sources),
        remaining=_first(_parse_count(s.get("x-ratelimit-remaining"), minimum=0) for s in sources),
        reset_in=None if reset_epoch is None else max(0.0, reset_epoch - now),
        retry_after=max(known_retry_afters) if known_retry_afters else None,
    )


def _error_object(body: Any) -> Mapping[str, Any]:
    if isinstance(body, (str, bytes)):
        try:
            body = json.loads(body)
        except ValueError:
            return {}
    body = _mapping(body)
    error = body.get("error")
    return _mapping(error) if isinstance(error, Mapping) else body


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _lower_keys(headers: Mapping[str, Any] | None) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in (headers or {}).items()}


def _first(values: Iterable[Any]) -> Any:
    return next((v for v in values if v is not None), None)


def _number(value: Any) -> float | None:
    """A finite float from an int, float or numeric string; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(str(value).strip()) if isinstance(value, (str, bytes)) else float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _parse_count(value: Any, *, minimum: int) -> int | None:
    number = _number(value)
    if number is None or number != int(number) or number < minimum:
        return None
    return int(number)


def _parse_seconds(value: Any) -> float | None:
    seconds = _number(value)
    if seconds is None or seconds < 0 or seconds > _LONGEST_PLAUSIBLE_WAIT:
        return None
    return seconds


def _parse_epoch(value: Any, now: float) -> float | None:
    """X-RateLimit-Reset as epoch seconds: 13-digit values are ms, 10-digit values seconds."""
    number = _number(value)
    if number is None or number < 0:
        return None
    if number >= _MILLISECOND_EPOCH_ABOVE:
        number /= 1000.0
    elif number < _SECONDS_EPOCH_ABOVE:
        number = now + number  # a small number cannot be an epoch: read it as a delay
    return number if number - now <= _LONGEST_PLAUSIBLE_WAIT else None


def _parse_retry_after(value: Any, now: float) -> float | None:
    """Retry-After is delay-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    seconds = _parse_seconds(value)
    if seconds is not None or not isinstance(value, str):
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000": HTTP dates are GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    return _parse_seconds(max(0.0, when.timestamp() - now))
