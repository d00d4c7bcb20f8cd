"""The HTTP statuses OpenRouter documents for chat completions, and the class each must raise."""

from __future__ import annotations

from langchain_openrouter_fenic import errors

DOCUMENTED_STATUSES: dict[int, type[errors.OpenRouterError]] = {
    400: errors.BadRequestError,
    401: errors.AuthenticationError,
    402: errors.InsufficientCreditsError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    408: errors.RequestTimeoutError,
    413: errors.PayloadTooLargeError,
    422: errors.UnprocessableEntityError,
    429: errors.RateLimitError,
    500: errors.ServerError,
    502: errors.BadGatewayError,
    503: errors.ServiceUnavailableError,
    524: errors.EdgeTimeoutError,
    529: errors.ProviderOverloadedError,
}
