"""The exceptions raised by langchain-openrouter-fenic.

Every error that comes from OpenRouter (an HTTP status, an error inside a 200 body, or an error
chunk in the middle of a stream) is translated in one place, ``wire.error_mapping``, into the most
specific class below, through one table (``STATUS_CLASSES``): an error's class always agrees with
its ``status_code``, whichever of the three ways it arrived. Every message quotes OpenRouter,
names the provider when one is known and says what to change.

    OpenRouterError
    ├── BadRequestError                  400
    │   └── ProviderError                400 "Provider returned error" (an upstream provider failed)
    ├── AuthenticationError              401
    ├── InsufficientCreditsError         402
    ├── PermissionDeniedError            403
    │   └── ModerationError              403 with moderation reasons
    ├── NotFoundError                    404
    │   ├── NoEndpointsError             404 "No endpoints found ..."
    │   │   └── NoAllowedProvidersError  the routing leaves no endpoint (checked before sending)
    │   └── ModelNotFoundError           unknown model id (catalog check, before any chat request)
    ├── RequestTimeoutError              408
    ├── PayloadTooLargeError             413
    ├── UnprocessableEntityError         422
    ├── RateLimitError                   429
    ├── ServerError                      500 and any other 5xx
    │   ├── BadGatewayError              502
    │   ├── ServiceUnavailableError      503
    │   ├── EdgeTimeoutError             524
    │   └── ProviderOverloadedError      529
    ├── APIConnectionError               no HTTP answer (connection refused, reset, DNS)
    │   ├── APITimeoutError              the ``timeout`` elapsed
    │   └── StreamTruncatedError         a stream that ended without saying it was complete
    ├── ResponseParseError               a body that is not the JSON/SSE OpenRouter promises
    ├── StructuredOutputUnsupportedError the model offers no structured-output strategy
    └── BudgetExceededError              an ``openrouter_usage(budget=...)`` budget is spent

``ModelNotFoundError``, ``NoAllowedProvidersError``, ``StructuredOutputUnsupportedError`` and
``ToolsUnsupportedError`` are also ``ValueError`` s: they are raised for a configuration the
caller can fix before any request is sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._secrets import redact_text, redact_value

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "EdgeTimeoutError",
    "InsufficientCreditsError",
    "ModelNotFoundError",
    "ModerationError",
    "NoAllowedProvidersError",
    "NoEndpointsError",
    "NoEndpointsForParametersError",
    "NotFoundError",
    "OpenRouterError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ProviderError",
    "ProviderOverloadedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ServerError",
    "ServiceUnavailableError",
    "StreamTruncatedError",
    "StructuredOutputUnsupportedError",
    "ToolsUnsupportedError",
    "UnprocessableEntityError",
]


class OpenRouterError(Exception):
    """Base class of every error this package raises about an OpenRouter exchange.

    Attributes:
        status_code: the HTTP status (or the ``error.code`` of an error inside a 200), else None.
        code: OpenRouter's ``error.code`` as sent (int or str), else None.
        provider_name: the upstream provider OpenRouter names, else None.
        raw: the upstream body text when OpenRouter passes one on (``metadata.raw``), else the
            response body text.
        retry_after: seconds to wait before retrying, when the answer says so.
        generation_id: the ``gen-...`` id when known.
        metadata: ``error.metadata`` as sent.
        headers: the response headers (lower-cased names), when there was a response.
        body: the decoded answer the error came in, when there was one.

    Nothing an error keeps carries the API key: upstream text that echoes it is redacted
    (``_secrets``), and the SDK's exceptions, whose requests carry the ``Authorization``
    header, are not chained to it (see ``wire.error_mapping``).
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int | None = None,
        code: int | str | None = None,
        provider_name: str | None = None,
        raw: str | None = None,
        retry_after: float | None = None,
        generation_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        # upstream text may echo the API key: it is redacted from everything the error keeps
        message = redact_text(message)
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = redact_value(code)
        self.provider_name = provider_name
        self.raw = redact_text(raw) if raw is not None else None
        self.retry_after = retry_after
        self.generation_id = generation_id
        self.metadata: dict[str, Any] = redact_value(dict(metadata or {}))
        self.headers: dict[str, str] = redact_value(dict(headers or {}))
        self.body = redact_value(body)

    def __reduce__(self) -> tuple[Any, ...]:
        # keep keyword attributes across pickling (multiprocessing, LangGraph checkpoints)
        return (_rebuild, (type(self), self.message, self._state()))

    def _state(self) -> dict[str, Any]:
        return {
            "status_code": self.status_code,
            "code": self.code,
            "provider_name": self.provider_name,
            "raw": self.raw,
            "retry_after": self.retry_after,
            "generation_id": self.generation_id,
            "metadata": self.metadata,
            "headers": self.headers,
            "body": self.body,
        }


def _rebuild(cls: type[OpenRouterError], message: str, state: dict[str, Any]) -> OpenRouterError:
    err = cls.__new__(cls)
    OpenRouterError.__init__(err, message, **state)
    return err


class BadRequestError(OpenRouterError):
    """400: OpenRouter or the provider rejected the request as malformed."""


class ProviderError(BadRequestError):
    """An upstream provider failed ("Provider returned error"); ``provider_name`` says which."""


class AuthenticationError(OpenRouterError):
    """401: the API key is missing, invalid, expired or disabled."""


