"""Prompt caching and OpenRouter's response cache: the request markers and headers, and what a
response's cache headers say (pure functions; the HTTP is elsewhere).

- **Prompt caching** (the provider caches a prompt prefix): a ``cache_control`` marker
  ``{"type": "ephemeral"}`` (``"ttl": "5m" | "1h"``) on a content block or a message, or at the
  top level of the request for automatic caching on Claude. Reads and writes come back as
  ``usage_metadata["input_token_details"]["cache_read" / "cache_creation"]``.
- **Response caching** (OpenRouter replays a whole identical answer for free): opt in with the
  ``X-OpenRouter-Cache`` request header (TTL 1-86400 s); the answer's ``X-OpenRouter-Cache-*``
  headers become ``response_metadata["response_cache"]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "CACHE_TTLS",
    "MAX_RESPONSE_CACHE_TTL",
    "CacheFields",
    "CacheTTL",
    "check_cache_control",
    "response_cache_headers",
    "response_cache_metadata",
    "warn_if_not_automatic",
]

CacheTTL = Literal["5m", "1h"]
CACHE_TTLS: tuple[str, ...] = ("5m", "1h")
MAX_RESPONSE_CACHE_TTL = 86400
_DOCS = "https://openrouter.ai/docs/guides/best-practices/prompt-caching"


def check_cache_control(value: Any, where: str) -> dict[str, Any]:
    """A ``cache_control`` marker as sent, or ValueError naming ``where`` and the fix."""
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{where}: cache_control={value!r} must be a dict such as {{'type': 'ephemeral'}} "
            f"or {{'type': 'ephemeral', 'ttl': '1h'}} ({_DOCS})."
        )
    unknown = sorted(set(value) - {"type", "ttl"})
    if unknown:
        raise ValueError(
            f"{where}: cache_control has unknown keys {unknown}; it takes 'type' "
            f"('ephemeral') and optionally 'ttl' ({' or '.join(map(repr, CACHE_TTLS))})."
        )
    if value.get("type") != "ephemeral":
        raise ValueError(
            f"{where}: cache_control type={value.get('type')!r}; the only type is 'ephemeral'."
        )
    if "ttl" in value and value["ttl"] not in CACHE_TTLS:
        raise ValueError(
            f"{where}: cache_control ttl={value['ttl']!r}; use '5m' (the default) or '1h' "
            "(Anthropic, Bedrock and Vertex Claude)."
        )
    return dict(value)


def response_cache_headers(
    enabled: bool | None, ttl: int | None = None, clear: bool | None = None
) -> dict[str, str]:
    """The request headers of OpenRouter's response cache (none when nothing is asked).

    ``enabled=False`` is sent too: it turns off a cache a preset switched on.
    """
    headers: dict[str, str] = {}
    if enabled is not None:
        headers["X-OpenRouter-Cache"] = "true" if enabled else "false"
    if ttl is not None:
        headers["X-OpenRouter-Cache-TTL"] = str(int(ttl))
    if clear:
        headers["X-OpenRouter-Cache-Clear"] = "true"
    return headers


def _seconds(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(float(value.strip()))
    except ValueError:
        return None


def response_cache_metadata(headers: Mapping[str, str] | None) -> dict[str, Any] | None:
    """``{"status": "HIT"|"MISS", "ttl": s, "age": s, "source_id": "gen-..."}`` from an answer's
    ``X-OpenRouter-Cache-*`` headers (lower-case names); None when the cache was not involved.
    On a HIT, ``ttl`` is what remains; on a MISS, the full TTL the answer is now stored for."""
    if not headers:
        return None
    status = headers.get("x-openrouter-cache-status")
    if not status:
        return None
    out: dict[str, Any] = {"status": status.strip().upper()}
    ttl, age = _seconds(headers.get("x-openrouter-cache-ttl")), None
    if ttl is not None:
        out["ttl"] = ttl
    age = _seconds(headers.get("x-openrouter-cache-age"))
    if age is not None:
        out["age"] = age
    source = headers.get("x-openrouter-cache-source-id")
    if source:
        out["source_id"] = source.strip()
    return out


# -- the settings ----------------------------------------------------------------------------
_AUTOMATIC_CACHING_AUTHORS = ("anthropic/", "~anthropic/")


class CacheFields(BaseModel):
    """The caching settings of ``ChatOpenRouter``, part of ``settings.SettingFields``: accepted
    in ``model_kwargs``, by ``bind`` and per call too, checked the same (``settings`` maps
    ``response_cache*`` to headers and combines a call's values with the model's)."""

    model_config = ConfigDict(defer_build=True)

    cache_control: dict[str, Any] | None = None
    """Automatic prompt caching for the whole request: ``{"type": "ephemeral"}`` (``"ttl":
    "1h"`` too), sent as the top-level ``cache_control``; its breakpoint advances with the
    conversation. Claude models (Anthropic, Vertex, Bedrock, Azure) honour it; other models cache
    automatically or by per-block markers. https://openrouter.ai/docs/guides/best-practices/prompt-caching"""
    response_cache: bool | None = None
    """OpenRouter's response cache (``X-OpenRouter-Cache``): True replays an identical earlier
    answer for free; False turns off a cache a preset enabled; None sends nothing.
    https://openrouter.ai/docs/guides/features/response-caching"""
    response_cache_ttl: int | None = Field(default=None, ge=1, le=MAX_RESPONSE_CACHE_TTL)
    """Seconds a cached answer is kept (1 to 86400; OpenRouter's default is 300)."""

    @field_validator("cache_control", mode="before")
    @classmethod
    def _marker(cls, value: Any) -> Any:
        return None if value is None else check_cache_control(value, "cache_control")


def warn_if_not_automatic(model: str, cache_control: Any) -> None:
    if cache_control is not None and not model.startswith(_AUTOMATIC_CACHING_AUTHORS):
        warnings.warn(
            f"cache_control at the top level turns on automatic prompt caching on Claude models "
            f"only; {model!r} ignores it (OpenAI, Gemini, DeepSeek and Grok cache long prompts "
            "by themselves; elsewhere mark content blocks with cache_control).",
            UserWarning,
            stacklevel=3,
        )
