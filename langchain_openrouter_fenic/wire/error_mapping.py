"""The one place where failures become ``errors.OpenRouterError`` subclasses.

Three kinds of failure arrive here: an HTTP error status (the SDK's ``APIStatusError``), an
error inside an HTTP 200 (a top-level ``error`` in a JSON body or in a mid-stream SSE chunk),
and transport failures (connection refused or dropped, timeouts). Each is mapped to the most
specific class, with a message that quotes OpenRouter, names the provider and says what to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from .. import errors
from ..rate_limits.signals import parse_rate_limit_signal

__all__ = [
    "atranslating",
    "error_class_for",
    "from_error_payload",
    "from_exception",
    "from_http",
    "malformed_body",
    "translating",
]

_RAW_LIMIT = 600

# OpenRouter's `metadata.error_type` / `availability.code` values that pin the class down
# better than the numeric code (a mid-stream error has no HTTP status of its own).
_ERROR_TYPE_CLASSES: dict[str, type[errors.OpenRouterError]] = {
    "rate_limit_exceeded": errors.RateLimitError,
    "capacity_exhausted": errors.RateLimitError,
    "provider_overloaded": errors.ProviderOverloadedError,
    "provider_unavailable": errors.ServiceUnavailableError,
    "temporarily_unavailable": errors.ServiceUnavailableError,
    "payment_required": errors.InsufficientCreditsError,
    "content_policy_violation": errors.ModerationError,
    "timeout": errors.RequestTimeoutError,
    "server": errors.ServerError,
    "no_endpoints": errors.NoEndpointsError,
    "constraint_filtered": errors.NoEndpointsError,
    "privacy_restricted": errors.NoEndpointsError,
}

_ADVICE: dict[type[errors.OpenRouterError], str] = {
    errors.NoEndpointsError: (
        "No provider allowed by the routing can serve this request. Try "
        'structured_output_strategy="prefer_tools" (or with_structured_output(..., '
        'method="function_calling")), relax provider only/exclude/quantizations/price caps, '
        "or check the account's provider and privacy settings at "
        "https://openrouter.ai/settings/privacy."
    ),
    errors.ModelNotFoundError: (
        "Check the model id; `python -m langchain_openrouter_fenic models` lists them."
    ),
    errors.NotFoundError: (
        "Check the model id (`python -m langchain_openrouter_fenic models` lists them) "
        "and base_url."
    ),
    errors.AuthenticationError: (
        "Check OPENROUTER_API_KEY (or ChatOpenRouter(api_key=...)); keys are managed at "
        "https://openrouter.ai/settings/keys."
    ),
    errors.InsufficientCreditsError: (
        "Add credits at https://openrouter.ai/settings/credits, or lower max_tokens so the "
        "request fits the remaining credit."
    ),
    errors.ModerationError: (
        "The input was flagged by moderation: rephrase it or choose another model."
    ),
    errors.PermissionDeniedError: (
        "Check the key's restrictions, guardrails and the region it is used from."
    ),
    errors.RateLimitError: (
        "To raise the limit add credits, use a paid (non-:free) model, or your own provider "
        "key (BYOK)."
    ),
    errors.RequestTimeoutError: "Retry, or shorten the request.",
    errors.PayloadTooLargeError: "Shorten the prompt or the attachments.",
    errors.UnprocessableEntityError: "Fix the request parameter named in the message.",
    errors.BadRequestError: "Fix the request parameter named in the message.",
    errors.ServerError: (
        "A temporary failure: try again later; fallback models "
        "(ChatOpenRouter(models=[...])) let OpenRouter switch model."
    ),
    errors.ResponseParseError: "OpenRouter sent a body that is not valid JSON; retry the request.",
}


def error_class_for(
    status: int | None,
    message: str = "",
    metadata: Mapping[str, Any] | None = None,
    error_type: str | None = None,
) -> type[errors.OpenRouterError]:
    """The most specific class for an HTTP status (or an in-body error code) and its message."""
    metadata = metadata or {}
    lowered = message.lower()
    if lowered.startswith("no endpoints found"):  # 404 in practice, but the text decides
        if "can handle the requested parameters" in lowered:
            return errors.NoEndpointsForParametersError
        return errors.NoEndpointsError
    if status == 403 and metadata.get("reasons"):
        return errors.ModerationError
    if error_type in _ERROR_TYPE_CLASSES:
        return _ERROR_TYPE_CLASSES[error_type]
    if status in errors.STATUS_CLASSES:
        cls = errors.STATUS_CLASSES[status]
        if cls is errors.BadRequestError and metadata.get("provider_name"):
            return errors.ProviderError
        return cls
    if status is not None and status >= 500:
        return errors.ServerError
    if status is not None and status >= 400:
        return errors.BadRequestError
    return errors.OpenRouterError


def from_error_payload(
    error: Mapping[str, Any],
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    generation_id: str | None = None,
    served_by: str | None = None,
) -> errors.OpenRouterError:
    """Translate OpenRouter's ``{"code", "message", "metadata"}`` error object."""
    code = error.get("code")
    message = str(error.get("message") or "").strip() or "(no message)"
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    if status is None and isinstance(code, int) and 100 <= code <= 599:
        status = code
    availability = (
        error.get("availability") if isinstance(error.get("availability"), Mapping) else {}
    )
    assert isinstance(availability, Mapping)
    error_type = metadata.get("error_type") or availability.get("code")
    cls = error_class_for(status, message, metadata, str(error_type) if error_type else None)
    provider = metadata.get("provider_name") or served_by
    raw = metadata.get("raw")
    raw_text = raw if isinstance(raw, str) else (json.dumps(raw) if raw is not None else None)
    text = _compose(cls, status, message, provider, raw_text, metadata)
    return cls(
        text,
        status_code=status,
        code=code if isinstance(code, (int, str)) else None,
        provider_name=provider,
        raw=raw_text,
        retry_after=_retry_after(headers or {}, error),
        generation_id=generation_id or (headers or {}).get("x-generation-id"),
        metadata=metadata,
        headers=headers,
        body=body,
    )


