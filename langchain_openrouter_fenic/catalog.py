"""The live model catalog (SPEC §3): what each OpenRouter model accepts, costs and returns.

``ModelCatalog.shared(base_url, key)`` is the one catalog of a (base_url, key) in this process. It
is fetched on first use — never at import — from ``/models/user`` (the account's view: provider,
privacy and guardrail settings hide models) or, when that is refused, from ``/models``; then
translated into frozen :class:`ModelInfo` records and kept in memory and on disk (``_disk_cache``)
for the TTL. Concurrent first uses, from threads or event loops, share one HTTP request.

``?output_modalities=all`` is sent because ``/models`` lists only text-output models by default;
image-output models would otherwise be "unknown". Negative prices (``"-1"``, OpenRouter's router
models whose price depends on the model picked) are read as unknown (None).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import hashlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote

from pydantic import SecretStr

from . import _disk_cache
from .errors import (
    AuthenticationError,
    ModelNotFoundError,
    NotFoundError,
    OpenRouterError,
    PermissionDeniedError,
    ResponseParseError,
)

__all__ = ["EndpointInfo", "FrozenMapping", "ModelCatalog", "ModelInfo", "estimate_cost"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")
_USER_MODELS, _ALL_MODELS = "/models/user", "/models"
_QUERY = "?output_modalities=all"
_REFUSED = (AuthenticationError, PermissionDeniedError, NotFoundError)
# suffixes that pick a routing mode of a model, not another model: resolved to the base entry
_ROUTING_SUFFIXES = frozenset({"online", "nitro", "floor"})
_STALE_RETRY_SECONDS = 60.0  # after a failed refresh, a stale copy is served this long
_DEFAULT_TIMEOUT = 30.0


class FrozenMapping(Mapping[str, Any]):
    """A read-only, hashable, picklable mapping (``MappingProxyType`` is neither)."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        self._items = dict(items)

    def __getitem__(self, key: str) -> Any:
        return self._items[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(tuple(sorted((k, repr(v)) for k, v in self._items.items())))

    def __repr__(self) -> str:
        return f"FrozenMapping({self._items!r})"


# --------------------------------------------------------------------------------------------
# tolerant readers of OpenRouter's JSON


def _price(value: Any) -> float | None:
    """USD per token from a string or number; negative ("-1": variable, routers) -> None."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number >= 0 and number == number else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _names(value: Any) -> frozenset[str]:
    if not isinstance(value, (list, tuple)):
        return frozenset()
    return frozenset(str(v).strip().lower() for v in value if isinstance(v, str) and v.strip())


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _modalities(arch: Mapping[str, Any], key: str, side: int) -> frozenset[str]:
    listed = _names(arch.get(key))
    if listed:
        return listed
    # older entries: only "text+image->text"
    modality = arch.get("modality")
    if isinstance(modality, str) and "->" in modality:
        return frozenset(m.strip().lower() for m in modality.split("->")[side].split("+") if m)
    return frozenset({"text"})


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One catalog entry, translated. Prices are USD per token (per request/image/search where
    named); None means "not listed"."""

    id: str
    name: str = ""
    canonical_slug: str | None = None
    context_length: int | None = None
    max_output_tokens: int | None = None
    input_modalities: frozenset[str] = frozenset({"text"})
    output_modalities: frozenset[str] = frozenset({"text"})
    prompt_price: float | None = None
    completion_price: float | None = None
    cache_read_price: float | None = None
    cache_write_price: float | None = None
    request_price: float | None = None
    image_price: float | None = None
    web_search_price: float | None = None
    internal_reasoning_price: float | None = None
    supported_parameters: frozenset[str] = frozenset()
    supports_reasoning: bool = False
    reasoning_efforts: tuple[str, ...] | None = None
    """The efforts the model accepts, when the catalog lists them (None: not listed)."""
    reasoning_default_effort: str | None = None
    reasoning_mandatory: bool = False
    reasoning_supports_max_tokens: bool | None = None
    per_request_limits: FrozenMapping | None = None
    is_moderated: bool | None = None
    created: int | None = None
    expiration_date: str | None = None
    is_router: bool = False
    """A router id (``openrouter/auto`` ...): the serving model, and so the price, varies."""

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> ModelInfo:
        """Translate one ``/models`` entry; any field but ``id`` may be missing or malformed."""
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str) or not raw["id"]:
            raise ValueError(f"catalog entry without an 'id': {str(raw)[:200]}")
        arch, pricing = _mapping(raw.get("architecture")), _mapping(raw.get("pricing"))
        top, reasoning = _mapping(raw.get("top_provider")), _mapping(raw.get("reasoning"))
        params = _names(raw.get("supported_parameters"))
        efforts = _names(reasoning.get("supported_efforts"))
        limits = raw.get("per_request_limits")
        default_effort = reasoning.get("default_effort")
        return cls(
            id=raw["id"],
            name=str(raw.get("name") or raw["id"]),
            canonical_slug=raw.get("canonical_slug") or None,
            # the model-level value is the largest over providers; top_provider's is one of them
            context_length=_int(raw.get("context_length")) or _int(top.get("context_length")),
            max_output_tokens=_int(top.get("max_completion_tokens"))
            or _int(_mapping(limits).get("completion_tokens")),
            input_modalities=_modalities(arch, "input_modalities", 0),
            output_modalities=_modalities(arch, "output_modalities", 1),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            cache_read_price=_price(pricing.get("input_cache_read")),
            cache_write_price=_price(pricing.get("input_cache_write")),
            request_price=_price(pricing.get("request")),
            image_price=_price(pricing.get("image")),
            web_search_price=_price(pricing.get("web_search")),
            internal_reasoning_price=_price(pricing.get("internal_reasoning")),
            supported_parameters=params,
            supports_reasoning=bool(
                params & {"reasoning", "include_reasoning", "reasoning_effort"} or efforts
            ),
            reasoning_efforts=tuple(sorted(efforts, key=_effort_rank)) if efforts else None,
            reasoning_default_effort=default_effort if isinstance(default_effort, str) else None,
            reasoning_mandatory=reasoning.get("mandatory") is True,
            reasoning_supports_max_tokens=_bool_or_none(reasoning.get("supports_max_tokens")),
            per_request_limits=FrozenMapping(limits) if isinstance(limits, Mapping) else None,
            is_moderated=_bool_or_none(top.get("is_moderated")),
            created=_int(raw.get("created")),
            expiration_date=raw.get("expiration_date") or None,
            is_router=arch.get("tokenizer") == "Router" or str(pricing.get("prompt")) == "-1",
        )

    @property
    def supports_tools(self) -> bool:
        return "tools" in self.supported_parameters

    @property
    def supports_tool_choice(self) -> bool:
        return "tool_choice" in self.supported_parameters

    @property
    def supports_structured_outputs(self) -> bool:
        """``response_format: json_schema`` (the catalog's ``structured_outputs``)."""
        return "structured_outputs" in self.supported_parameters

    @property
    def supports_response_format(self) -> bool:
        """``response_format`` at all (``json_object`` at least)."""
        return "response_format" in self.supported_parameters

    @property
    def supports_temperature(self) -> bool:
        return "temperature" in self.supported_parameters

    @property
    def is_free(self) -> bool:
        return self.id.endswith(":free") or (self.prompt_price == 0 and self.completion_price == 0)


