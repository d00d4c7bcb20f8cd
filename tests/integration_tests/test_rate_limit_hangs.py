"""No rate-limit hangs, end to end: a 429 that leaves budget pauses nothing, and a wait longer
than ``max_rate_limit_wait`` raises at once, whoever acquires the limiter (LangChain's
``BaseChatModel`` before ``_generate``, the retry loop, a stream, another LangChain model).

Each test uses a key of its own: the default limiter is shared per key, process-wide. The
"at once" checks allow 2 s where the issue says 0.5 s: the refusal itself sleeps nothing (the
fake-clock tests in ``test_rate_limiter.py`` prove that), the margin is for a loaded machine,
and the wait being refused is 20 s, so a limiter that waited cannot pass.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from langchain_openrouter_fenic import AdaptiveRateLimiter, ChatOpenRouter, errors
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal
from tests.support.emulator import OpenRouterEmulator, Reply

MODEL = "openai/gpt-4o-mini"
OTHER_MODEL = "anthropic/claude-3.5-haiku"
AT_ONCE = 2.0  # seconds; see the module docstring


def make(emulator: OpenRouterEmulator, key: str, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"model": MODEL, "api_key": key, "base_url": emulator.url}
    options.update(kw)
    return ChatOpenRouter(**options)


def fresh_key() -> str:
    return f"sk-or-v1-hangs-{uuid.uuid4().hex}"


def reset_in(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


def finishes_within(seconds: float, work: Callable[[], Any]) -> Any:
    """Run ``work`` in a thread; fail (instead of hanging) if it takes longer than ``seconds``."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s: the limiter hangs"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


# -- (a) a 429 that leaves budget -----------------------------------------------------------
def test_a_429_with_budget_remaining_pauses_no_model_of_the_key(
    emulator: OpenRouterEmulator,
) -> None:
    key = fresh_key()
    first, other = make(emulator, key), make(emulator, key, model=OTHER_MODEL)
    # a daily window with budget left: this 429 came from something else (a provider)
    emulator.enqueue(Reply.rate_limited(limit=50, remaining=12, reset_ms=reset_in(3600)))
    answer = finishes_within(30, lambda: first.invoke("hi"))  # retried after a short backoff
    assert isinstance(answer, AIMessage)
    limiter = first.rate_limiter
    assert isinstance(limiter, AdaptiveRateLimiter)
    assert limiter.cooldown_remaining() == 0.0 and limiter.window_budget is None
    started = time.monotonic()
    assert finishes_within(30, lambda: other.invoke("hi")).content
    assert time.monotonic() - started < AT_ONCE
    assert len(emulator.chat_requests()) == 3


# -- (b) a wait longer than max_rate_limit_wait ---------------------------------------------
def _paused_for_20_s(emulator: OpenRouterEmulator, llm: ChatOpenRouter) -> None:
    """A 429 whose window resets in 20 s: raised at once (20 > 2) and the limiter pauses."""
    emulator.enqueue(Reply.rate_limited(limit=20, remaining=0, reset_ms=reset_in(20)))
    # "in 19 s" when the machine is slow between building the reply and reading it
    with pytest.raises(errors.RateLimitError, match=r"in (1\d|20) s.*max_rate_limit_wait=2 s"):
        llm.invoke("hi")
    assert len(emulator.chat_requests()) == 1


CALLS: dict[str, Callable[[ChatOpenRouter], Any]] = {
    "invoke": lambda llm: llm.invoke("hi"),
    "ainvoke": lambda llm: asyncio.run(llm.ainvoke("hi")),
    "stream": lambda llm: list(llm.stream("hi")),
    "astream": lambda llm: asyncio.run(_collect(llm)),
    "batch": lambda llm: llm.batch(["hi", "hello"]),
    "streaming=True": lambda llm: llm.model_copy(update={"streaming": True}).invoke("hi"),
}


async def _collect(llm: ChatOpenRouter) -> list[Any]:
    return [chunk async for chunk in llm.astream("hi")]


@pytest.mark.parametrize("call", list(CALLS.values()), ids=list(CALLS))
def test_a_pause_longer_than_max_rate_limit_wait_raises_at_once_on_every_path(
    emulator: OpenRouterEmulator, call: Callable[[ChatOpenRouter], Any]
) -> None:
    llm = make(emulator, fresh_key(), max_rate_limit_wait=2, max_retries=0)
    _paused_for_20_s(emulator, llm)
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError) as raised:
        finishes_within(30, lambda: call(llm))
    assert time.monotonic() - started < AT_ONCE
    message = str(raised.value)
    assert "no request was sent" in message and "resets at" in message
    assert "max_rate_limit_wait=2 s" in message
    assert raised.value.retry_after is not None and 15 < raised.value.retry_after <= 21
    assert len(emulator.chat_requests()) == 1  # nothing was sent


def test_models_of_one_key_keep_their_own_bound(emulator: OpenRouterEmulator) -> None:
    key = fresh_key()
    impatient = make(emulator, key, max_rate_limit_wait=2, max_retries=0)
    patient = make(emulator, key, max_rate_limit_wait=60, max_retries=0)
    assert isinstance(patient.rate_limiter, AdaptiveRateLimiter)
    assert isinstance(impatient.rate_limiter, AdaptiveRateLimiter)
    assert patient.rate_limiter.max_wait == 60 and impatient.rate_limiter.max_wait == 2
    emulator.enqueue(Reply.rate_limited(limit=20, remaining=0, reset_ms=reset_in(3)))
    with pytest.raises(errors.RateLimitError):
        patient.invoke("hi")  # max_retries=0: the 429 itself is raised; the limiter pauses 3 s
    with pytest.raises(errors.RateLimitError, match="no request was sent"):
        impatient.invoke("hi")
    started = time.monotonic()
    assert finishes_within(30, lambda: patient.invoke("hi")).content  # waits out the 3 s
    assert 1.0 < time.monotonic() - started < 10
    assert len(emulator.chat_requests()) == 2


def test_max_rate_limit_wait_zero_never_waits(emulator: OpenRouterEmulator) -> None:
    llm = make(emulator, fresh_key(), max_rate_limit_wait=0, max_retries=3)
    emulator.enqueue(Reply.rate_limited(limit=20, remaining=0, reset_ms=reset_in(1)))
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError, match="max_rate_limit_wait=0 s"):
        llm.invoke("hi")  # the reset is 1 s away: not retried, not waited for
    with pytest.raises(errors.RateLimitError, match="no request was sent"):
        llm.invoke("hi")
    assert time.monotonic() - started < AT_ONCE
    assert len(emulator.chat_requests()) == 1


def test_another_langchain_model_gets_the_bound_too() -> None:
    limiter = AdaptiveRateLimiter()
    limiter.record_rate_limited(RateLimitSignal(retry_after=20))
    other = GenericFakeChatModel(
        messages=iter([AIMessage("never")]), rate_limiter=limiter.with_max_wait(2)
    )
    started = time.monotonic()
    with pytest.raises(errors.RateLimitError, match=r"in (19|20) s.*max_rate_limit_wait=2 s"):
        finishes_within(30, lambda: other.invoke("hi"))
    assert time.monotonic() - started < AT_ONCE
