"""Limiter state shared through Redis: every process (and host) of a key sees the same limits.

The policy's state lives in one Redis hash per account fingerprint and scope; each decision is
one atomic ``EVALSHA`` of ``redis_scripts.SCRIPT`` (one round trip per acquire) on Redis server
time. Callers sleep in their own process, never holding a connection.

Redis faults never hang a request. Every command has a 100 ms socket timeout and no client-side
retries; the first failure (down, paused, slow, ``maxclients`` reached, a script error) opens a
circuit breaker: decisions go to an in-process ``LocalState`` at once, with one WARNING, and a
single caller probes Redis again after a jittered, growing delay (0.25 s doubling to 2 s). The
first answer closes the breaker (one INFO) and the shared state is used again. After a restart
the script is loaded again (``NOSCRIPT`` is handled by redis-py); after a restart, ``FLUSHALL``
or the TTL the state is rebuilt by the first decision, and the process that made it says so
(one INFO). Connections and the worker threads of async callers belong
to one process: a forked child makes its own.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar
from urllib.parse import urlsplit

from .._process_local import ForkSafeLock, ProcessLocal
from . import policy
from .local_state import SHARED, LocalState, TicketKey, View, own_ticket
from .plan_watch import PlanWatch, plans_channel
from .policy import Grant, Refusal, Signal, Ticket, Tuning

__all__ = ["REDIS_TIMEOUT", "RedisState", "redis_key", "redis_location"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

REDIS_TIMEOUT = 0.1  # seconds: connect and read, for every command
PROBE_FIRST = 0.25  # seconds before the first probe after a failure; doubles up to PROBE_CAP
PROBE_CAP = 2.0
KEY_TTL_MS = 2 * 86400 * 1000  # renewed on every write; covers a daily quota
_ASYNC_WORKERS = 8
_CAUSES = {0.0: "cooldown", 1.0: "pace", 2.0: "day", 3.0: "budget"}
_N_FIELDS = len(policy.FIELDS)


def redis_key(account: str, scope: str) -> str:
    """The hash of one account (a digest, never the key itself) and scope.

    The braces make the account the Redis Cluster hash tag: an account's scopes share a slot.
    """
    digest = hashlib.sha256(account.encode()).hexdigest()[:32]
    return f"langchain-openrouter-fenic:rate-limit:{{{digest}}}:{scope}"


def redis_location(url: str) -> str:
    """``host:port/db`` of a Redis URL, for log lines (never its password)."""
    parts = urlsplit(url)
    path = parts.path.strip("/") or "0"
    try:
        port = parts.port or 6379
    except ValueError:
        port = 6379
    return f"{parts.hostname or parts.path or url}:{port}/{path}"


def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_ASYNC_WORKERS, thread_name_prefix="openrouter-redis-limiter")


# async callers and feedback run their round trip on these threads (one pool per process)
_EXECUTOR: ProcessLocal[ThreadPoolExecutor] = ProcessLocal(_executor)


class _Breaker:
    """Closed: use Redis. Open: use the fallback; one caller at a time probes when due."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.open = False
        self._lock = ForkSafeLock()
        self._probing = False
        self._failures = 0
        self._next_probe = 0.0

    def allows(self) -> bool:
        if not self.open:
            return True
        with self._lock:
            if self._probing or time.monotonic() < self._next_probe:
                return False
            self._probing = True
            return True

    def succeeded(self) -> None:
        if not self.open:
            return
        with self._lock:
            was_open, self.open, self._probing, self._failures = self.open, False, False, 0
        if was_open:
            logger.info(
                "Redis at %s answers again: rate-limit state is shared through it again",
                self.where,
            )

    def failed(self, exc: Exception) -> None:
        with self._lock:
            was_open, self.open, self._probing = self.open, True, False
            self._failures += 1
            delay = min(PROBE_CAP, PROBE_FIRST * 2.0 ** min(self._failures - 1, 10))
            self._next_probe = time.monotonic() + delay * random.uniform(0.5, 1.5)
        if not was_open:
            logger.warning(
                "Redis at %s failed (%s: %s): rate limiting in this process until it answers again",
                self.where,
                type(exc).__name__,
                exc,
            )
        else:
            logger.debug("Redis at %s still failing (%s)", self.where, type(exc).__name__)


