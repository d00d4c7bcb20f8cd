"""LangChain chat model for OpenRouter, with fenic's OpenRouter semantics.

``ChatOpenRouter`` chooses structured-output strategies from the live model catalog, takes
provider routing as typed profiles, limits its own rate adaptively and explains every error.
"""

from __future__ import annotations

from .catalog import EndpointInfo, ModelCatalog, ModelInfo
from .chat_models import ChatOpenRouter
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    EdgeTimeoutError,
    InsufficientCreditsError,
    ModelNotFoundError,
    ModerationError,
    NoEndpointsError,
    NotFoundError,
    OpenRouterError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ProviderError,
    ProviderOverloadedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseParseError,
    ServerError,
    ServiceUnavailableError,
    StructuredOutputUnsupportedError,
    UnprocessableEntityError,
)
from .rate_limiter import AdaptiveRateLimiter
from .routing import Profile, ProviderPreferences

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AdaptiveRateLimiter",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "ChatOpenRouter",
    "EdgeTimeoutError",
    "EndpointInfo",
    "InsufficientCreditsError",
    "ModelCatalog",
    "ModelInfo",
    "ModelNotFoundError",
    "ModerationError",
    "NoEndpointsError",
    "NotFoundError",
    "OpenRouterError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "Profile",
    "ProviderError",
    "ProviderOverloadedError",
    "ProviderPreferences",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ServerError",
    "ServiceUnavailableError",
    "StructuredOutputUnsupportedError",
    "UnprocessableEntityError",
    "__version__",
]