_EFFORT_ORDER = ("max", "xhigh", "high", "medium", "low", "minimal", "none")


def _effort_rank(effort: str) -> tuple[int, str]:
    return (_EFFORT_ORDER.index(effort) if effort in _EFFORT_ORDER else len(_EFFORT_ORDER), effort)


def _bool_or_none(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    """One provider endpoint of a model (``/models/{author}/{slug}/endpoints``)."""

    provider_name: str
    tag: str | None = None
    """The routing slug (``deepinfra/turbo``), as ``ProviderPreferences`` entries may name it."""
    name: str | None = None
    quantization: str | None = None
    context_length: int | None = None
    max_completion_tokens: int | None = None
    max_prompt_tokens: int | None = None
    prompt_price: float | None = None
    completion_price: float | None = None
    cache_read_price: float | None = None
    supported_parameters: frozenset[str] = frozenset()
    status: int | None = None
    uptime_last_30m: float | None = None
    supports_implicit_caching: bool | None = None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> EndpointInfo:
        if not isinstance(raw, Mapping):
            raise ValueError(f"endpoint entry is not an object: {str(raw)[:200]}")
        pricing = _mapping(raw.get("pricing"))
        uptime = raw.get("uptime_last_30m")
        return cls(
            provider_name=str(raw.get("provider_name") or raw.get("tag") or "unknown"),
            tag=raw.get("tag") or None,
            name=raw.get("name") or None,
            quantization=raw.get("quantization") or None,
            context_length=_int(raw.get("context_length")),
            max_completion_tokens=_int(raw.get("max_completion_tokens")),
            max_prompt_tokens=_int(raw.get("max_prompt_tokens")),
            prompt_price=_price(pricing.get("prompt")),
            completion_price=_price(pricing.get("completion")),
            cache_read_price=_price(pricing.get("input_cache_read")),
            supported_parameters=_names(raw.get("supported_parameters")),
            status=_int(raw.get("status")),
            uptime_last_30m=float(uptime) if isinstance(uptime, (int, float)) else None,
            supports_implicit_caching=_bool_or_none(raw.get("supports_implicit_caching")),
        )


def estimate_cost(
    info: ModelInfo,
    *,
    prompt_tokens: int,
    completion_tokens: int,
    cached_tokens: int = 0,
    cache_write_tokens: int = 0,
) -> float | None:
    """USD cost of one call from catalog prices, for answers without ``usage.cost``.

    ``prompt_tokens`` includes the cached reads and cache writes (OpenRouter's usage does); those
    are billed at ``input_cache_read`` / ``input_cache_write`` when listed, else at the prompt
    price. None when the model's prompt or completion price is unknown (e.g. a router).
    """
    if info.prompt_price is None or info.completion_price is None:
        return None
    cached, written = max(cached_tokens, 0), max(cache_write_tokens, 0)
    uncached = max(prompt_tokens - cached - written, 0)
    read_price = info.cache_read_price if info.cache_read_price is not None else info.prompt_price
    write_price = (
        info.cache_write_price if info.cache_write_price is not None else info.prompt_price
    )
    return (
        uncached * info.prompt_price
        + cached * read_price
        + written * write_price
        + max(completion_tokens, 0) * info.completion_price
        + (info.request_price or 0.0)
    )


# --------------------------------------------------------------------------------------------
# one load at a time, across threads and event loops


class _Interrupted(Exception):
    """The loading caller was cancelled; whoever waited on it loads again."""


class _SingleFlight:
    """At most one load per key at a time; everyone else waits for its result.

    The shared state is a ``concurrent.futures.Future`` so that sync threads and coroutines in
    any event loop can wait on the same load. A sync caller on the thread whose event loop runs
    the async load would block that loop forever, so it loads by itself instead.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, tuple[Future[Any], int, bool]] = {}

    def _claim(self, key: str, is_async: bool) -> tuple[Future[Any], bool]:
        me = threading.get_ident()
        with self._lock:
            call = self._calls.get(key)
            if call is None:
                future: Future[Any] = Future()
                self._calls[key] = (future, me, is_async)
                return future, True
            future, thread, leader_is_async = call
            if leader_is_async and thread == me and not is_async:
                return Future(), True  # unregistered: this caller loads alone
            return future, False

    def _finish(self, key: str, future: Future[Any]) -> None:
        with self._lock:
            if self._calls.get(key, (None,))[0] is future:
                del self._calls[key]

    def _settle(
        self, key: str, future: Future[Any], result: Any = None, error: BaseException | None = None
    ) -> None:
        self._finish(key, future)
        if error is None:
            future.set_result(result)
        else:  # a cancelled or interrupted leader: its waiters load again
            future.set_exception(error if isinstance(error, Exception) else _Interrupted())

    def run(self, key: str, load: Callable[[], _T]) -> _T:
        while True:
            future, leader = self._claim(key, is_async=False)
            if leader:
                try:
                    result = load()
                except BaseException as exc:
                    self._settle(key, future, error=exc)
                    raise
                self._settle(key, future, result)
                return result
            try:
                return future.result()  # type: ignore[no-any-return]
            except _Interrupted:
                continue

    async def arun(self, key: str, load: Callable[[], Awaitable[_T]]) -> _T:
        while True:
            future, leader = self._claim(key, is_async=True)
            if leader:
                try:
                    result = await load()
                except BaseException as exc:
                    self._settle(key, future, error=exc)
                    raise
                self._settle(key, future, result)
                return result
            await _wait(future)
            try:
                return future.result()  # type: ignore[no-any-return]
            except _Interrupted:
                continue


async def _wait(future: Future[Any]) -> None:
    """Wait for a thread-safe future without letting our cancellation cancel it for others."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()

    def release() -> None:
        if not waiter.done():
            waiter.set_result(None)

    def wake(_: Future[Any]) -> None:
        with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
            loop.call_soon_threadsafe(release)

    future.add_done_callback(wake)
    await waiter


# --------------------------------------------------------------------------------------------
# the catalog


@dataclass(frozen=True)
class _State:
    models: Mapping[str, ModelInfo]
    aliases: Mapping[str, str]  # canonical slug -> id
    fetched_at: float
    refresh_at: float
    source: str  # where it came from, for messages


def _translate(entries: list[Any]) -> tuple[dict[str, ModelInfo], dict[str, str]]:
    models: dict[str, ModelInfo] = {}
    for raw in entries:
        try:
            info = ModelInfo.from_api(raw)
        except ValueError as exc:
            logger.debug("Catalog entry skipped: %s", exc)
            continue
        models[info.id] = info
    aliases: dict[str, str] = {}
    # "x/y:thinking" shares its canonical slug with "x/y": the plain id wins the alias
    for info in sorted(models.values(), key=lambda m: ":" in m.id):
        if info.canonical_slug and info.canonical_slug not in models:
            aliases.setdefault(info.canonical_slug, info.id)
    return models, aliases


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

    _registry: ClassVar[dict[tuple[str, str], ModelCatalog]] = {}
    _registry_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        *,
        timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        fetch_json: Callable[[str], Any] | None = None,
        afetch_json: Callable[[str], Awaitable[Any]] | None = None,
        cache: _disk_cache.CacheSettings | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = SecretStr(api_key) if api_key else None
        self._timeout, self._headers = timeout, dict(headers or {})
        self._fetch_json, self._afetch_json = fetch_json, afetch_json
        self._cache = cache if cache is not None else _disk_cache.settings_from_env()
        self._clock = clock
        self._ttl = self._cache.ttl
        self._state: _State | None = None
        self._state_lock = threading.Lock()
        self._flight = _SingleFlight()
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
        with cls._registry_lock:
            catalog = cls._registry.get(scope)
            if catalog is None:
                catalog = cls(base_url, api_key, timeout=timeout, headers=headers)
                cls._registry[scope] = catalog
        return catalog

    @classmethod
    def clear_shared(cls) -> None:
        """Forget every shared catalog (after changing the cache environment; in tests)."""
        with cls._registry_lock:
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
        if self._fetch_json is not None:
            return self._fetch_json(path)
        from . import _transport

        return _transport.get_json(self.base_url, path, **self._transport_kwargs())

    async def _aget(self, path: str) -> Any:
        if self._afetch_json is not None:
            return await self._afetch_json(path)
        if self._fetch_json is not None:
            return await asyncio.to_thread(self._fetch_json, path)
        from . import _transport

        return await _transport.aget_json(self.base_url, path, **self._transport_kwargs())

    def _transport_kwargs(self) -> dict[str, Any]:
        return {
            "api_key": self._api_key.get_secret_value() if self._api_key else None,
            "timeout": self._timeout or _DEFAULT_TIMEOUT,
            "headers": self._headers,
        }

    def _install(self, entries: list[Any], path: str) -> _State:
        now = self._clock()
        models, aliases = _translate(entries)
        refresh_at = now + self._ttl if self._ttl > 0 else float("inf")
        state = _State(models, aliases, now, refresh_at, self.base_url + path)
        if self._cache.enabled:
            _disk_cache.write_catalog(
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
        self, exc: OpenRouterError, current: _State | None, disk: _disk_cache.CachedCatalog | None
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
        return _disk_cache.cache_file(self._cache.directory, self.base_url, key)

    def _read_disk(self) -> _disk_cache.CachedCatalog | None:
        return _disk_cache.read_catalog(self._cache_path()) if self._cache.enabled else None

    def _state_from_disk(self, disk: _disk_cache.CachedCatalog) -> _State:
        models, aliases = _translate(disk.entries)
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
        data = _mapping(_mapping(body).get("data"))
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
    exc: OpenRouterError, base_url: str, cache: _disk_cache.CacheSettings
) -> OpenRouterError:
    where = (
        f"no cached copy in {cache.directory}"
        if cache.enabled
        else f"the disk cache is disabled ({_disk_cache.CACHE_TTL_ENV}=0)"
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