class _Connection:
    """This process's client and script object (made on first use)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._client: Any = None
        self._script: Any = None

    def script(self) -> Any:
        if self._script is None:
            with self._lock:
                if self._script is None:
                    self._script = self._make()
        return self._script

    def _make(self) -> Any:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - the extra is checked at construction
            raise ImportError(
                "redis_url needs the redis client: pip install 'langchain-openrouter-fenic[redis]'"
            ) from exc
        from .redis_scripts import SCRIPT

        self._client = redis.Redis.from_url(
            self.url,
            socket_timeout=REDIS_TIMEOUT,
            socket_connect_timeout=REDIS_TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # a fault falls back at once; the breaker probes later
            retry_on_timeout=False,
            health_check_interval=0,
            decode_responses=True,
        )
        return self._client.register_script(SCRIPT)


class RedisState:
    """The policy over a Redis hash, with ``fallback`` while Redis fails (same interface)."""

    ORIGIN = SHARED

    def __init__(
        self,
        url: str,
        key: str,
        tuning: Tuning,
        fallback: LocalState,
        *,
        notifications: bool = True,
    ) -> None:
        self.url, self.key, self.tuning, self.fallback = url, key, tuning, fallback
        self.notifications = notifications
        self._on_plan: Callable[[float], None] | None = None
        # this process's subscriber to the plans the script publishes (``plan_watch``)
        self._watch: ProcessLocal[PlanWatch | None] = ProcessLocal(self._make_watch)
        self.breaker = _Breaker(redis_location(url))
        self._connection: ProcessLocal[_Connection] = ProcessLocal(
            functools.partial(_Connection, url)
        )
        self._head = ["", KEY_TTL_MS, *tuning.as_args()]
        self._pending: ProcessLocal[set[Future[None]]] = ProcessLocal(set)
        self._pending_lock = ForkSafeLock()
        self._answered = False  # Redis answered this process before (a missing hash is news)

    # -- plan notifications -----------------------------------------------------------------
    def listen(self, on_plan: Callable[[float], None]) -> None:
        """``on_plan(plan)`` for every plan another process publishes (see ``watch_token``)."""
        self._on_plan = on_plan

    def _make_watch(self) -> PlanWatch | None:
        if not self.notifications or self._on_plan is None:
            return None
        return PlanWatch(self.url, plans_channel(self.key), self._on_plan)

    def watch_token(self, *, start: bool = False) -> int | None:
        """The live subscription to this state's plans (None: not live, or not started unless
        ``start``). A grant taken under a token and due under the same one missed no plan."""
        if not self.notifications or self._on_plan is None:
            return None
        watch = self._watch.get()
        if watch is None:
            return None
        return watch.token(start=start)

    @property
    def shared(self) -> bool:
        """True while decisions are made in Redis (the breaker is closed)."""
        return not self.breaker.open

    # -- one round trip ---------------------------------------------------------------------
    def _call(self, op: str, args: Sequence[float | str]) -> list[float] | None:
        """Run one decision in Redis; None when Redis failed (or is skipped while it fails)."""
        if not self.breaker.allows():
            return None
        try:
            script = self._connection.get().script()
            raw = script(keys=[self.key], args=[op, *self._head, *args])
        except Exception as exc:  # any fault of Redis or the client: fall back, never raise
            self.breaker.failed(exc)
            return None
        self.breaker.succeeded()
        out = [float(x) for x in raw]
        if out[1] > 0 and self._answered:
            logger.info(
                "Redis at %s had no rate-limit state for this key (restarted, flushed or "
                "expired): it starts afresh",
                self.breaker.where,
            )
        self._answered = True
        return out

    def _view(self, out: list[float]) -> View:
        s = dict(zip(policy.FIELDS, out[-_N_FIELDS:], strict=True))
        return View(
            out[0],
            s["rate"],
            s["cool"],
            s["plan"],
            s["epoch"],
            s["b_lim"],
            s["b_id"],
            s["b_start"],
            s["b_end"],
            s["b_used"],
            s["d_lim"],
            s["d_used"],
            s["d_end"],
            self.ORIGIN,
        )

    # -- decisions --------------------------------------------------------------------------
    def acquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]:
        ticket = own_ticket(held, self.ORIGIN)
        if ticket is None:
            out = self._call("acquire", [max_wait])
        else:  # given back (or confirmed) in the same round trip
            op = "confirm" if confirm else "reacquire"
            out = self._call(op, [max_wait, *_ticket_args(ticket)])
        if out is None:
            return self.fallback.acquire(max_wait, held, confirm=confirm)
        granted, wait, cause = out[2], out[3], out[4]
        view = self._view(out)
        if granted < 1:
            return Refusal(wait, _CAUSES.get(cause, "cooldown")), view
        return Grant(Ticket(*out[5:11]), wait), view

    async def aacquire(
        self, max_wait: float, held: TicketKey | None, *, confirm: bool = False
    ) -> tuple[Grant | Refusal, View]:
        loop = asyncio.get_running_loop()
        call = functools.partial(self.acquire, max_wait, held, confirm=confirm)
        return await loop.run_in_executor(_EXECUTOR.get(), call)

    def release(self, key: TicketKey) -> None:
        ticket = own_ticket(key, self.ORIGIN)
        if ticket is None:
            self.fallback.release(key)
        else:
            self._later(lambda: self._call("release", _ticket_args(ticket)))

    def report_success(self, key: TicketKey | None, then: Callable[[View], None]) -> None:
        def run() -> None:
            out = self._call("success", _optional_ticket_args(own_ticket(key, self.ORIGIN)))
            then(self._view(out) if out is not None else self.fallback.success(key))

        self._later(run)

    def report_limited(
        self, signal: Signal, key: TicketKey | None, then: Callable[[float, View], None]
    ) -> None:
        reported = time.monotonic()

        def run() -> None:
            # its instants are "seconds from the report": from now, as Redis reads them
            late = time.monotonic() - reported
            args = [
                signal.limit,
                max(0.0, signal.reset_in - late) if signal.reset_in >= 0 else -1.0,
                max(0.0, signal.wait - late) if signal.wait >= 0 else -1.0,
                signal.spent,
            ]
            ticket_args = _optional_ticket_args(own_ticket(key, self.ORIGIN))
            out = self._call("limited", [*args, *ticket_args])
            if out is None:
                then(*self.fallback.limited(signal, key))
            else:
                then(out[2], self._view(out))

        self._later(run)

    def peek(self) -> View:
        out = self._call("peek", [])
        return self._view(out) if out is not None else self.fallback.peek()

    def _later(self, work: Callable[[], object]) -> None:
        """Feedback never delays its caller (nor blocks an event loop): a worker sends it."""
        future = _EXECUTOR.get().submit(_logged, work)
        pending = self._pending.get()
        with self._pending_lock:
            pending.add(future)
        future.add_done_callback(self._done)

    def _done(self, future: Future[None]) -> None:
        with self._pending_lock:
            self._pending.get().discard(future)

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until the feedback sent so far has been applied (tests, orderly shutdown)."""
        with self._pending_lock:
            pending = list(self._pending.get())
        wait(pending, timeout=timeout)


def _logged(work: Callable[[], object]) -> None:
    try:
        work()
    except Exception:  # a bug here must not vanish silently in a worker thread
        logger.exception("rate-limit feedback failed")


def _ticket_args(ticket: Ticket) -> list[float]:
    return [ticket.slot, ticket.epoch, ticket.plan, ticket.rate, ticket.b_id, ticket.in_day]


def _optional_ticket_args(ticket: Ticket | None) -> list[float | str]:
    if ticket is None:
        return ["0", 0, 0, 0, 0, 0, 0]
    return ["1", *_ticket_args(ticket)]
