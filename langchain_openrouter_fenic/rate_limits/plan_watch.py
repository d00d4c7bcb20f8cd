"""Plan changes of a shared limiter state, pushed by Redis to every process that waits on it.

A caller of a shared state that waited for its slot must not use a slot another process has
voided since (a decrease, a pause, a new window budget). Asking Redis when the slot comes is a
second round trip per acquire. Instead, the decision script publishes the state's plan on the
channel ``<hash key>:plans`` whenever it changes, and each process keeps one subscriber
(``PlanWatch``) per shared state: a daemon thread with its own connection that hands every
published plan to the limiter, which wakes its waiters to ask again. While the subscription is
*live* (subscribed, and answering a ping at least every ``DEAF_AFTER`` seconds), a grant made
and due within one live subscription is used as granted: every plan change in between would
have reached the process. A plan change reaches it after the delivery delay (well under a
millisecond on loopback), so a slot that falls due within that delay after another process's
change may still be used: at most one request per waiting caller per change.

The thread starts on the first waited-for grant (an unpaced limiter never needs it), stops
when its limiter is garbage collected, reconnects after faults (0.25 s doubling to 2 s) and
does not exist in a forked child (``ProcessLocal``: the child starts its own). While it is not
live, waited-for slots are confirmed as before.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from .._process_local import ForkSafeLock

__all__ = ["DEAF_AFTER", "PING_EVERY", "PlanWatch", "plans_channel"]

logger = logging.getLogger(__name__)

PING_EVERY = 0.5  # seconds between pings of the subscription
DEAF_AFTER = 1.5  # seconds without any answer: the subscription is not live
RECONNECT_FIRST, RECONNECT_CAP = 0.25, 2.0
CONNECT_TIMEOUT = 0.1


def plans_channel(key: str) -> str:
    """The channel the decision script publishes ``key``'s plan on (``redis_scripts``)."""
    return f"{key}:plans"


class PlanWatch:
    """One subscriber thread: ``on_plan(plan)`` for every plan published on ``channel``."""

    def __init__(self, url: str, channel: str, on_plan: Callable[[float], None]) -> None:
        self.url, self.channel = url, channel
        # the limiter owns the watch, not the other way round: a dead limiter ends the thread
        self._on_plan = _weak(on_plan)
        self._lock = ForkSafeLock()
        self._thread: threading.Thread | None = None
        self._generation = 0  # counts subscriptions; 0 before the first
        self._live = False

    def token(self, *, start: bool = False) -> int | None:
        """The current subscription while it is live, else None (``start``: start the thread
        if it is not running). A grant asked for under token ``n`` (read before the request
        went to Redis) and due while the token is still ``n`` missed no plan change."""
        with self._lock:
            if self._thread is None and start:
                self._thread = threading.Thread(
                    target=self._run, name="openrouter-redis-plans", daemon=True
                )
                self._thread.start()
            return self._generation if self._live else None

    # -- the thread -------------------------------------------------------------------------
    def _run(self) -> None:
        delay = RECONNECT_FIRST
        while self._on_plan() is not None:
            try:
                self._listen()
                return  # the limiter is gone
            except Exception as exc:  # any fault: not live, reconnect later
                logger.debug("plan notifications from %s stopped (%s)", self.channel, exc)
            finally:
                with self._lock:
                    self._live = False
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(RECONNECT_CAP, delay * 2)

    def _listen(self) -> None:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client: Any = redis.Redis.from_url(
            self.url,
            socket_timeout=DEAF_AFTER,
            socket_connect_timeout=CONNECT_TIMEOUT,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        pubsub: Any = client.pubsub()
        try:
            pubsub.subscribe(self.channel)
            heard = pinged = time.monotonic()
            while True:
                message = pubsub.get_message(timeout=PING_EVERY / 2)
                now = time.monotonic()
                if message is not None:
                    heard = now
                    self._handle(message)
                callback = self._on_plan()
                if callback is None:
                    return
                del callback
                if now - heard > DEAF_AFTER:
                    raise TimeoutError(f"no answer for {DEAF_AFTER} s")
                if now - pinged >= PING_EVERY:
                    pubsub.ping()
                    pinged = now
        finally:
            pubsub.close()
            client.close()

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            with self._lock:
                self._generation += 1
                self._live = True
        elif kind == "message":
            callback = self._on_plan()
            if callback is not None:
                callback(float(message["data"]))


def _weak(callback: Callable[[float], None]) -> Callable[[], Callable[[float], None] | None]:
    if hasattr(callback, "__self__"):
        return weakref.WeakMethod(callback)
    return lambda: callback
