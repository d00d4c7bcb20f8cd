"""A loopback OpenRouter for tests, cassette recording and benchmarks.

    with running_emulator() as emu:
        model = ChatOpenRouter(model="openai/gpt-4o-mini", api_key="k", base_url=emu.url)
        emu.enqueue(Reply.rate_limited(reset_ms=...), Reply.text("ok"))
        model.invoke("hi")
        assert emu.count("/chat/completions") == 2

Routes (under ``/api/v1``): ``POST /chat/completions`` (JSON and SSE), ``GET /models``,
``GET /models/user``, ``GET /key`` and ``GET /generation?id=`` (bearer required),
``GET /models/{author}/{slug}/endpoints``. The account side (:mod:`tests.support.emulator_account`):
each completed 200 is billed, ``/key`` reports the spend against ``key_info["limit"]``, and with a
key limit or ``credits`` the credit pre-check answers 402 as OpenRouter does. Requests sent with
``X-OpenRouter-Cache: true`` go through the response cache (:mod:`tests.support.emulator_cache`).
Scripted replies (:meth:`OpenRouterEmulator.enqueue`) answer the next chat calls in FIFO order;
with none queued the emulator answers deterministically from the request (see
:mod:`tests.support.emulator_chat`). Hidden limits (:meth:`~OpenRouterEmulator.provider_bucket`,
:meth:`~OpenRouterEmulator.window_budget`) are checked before scripted replies, and before them
``provider.require_parameters`` against each endpoint's ``supported_parameters``
(:mod:`tests.support.emulator_routing`): the real 404 when no endpoint of the model or of its
fallback ``models`` handles every parameter.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from tests.support.emulator_account import Ledger, credit_refusal, generation_not_found
from tests.support.emulator_cache import CacheDirective, ResponseCache
from tests.support.emulator_catalog import (
    ModelIndex,
    default_endpoints,
    endpoints_document,
    key_record,
    load_snapshot_catalog,
)
from tests.support.emulator_chat import ChatContext, plan_completion, prompt_tokens
from tests.support.emulator_http import HttpRequest, LoopbackServer
from tests.support.emulator_limits import (
    Counters,
    EmulatorStats,
    HiddenLimit,
    ProviderBucket,
    WindowBudget,
)
from tests.support.emulator_prompt_cache import PromptCache
from tests.support.emulator_replies import Reply, Wire, completion_wire, error_document, json_wire
from tests.support.emulator_routing import route

__all__ = [
    "EmulatorStats",
    "OpenRouterEmulator",
    "ProviderBucket",
    "RecordedRequest",
    "Reply",
    "WindowBudget",
    "running_emulator",
]

_PREFIX = "/api/v1"
_CACHE_LIMIT = 512


@dataclass
class RecordedRequest:
    """One request the emulator received (``json`` is parsed on first access)."""

    method: str
    path: str  # without the query string, e.g. "/api/v1/chat/completions"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = field(repr=False, default=b"")
    connection: int = 0  # the connection that carried it (numbered from 1 by the server)

    @cached_property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None


class OpenRouterEmulator:
    """An OpenRouter look-alike on loopback. ``start()`` it (or use ``with``), read ``url``."""

    def __init__(
        self,
        *,
        catalog: list[dict[str, Any]] | None = None,
        endpoints: dict[str, list[dict[str, Any]]] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        chunk_count: int | None = None,
        latency: float = 0.0,
        chunk_interval: float = 0.0,
        api_key: str | None = None,
        key_info: Mapping[str, Any] | None = None,
        limits: Sequence[HiddenLimit] = (),
        clock: Callable[[], float] = time.time,
        credits: float | None = None,
        generation_not_found_lookups: int = 0,
        catalog_latency: float = 0.0,
        presets: Mapping[str, str] | None = None,
    ) -> None:
        """
        Args:
            catalog: model entries served by ``/models`` (default: the package's real snapshot).
            endpoints: model id -> endpoint records; others are generated from the catalog.
            chunk_count: exact number of content chunks of default streamed text replies.
            latency: seconds to wait before answering each chat request.
            chunk_interval: seconds between SSE chunks (0: the whole stream in one write).
            api_key: when set, the only bearer key accepted (401 "User not found." otherwise).
            key_info: fields replacing the defaults of ``GET /key``'s ``data``; a ``limit``
                (USD) is the key's spending limit: ``/key`` reports ``limit_remaining`` and the
                credit pre-check refuses what it cannot cover (402).
            limits: hidden limits checked on every chat request, in order.
            clock: time source (seconds since the epoch) for limits, the cache and the ledger.
            credits: the account balance in USD (None: unlimited); spending lowers it, and the
                credit pre-check refuses what it cannot cover (402).
            generation_not_found_lookups: ``GET /generation`` answers 404 this many times per id
                before the record is there, as OpenRouter does right after a request.
            catalog_latency: seconds to wait before answering ``/models``, ``/models/user`` and
                ``/endpoints`` (a slow catalog).
            presets: the account's presets, slug -> the model id each uses (``@preset/slug``).
        """
        self.models = ModelIndex(
            catalog if catalog is not None else load_snapshot_catalog(), presets
        )
        self.catalog_latency = catalog_latency
        self.endpoints = dict(endpoints or {})
        self.host, self.port = host, port
        self.chunk_count, self.latency, self.chunk_interval = chunk_count, latency, chunk_interval
        self.api_key, self.key_info = api_key, dict(key_info or {})
        self.clock = clock
        self.requests: list[RecordedRequest] = []
        self.failures: list[Exception] = []  # exceptions raised while answering (answered 500)
        self._limits: list[HiddenLimit] = list(limits)
        self._queue: deque[Reply] = deque()
        self._get_replies: dict[str, Reply] = {}
        self._get_reply_uses: dict[str, int] = {}
        self._lock = threading.Lock()
        self._counters = Counters()
        self._cache: dict[tuple[bytes, int | None], Wire] = {}
        self.credits = credits
        self.ledger = Ledger(not_found_lookups=generation_not_found_lookups, clock=clock)
        self.response_cache = ResponseCache(clock)
        self.prompt_cache = PromptCache(clock)
        self._server: LoopbackServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``base_url`` for clients: ``http://127.0.0.1:PORT/api/v1``."""
        if self._server is None:
            raise RuntimeError("OpenRouterEmulator.url: call start() (or use `with`) first")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._server.server_address[1]}{_PREFIX}"

    def start(self) -> OpenRouterEmulator:
        """Bind and serve in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = LoopbackServer((self.host, self.port), self._respond)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.01},
                name="openrouter-emulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> OpenRouterEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- scripting --------------------------------------------------------------------------------

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next ``POST /chat/completions`` calls with these, in order."""
        with self._lock:
            self._queue.extend(replies)

    def pending(self) -> int:
        """Scripted replies not used yet."""
        with self._lock:
            return len(self._queue)

    def set_get_reply(
        self, path_suffix: str, reply: Reply | None, *, times: int | None = None
    ) -> None:
        """Answer GETs whose path ends with ``path_suffix`` with ``reply`` (None: default again),
        for the next ``times`` of them (None: until changed)."""
        with self._lock:
            if reply is None:
                self._get_replies.pop(path_suffix, None)
                self._get_reply_uses.pop(path_suffix, None)
            else:
                self._get_replies[path_suffix] = reply
                if times is None:
                    self._get_reply_uses.pop(path_suffix, None)
                else:
                    self._get_reply_uses[path_suffix] = times

    def add_model(self, entry: Mapping[str, Any]) -> None:
        """Publish a model: ``/models`` lists it from now on (a model released today)."""
        with self._lock:
            self.models.add(entry)
            self.__dict__.pop("_all_models_wire", None)

    def provider_bucket(self, rate: float = 20.0, burst: float | None = None) -> ProviderBucket:
        """Hide a provider token bucket (replacing any earlier one); over it: bare 429s."""
        bucket = ProviderBucket(rate, burst, clock=self.clock)
        self._replace_limit(ProviderBucket, bucket)
        return bucket

    def window_budget(self, limit: int = 20, window: float = 5.0) -> WindowBudget:
        """Hide an OpenRouter fixed-window budget; over it: 429 with ``X-RateLimit-*``."""
        budget = WindowBudget(limit, window, clock=self.clock)
        self._replace_limit(WindowBudget, budget)
        return budget

    def clear_limits(self) -> None:
        with self._lock:
            self._limits = []

    def _replace_limit(self, kind: type[HiddenLimit], limit: HiddenLimit) -> None:
        with self._lock:
            self._limits = [x for x in self._limits if not isinstance(x, kind)] + [limit]
            # OpenRouter's own budget is checked before the request reaches a provider
            self._limits.sort(key=lambda x: not isinstance(x, WindowBudget))

    def reset(self) -> None:
        """Forget recorded requests, scripted replies, GET overrides, counters and limit usage."""
        with self._lock:
            self.requests.clear()
            self.failures.clear()
            self._queue.clear()
            self._get_replies.clear()
            self._get_reply_uses.clear()
            for limit in self._limits:
                limit.reset()
        self._counters.reset()
        self.ledger.reset()
        self.response_cache.reset()
        self.prompt_cache.reset()

    # -- inspection -------------------------------------------------------------------------------

    def chat_requests(self) -> list[RecordedRequest]:
        """Every ``POST .../chat/completions`` received, oldest first."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and r.path.endswith("/chat/completions")
            ]

    def count(self, path_suffix: str) -> int:
        """How many requests had a path ending with ``path_suffix``."""
        with self._lock:
            return sum(1 for r in self.requests if r.path.endswith(path_suffix))

    def stats(self) -> EmulatorStats:
        """Chat counters: attempts, 429s, 200s and the peak number of concurrent requests."""
        return self._counters.snapshot()

    # -- serving ----------------------------------------------------------------------------------

    def _respond(self, request: HttpRequest) -> tuple[Wire, float]:
        try:
            return self._route(request)
        except Exception as exc:  # a bug or a bad script must surface, not drop the connection
            self.failures.append(exc)
            message = f"Emulator failure: {type(exc).__name__}: {exc} (see emulator.failures)"
            return json_wire(500, error_document(500, message)), 0.0

    def _route(self, request: HttpRequest) -> tuple[Wire, float]:
        recorded = RecordedRequest(
            request.method,
            request.path,
            request.query,
            request.headers,
            request.body,
            request.connection,
        )
        with self._lock:
            self.requests.append(recorded)
        route = request.path[len(_PREFIX) :] if request.path.startswith(_PREFIX) else request.path
        if request.method == "POST" and route == "/chat/completions":
            return self._chat(recorded), self.chunk_interval
        if request.method == "GET":
            return self._get(route, recorded), 0.0
        status = 405 if route == "/chat/completions" else 404
        message = f"{request.method} {request.path} is not a route this emulator serves"
        return json_wire(status, error_document(status, message)), 0.0

    def _auth_error(self, request: RecordedRequest) -> Wire | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return json_wire(401, error_document(401, "No auth credentials found"))
        if self.api_key is not None and key.strip() != self.api_key:
            return json_wire(401, error_document(401, "User not found."))
        return None

    def _chat(self, request: RecordedRequest) -> Wire:
        self._counters.started()
        started = time.monotonic()
        wire = Wire(500, (b"",))
        try:
            wire = self._chat_wire(request, started)
        finally:
            self._counters.finished(wire.status)
        return wire

    def _chat_wire(self, request: RecordedRequest, started: float) -> Wire:
        denied = self._auth_error(request)
        if denied is not None:
            return denied
        body = request.json
        if not isinstance(body, dict):
            return json_wire(400, error_document(400, "Invalid JSON body: send a JSON object"))
        model_id = body.get("model") or next(iter(body.get("models") or []), None)
        if not isinstance(model_id, str) or not model_id:
            return json_wire(
                400, error_document(400, 'No model provided: set "model" (or "models")')
            )
        unknown_preset = self._unknown_preset(model_id)
        if unknown_preset is not None:
            return unknown_preset
        bearer = request.headers.get("authorization", "").partition(" ")[2].strip()
        ctx = ChatContext(body, model_id, self.models.find(model_id), self.chunk_count, bearer)
        directive = CacheDirective.from_headers(request.headers)
        if not directive.enabled:
            wire = self._answer(request, ctx)
            self.ledger.served(wire, streamed=ctx.stream, started=started)
            return wire
        cache_key = ResponseCache.key(request.headers.get("authorization", ""), body)
        hit = self.response_cache.hit(cache_key, directive)
        if hit is not None:  # answered by OpenRouter itself: no provider, no limit, no charge
            wire, source = hit
            self.ledger.served(wire, streamed=ctx.stream, started=started, cache_source_id=source)
            return wire
        wire = self.response_cache.store(cache_key, self._answer(request, ctx), directive)
        self.ledger.served(wire, streamed=ctx.stream, started=started)
        return wire

    def _answer(self, request: RecordedRequest, ctx: ChatContext) -> Wire:
        """A chat answer past authentication, with prompt-cache reads and writes counted."""
        wire = self._provider_answer(request, ctx)
        return self.prompt_cache.apply(request.headers.get("authorization", ""), ctx, wire)

    def _provider_answer(self, request: RecordedRequest, ctx: ChatContext) -> Wire:
        """Routing (``only`` / ``ignore``, ``require_parameters``), credit check, hidden limits,
        then the scripted or default answer."""
        if ctx.model is not None:
            fallbacks = [m for m in ctx.body.get("models") or [] if isinstance(m, str)]
            served, refusal = route(ctx.body, [ctx.model_id, *fallbacks], self._endpoints_of)
            if served is None:
                return json_wire(404, error_document(404, refusal))
            if served != ctx.model_id:  # a fallback model serves, as OpenRouter would route it
                ctx = replace(ctx, model_id=served, model=self.models.find(served))
        refusal = self._credit_refusal(request, ctx)
        if refusal is not None:
            return refusal
        with self._lock:
            limits = list(self._limits)
        for limit in limits:
            refusal = limit.admit(ctx.model_id)
            if refusal is not None:
                return refusal.render(ctx)
        with self._lock:
            scripted = self._queue.popleft() if self._queue else None
        if self.latency:
            time.sleep(self.latency)
        if scripted is not None:
            if scripted.delay:
                time.sleep(scripted.delay)
            return scripted.render(ctx)
        return self._default_chat(request.body, ctx)

    def _credit_refusal(self, request: RecordedRequest, ctx: ChatContext) -> Wire | None:
        limit = self.key_info.get("limit")
        if limit is None and self.credits is None:
            return None
        spent = self.ledger.spent()
        return credit_refusal(
            ctx.body,
            ctx.model,
            prompt_tokens(ctx.body),
            key_remaining=None if limit is None else float(limit) - spent,
            balance=None if self.credits is None else self.credits - spent,
        )

    def key_data(self, api_key: str) -> dict[str, Any]:
        """The ``GET /key`` body: ``key_info`` over the defaults, usage from the ledger."""
        spent = self.ledger.spent()
        usage = {"usage": spent, "usage_daily": spent, "usage_weekly": spent}
        usage["usage_monthly"] = spent
        info = {**usage, **self.key_info}
        if info.get("limit") is not None and "limit_remaining" not in self.key_info:
            info["limit_remaining"] = max(0.0, float(info["limit"]) - spent)
        return key_record(api_key, info)

    def _unknown_preset(self, model_id: str) -> Wire | None:
        _, at, preset = model_id.partition("@")
        slug = preset.removeprefix("preset/")
        if not at or slug in self.models.presets:
            return None
        return json_wire(404, error_document(404, f"Preset '{slug}' not found"))

    def _default_chat(self, raw: bytes, ctx: ChatContext) -> Wire:
        if ctx.model is None:
            return json_wire(400, error_document(400, f"{ctx.model_id} is not a valid model ID"))
        if not ctx.body.get("messages"):
            return json_wire(
                400,
                error_document(400, "Input must have at least 1 token.", {"provider_name": None}),
            )
        key = (raw, self.chunk_count)
        wire = self._cache.get(key)
        if wire is None:  # same bytes in, same bytes out: plan each distinct request once
            wire = completion_wire(ctx, plan_completion(ctx))
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[key] = wire
        return wire

    def _get(self, route: str, request: RecordedRequest) -> Wire:
        with self._lock:
            matches = [s for s in self._get_replies if request.path.endswith(s)]
            suffix = max(matches, key=len) if matches else None
            override = self._get_replies[suffix] if suffix is not None else None
            if suffix is not None and suffix in self._get_reply_uses:
                self._get_reply_uses[suffix] -= 1
                if self._get_reply_uses[suffix] <= 0:
                    del self._get_replies[suffix], self._get_reply_uses[suffix]
        if override is not None:
            if override.delay:
                time.sleep(override.delay)
            return override.render(None)
        if route in ("/models/user", "/key", "/auth/key", "/generation"):
            denied = self._auth_error(request)
            if denied is not None:
                return denied
        if self.catalog_latency and route.startswith("/models"):
            time.sleep(self.catalog_latency)
        if route in ("/models", "/models/user"):
            return self._models_wire(request.query.get("supported_parameters"))
        if route in ("/key", "/auth/key"):
            key = request.headers["authorization"].partition(" ")[2].strip()
            return json_wire(200, self.key_data(key))
        if route == "/generation":
            return self._generation_wire(request.query.get("id", ""))
        parts = route.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "models" and parts[3] == "endpoints":
            return self._endpoints_wire(f"{parts[1]}/{parts[2]}")
        return json_wire(404, error_document(404, f"Not Found: GET {request.path}"))

    def _generation_wire(self, gen_id: str) -> Wire:
        if not gen_id:
            return json_wire(400, error_document(400, "Missing required query parameter: id"))
        record = self.ledger.lookup(gen_id)
        if record is None:
            return generation_not_found(gen_id)
        return json_wire(200, {"data": record})

    @cached_property
    def _all_models_wire(self) -> Wire:
        return json_wire(200, {"data": self.models.entries})

    def _models_wire(self, supported: str | None) -> Wire:
        if not supported:
            return self._all_models_wire
        wanted = {p.strip() for p in supported.split(",") if p.strip()}
        data = [
            m for m in self.models.entries if wanted <= set(m.get("supported_parameters") or [])
        ]
        return json_wire(200, {"data": data})

    def _endpoints_of(self, model_id: str) -> list[dict[str, Any]] | None:
        """The endpoint records of a model (given, else generated); None for an unknown one."""
        model = self.models.find(model_id)
        if model is None and model_id not in self.endpoints:
            return None
        return self.endpoints.get(model_id) or default_endpoints(model or {"id": model_id})

    def _endpoints_wire(self, model_id: str) -> Wire:
        records = self._endpoints_of(model_id)
        if records is None:
            return json_wire(404, error_document(404, f"Model {model_id} not found"))
        entry = self.models.find(model_id) or {"id": model_id, "name": model_id}
        return json_wire(200, endpoints_document(entry, records))


@contextmanager
def running_emulator(**options: Any) -> Iterator[OpenRouterEmulator]:
    """``with running_emulator(chunk_count=200) as emu:`` -- started, stopped on exit."""
    emulator = OpenRouterEmulator(**options).start()
    try:
        yield emulator
    finally:
        emulator.stop()
