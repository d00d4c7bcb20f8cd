"""``openrouter_usage()``: exact token and cost totals of every ``ChatOpenRouter`` call in a block,
and a budget that stops further requests once it is spent.

    with openrouter_usage(budget=2.00) as usage:
        chain.batch(inputs)                 # threads, asyncio tasks, agents, chains: all counted
    usage.cost, usage.by_model, usage.by_provider

The active trackers live in a ``ContextVar``: LangChain's ``batch`` threads, LangGraph nodes and
asyncio tasks started inside the block copy the context, so their calls are counted too (a plain
``threading.Thread`` starts with an empty context: run its target with
``contextvars.copy_context().run``). Blocks nest: a call is counted by every enclosing block.
A block counts the calls of its own process: a child forked inside it counts into its own copy
(whose lock starts released), and a pickled or deep-copied tracker is a detached snapshot of
the totals. Nothing in it belongs to an event loop, so ``asyncio.run`` calls inside one block
are all counted.

What is counted: each answer that arrived, once (retries are inside one call; a failed call is
not billed and only counts in ``failed_requests``). Cost is OpenRouter's ``usage.cost`` where it
was sent; an estimate from catalog prices otherwise, and then ``cost_estimated`` is True. Costs
add up as decimals, so totals do not depend on the order in which concurrent answers land.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from langchain_core.messages import BaseMessage

from ._process_local import ForkSafeLock
from .errors import BudgetExceededError

if TYPE_CHECKING:
    from langchain_core.outputs import ChatResult

__all__ = ["BudgetExceededError", "OpenRouterUsage", "UsageTotals", "meter", "openrouter_usage"]

_ACTIVE: ContextVar[tuple[OpenRouterUsage, ...]] = ContextVar("openrouter_usage", default=())
_UNKNOWN = "unknown"
T = TypeVar("T")


@dataclass(frozen=True)
class UsageTotals:
    """Totals of one model or provider (or of everything): tokens, and cost in USD."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: float = 0.0
    cost_estimated: bool = False
    response_cache_hits: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True)
class _Answer:
    """What one answer adds to the totals."""

    model: str
    provider: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: Decimal
    cost_estimated: bool
    response_cache_hit: bool

    @classmethod
    def of(cls, message: BaseMessage, requested_model: str) -> _Answer:
        from .wire.response import usage_metadata

        meta = message.response_metadata
        usage = usage_metadata(meta.get("token_usage")) or getattr(message, "usage_metadata", None)
        usage = usage or {}
        inputs: Mapping[str, Any] = usage.get("input_token_details") or {}
        outputs: Mapping[str, Any] = usage.get("output_token_details") or {}
        cost = meta.get("cost")
        known = isinstance(cost, (int, float)) and not isinstance(cost, bool)
        return cls(
            model=str(meta.get("model_name") or requested_model),
            provider=str(meta.get("provider") or _UNKNOWN),
            input_tokens=int(usage.get("input_tokens") or 0),
            output_tokens=int(usage.get("output_tokens") or 0),
            cache_read_tokens=int(inputs.get("cache_read") or 0),
            cache_write_tokens=int(inputs.get("cache_creation") or 0),
            reasoning_tokens=int(outputs.get("reasoning") or 0),
            # str() first: the decimal of the float as written on the wire, not its binary value
            cost=Decimal(str(cost)) if known else Decimal(0),
            cost_estimated=bool(meta.get("cost_estimated")) or not known,
            response_cache_hit=(meta.get("response_cache") or {}).get("status") == "HIT",
        )


