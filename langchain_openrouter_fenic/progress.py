"""``OpenRouterProgress``: a LangChain callback handler that shows a long batch or agent run as it
goes -- items done and failed, tokens, cost so far, the rate limiter's rate and pauses.

    with OpenRouterProgress(total=len(inputs), rate_limiter=llm.rate_limiter) as progress:
        results = chain.batch(inputs, config={"callbacks": [progress]}, return_exceptions=True)

A ``tqdm`` bar when tqdm is installed (``pip install langchain-openrouter-fenic[progress]``),
else an INFO log line every ``log_every`` seconds and one at the end (logger
``langchain_openrouter_fenic.progress``). An *item* is one top-level run (one input of a batch,
one agent run); tokens and cost add up every model call inside it, as the answers report them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from ._process_local import ForkSafeLock
from .usage import UsageTotals, _Answer, _Tally

__all__ = ["OpenRouterProgress"]

logger = logging.getLogger(__name__)


class OpenRouterProgress(BaseCallbackHandler):
    """Progress of a batch / agent run. Pass it in ``config={"callbacks": [progress]}``.

    Args:
        total: how many items (inputs) to expect; None when unknown.
        rate_limiter: the limiter to report on (``llm.rate_limiter``); its rate and pauses are
            shown when it is an ``AdaptiveRateLimiter``.
        bar: True forces a tqdm bar (ImportError without tqdm), False forces log lines, None
            (default) uses tqdm when it is installed.
        log_every: seconds between log lines (the log-line display).
        desc: the bar's / log line's label.
        file: where the bar is drawn (default: stderr).
        clock: monotonic seconds, injectable for tests.
    """

    run_inline = True  # cheap, thread-safe: no executor hop in async runs
    raise_error = False

    def __init__(
        self,
        total: int | None = None,
        *,
        rate_limiter: Any = None,
        bar: bool | None = None,
        log_every: float = 10.0,
        desc: str = "OpenRouter",
        file: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if total is not None and (
            isinstance(total, bool) or not isinstance(total, int) or total < 0
        ):
            raise ValueError(f"OpenRouterProgress(total={total!r}): a count >= 0, or None.")
        if log_every <= 0:
            raise ValueError(f"OpenRouterProgress(log_every={log_every!r}): seconds > 0.")
        self.total, self.desc, self.rate_limiter = total, desc, rate_limiter
        self._log_every, self._clock = log_every, clock
        self._lock = ForkSafeLock()
        self._root: dict[UUID, UUID] = {}  # every open run -> the item (top-level run) it is in
        self._members: dict[UUID, list[UUID]] = {}  # item -> its open runs
        self._answered_roots: set[UUID] = set()
        self._done = self._failed = self._pauses = 0
        self._paused = False
        self._tally = _Tally()
        self._last_log = clock()
        self._closed = False
        self._bar = _make_bar(bar, total, desc, file)

    # -- what it shows -----------------------------------------------------------------------
    @property
    def done(self) -> int:
        """Items that finished without an error."""
        with self._lock:
            return self._done

    @property
    def failed(self) -> int:
        """Items that raised."""
        with self._lock:
            return self._failed

    @property
    def pauses(self) -> int:
        """How many times the rate limiter was seen pausing all requests."""
        with self._lock:
            return self._pauses

    @property
    def uses_bar(self) -> bool:
        return self._bar is not None

    def totals(self) -> UsageTotals:
        """Tokens and cost of every model call seen so far (``requests`` counts those calls)."""
        with self._lock:
            return self._tally.frozen()

    def summary(self) -> str:
        """One line: ``120/200 done, 3 failed, 45,210 tokens, $0.012300, 450 req/min``."""
        with self._lock:
            return self._summary()

    def _summary(self) -> str:
        totals = self._tally.frozen()
        of = f"/{self.total}" if self.total is not None else ""
        parts = [
            f"{self._done}{of} done",
            f"{self._failed} failed",
            f"{totals.total_tokens:,} tokens",
            f"${totals.cost:.6f}{' (estimated in part)' if totals.cost_estimated else ''}",
        ]
        limiter = self._limiter_state()
        if limiter:
            parts.append(limiter)
        return ", ".join(parts)

    def _limiter_state(self) -> str:
        rate = getattr(self.rate_limiter, "requests_per_minute", None)
        pause_left = getattr(self.rate_limiter, "cooldown_remaining", None)
        if not isinstance(rate, (int, float)):
            return ""
        text = f"{rate:,.0f} req/min"
        remaining = pause_left() if callable(pause_left) else 0.0
        if remaining > 0 and not self._paused:
            self._pauses += 1
        self._paused = remaining > 0
        if remaining > 0:
            text += f", paused {remaining:.1f} s"
        if self._pauses:
            text += f" ({self._pauses} pause{'s' if self._pauses > 1 else ''})"
        return text

    # -- LangChain callbacks ------------------------------------------------------------------
    def _started(self, run_id: UUID, parent_run_id: UUID | None) -> None:
        with self._lock:
            if parent_run_id is None:
                self._members[run_id] = [run_id]
                self._root[run_id] = run_id
                return
            root = self._root.get(parent_run_id)
            if root is not None:
                self._root[run_id] = root
                self._members[root].append(run_id)

    def _answered(self, run_id: UUID) -> None:
        """A model call answered: its item counts as done from now (a chain's batch runs every
        input's model call before any parser, so waiting for the chain would show nothing)."""
        with self._lock:
            root = self._root.get(run_id)
            if root is not None and root not in self._answered_roots:
                self._answered_roots.add(root)
                self._done += 1
                self._show(final=self._finished())

    def _ended(self, run_id: UUID, failed: bool) -> None:
        with self._lock:
            if self._root.get(run_id) != run_id:
                return  # not an item: a step inside one
            for member in self._members.pop(run_id, []):
                self._root.pop(member, None)
            counted = run_id in self._answered_roots
            self._answered_roots.discard(run_id)
            if failed:
                self._failed += 1
                self._done -= counted  # an answer whose item failed later (e.g. its parser)
            elif counted:
                return  # shown when it answered
            else:
                self._done += 1
            self._show(final=self._finished())

    def _finished(self) -> bool:
        return self.total is not None and self._done + self._failed >= self.total

    # an item starts at the top: a chain (a batch input, an agent run), a chat model, an LLM
    def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
        self._started(kw["run_id"], kw.get("parent_run_id"))

    def on_chat_model_start(self, serialized: Any, messages: Any, **kw: Any) -> None:
        self._started(kw["run_id"], kw.get("parent_run_id"))

    def on_llm_start(self, serialized: Any, prompts: Any, **kw: Any) -> None:
        self._started(kw["run_id"], kw.get("parent_run_id"))

    def on_llm_end(self, response: LLMResult, *, run_id: UUID, **kw: Any) -> None:
        message = _first_message(response)
        if message is not None:
            answer = _Answer.of(message, str(message.response_metadata.get("model_name") or ""))
            with self._lock:
                self._tally.add(answer)
        self._answered(run_id)
        self._ended(run_id, failed=False)

    def on_llm_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self._ended(run_id, failed=True)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._ended(run_id, failed=False)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self._ended(run_id, failed=True)

    # -- display ------------------------------------------------------------------------------
    def _show(self, *, final: bool) -> None:
        """Update the bar, or log when ``log_every`` has passed (always for the final line);
        called under the lock."""
        if self._closed:
            return
        if self._bar is not None:
            self._bar.n = self._done + self._failed
            self._bar.set_postfix_str(self._summary().split(", ", 1)[1], refresh=False)
            if final:
                self._bar.refresh()
            else:
                self._bar.update(0)  # redraws when tqdm's mininterval has passed
            return
        now = self._clock()
        if final or now - self._last_log >= self._log_every:
            self._last_log = now
            logger.info("%s progress: %s", self.desc, self._summary())

    def close(self) -> None:
        """Draw the last state (a final log line without tqdm) and close the bar."""
        with self._lock:
            if self._closed:
                return
            if self._bar is not None:
                self._bar.n = self._done + self._failed
                self._bar.set_postfix_str(self._summary().split(", ", 1)[1], refresh=True)
                self._bar.close()
            elif self._done + self._failed or self._tally.requests:
                logger.info("%s finished: %s", self.desc, self._summary())
            self._closed = True

    def __enter__(self) -> OpenRouterProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"OpenRouterProgress({self.summary()})"


def _first_message(response: LLMResult) -> Any:
    for generations in response.generations:
        for generation in generations:
            message = getattr(generation, "message", None)
            if message is not None:
                return message
    return None


def _make_bar(bar: bool | None, total: int | None, desc: str, file: TextIO | None) -> Any:
    if bar is False:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        if bar:
            raise ImportError(
                "OpenRouterProgress(bar=True) needs tqdm: pip install "
                "'langchain-openrouter-fenic[progress]' (or pass bar=None for log lines)."
            ) from None
        return None
    return tqdm(total=total, desc=desc, unit="item", file=file, dynamic_ncols=True)
