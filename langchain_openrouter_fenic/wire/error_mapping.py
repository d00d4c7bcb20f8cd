"""The one place where failures become ``errors.OpenRouterError`` subclasses.

Three kinds of failure arrive here: an HTTP error status (the SDK's ``APIStatusError``), an
error inside an HTTP 200 (a top-level ``error`` in a JSON body or in a mid-stream SSE chunk),
and transport failures (connection refused or dropped, timeouts). Each is mapped to the most
specific class (through the one table of ``error_table``), with a message that quotes
OpenRouter, names the provider and says what to do.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from .. import errors
from .._secrets import redact_text
from ..rate_limits.signals import parse_rate_limit_signal
from .error_table import error_class_for, named_codes, status_of

__all__ = [
    "SDKException",
    "atranslating",
    "detach",
    "error_class_for",
    "finish_reason_error",
    "from_error_payload",
    "from_exception",
    "from_http",
    "looks_like_html",
    "malformed_body",
    "translated",
    "translating",
    "truncated_stream",
]

_RAW_LIMIT = 600

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
}


def from_error_payload(
    error: Mapping[str, Any],
    *,
    status: int | None = None,
    headers: Mapping[str, str] | None = None,
    body: Any = None,
    generation_id: str | None = None,
    served_by: str | None = None,
    where: str | None = None,
) -> errors.OpenRouterError:
    """Translate OpenRouter's ``{"code", "message", "metadata"}`` error object.

    ``status`` is the HTTP status when the error came as one; for an error inside a 200 it is
    None and the object's own code decides. ``where`` names how it arrived, for the message
    (e.g. "an error chunk in the stream"); default: "HTTP <status>".
    """
    code = error.get("code")
    message = str(error.get("message") or "").strip() or "(no message)"
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    assert isinstance(metadata, Mapping)
    named = named_codes(error)
    if status is None:  # an error inside a 200 (a body or a stream chunk): its own code decides
        status = status_of(error)
    cls = error_class_for(status, message, metadata, next(iter(named), None))
    provider = metadata.get("provider_name") or served_by
    raw = metadata.get("raw")
    raw_text = raw if isinstance(raw, str) else (json.dumps(raw) if raw is not None else None)
    text = _compose(cls, status, message, provider, raw_text, metadata, where=where)
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


def from_http(
    status: int, headers: Mapping[str, str], text: str, *, url: str | None = None
) -> errors.OpenRouterError:
    """Translate an HTTP error answer (status >= 400) from its body text (``url``: where the
    request went, named when an HTML page suggests a wrong base_url)."""
    try:
        body = json.loads(text) if text.strip() else None
    except json.JSONDecodeError:
        body = None
    error = body.get("error") if isinstance(body, Mapping) else None
    if isinstance(error, Mapping):
        return from_error_payload(error, status=status, headers=headers, body=body)
    snippet = text.strip()[:_RAW_LIMIT] or "(empty body)"
    cls = error_class_for(status)
    message = _compose(cls, status, snippet, None, None, {})
    if status in (404, 405) and looks_like_html(text, headers):
        message += (
            f" The answer is a web page, not the API: {url or 'the URL requested'} is not an "
            f"API route. base_url must be the API's root, ending in /api/v1 ({_API_ROOT})."
        )
    return cls(
        message,
        status_code=status,
        raw=text or None,
        retry_after=_retry_after(headers, None),
        generation_id=headers.get("x-generation-id"),
        headers=headers,
        body=body,
    )


def malformed_body(
    text: str,
    status: int,
    headers: Mapping[str, str],
    *,
    base_url: str | None = None,
    expected: str = "JSON",
) -> errors.ResponseParseError:
    """A 2xx answer whose body is not the JSON (or SSE stream) OpenRouter sends. Never retried:
    see ``docs/errors.md`` ("Malformed 200 answers")."""
    snippet = " ".join(text.split())[:200]
    generation_id = headers.get("x-generation-id")
    if looks_like_html(text, headers):
        where = f" (base_url={base_url!r})" if base_url else ""
        message = (
            f"OpenRouter answered HTTP {status} with an HTML page instead of {expected}: "
            f"{snippet!r}. That is a web page, not the API: base_url{where} must be the API's "
            f"root, ending in /api/v1 (the default is {_API_ROOT}). Not retried: the same URL "
            "would answer the same page."
        )
    else:
        message = (
            f"OpenRouter answered HTTP {status} with a body that is not valid {expected}: "
            f"{snippet!r}. Not retried: an HTTP {status} answer is a generation OpenRouter has "
            "finished and bills, so sending the request again would pay for it twice."
        )
        if generation_id:
            message += (
                f" Its id is {generation_id}: llm.get_generation({generation_id!r}) shows what "
                "it cost."
            )
    return errors.ResponseParseError(
        message, status_code=status, raw=text, headers=headers, generation_id=generation_id
    )


_API_ROOT = "https://openrouter.ai/api/v1"


def finish_reason_error(
    choice: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None,
    body: Any,
    generation_id: str | None,
    served_by: str | None,
    delivered: int | None = None,
) -> errors.ServerError:
    """A choice that ended with ``finish_reason: "error"`` and sent no error object: the provider
    failed mid-answer without saying how (JSON bodies and streams alike)."""
    native = choice.get("native_finish_reason")
    where = "the stream" if delivered is not None else "the answer"
    parts = [
        f'The provider ended {where} with finish_reason "error" and no error object'
        + (f" (native_finish_reason: {native!r})." if native else ".")
    ]
    if served_by:
        parts.append(f"Provider: {served_by}.")
        parts.append(
            "To route around this provider, pass "
            f"provider=ProviderPreferences(exclude=[{served_by!r}])."
        )
    parts.append(_ADVICE[errors.ServerError])
    return errors.ServerError(
        " ".join(parts),
        provider_name=served_by,
        generation_id=generation_id or (headers or {}).get("x-generation-id"),
        headers=headers,
        body=body,
    )


def truncated_stream(
    delivered: int,
    *,
    headers: Mapping[str, str] | None,
    generation_id: str | None,
    served_by: str | None,
) -> errors.StreamTruncatedError:
    """A stream whose body ended without ``data: [DONE]`` and without a ``finish_reason``."""
    plural = "s" if delivered != 1 else ""
    got = f"after {delivered} chunk{plural}" if delivered else "before any chunk"
    provider = f" Provider: {served_by}." if served_by else ""
    return errors.StreamTruncatedError(
        f"The stream ended {got} without a finish_reason or data: [DONE]: the answer was cut "
        f"short (the connection or the provider stopped mid-answer), not complete.{provider}",
        provider_name=served_by,
        generation_id=generation_id or (headers or {}).get("x-generation-id"),
        headers=headers,
    )


def looks_like_html(text: str, headers: Mapping[str, str]) -> bool:
    """An HTML page (a web app, a proxy's or a captive portal's page), not an API answer."""
    if "html" in headers.get("content-type", "").lower():
        return True
    return text.lstrip()[:1] == "<"


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
        return from_http(exc.status_code, headers, text, url=str(exc.request.url))
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


class SDKException(Exception):
    """What the SDK (or its HTTP library) raised, as text only.

    It stands in as the ``__cause__`` of the translated error: the SDK's exception itself is not
    chained, because its request carries the ``Authorization`` header (and its response the body
    as received), and whatever serialises an error with its chain (Sentry, LangSmith, a process
    pool) would expose them.
    """


def translated(exc: BaseException) -> errors.OpenRouterError | None:
    """The ``OpenRouterError`` to raise for ``exc`` (None: not one to translate), its chain
    made safe (``detach``)."""
    mapped = from_exception(exc)
    if mapped is None:
        return None
    if mapped is not exc:
        mapped.__cause__ = exc
    detach(mapped)
    return mapped


def detach(err: errors.OpenRouterError) -> None:
    """Chain to ``err`` nothing that may carry the key or a raw body: a foreign cause becomes an
    ``SDKException`` of its text (redacted), and the implicit context is dropped."""
    cause = err.__cause__
    if cause is None and not err.__suppress_context__:
        cause = err.__context__
    if cause is not None and not isinstance(cause, (errors.OpenRouterError, SDKException)):
        name = f"{type(cause).__module__}.{type(cause).__name__}"
        cause = SDKException(redact_text(f"{name}: {cause}"))
    err.__cause__, err.__context__, err.__suppress_context__ = cause, None, True


@contextmanager
def translating() -> Iterator[None]:
    """Re-raise SDK/transport exceptions raised inside the block as ``OpenRouterError`` s."""
    try:
        try:
            yield
        except errors.OpenRouterError:
            raise
        except Exception as exc:
            mapped = translated(exc)
            if mapped is None:
                raise
            raise mapped  # noqa: B904 - chained by hand (detach), the context is dropped below
    except errors.OpenRouterError as err:
        detach(err)  # raising inside the handler set the context again: drop it, then re-raise
        raise


@asynccontextmanager
async def atranslating() -> AsyncIterator[None]:
    """``translating`` for ``async with``. Not for the body of an async generator that yields
    inside it (its generator could be finalised out of order at loop shutdown): there, catch and
    raise ``translated(exc)`` after the ``except`` block."""
    with translating():  # what is thrown in at the ``yield`` meets the same handlers
        yield


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
    *,
    where: str | None = None,
) -> str:
    if where is None:
        where = f"HTTP {status}" if status is not None else "an error"
    elif status is not None:
        where = f"{where} (code {status})"
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
