"""The only module that talks to the ``openai`` SDK.

The SDK is the transport (connection pooling, timeouts, TLS); everything above it sees plain
decoded JSON and SSE events. Its own retries are off: retries are ours (``_retry``), so that they
honour OpenRouter's rate-limit signals and feed the rate limiter. The SDK is imported on first
use, never at package import.

Bodies are read raw and decoded here: OpenRouter sends fields the SDK's response models do not
know (``provider``, ``native_finish_reason``, ``usage.cost``), JSON bodies padded with blank
lines, and SSE comment lines; and the SDK's per-chunk models cost more than the parsing itself.

Both SDK lines are supported: openai 3.x is built on ``httpx2``, openai 2.x (what
``langchain-openai`` requires) on ``httpx``. ``sdk_modules`` is the one place that tells them apart.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, NamedTuple

from .._process_local import ProcessLocal, ProcessRegistry
from .._secrets import remember_key
from . import error_mapping, sse
from .loop_clients import LoopClients
from .sse import SSEFraming

if TYPE_CHECKING:
    import openai

__all__ = [
    "DEFAULT_BASE_URL",
    "HttpResult",
    "OpenRouterTransport",
    "StreamResult",
    "aget_json",
    "get_json",
    "sdk_modules",
    "shared_transport",
    "transport_for",
    "transport_key",
]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
_DEFAULT_CATALOG_TIMEOUT = 30.0


@dataclass
class HttpResult:
    """A decoded JSON answer and its headers (lower-cased names)."""

    status: int
    headers: dict[str, str]
    data: Any


@dataclass
class StreamResult:
    """An open SSE answer: its headers, an iterator over decoded events, and what the framing
    saw (``ended_with_done``). ``close`` / ``aclose`` close the events, then the response (once;
    again is a no-op)."""

    status: int
    headers: dict[str, str]
    events: Any = field(repr=False)
    framing: SSEFraming = field(repr=False)
    response: Any = field(repr=False)
    _closed: bool = field(default=False, repr=False)

    @property
    def ended_with_done(self) -> bool:
        """``data: [DONE]`` arrived: OpenRouter said the stream is complete."""
        return self.framing.done

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.events.close()
            finally:
                self.response.close()

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True  # before awaiting: a second closer finds nothing left to do
            try:
                await self.events.aclose()
            finally:
                await self.response.aclose()


class _Clients:
    """The SDK clients of one transport in one process (see ``_process_local``)."""

    def __init__(self, transport: OpenRouterTransport) -> None:
        self.lock = threading.Lock()
        self.sync: openai.OpenAI | None = None
        # an async client's pooled connections belong to the event loop that opened them
        self.by_loop: LoopClients[openai.AsyncOpenAI] = LoopClients(
            transport._new_async_client, _close_async_client
        )


class OpenRouterTransport:
    """The SDK clients of one (base_url, key, headers, timeout) configuration.

    The sync client is created once per process, on first use, and reused for every request;
    each event loop gets an async client of its own, closed when that loop shuts down
    (``loop_clients``). A forked child makes its own: pooled connections are never shared
    between processes.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        remember_key(api_key)  # an answer that echoes it: redacted from every error
        self._headers = dict(headers or {})
        self._timeout = timeout
        self._clients: ProcessLocal[_Clients] = ProcessLocal(lambda: _Clients(self))

    def __repr__(self) -> str:
        return f"OpenRouterTransport(base_url={self.base_url!r})"

    # -- clients ---------------------------------------------------------------------------
    def _client_kwargs(self) -> dict[str, Any]:
        return {
            # the SDK insists on a key; an empty one makes OpenRouter answer 401, which we translate
            "api_key": self._api_key or "missing-openrouter-api-key",
            "base_url": self.base_url,
            "default_headers": self._headers,
            "timeout": self._timeout,
            "max_retries": 0,
        }

    def sync_client(self) -> openai.OpenAI:
        clients = self._clients.get()
        if clients.sync is None:
            with clients.lock:
                if clients.sync is None:
                    sdk = sdk_modules().openai
                    http_client = sdk.DefaultHttpxClient(verify=_ssl_context.get())
                    clients.sync = sdk.OpenAI(**self._client_kwargs(), http_client=http_client)
        return clients.sync

    async def async_client(self) -> openai.AsyncOpenAI:
        """This event loop's client. Importing the SDK and loading the TLS certificates take
        tens of milliseconds that a loop must not stall for: the first client of the process
        waits for them in a worker thread; later ones (a new loop per ``asyncio.run``) are
        cheap to build on the loop."""
        by_loop = self._clients.get().by_loop
        client = by_loop.current()
        if client is None:
            if _ssl_context.peek() is None:
                await asyncio.to_thread(_ssl_context.get)
            client = by_loop.get()
        return client

    def _new_async_client(self) -> openai.AsyncOpenAI:
        sdk = sdk_modules().openai
        http_client = sdk.DefaultAsyncHttpxClient(verify=_ssl_context.get())
        client: openai.AsyncOpenAI = sdk.AsyncOpenAI(
            **self._client_kwargs(), http_client=http_client
        )
        return client

    def live_async_clients(self) -> int:
        """How many async clients this transport holds in this process (one per live loop)."""
        clients = self._clients.peek()
        return len(clients.by_loop) if clients is not None else 0

    # -- JSON ------------------------------------------------------------------------------
    def get_json(self, path: str) -> HttpResult:
        with error_mapping.translating():
            response = self.sync_client().get(path, cast_to=_response_type())
            return _decode_json(response, self.base_url)

    async def aget_json(self, path: str) -> HttpResult:
        async with error_mapping.atranslating():
            response = await (await self.async_client()).get(path, cast_to=_response_type())
            return _decode_json(response, self.base_url)

    def post_json(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        with error_mapping.translating():
            response = self.sync_client().post(
                path, body=body, cast_to=_response_type(), options=_options(headers)
            )
            return _decode_json(response, self.base_url)

    async def apost_json(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> HttpResult:
        async with error_mapping.atranslating():
            response = await (await self.async_client()).post(
                path, body=body, cast_to=_response_type(), options=_options(headers)
            )
            return _decode_json(response, self.base_url)

    # -- SSE -------------------------------------------------------------------------------
    def open_stream(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> StreamResult:
        """Open an SSE answer; the caller closes it (``StreamResult.close``) on every exit."""
        with error_mapping.translating():
            response = self.sync_client().post(
                path, body=body, cast_to=_response_type(), stream=True, options=_options(headers)
            )
        return self._stream_result(response, sse.events)

    async def aopen_stream(
        self, path: str, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> StreamResult:
        """Open an SSE answer; the caller closes it (``await StreamResult.aclose()``) on every
        exit. A plain object, not an async context manager: it is held across the yields of the
        callers' async generators, where a generator-based one could be finalised out of order
        at loop shutdown."""
        async with error_mapping.atranslating():
            response = await (await self.async_client()).post(
                path, body=body, cast_to=_response_type(), stream=True, options=_options(headers)
            )
        return self._stream_result(response, sse.aevents)

    def _stream_result(self, response: Any, read: Callable[[Any, SSEFraming], Any]) -> StreamResult:
        headers = _headers_of(response)
        framing = SSEFraming(headers, self.base_url)
        events = read(response, framing)
        return StreamResult(response.status_code, headers, events, framing, response)

    def close(self) -> None:
        clients = self._clients.peek()
        if clients is not None and clients.sync is not None:
            clients.sync.close()


def _options(headers: Mapping[str, str] | None) -> Any:
    """Per-request SDK options: extra headers (e.g. the response cache's), else none."""
    return {"headers": dict(headers)} if headers else {}


class SDKModules(NamedTuple):
    """The ``openai`` package and the HTTP library its clients are built on."""

    openai: ModuleType
    http: ModuleType  # httpx2 (openai 3.x) or httpx (openai 2.x): Response, TransportError, ...


@functools.cache
def sdk_modules() -> SDKModules:
    """The installed SDK and its HTTP library, imported on first use.

    Both HTTP libraries may be installed at once (recent ``langsmith`` brings ``httpx2`` next to
    openai 2.x), so the SDK's own client class decides, not whichever happens to be importable.
    """
    import openai

    http_name = next(
        base.__module__.partition(".")[0]
        for base in openai.DefaultHttpxClient.__mro__[1:]
        if base.__module__.startswith("httpx")
    )
    return SDKModules(openai, importlib.import_module(http_name))


async def _close_async_client(client: openai.AsyncOpenAI) -> None:
    await client.close()


def _default_ssl_context() -> ssl.SSLContext:
    # built as the SDK's HTTP library would (certifi, or SSL_CERT_FILE / SSL_CERT_DIR); loading
    # the CA bundle takes ~60 ms, so every client of the process shares one
    context: ssl.SSLContext = sdk_modules().http.create_ssl_context()
    return context


# one per process: a forked child builds its own rather than share the parent's
_ssl_context: ProcessLocal[ssl.SSLContext] = ProcessLocal(_default_ssl_context)


def _response_type() -> Any:
    # asking the SDK for its HTTP library's Response returns the raw response, streamed or not
    return sdk_modules().http.Response


def _headers_of(response: Any) -> dict[str, str]:
    return {k.lower(): v for k, v in response.headers.items()}


def _decode_json(response: Any, base_url: str) -> HttpResult:
    headers = _headers_of(response)
    text = response.text
    try:
        data = json.loads(text)  # leading blank padding (slow models) is legal JSON whitespace
    except json.JSONDecodeError:
        data = _NOT_JSON  # raised below, outside the handler: the decoder's error holds the body
    if data is _NOT_JSON:
        raise error_mapping.malformed_body(text, response.status_code, headers, base_url=base_url)
    return HttpResult(response.status_code, headers, data)


_NOT_JSON = object()


# -- plain GETs for the catalog ------------------------------------------------------------
TransportKey = tuple[str, str | None, tuple[tuple[str, str], ...], float | None]
_SHARED: ProcessRegistry[TransportKey, OpenRouterTransport] = ProcessRegistry("transports")


def transport_key(
    base_url: str, api_key: str | None, headers: Mapping[str, str] | None, timeout: float | None
) -> TransportKey:
    """The configuration a shared transport is looked up by (see ``shared_transport``)."""
    return (base_url.rstrip("/"), api_key, tuple(sorted((headers or {}).items())), timeout)


def shared_transport(
    base_url: str, api_key: str | None, headers: Mapping[str, str] | None, timeout: float | None
) -> OpenRouterTransport:
    """One transport per configuration in the process: SDK clients (their connection pools and
    TLS contexts, ~20 ms to build) are shared by every model instance that can share them.
    The registry is empty again in a forked child (``_process_local``)."""
    return transport_for(transport_key(base_url, api_key, headers, timeout))


def transport_for(key: TransportKey) -> OpenRouterTransport:
    """The shared transport of a ``transport_key``."""
    base_url, api_key, headers, timeout = key
    return _SHARED.get_or_create(
        key,
        lambda: OpenRouterTransport(
            base_url=base_url, api_key=api_key, headers=dict(headers), timeout=timeout
        ),
    )


def get_json(
    base_url: str,
    path: str,
    *,
    api_key: str | None,
    timeout: float | None = _DEFAULT_CATALOG_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """GET ``{base_url}{path}`` and return the decoded JSON; errors are ``OpenRouterError`` s."""
    return shared_transport(base_url, api_key, headers, timeout).get_json(path).data


async def aget_json(
    base_url: str,
    path: str,
    *,
    api_key: str | None,
    timeout: float | None = _DEFAULT_CATALOG_TIMEOUT,
    headers: Mapping[str, str] | None = None,
) -> Any:
    """Async ``get_json``."""
    return (await shared_transport(base_url, api_key, headers, timeout).aget_json(path)).data
