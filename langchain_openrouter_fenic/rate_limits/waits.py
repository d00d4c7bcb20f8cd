"""One process-wide switch that skips every wait of the rate limiter and the retry policy.

Replaying recorded HTTP (``langchain_openrouter_fenic.testing``) needs every decision -- a
recorded 429 is still parsed, fed to the limiter, retried or raised -- but none of the waiting:
time during a replay is not the service's time. While :func:`skipped` is active,
``AdaptiveRateLimiter.acquire`` admits at once and the retry policy does not sleep between
attempts (the wait it computed is still logged). Process-wide rather than per context, because an
agent's tools and LangChain's executors run calls in other threads. Nestable; normal use never
turns it on.

A replay also happens later than its recording: a recorded ``X-RateLimit-Reset`` (an epoch) is
in the past by then. :func:`answer_time` gives the instant to read a rate-limit answer against --
now, or while replaying the answer's own ``Date`` -- so that a replayed 429 means what it meant
when it was recorded (a wait too long to honour still raises).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from email.utils import parsedate_to_datetime

from .._process_local import ForkSafeLock

__all__ = [
    "answer_time",
    "are_skipped",
    "asleep_unless_skipped",
    "skipped",
    "sleep_unless_skipped",
]

# a forked child (a worker started by a replayed test) keeps skipping; its lock starts free
_lock = ForkSafeLock()
_depth = 0


def are_skipped() -> bool:
    """True while some :func:`skipped` block is active (in any thread)."""
    return _depth > 0


@contextmanager
def skipped() -> Iterator[None]:
    """Skip rate-limit pacing and retry sleeps until the block ends."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def sleep_unless_skipped(sleep: Callable[[float], None]) -> Callable[[float], None]:
    """``sleep``, or no wait at all while waits are skipped."""

    def maybe_sleep(seconds: float) -> None:
        if not are_skipped():
            sleep(seconds)

    return maybe_sleep


def asleep_unless_skipped(
    sleep: Callable[[float], Awaitable[None]],
) -> Callable[[float], Awaitable[None]]:
    """The async :func:`sleep_unless_skipped`."""

    async def maybe_sleep(seconds: float) -> None:
        if not are_skipped():
            await sleep(seconds)

    return maybe_sleep


def answer_time(headers: Mapping[str, str] | None, now: float) -> float:
    """``now``, or while waits are skipped (a replay) the ``Date`` the answer was sent at."""
    if not are_skipped() or not headers:
        return now
    sent = next((v for k, v in headers.items() if k.lower() == "date"), None)
    try:
        return parsedate_to_datetime(sent).timestamp() if sent else now
    except (TypeError, ValueError):
        return now