class _Tally:
    """Mutable running totals (under the tracker's lock)."""

    __slots__ = (
        "cache_read",
        "cache_write",
        "cost",
        "estimated",
        "hits",
        "inputs",
        "outputs",
        "reasoning",
        "requests",
    )

    def __init__(self) -> None:
        self.requests = self.inputs = self.outputs = self.hits = 0
        self.cache_read = self.cache_write = self.reasoning = 0
        self.cost = Decimal(0)
        self.estimated = False

    def add(self, answer: _Answer) -> None:
        self.requests += 1
        self.inputs += answer.input_tokens
        self.outputs += answer.output_tokens
        self.cache_read += answer.cache_read_tokens
        self.cache_write += answer.cache_write_tokens
        self.reasoning += answer.reasoning_tokens
        self.cost += answer.cost
        self.estimated = self.estimated or answer.cost_estimated
        self.hits += answer.response_cache_hit

    def frozen(self) -> UsageTotals:
        return UsageTotals(
            requests=self.requests,
            input_tokens=self.inputs,
            output_tokens=self.outputs,
            cache_read_tokens=self.cache_read,
            cache_write_tokens=self.cache_write,
            reasoning_tokens=self.reasoning,
            cost=float(self.cost),
            cost_estimated=self.estimated,
            response_cache_hits=self.hits,
        )


class _Total(Generic[T]):
    """A read-only attribute of ``OpenRouterUsage`` that reads the same-named total."""

    def __set_name__(self, owner: type, name: str) -> None:
        self._name = name

    def __get__(self, tracker: OpenRouterUsage | None, owner: type | None = None) -> T:
        if tracker is None:
            raise AttributeError(self._name)
        value: T = getattr(tracker.totals(), self._name)
        return value


class OpenRouterUsage:
    """The totals of an ``openrouter_usage()`` block; read them during or after it.

    ``requests``, ``input_tokens``, ``output_tokens``, ``cost`` (USD) and ``cost_estimated`` for
    everything; ``by_model`` (the model that answered, as OpenRouter names it) and ``by_provider``
    (the provider that served it) hold the same per key as ``UsageTotals``. ``failed_requests``
    counts calls that raised (not billed). With a ``budget`` (USD), a request about to be sent once
    ``cost >= budget`` raises ``BudgetExceededError`` instead; requests already in flight finish,
    so a concurrent batch can pass the budget by at most its in-flight requests.
    """

    def __init__(self, budget: float | None = None) -> None:
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, (int, float)) or budget < 0
        ):
            raise ValueError(
                f"openrouter_usage(budget={budget!r}): the budget is USD, a number >= 0 "
                "(e.g. budget=2.5), or None for no budget."
            )
        self.budget = None if budget is None else float(budget)
        # fork-safe: a child forked while another thread held it must not deadlock
        self._lock = ForkSafeLock()
        self._total = _Tally()
        self._by_model: dict[str, _Tally] = {}
        self._by_provider: dict[str, _Tally] = {}
        self._failed = 0
        self._tokens: list[Token[tuple[OpenRouterUsage, ...]]] = []

    # -- copies --------------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """A pickle or deep copy is a detached snapshot: the totals, not the active block."""
        with self._lock:
            return {
                "budget": self.budget,
                "total": copy.deepcopy(self._total),
                "by_model": copy.deepcopy(self._by_model),
                "by_provider": copy.deepcopy(self._by_provider),
                "failed": self._failed,
            }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.budget = state["budget"]
        self._lock = ForkSafeLock()
        self._total, self._failed = state["total"], state["failed"]
        self._by_model, self._by_provider = state["by_model"], state["by_provider"]
        self._tokens = []

    # -- the block ---------------------------------------------------------------------------
    def __enter__(self) -> OpenRouterUsage:
        self._tokens.append(_ACTIVE.set((*_ACTIVE.get(), self)))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _ACTIVE.reset(self._tokens.pop())

    async def __aenter__(self) -> OpenRouterUsage:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # -- totals ------------------------------------------------------------------------------
    def totals(self) -> UsageTotals:
        """Everything so far, as one consistent snapshot."""
        with self._lock:
            return self._total.frozen()

    # each reads one consistent snapshot of the totals (see UsageTotals)
    requests: _Total[int] = _Total()
    input_tokens: _Total[int] = _Total()
    output_tokens: _Total[int] = _Total()
    total_tokens: _Total[int] = _Total()
    cache_read_tokens: _Total[int] = _Total()
    cache_write_tokens: _Total[int] = _Total()
    reasoning_tokens: _Total[int] = _Total()
    cost: _Total[float] = _Total()
    """USD: OpenRouter's exact ``usage.cost`` summed, estimates where it was absent."""
    cost_estimated: _Total[bool] = _Total()
    """True when any answer's cost came from catalog prices (or was unknown)."""
    response_cache_hits: _Total[int] = _Total()

    @property
    def failed_requests(self) -> int:
        with self._lock:
            return self._failed

    @property
    def by_model(self) -> dict[str, UsageTotals]:
        with self._lock:
            return {name: tally.frozen() for name, tally in sorted(self._by_model.items())}

    @property
    def by_provider(self) -> dict[str, UsageTotals]:
        with self._lock:
            return {name: tally.frozen() for name, tally in sorted(self._by_provider.items())}

    def __repr__(self) -> str:
        totals = self.totals()
        budget = "" if self.budget is None else f", budget={self.budget:g}"
        return (
            f"OpenRouterUsage(requests={totals.requests}, input_tokens={totals.input_tokens}, "
            f"output_tokens={totals.output_tokens}, cost={totals.cost:.6f}"
            f"{', estimated' if totals.cost_estimated else ''}{budget})"
        )

    # -- recording (called by ChatOpenRouter) ---------------------------------------------------
    def _add(self, answer: _Answer) -> None:
        with self._lock:
            self._total.add(answer)
            self._by_model.setdefault(answer.model, _Tally()).add(answer)
            self._by_provider.setdefault(answer.provider, _Tally()).add(answer)

    def _add_failure(self) -> None:
        with self._lock:
            self._failed += 1

    def _check_budget(self) -> None:
        if self.budget is None:
            return
        with self._lock:
            spent, requests = self._total.cost, self._total.requests
        if spent >= Decimal(str(self.budget)):
            raise BudgetExceededError(
                f"The budget of openrouter_usage(budget={self.budget:g}) is spent: "
                f"{float(spent):.6f} USD over {requests} requests. No request was sent. Raise "
                "the budget, or start a new openrouter_usage block for more work.",
                budget=self.budget,
                spent=float(spent),
                requests=requests,
            )


