"""A structured-output runnable whose strategy is chosen on its first call, once.

``with_structured_output`` inside a running event loop, before the catalog is in memory, must
not fetch it there and then: a synchronous fetch would stall every other task of the loop (a
LangGraph node or a FastAPI handler that builds its chain per request). It returns
:func:`defer` instead. The first call decides — ``ainvoke`` / ``astream`` / ``abatch`` await the
catalog, ``invoke`` / ``stream`` / ``batch`` load it as a sync call may — and every call after it
uses the same pipeline. Concurrent first calls (coroutines, threads, or both) wait for one
decision (``SingleFlight``). The decision and its errors (``StructuredOutputUnsupportedError``
for a model with no strategy) come before any chat request, as they would at build time.

State answers the deployment questions: the decision is plain data (a pipeline, or the error
that was decided), kept behind a lock that is only held to store it, never across I/O. After a
``fork`` the child keeps the decision and gets a new lock (``ForkSafeLock``: one held by a
parent thread would never be released) and no decision in flight. A copy or an unpickled
runnable decides again, on its own first call. Nothing belongs to an event loop: a decision
in flight is a ``concurrent.futures.Future`` that any loop or thread may wait on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import Runnable, RunnableLambda

from .._process_local import ForkSafeLock
from ..catalog.single_flight import SingleFlight

if TYPE_CHECKING:
    from langchain_core.language_models import LanguageModelInput

__all__ = ["defer", "in_running_loop"]

_Pipeline = Runnable["LanguageModelInput", Any]


def in_running_loop() -> bool:
    """Whether this thread runs an event loop (where a blocking fetch would stall it)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Decision:
    """The pipeline chosen on first use (or the configuration error that was chosen)."""

    def __init__(
        self, decide: Callable[[], _Pipeline], adecide: Callable[[], Awaitable[_Pipeline]]
    ) -> None:
        self._decide, self._adecide = decide, adecide
        self._reset()

    def _reset(self) -> None:
        self._lock = ForkSafeLock()
        self._flight = SingleFlight()  # concurrent first calls wait for one decision
        self._outcome: _Pipeline | ValueError | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"decide": self._decide, "adecide": self._adecide}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._decide, self._adecide = state["decide"], state["adecide"]
        self._reset()

    def pipeline(self, _input: Any) -> _Pipeline:
        outcome = self._outcome
        if outcome is None:
            outcome = self._flight.run("decision", self._decided)
        return _pipeline_or_raise(outcome)

    async def apipeline(self, _input: Any) -> _Pipeline:
        outcome = self._outcome
        if outcome is None:
            outcome = await self._flight.arun("decision", self._adecided)
        return _pipeline_or_raise(outcome)

    def _decided(self) -> _Pipeline | ValueError:
        if self._outcome is not None:  # decided by a call we waited behind
            return self._outcome
        try:
            outcome: _Pipeline | ValueError = self._decide()
        except ValueError as exc:  # a configuration the catalog rules out: decided
            outcome = exc
        return self._keep(outcome)

    async def _adecided(self) -> _Pipeline | ValueError:
        if self._outcome is not None:
            return self._outcome
        try:
            outcome: _Pipeline | ValueError = await self._adecide()
        except ValueError as exc:
            outcome = exc
        return self._keep(outcome)

    def _keep(self, outcome: _Pipeline | ValueError) -> _Pipeline | ValueError:
        """The first decision stored wins. A transient failure (not a ValueError) is raised
        without being kept, to this call and those waiting on it; the next call tries again."""
        with self._lock:
            if self._outcome is None:
                self._outcome = outcome
            return self._outcome


def _pipeline_or_raise(outcome: _Pipeline | ValueError) -> _Pipeline:
    if isinstance(outcome, ValueError):
        raise outcome.with_traceback(None)
    return outcome


def defer(
    decide: Callable[[], _Pipeline], adecide: Callable[[], Awaitable[_Pipeline]]
) -> Runnable[LanguageModelInput, Any]:
    """A runnable that runs ``decide()`` (sync calls) or ``await adecide()`` (async calls) on
    its first call, keeps the pipeline it returns, and runs every input through it."""
    decision = _Decision(decide, adecide)
    return RunnableLambda(decision.pipeline, afunc=decision.apipeline, name="StructuredOutput")
