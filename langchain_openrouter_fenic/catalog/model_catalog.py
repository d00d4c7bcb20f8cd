"""The live model catalog (SPEC §3): what each OpenRouter model accepts, costs and returns.

``ModelCatalog.shared(base_url, key)`` is the one catalog of a (base_url, key) in this process. It
is fetched on first use — never at import — from ``/models/user`` (the account's view: provider,
privacy and guardrail settings hide models) or, when that is refused, from ``/models``
(``fetching``, under the chat calls' retry policy); then translated into frozen
:class:`ModelInfo` records and kept in memory and on disk (``disk_cache``) for the TTL. Concurrent
first uses, from threads or event loops, share one HTTP request (``single_flight``); async loads
do their disk I/O in a worker thread, so an event loop only waits on sockets.

Every model id form OpenRouter accepts is resolved by ``model_ids`` (variants, ``~`` aliases,
presets). An id the copy lacks is refetched once (at most once a minute) before it is reported
unknown: models are published every day.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import SecretStr

from .._process_local import ForkSafeLock, ProcessRegistry
from ..errors import OpenRouterError
from . import disk_cache, tap
from .endpoints import EndpointCache, endpoint_slugs
from .fetching import CatalogHttp
from .messages import age, load_error, not_found
from .model_ids import ModelIndex, parse_model_id
from .records import EndpointInfo, FrozenMapping, ModelInfo, estimate_cost, translate_entries
from .single_flight import SingleFlight
from .snapshot import shipped_snapshot

__all__ = ["EndpointInfo", "FrozenMapping", "ModelCatalog", "ModelInfo", "estimate_cost"]

logger = logging.getLogger(__name__)

_STALE_RETRY_SECONDS = 60.0  # after a failed refresh, a stale copy is served this long
_REFETCH_SECONDS = 60.0  # an id the copy lacks triggers at most one refetch this often


@dataclass(frozen=True)
class _State:
    index: ModelIndex
    fetched_at: float
    refresh_at: float
    source: str  # where it came from, for messages

    @property
    def models(self) -> Mapping[str, ModelInfo]:
        return self.index.records


def _key_digest(api_key: str | None) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest() if api_key else ""


class ModelCatalog:
    """OpenRouter's model catalog for one (base_url, API key); see the module docstring.

    Args:
        base_url: the API base, e.g. ``https://openrouter.ai/api/v1``.
        api_key: the key; with one, ``/models/user`` is asked first.
        timeout: seconds per catalog request (default 30).
        headers: extra headers (attribution) for the catalog requests.
        fetch_json / afetch_json: ``path -> decoded JSON`` replacing the HTTP transport (tests,
            custom transports); ``path`` is relative to ``base_url``. With only ``fetch_json``,
            async callers run it in a worker thread.
        cache: disk-cache settings; default from the environment (``disk_cache``).
        clock: wall clock in seconds (shared with other processes through the disk copy).
        max_retries / max_rate_limit_wait: the retry policy of the catalog's GETs, as
            ``ChatOpenRouter``'s (2 retries; a 429 reset up to 60 s away is waited for).
    """

    # empty again in a forked child, like every process-wide registry (``_process_local``)
    _registry: ClassVar[ProcessRegistry[tuple[str, str], ModelCatalog]] = ProcessRegistry(
        "catalogs"
    )

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        fetch_json: Callable[[str], Any] | None = None,
        afetch_json: Callable[[str], Awaitable[Any]] | None = None,
        cache: disk_cache.CacheSettings | None = None,
        clock: Callable[[], float] = time.time,
        max_retries: int = 2,
        max_rate_limit_wait: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = SecretStr(api_key) if api_key else None
        self._http = CatalogHttp(
            self.base_url,
            self._api_key,
            timeout=timeout,
            headers=headers or {},
            fetch_json=fetch_json,
            afetch_json=afetch_json,
            max_retries=max_retries,
            max_rate_limit_wait=max_rate_limit_wait,
        )
        self._cache = cache if cache is not None else disk_cache.settings_from_env()
        self._clock = clock
        self._ttl = self._cache.memory_ttl
        self._state: _State | None = None
        self._state_lock = ForkSafeLock()
        self._next_refetch = float("-inf")
        self._flight = SingleFlight()
        self._endpoints = EndpointCache(
            self._http, base_url=self.base_url, ttl=self._ttl, clock=clock, flight=self._flight
        )

    @classmethod
    def shared(
        cls,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        max_retries: int = 2,
        max_rate_limit_wait: float = 60.0,
    ) -> ModelCatalog:
        """The process-wide catalog of this (base_url, key); the first caller's options win."""
        scope = (base_url.rstrip("/"), _key_digest(api_key))
        return cls._registry.get_or_create(
            scope,
            lambda: cls(
                base_url,
                api_key,
                timeout=timeout,
                headers=headers,
                max_retries=max_retries,
                max_rate_limit_wait=max_rate_limit_wait,
            ),
        )

    @classmethod
    def clear_shared(cls) -> None:
        """Forget every shared catalog (after changing the cache environment; in tests)."""
        cls._registry.clear()

    def __repr__(self) -> str:
        state = self._state
        loaded = f"{len(state.models)} models" if state else "not loaded"
        key = "set" if self._api_key else "none"
        return f"ModelCatalog(base_url={self.base_url!r}, api_key={key}, {loaded})"

    # -- public lookups ------------------------------------------------------------------------
    def get(self, model_id: str) -> ModelInfo:
        """The entry that describes ``model_id`` (loads the catalog on first use).

        Every id form resolves (``model_ids``): variants, ``~`` aliases, canonical slugs and
        ``model@preset/slug`` (its model part). An id the copy lacks is refetched first (once a
        minute at most), since OpenRouter publishes models between two loads.

        Raises:
            ModelNotFoundError: not in the catalog (``suggestions`` lists up to 5 close ids), or
                a preset alone (``@preset/slug``), whose model the catalog cannot know.
            OpenRouterError: the catalog could not be loaded and no cached copy exists.
        """
        state = self._current()
        info = _resolve(state, model_id)
        if info is None and parse_model_id(model_id).model:
            state = self._flight.run("refetch", lambda: self._refetch(state))
            info = _resolve(state, model_id)
        if info is None:
            raise not_found(model_id, state.models, state.source)
        return info

    async def aget(self, model_id: str) -> ModelInfo:
        state = await self._acurrent()
        info = _resolve(state, model_id)
        if info is None and parse_model_id(model_id).model:
            state = await self._flight.arun("refetch", lambda: self._arefetch(state))
            info = _resolve(state, model_id)
        if info is None:
            raise not_found(model_id, state.models, state.source)
        return info

    def models(self) -> Mapping[str, ModelInfo]:
        """Every entry, by id (read-only)."""
        return MappingProxyType(dict(self._current().models))

    async def amodels(self) -> Mapping[str, ModelInfo]:
        return MappingProxyType(dict((await self._acurrent()).models))

    def index(self) -> ModelIndex:
        """The loaded catalog as a :class:`~.model_ids.ModelIndex` (resolves every id form)."""
        return self._current().index

    def peek(self, model_id: str) -> ModelInfo | None:
        """The entry from a copy in memory that is within its TTL — no I/O at all, no refetch;
        None otherwise. What an event loop may read without waiting."""
        state = self._state
        if state is None or self._due(state):
            return None
        return _resolve(state, model_id)

    def cached(self, model_id: str) -> ModelInfo | None:
        """The entry from memory or the disk copy (of any age) — never the network; None when
        neither has it. For construction-time work that must not block."""
        state = self._state or self._state_from_disk_if_empty(self._read_disk())
        return _resolve(state, model_id) if state is not None else None

    def offline_record(self, model_id: str) -> ModelInfo | None:
        """The best entry without network, for ``llm.profile``: memory, else the disk copy when
        fresh (or stale but newer than the shipped snapshot), else the shipped snapshot."""
        state = self._state
        if state is None:
            disk = self._read_disk()
            if disk is not None and (
                self._clock() < disk.fetched_at + self._ttl
                or disk.fetched_at >= shipped_snapshot().taken_at
            ):
                state = self._state_from_disk_if_empty(disk)
        found = _resolve(state, model_id) if state is not None else None
        return found if found is not None else shipped_snapshot().index.resolve(model_id)

    def endpoints(self, model_id: str) -> list[EndpointInfo]:
        """The provider endpoints of the model that describes ``model_id`` (a variant's base
        model; cached for the TTL, see ``endpoints``); HTTP errors propagate (404 for an id
        OpenRouter lacks)."""
        slugs = endpoint_slugs(_resolve(self._current(), model_id), model_id)
        return list(self._endpoints.get(slugs))

    async def aendpoints(self, model_id: str) -> list[EndpointInfo]:
        slugs = endpoint_slugs(_resolve(await self._acurrent(), model_id), model_id)
        return list(await self._endpoints.aget(slugs))

    def peek_endpoints(self, model_id: str) -> list[EndpointInfo] | None:
        """The model's endpoints when a copy within its TTL is in memory (no I/O), else None."""
        info = self.peek(model_id)
        hit = self._endpoints.fresh(info.id) if info is not None else None
        return list(hit) if hit is not None else None

    # -- loading -------------------------------------------------------------------------------
    def _current(self) -> _State:
        state = self._state
        if state is None or self._due(state):
            state = self._flight.run("models", self._load)
        return state

    async def _acurrent(self) -> _State:
        state = self._state
        if state is None or self._due(state):
            state = await self._flight.arun("models", self._aload)
        return state

    def _due(self, state: _State) -> bool:
        return self._clock() >= state.refresh_at

    def _fresh_disk_state(self, disk: disk_cache.CachedCatalog | None) -> _State | None:
        if disk is not None and self._clock() < disk.fetched_at + self._ttl:
            return self._set_state(self._state_from_disk(disk))
        return None

    def _load(self) -> _State:
        current = self._state
        if current is not None and not self._due(current):
            return current  # loaded by the leader we waited behind
        disk = self._read_disk()
        fresh = self._fresh_disk_state(disk)
        if fresh is not None:
            return fresh
        try:
            entries, path = self._http.fetch_models()
        except OpenRouterError as exc:
            return self._fall_back(exc, current, disk)
        return self._install(entries, path)

    async def _aload(self) -> _State:
        current = self._state
        if current is not None and not self._due(current):
            return current
        disk = await asyncio.to_thread(self._read_disk)
        fresh = self._fresh_disk_state(disk)
        if fresh is not None:
            return fresh
        try:
            entries, path = await self._http.afetch_models()
        except OpenRouterError as exc:
            return self._fall_back(exc, current, disk)
        return await asyncio.to_thread(self._install, entries, path)

    def _refetch_claim(self, seen: _State) -> _State | None:
        """Before refetching for an id ``seen`` lacks: a newer copy (memory, or the disk copy
        another process wrote) to look in instead, or None to go and fetch. A refetch in the
        last minute answers the copy we have."""
        current = self._state or seen
        if current.fetched_at > seen.fetched_at:
            return current
        disk = self._read_disk()
        if disk is not None and disk.fetched_at > current.fetched_at:
            return self._set_state(self._state_from_disk(disk))
        with self._state_lock:
            now = self._clock()
            if now < self._next_refetch:
                return current
            self._next_refetch = now + _REFETCH_SECONDS
        return None

    def _refetch(self, seen: _State) -> _State:
        newer = self._refetch_claim(seen)
        if newer is not None:
            return newer
        try:
            entries, path = self._http.fetch_models()
        except OpenRouterError as exc:
            _log_refetch_failed(exc)
            return self._state or seen
        return self._install(entries, path)

    async def _arefetch(self, seen: _State) -> _State:
        newer = await asyncio.to_thread(self._refetch_claim, seen)
        if newer is not None:
            return newer
        try:
            entries, path = await self._http.afetch_models()
        except OpenRouterError as exc:
            _log_refetch_failed(exc)
            return self._state or seen
        return await asyncio.to_thread(self._install, entries, path)

    def _install(self, entries: list[Any], path: str) -> _State:
        now = self._clock()
        state = _State(_index(entries), now, now + self._ttl, self.base_url + path)
        if self._cache.enabled:
            disk_cache.write_catalog(
                self._cache_path(), entries, fetched_at=now, source=path, base_url=self.base_url
            )
        return self._set_state(state)

    def _set_state(self, state: _State, *, only_if_empty: bool = False) -> _State:
        with self._state_lock:
            if only_if_empty and self._state is not None:
                return self._state
            self._state = state
            return state

    def _fall_back(
        self, exc: OpenRouterError, current: _State | None, disk: disk_cache.CachedCatalog | None
    ) -> _State:
        """A failed fetch: serve the newest stale copy (WARNING), or raise if there is none."""
        now = self._clock()
        if disk is not None and (current is None or disk.fetched_at > current.fetched_at):
            current = self._state_from_disk(disk)
        if current is None:
            raise load_error(exc, self.base_url, self._cache)
        logger.warning(
            "Could not refresh the OpenRouter model catalog (%s); using the copy from %s, "
            "fetched %s ago. Prices and capabilities may be out of date.",
            exc,
            current.source,
            age(now - current.fetched_at),
        )
        return self._set_state(replace(current, refresh_at=now + _STALE_RETRY_SECONDS))

    def _cache_path(self) -> Path:
        assert self._cache.directory is not None
        key = self._api_key.get_secret_value() if self._api_key else None
        return disk_cache.cache_file(self._cache.directory, self.base_url, key)

    def _read_disk(self) -> disk_cache.CachedCatalog | None:
        return disk_cache.read_catalog(self._cache_path()) if self._cache.enabled else None

    def _state_from_disk(self, disk: disk_cache.CachedCatalog) -> _State:
        refresh_at = disk.fetched_at + self._ttl
        source = f"the disk cache {disk.path}"
        return _State(_index(disk.entries), disk.fetched_at, refresh_at, source)

    def _state_from_disk_if_empty(self, disk: disk_cache.CachedCatalog | None) -> _State | None:
        if disk is None:
            return None
        return self._set_state(self._state_from_disk(disk), only_if_empty=True)


def _resolve(state: _State, model_id: str) -> ModelInfo | None:
    """``model_id``'s record in this copy; an installed tap (cassette tests) hears what was found,
    so that a recorded catalog keeps the models the tests used."""
    found = state.index.resolve(model_id)
    if found is not None and (recorder := tap.installed()) is not None:
        recorder.found(found.id)
    return found


def _index(entries: list[Any]) -> ModelIndex:
    return ModelIndex(*translate_entries(entries))


def _log_refetch_failed(exc: OpenRouterError) -> None:
    logger.warning(
        "Could not refetch the OpenRouter model catalog for a model it did not list (%s).", exc
    )