def openrouter_usage(budget: float | None = None) -> OpenRouterUsage:
    """Count every ``ChatOpenRouter`` call inside ``with`` / ``async with`` (see the module doc).

    Args:
        budget: USD. Once the block's cost reaches it, a request about to be sent raises
            ``BudgetExceededError`` (nothing is sent). None: no budget.
    """
    return OpenRouterUsage(budget)


class _Meter:
    """One chat call's link to the active trackers: checks budgets before it is sent, adds its
    answer once, and counts it as failed if it raises."""

    __slots__ = ("_model", "_trackers")

    def __init__(self, trackers: tuple[OpenRouterUsage, ...], model: str) -> None:
        self._trackers, self._model = trackers, model

    def __enter__(self) -> _Meter:
        for tracker in self._trackers:
            tracker._check_budget()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # GeneratorExit (a stream closed early) is no failure; errors are not billed
        if exc is not None and isinstance(exc, Exception):
            for tracker in self._trackers:
                tracker._add_failure()

    def record(self, message: BaseMessage) -> None:
        if self._trackers:
            answer = _Answer.of(message, self._model)
            for tracker in self._trackers:
                tracker._add(answer)

    def record_result(self, result: ChatResult) -> None:
        # every choice carries the usage of the whole response: count it once
        if self._trackers and result.generations:
            self.record(result.generations[0].message)


def meter(model: str) -> _Meter:
    """The meter of one chat call to ``model`` in the current context."""
    return _Meter(_ACTIVE.get(), model)
