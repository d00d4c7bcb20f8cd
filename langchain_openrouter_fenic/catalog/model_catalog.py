"""The live model catalog (SPEC §3): what each OpenRouter model accepts, costs and returns.

``ModelCatalog.shared(base_url, key)`` is the one catalog of a (base_url, key) in this process. It
is fetched on first use — never at import — from ``/models/user`` (the account's view: provider,
privacy and guardrail settings hide models) or, when that is refused, from ``/models``; then
translated into frozen :class:`ModelInfo` records (``_catalog_records``) and kept in memory and on
disk (``_disk_cache``) for the TTL. Concurrent first uses, from threads or event loops, share one
HTTP request (``_single_flight``).

``?output_modalities=all`` is sent because ``/models`` lists only text-output models by default;
image-output models would otherwise be "unknown".
"""

from __future__ import annotations

import asyncio
import difflib
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar
from urllib.parse import quote

from pydantic import SecretStr

from .._process_local import ForkSafeLock, ProcessRegistry
from ..errors import (
    AuthenticationError,
    ModelNotFoundError,
    NotFoundError,
    OpenRouterError,
    PermissionDeniedError,
    ResponseParseError,
)
from . import disk_cache, tap
from .records import (
    EndpointInfo,
    FrozenMapping,
    ModelInfo,
    as_mapping,
    estimate_cost,
    translate_entries,
)
from .single_flight import SingleFlight

__all__ = ["EndpointInfo", "FrozenMapping", "ModelCatalog", "ModelInfo", "estimate_cost"]

logger = logging.getLogger(__name__)

_USER_MODELS, _ALL_MODELS = "/models/user", "/models"
_QUERY = "?output_modalities=all"
_REFUSED = (AuthenticationError, PermissionDeniedError, NotFoundError)
# suffixes that pick a routing mode of a model, not another model: resolved to the base entry
_ROUTING_SUFFIXES = frozenset({"online", "nitro", "floor"})
_STALE_RETRY_SECONDS = 60.0  # after a failed refresh, a stale copy is served this long
_DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class _State:
    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]  # canonical slug -> id
    fetched_at: float
    refresh_at: float
    source: str  # where it came from, for messages