def from_http(status: int, headers: Mapping[str, str], text: str) -> errors.OpenRouterError:
    """Translate an HTTP error answer (status >= 400) from its body text."""
    try:
        body = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return from_error_payload(error, status=status, headers=headers, body=body)
    snippet = text.strip()[:_RAW_LIMIT] or "(empty body)"
    cls = error_class_for(status)
    return cls(
        _compose(cls, status, snippet, None, None, {}),
        status_code=status,
        raw=text or None,
        retry_after=_retry_after(headers, None),
        generation_id=headers.get("x-generation-id"),
        headers=headers,
        body=body,
    )


def malformed_body(text: str, status: int, headers: Mapping[str, str]) -> errors.ResponseParseError:
    snippet = text.strip()[:200]
    return errors.ResponseParseError(
        f"OpenRouter answered HTTP {status} with a body that is not valid JSON: {snippet!r}. "
        + _ADVICE[errors.ResponseParseError],
        status_code=status,
        raw=text,
        headers=headers,
    )


def from_exception(exc: BaseException) -> errors.OpenRouterError | None:
    """Translate an SDK or transport exception; None when it is not one of ours to translate."""
    from .transport import sdk_modules  # the transport imports this module

    openai, http = sdk_modules()
    if isinstance(exc, errors.OpenRouterError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        response = exc.response
        headers = {k.lower(): v for k, v in response.headers.items()}
        try:
            text = response.text
        except Exception:  # a streamed body that could not be read
            text = json.dumps(exc.body) if exc.body is not None else ""
        return from_http(exc.status_code, headers, text)
    if isinstance(exc, openai.APITimeoutError):
        return errors.APITimeoutError(
            "OpenRouter did not answer within the timeout. Raise ChatOpenRouter(timeout=...) "
            "(seconds), or retry."
        )
    if isinstance(exc, openai.APIConnectionError):
        return errors.APIConnectionError(
            f"Could not reach OpenRouter ({_cause(exc)}). Check the network and base_url."
        )
    if isinstance(exc, http.TimeoutException):
        return errors.APITimeoutError(
            f"OpenRouter stopped sending within the timeout ({type(exc).__name__}). "
            "Raise ChatOpenRouter(timeout=...) (seconds), or retry."
        )
    if isinstance(exc, http.TransportError):
        return errors.APIConnectionError(
            f"The connection to OpenRouter broke ({type(exc).__name__}: {exc}). Retry the request; "
            "check the network and base_url if it persists."
        )
    return None


def _reraise(exc: Exception) -> None:
    if isinstance(exc, errors.OpenRouterError):
        raise exc
    mapped = from_exception(exc)
    if mapped is None:
        raise exc
    raise mapped from exc


@contextmanager
def translating() -> Iterator[None]:
    """Re-raise SDK/transport exceptions raised inside the block as ``OpenRouterError`` s."""
    try:
        yield
    except Exception as exc:
        _reraise(exc)


@asynccontextmanager
async def atranslating() -> AsyncIterator[None]:
    """``translating`` for ``async with``."""
    try:
        yield
    except Exception as exc:
        _reraise(exc)


def _cause(exc: BaseException) -> str:
    inner = exc.__cause__ or exc.__context__
    return f"{type(inner).__name__}: {inner}" if inner else str(exc)


def _compose(
    cls: type[errors.OpenRouterError],
    status: int | None,
    message: str,
    provider: str | None,
    raw: str | None,
    metadata: Mapping[str, Any],
) -> str:
    where = f"HTTP {status}" if status is not None else "an error"
    parts = [f"OpenRouter returned {where}: {message!r}"]
    if provider:
        parts.append(f"Provider: {provider}.")
    if raw and raw.strip() and raw.strip() != message:
        raw_one_line = " ".join(raw.split())
        if len(raw_one_line) > _RAW_LIMIT:
            raw_one_line = raw_one_line[:_RAW_LIMIT] + "..."
        parts.append(f"Upstream said: {raw_one_line}")
    if cls is errors.ModerationError:
        reasons = ", ".join(str(r) for r in metadata.get("reasons") or [])
        flagged = metadata.get("flagged_input")
        parts.append(
            f"Flagged reasons: {reasons or 'unspecified'}"
            + (f"; input {flagged!r}." if flagged else ".")
        )
    advice = next((text for klass, text in _ADVICE.items() if issubclass(cls, klass)), "")
    if cls is errors.InsufficientCreditsError:
        advice = _credits_advice(message) or advice
    if provider and not issubclass(cls, errors.NoEndpointsError):
        parts.append(
            f"To route around this provider, pass "
            f"provider=ProviderPreferences(exclude=[{provider!r}])."
        )
    if advice:
        parts.append(advice)
    return " ".join(parts)


def _credits_advice(message: str) -> str | None:
    """What to change after a 402, from the tokens OpenRouter says the account can afford."""
    found = errors.parse_affordable_tokens(message)
    if found is None:
        return None
    requested, affordable = found
    if affordable > 0:
        return (
            f"The credit left pays for {affordable} output tokens and the request reserved "
            f"{requested} (max_tokens, or the model's maximum output when max_tokens is not "
            f"set): pass max_tokens={affordable} or less (ChatOpenRouter(max_tokens=...) or "
            "invoke(..., max_tokens=...)), or add credits at https://openrouter.ai/settings/credits."
        )
    if "settings/keys" in message:
        return (
            "This key's spending limit is used up: raise it at https://openrouter.ai/settings/keys "
            "or use another key; llm.credits() shows the key's limit and usage."
        )
    return (
        "The credit left pays for no output at all: add credits at "
        "https://openrouter.ai/settings/credits; llm.credits() shows the key's usage."
    )


def _retry_after(headers: Mapping[str, str], error: Mapping[str, Any] | None) -> float | None:
    """Seconds the answer asks us to wait (Retry-After or the body's hints), else None."""
    return parse_rate_limit_signal(headers, error, now=time.time()).retry_after