class InsufficientCreditsError(OpenRouterError):
    """402: the account or key has too few credits for this request.

    ``requested_tokens`` / ``affordable_tokens``: the output tokens the request reserved
    (``max_tokens``, or the model's maximum output when it is not set) and how many the credit
    left can pay for, as OpenRouter's message says; None when it does not say.
    """

    @property
    def requested_tokens(self) -> int | None:
        found = parse_affordable_tokens(self.message)
        return found[0] if found else None

    @property
    def affordable_tokens(self) -> int | None:
        found = parse_affordable_tokens(self.message)
        return found[1] if found else None


_AFFORDABLE = re.compile(r"up to (\d+) tokens, but can only afford (\d+)")


def parse_affordable_tokens(message: str) -> tuple[int, int] | None:
    """(requested, affordable) from OpenRouter's 402 message, else None."""
    match = _AFFORDABLE.search(message)
    return (int(match.group(1)), int(match.group(2))) if match else None


class PermissionDeniedError(OpenRouterError):
    """403: the request is not allowed (guardrail, region, key restriction)."""


class ModerationError(PermissionDeniedError):
    """403: the input was flagged by moderation; ``reasons`` and ``flagged_input`` say why."""

    @property
    def reasons(self) -> list[str]:
        return [str(r) for r in self.metadata.get("reasons") or []]

    @property
    def flagged_input(self) -> str | None:
        value = self.metadata.get("flagged_input")
        return None if value is None else str(value)


class NotFoundError(OpenRouterError):
    """404: no such model, endpoint or resource."""


class NoEndpointsError(NotFoundError):
    """404 "No endpoints found ...": no provider allowed by the routing can serve the request."""


class NoEndpointsForParametersError(NoEndpointsError):
    """404 "No endpoints found that can handle the requested parameters": with
    ``provider.require_parameters``, no allowed endpoint lists every parameter sent."""


class NoAllowedProvidersError(NoEndpointsError, ValueError):
    """The ``provider`` routing leaves none of the model's endpoints (``/endpoints``): raised
    before any request, where OpenRouter would answer 404; the message lists the providers."""


class ModelNotFoundError(NotFoundError, ValueError):
    """The model id is not in OpenRouter's catalog; ``suggestions`` lists close ids."""

    def __init__(self, message: str, *, suggestions: list[str] | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.suggestions = list(suggestions or [])


class RequestTimeoutError(OpenRouterError):
    """408: OpenRouter timed out waiting for the request."""


class PayloadTooLargeError(OpenRouterError):
    """413: the request body is too large."""


class UnprocessableEntityError(OpenRouterError):
    """422: the request is well-formed JSON but has invalid parameters."""


class RateLimitError(OpenRouterError):
    """429: rate-limited by OpenRouter or by the upstream provider."""


class ServerError(OpenRouterError):
    """5xx: OpenRouter or the provider failed."""


class BadGatewayError(ServerError):
    """502: the provider is down or returned an invalid response."""


class ServiceUnavailableError(ServerError):
    """503: no available provider meets the routing requirements."""


class EdgeTimeoutError(ServerError):
    """524: the request timed out at OpenRouter's edge."""


class ProviderOverloadedError(ServerError):
    """529: the provider is overloaded."""


class APIConnectionError(OpenRouterError):
    """No HTTP answer: the connection failed or was dropped."""


class APITimeoutError(APIConnectionError):
    """The configured ``timeout`` elapsed before OpenRouter answered."""


class StreamTruncatedError(APIConnectionError):
    """A stream that ended without ``data: [DONE]`` and without a ``finish_reason``: the answer
    was cut short (a connection or a provider that stopped mid-answer). Retried like a dropped
    connection while no chunk has been delivered; after that, the chunks delivered stay
    delivered and the error is raised."""


class ResponseParseError(OpenRouterError):
    """OpenRouter answered with a body that is not valid JSON / SSE."""


class StructuredOutputUnsupportedError(OpenRouterError, ValueError):
    """The model lists neither ``structured_outputs`` nor ``tools`` + ``tool_choice``."""


class BudgetExceededError(OpenRouterError):
    """An ``openrouter_usage(budget=...)`` block has spent its budget: raised before a request
    would be sent, so nothing more is billed. ``budget`` and ``spent`` are USD; ``requests`` is
    how many requests the block counted."""

    def __init__(
        self, message: str, *, budget: float, spent: float, requests: int, **kw: Any
    ) -> None:
        super().__init__(message, **kw)
        self.budget, self.spent, self.requests = budget, spent, requests

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            _rebuild_budget,
            (self.message, self.budget, self.spent, self.requests, self._state()),
        )


def _rebuild_budget(
    message: str, budget: float, spent: float, requests: int, state: dict[str, Any]
) -> BudgetExceededError:
    return BudgetExceededError(message, budget=budget, spent=spent, requests=requests, **state)


class ToolsUnsupportedError(OpenRouterError, ValueError):
    """``bind_tools`` on a model whose catalog entry lists no ``tools`` (or no ``tool_choice``
    for a forced choice); raised before any request."""


#: THE code -> class table: HTTP statuses, ``error.code`` inside 200 bodies and mid-stream error
#: codes all go through it (``wire.error_table.error_class_for``); other statuses fall back by
#: range (5xx: ServerError, 4xx: BadRequestError). A more specific class is only ever a subclass
#: of the one this table gives.
STATUS_CLASSES: dict[int, type[OpenRouterError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    402: InsufficientCreditsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    408: RequestTimeoutError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    500: ServerError,
    502: BadGatewayError,
    503: ServiceUnavailableError,
    524: EdgeTimeoutError,
    529: ProviderOverloadedError,
}