def _entries_of(body: Any, url: str) -> list[Any]:
    data = body.get("data") if isinstance(body, Mapping) else body
    if not isinstance(data, list):
        raise ResponseParseError(
            f"{url} answered without a 'data' list ({str(body)[:200]}); is base_url an "
            "OpenRouter-compatible API (e.g. https://openrouter.ai/api/v1)?"
        )
    total = body.get("total_count") if isinstance(body, Mapping) else None
    if isinstance(total, int) and total > len(data):
        logger.warning("%s listed %d of %d models; the rest are unknown.", url, len(data), total)
    return data


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
        cache: disk-cache settings; default from the environment (``_disk_cache``).
        clock: wall clock in seconds (shared with other processes through the disk copy).
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
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = SecretStr(api_key) if api_key else None
        self._timeout, self._headers = timeout, dict(headers or {})
        self._fetch_json, self._afetch_json = fetch_json, afetch_json
        self._cache = cache if cache is not None else disk_cache.settings_from_env()
        self._clock = clock
        self._ttl = self._cache.ttl
        self._state: _State | None = None
        self._state_lock = ForkSafeLock()
        self._flight = SingleFlight()
        self._endpoints: dict[str, tuple[float, tuple[EndpointInfo, ...]]] = {}

    @classmethod
    def shared(
        cls,
        base_url: str,
        api_key: str | None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ModelCatalog:
        """The process-wide catalog of this (base_url, key); the first caller's options win."""
        scope = (base_url.rstrip("/"), _key_digest(api_key))
        return cls._registry.get_or_create(
            scope, lambda: cls(base_url, api_key, timeout=timeout, headers=headers)
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
        """The entry of ``model_id`` (loads the catalog on first use).

        Raises:
            ModelNotFoundError: not in the catalog; ``suggestions`` lists up to 5 close ids.
            OpenRouterError: the catalog could not be loaded and no cached copy exists.
        """
        return self._lookup(self._current(), model_id)

    async def aget(self, model_id: str) -> ModelInfo:
        return self._lookup(await self._acurrent(), model_id)

    def models(self) -> Mapping[str, ModelInfo]:
        """Every entry, by id (read-only)."""
        return MappingProxyType(dict(self._current().models))

    async def amodels(self) -> Mapping[str, ModelInfo]:
        return MappingProxyType(dict((await self._acurrent()).models))

    def cached(self, model_id: str) -> ModelInfo | None:
        """The entry from memory or the disk copy (of any age) — never the network; None when
        neither has it. For construction-time work that must not block."""
        state = self._state
        if state is None:
            disk = self._read_disk()
            if disk is None:
                return None
            state = self._set_state(self._state_from_disk(disk), only_if_empty=True)
        return self._resolve(state, model_id)

    def endpoints(self, model_id: str) -> list[EndpointInfo]:
        """The model's provider endpoints (cached for the TTL); HTTP errors propagate."""
        slugs = self._endpoint_slugs(model_id)
        hit = self._fresh_endpoints(slugs[0])
        if hit is None:
            hit = self._flight.run("endpoints:" + slugs[0], lambda: self._load_endpoints(slugs))
        return list(hit)

    async def aendpoints(self, model_id: str) -> list[EndpointInfo]:
        slugs = self._endpoint_slugs(model_id)
        hit = self._fresh_endpoints(slugs[0])
        if hit is None:
            hit = await self._flight.arun(
                "endpoints:" + slugs[0], lambda: self._aload_endpoints(slugs)
            )
        return list(hit)

    # -- resolution ----------------------------------------------------------------------------
    def _resolve(self, state: _State, model_id: str) -> ModelInfo | None:
        found = state.models.get(model_id) or state.models.get(state.aliases.get(model_id, ""))
        if found is not None:
            if (recorder := tap.installed()) is not None:
                recorder.found(found.id)
            return found
        base, _, suffix = model_id.rpartition(":")
        if base and suffix in _ROUTING_SUFFIXES:
            return self._resolve(state, base)
        return None

    def _lookup(self, state: _State, model_id: str) -> ModelInfo:
        info = self._resolve(state, model_id)
        if info is None:
            raise _not_found(state, model_id)
        return info

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

    def _load(self) -> _State:
        current = self._state
        if current is not None and not self._due(current):
            return current  # loaded by the leader we waited behind
        disk = self._read_disk()
        if disk is not None and self._clock() < disk.fetched_at + self._ttl:
            return self._set_state(self._state_from_disk(disk))
        try:
            entries, path = self._fetch_models()
        except OpenRouterError as exc:
            return self._fall_back(exc, current, disk)
        return self._install(entries, path)

    async def _aload(self) -> _State:
        current = self._state
        if current is not None and not self._due(current):
            return current
        disk = self._read_disk()
        if disk is not None and self._clock() < disk.fetched_at + self._ttl:
            return self._set_state(self._state_from_disk(disk))
        try:
            entries, path = await self._afetch_models()
        except OpenRouterError as exc:
            return self._fall_back(exc, current, disk)
        return self._install(entries, path)

    def _fetch_models(self) -> tuple[list[Any], str]:
        if self._api_key is not None:
            try:
                return _entries_of(self._get(_USER_MODELS + _QUERY), _USER_MODELS), _USER_MODELS
            except _REFUSED as exc:
                _log_refused(exc)
        return _entries_of(self._get(_ALL_MODELS + _QUERY), _ALL_MODELS), _ALL_MODELS

    async def _afetch_models(self) -> tuple[list[Any], str]:
        if self._api_key is not None:
            try:
                body = await self._aget(_USER_MODELS + _QUERY)
                return _entries_of(body, _USER_MODELS), _USER_MODELS
            except _REFUSED as exc:
                _log_refused(exc)
        return _entries_of(await self._aget(_ALL_MODELS + _QUERY), _ALL_MODELS), _ALL_MODELS

    def _get(self, path: str) -> Any:
        recorder = tap.installed()  # cassette tests: the catalog comes from a recorded file
        if recorder is not None:
            return recorder.get(self.base_url, path, lambda: self._fetch(path))
        return self._fetch(path)

    async def _aget(self, path: str) -> Any:
        recorder = tap.installed()
        if recorder is not None:
            return await recorder.aget(self.base_url, path, lambda: self._afetch(path))
        return await self._afetch(path)

    def _fetch(self, path: str) -> Any:
        if self._fetch_json is not None:
            return self._fetch_json(path)
        from ..wire import transport

        return transport.get_json(self.base_url, path, **self._transport_kwargs())

    async def _afetch(self, path: str) -> Any:
        if self._afetch_json is not None:
            return await self._afetch_json(path)
        if self._fetch_json is not None:
            return await asyncio.to_thread(self._fetch_json, path)
        from ..wire import transport

        return await transport.aget_json(self.base_url, path, **self._transport_kwargs())

    def _transport_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key.get_secret_value() if self._api_key else None,
            "timeout": self._timeout or _DEFAULT_TIMEOUT,
            "headers": self._headers,
        }

    def _install(self, entries: list[Any], path: str) -> _State:
        now = self._clock()
        models, aliases = translate_entries(entries)
        refresh_at = now + self._ttl if self._ttl > 0 else float("inf")
        state = _State(models, aliases, now, refresh_at, self.base_url + path)
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
            raise _load_error(exc, self.base_url, self._cache)
        logger.warning(
            "Could not refresh the OpenRouter model catalog (%s); using the copy from %s, "
            "fetched %s ago. Prices and capabilities may be out of date.",
            exc,
            current.source,
            _age(now - current.fetched_at),
        )
        return self._set_state(replace(current, refresh_at=now + _STALE_RETRY_SECONDS))

    def _cache_path(self) -> Path:
        assert self._cache.directory is not None
        key = self._api_key.get_secret_value() if self._api_key else None
        return disk_cache.cache_file(self._cache.directory, self.base_url, key)

    def _read_disk(self) -> disk_cache.CachedCatalog | None:
        return disk_cache.read_catalog(self._cache_path()) if self._cache.enabled else None

    def _state_from_disk(self, disk: disk_cache.CachedCatalog) -> _State:
        models, aliases = translate_entries(disk.entries)
        refresh_at = disk.fetched_at + self._ttl
        return _State(models, aliases, disk.fetched_at, refresh_at, f"the disk cache {disk.path}")

    # -- endpoints -----------------------------------------------------------------------------
    def _endpoint_slugs(self, model_id: str) -> list[str]:
        """The model id (documented ``{author}/{slug}``), then the canonical slug that the
        catalog's own ``links.details`` uses, for ids OpenRouter answers 404 under."""
        base, _, suffix = model_id.rpartition(":")
        slugs = [base if base and suffix in _ROUTING_SUFFIXES else model_id]
        state = self._state
        info = self._resolve(state, model_id) if state is not None else None
        if info is not None and info.canonical_slug and info.canonical_slug != slugs[0]:
            slugs.append(info.canonical_slug)
        return slugs

    def _fresh_endpoints(self, slug: str) -> tuple[EndpointInfo, ...] | None:
        hit = self._endpoints.get(slug)
        return hit[1] if hit is not None and self._clock() < hit[0] else None

    def _endpoints_path(self, slug: str) -> str:
        return f"/models/{quote(slug, safe='/:~')}/endpoints"

    def _load_endpoints(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self._fresh_endpoints(slugs[0])  # loaded by the leader we waited behind
        if hit is not None:
            return hit
        for slug in slugs[:-1]:
            try:
                return self._keep(slugs[0], self._get(self._endpoints_path(slug)))
            except NotFoundError:
                continue
        return self._keep(slugs[0], self._get(self._endpoints_path(slugs[-1])))

    async def _aload_endpoints(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self._fresh_endpoints(slugs[0])
        if hit is not None:
            return hit
        for slug in slugs[:-1]:
            try:
                return self._keep(slugs[0], await self._aget(self._endpoints_path(slug)))
            except NotFoundError:
                continue
        return self._keep(slugs[0], await self._aget(self._endpoints_path(slugs[-1])))

    def _keep(self, slug: str, body: Any) -> tuple[EndpointInfo, ...]:
        data = as_mapping(as_mapping(body).get("data"))
        raw = data.get("endpoints")
        if not isinstance(raw, list):
            raise ResponseParseError(
                f"The endpoints of {slug!r} at {self.base_url} came without 'data.endpoints' "
                f"({str(body)[:200]})."
            )
        endpoints = tuple(EndpointInfo.from_api(e) for e in raw if isinstance(e, Mapping))
        expires = self._clock() + self._ttl if self._ttl > 0 else float("inf")
        self._endpoints[slug] = (expires, endpoints)
        return endpoints


# --------------------------------------------------------------------------------------------
# messages


def _log_refused(exc: OpenRouterError) -> None:
    logger.info(
        "OpenRouter refused /models/user (HTTP %s); using the public /models catalog.",
        exc.status_code,
    )


def _suggestions(model_id: str, ids: list[str]) -> list[str]:
    wanted = model_id.lower()
    by_lower = {i.lower(): i for i in ids}
    close = difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.6)
    if len(close) < 5:  # "gpt-4o" finds "openai/gpt-4o" by its slug
        slug = wanted.rpartition("/")[2].partition(":")[0]
        close += [i for i in sorted(by_lower) if slug and slug in i and i not in close]
    return [by_lower[i] for i in close[:5]]


def _not_found(state: _State, model_id: str) -> ModelNotFoundError:
    suggestions = _suggestions(model_id, list(state.models))
    hint = f" Close ids: {', '.join(suggestions)}." if suggestions else ""
    account = (
        " /models/user hides models that the account's provider and privacy settings exclude "
        "(https://openrouter.ai/settings/privacy)."
        if state.source.endswith(_USER_MODELS)
        else ""
    )
    return ModelNotFoundError(
        f"Model {model_id!r} is not in OpenRouter's model catalog ({len(state.models)} models "
        f"from {state.source}).{hint} Check the id at https://openrouter.ai/models.{account}",
        suggestions=suggestions,
    )


def _load_error(
    exc: OpenRouterError, base_url: str, cache: disk_cache.CacheSettings
) -> OpenRouterError:
    where = (
        f"no cached copy in {cache.directory}"
        if cache.enabled
        else f"the disk cache is disabled ({disk_cache.CACHE_TTL_ENV}=0)"
    )
    message = (
        f"Could not load the OpenRouter model catalog from {base_url}/models: {exc.message} "
        f"({where}). Check the network, base_url and API key; once loaded, the catalog is "
        "cached on disk and used when OpenRouter cannot be reached."
    )
    error = type(exc)(message, **exc._state())
    error.__cause__ = exc
    return error


def _age(seconds: float) -> str:
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
