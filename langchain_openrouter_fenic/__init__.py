"""LangChain chat model for OpenRouter, with fenic's OpenRouter semantics.

``ChatOpenRouter`` chooses structured-output strategies from the live model catalog, takes
provider routing as typed profiles, limits its own rate adaptively and explains every error.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Import the base class's module before anything else of langchain-core: measured here, the
# same set of modules loads ~20% faster in this order than when our chat_models pulls them in
# piecemeal (benchmarks/overhead.py tracks the import time).
import langchain_core.language_models.chat_models  # noqa: F401

from .chat_models import ChatOpenRouter
from .errors import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadGatewayError,
    BadRequestError,
    BudgetExceededError,
    EdgeTimeoutError,
    InsufficientCreditsError,
    ModelNotFoundError,
    ModerationError,
    NoAllowedProvidersError,
    NoEndpointsError,
    NoEndpointsForParametersError,
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
    StreamTruncatedError,
    StructuredOutputUnsupportedError,
    ToolsUnsupportedError,
    UnprocessableEntityError,
)
from .routing import MaxPrice, PerformanceCutoffs, Profile, ProviderPreferences, ProviderSortSpec
from .settings import Trace
from .usage import OpenRouterUsage, UsageTotals, openrouter_usage

if TYPE_CHECKING:
    from .account import Credits, GenerationStats
    from .catalog import EndpointInfo, ModelCatalog, ModelInfo
    from .progress import OpenRouterProgress
    from .rate_limits import AdaptiveRateLimiter

# loaded on first access: the catalog and the limiter (and tenacity behind it) are not needed
# to build a chain, and import time is one of our targets
_LAZY = {
    "Credits": ".account",
    "GenerationStats": ".account",
    "OpenRouterProgress": ".progress",
    "EndpointInfo": ".catalog",
    "ModelCatalog": ".catalog",
    "ModelInfo": ".catalog",
    "AdaptiveRateLimiter": ".rate_limits",
}

__version__ = "0.1.0"

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AdaptiveRateLimiter",
    "AuthenticationError",
    "BadGatewayError",
    "BadRequestError",
    "BudgetExceededError",
    "ChatOpenRouter",
    "Credits",
    "EdgeTimeoutError",
    "EndpointInfo",
    "GenerationStats",
    "InsufficientCreditsError",
    "MaxPrice",
    "ModelCatalog",
    "ModelInfo",
    "ModelNotFoundError",
    "ModerationError",
    "NoAllowedProvidersError",
    "NoEndpointsError",
    "NoEndpointsForParametersError",
    "NotFoundError",
    "OpenRouterError",
    "OpenRouterProgress",
    "OpenRouterUsage",
    "PayloadTooLargeError",
    "PerformanceCutoffs",
    "PermissionDeniedError",
    "Profile",
    "ProviderError",
    "ProviderOverloadedError",
    "ProviderPreferences",
    "ProviderSortSpec",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseParseError",
    "ServerError",
    "ServiceUnavailableError",
    "StreamTruncatedError",
    "StructuredOutputUnsupportedError",
    "ToolsUnsupportedError",
    "Trace",
    "UnprocessableEntityError",
    "UsageTotals",
    "__version__",
    "openrouter_usage",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
