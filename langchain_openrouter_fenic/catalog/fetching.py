"""The catalog's HTTP GETs (``/models/user``, ``/models``, ``/models/{id}/endpoints``).

Each GET goes through the retry policy of chat calls (``rate_limits.retry``): 408, 429 (waiting
for its reset, up to ``max_rate_limit_wait``), 5xx, connection errors and timeouts are sent again
up to ``max_retries`` times, with the same backoff; the error raised at the end says how many
times the request was sent. No rate limiter is acquired: catalog reads are not chat requests.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import SecretStr

from ..errors import (
    AuthenticationError,
    NotFoundError,
    OpenRouterError,
    PermissionDeniedError,
    ResponseParseError,
)
from . import tap

__all__ = ["USER_MODELS", "CatalogHttp"]

logger = logging.getLogger(__name__)

ALL_MODELS, USER_MODELS = "/models", "/models/user"
# /models lists only text-output models by default; image-output models would be "unknown"
_QUERY = "?output_modalities=all"
_REFUSED = (AuthenticationError, PermissionDeniedError, NotFoundError)
_DEFAULT_TIMEOUT = 30.0


class CatalogHttp:
    """How one catalog reaches OpenRouter: the shared transport, or injected fetchers.

    Args:
        base_url: the API base.
        api_key: with one, ``/models/user`` is asked first.
        timeout: seconds per request (default 30).
        headers: extra headers (attribution).
        fetch_json / afetch_json: ``path -> decoded JSON`` replacing the transport; with only
            ``fetch_json``, async callers run it in a worker thread.
        max_retries / max_rate_limit_wait: the retry policy (as ``ChatOpenRouter``'s).
    """

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | None,
        *,
        timeout: float | None,
        headers: Mapping[str, str],
        fetch_json: Callable[[str], Any] | None,
        afetch_json: Callable[[str], Awaitable[Any]] | None,
        max_retries: int,
        max_rate_limit_wait: float,
    ) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._timeout, self._headers = timeout, dict(headers)
        self._fetch_json, self._afetch_json = fetch_json, afetch_json
        self.max_retries, self._max_wait = max_retries, max_rate_limit_wait

    # -- the model list --------------------------------------------------------------------
    def fetch_models(self) -> tuple[list[Any], str]:
        """(raw entries, the path that gave them): the account's view, else the public one."""
        refused: OpenRouterError | None = None
        if self._api_key is not None:
            try:
                return _entries_of(self.get(USER_MODELS + _QUERY), USER_MODELS), USER_MODELS
            except _REFUSED as exc:
                refused = _log_refused(exc)
        try:
            return _entries_of(self.get(ALL_MODELS + _QUERY), ALL_MODELS), ALL_MODELS
        except OpenRouterError as exc:
            raise _after_refusal(exc, refused) from exc.__cause__

    async def afetch_models(self) -> tuple[list[Any], str]:
        refused: OpenRouterError | None = None
        if self._api_key is not None:
            try:
                body = await self.aget(USER_MODELS + _QUERY)
                return _entries_of(body, USER_MODELS), USER_MODELS
            except _REFUSED as exc:
                refused = _log_refused(exc)
        try:
            return _entries_of(await self.aget(ALL_MODELS + _QUERY), ALL_MODELS), ALL_MODELS
        except OpenRouterError as exc:
            raise _after_refusal(exc, refused) from exc.__cause__

    # -- one GET, with retries -------------------------------------------------------------
    def get(self, path: str) -> Any:
        """The decoded JSON of ``GET path``, sent under the retry policy.

        Raises:
            OpenRouterError: the last failure, its message led by what was asked
                (``GET /models/user: ...``).
        """
        recorder = tap.installed()  # cassette tests: the catalog comes from a recorded file
        try:
            if recorder is not None:
                return recorder.get(self.base_url, path, lambda: self._get_with_retries(path))
            return self._get_with_retries(path)
        except OpenRouterError as exc:
            raise _asked(exc, path) from exc

    async def aget(self, path: str) -> Any:
        recorder = tap.installed()
        try:
            if recorder is not None:
                fetch = lambda: self._aget_with_retries(path)  # noqa: E731
                return await recorder.aget(self.base_url, path, fetch)
            return await self._aget_with_retries(path)
        except OpenRouterError as exc:
            raise _asked(exc, path) from exc

    def _get_with_retries(self, path: str) -> Any:
        from ..rate_limits.retry import call_with_retries

        return call_with_retries(lambda: self._get_once(path), **self._retry_options())

    async def _aget_with_retries(self, path: str) -> Any:
        from ..rate_limits.retry import acall_with_retries

        return await acall_with_retries(lambda: self._aget_once(path), **self._retry_options())

    def _retry_options(self) -> dict[str, Any]:
        return {
            "max_retries": self.max_retries,
            "rate_limiter": None,
            "max_rate_limit_wait": self._max_wait,
        }

    def _get_once(self, path: str) -> Any:
        if self._fetch_json is not None:
            return self._fetch_json(path)
        from ..wire import transport

        return transport.get_json(self.base_url, path, **self._transport_kwargs())

    async def _aget_once(self, path: str) -> Any:
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


def _log_refused(exc: OpenRouterError) -> OpenRouterError:
    logger.info(
        "OpenRouter refused /models/user (HTTP %s); using the public /models catalog.",
        exc.status_code,
    )
    return exc


def _asked(exc: OpenRouterError, path: str) -> OpenRouterError:
    """``exc`` (same class and fields), its message led by the GET that failed."""
    error = type(exc)(f"GET {path.partition('?')[0]}: {exc.message}", **exc._state())
    error.__cause__ = exc
    return error


def _after_refusal(exc: OpenRouterError, refused: OpenRouterError | None) -> OpenRouterError:
    if refused is None:
        return exc
    get, _, rest = exc.message.partition(": ")
    note = f"{get} (after /models/user was refused with HTTP {refused.status_code}): {rest}"
    error = type(exc)(note, **exc._state())
    error.__cause__ = exc.__cause__
    return error
