"""The one code -> class table: HTTP statuses, codes of errors inside 200 bodies and codes of
mid-stream error chunks all reach their class here.

The classes come from ``errors.STATUS_CLASSES``; named codes (``metadata.error_type``,
``availability.code``, a string ``code``) stand for the HTTP status OpenRouter documents for
them; the message and metadata only ever choose a subclass of the table's class. Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .. import errors

__all__ = ["NAMED_CODE_STATUSES", "error_class_for", "named_codes", "status_of"]

# Named codes OpenRouter sends beside or instead of a numeric one (``metadata.error_type``,
# ``availability.code``, a string ``error.code``) -> the HTTP status each stands for, as its
# errors page documents them. They reach a class through the same table as an HTTP status.
NAMED_CODE_STATUSES: dict[str, int] = {
    # metadata.error_type
    "context_length_exceeded": 400,
    "max_tokens_exceeded": 400,
    "token_limit_exceeded": 400,
    "string_too_long": 400,
    "invalid_request": 400,
    "invalid_prompt": 400,
    "content_policy_violation": 400,
    "refusal": 400,
    "authentication": 401,
    "payment_required": 402,
    "permission_denied": 403,
    "not_found": 404,
    "image_not_found": 404,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "unprocessable": 422,
    "rate_limit_exceeded": 429,
    "server": 500,
    "unmapped": 500,
    "provider_unavailable": 502,
    "provider_overloaded": 503,
    "timeout": 504,
    # availability.code
    "model_not_found": 400,
    "wrong_endpoint": 400,
    "region_restricted": 403,
    "no_endpoints": 404,
    "constraint_filtered": 404,
    "privacy_restricted": 404,
    "model_deprecated": 404,
    "free_variant_ended": 404,
    "model_unavailable_upstream": 404,
    "capacity_exhausted": 429,
    "temporarily_unavailable": 503,
    # a string error.code (OpenRouter's streaming docs)
    "server_error": 500,
}
# named codes that say "no endpoint may serve this", as the "No endpoints found" messages do
_NO_ENDPOINT_CODES = frozenset({"no_endpoints", "constraint_filtered", "privacy_restricted"})


def error_class_for(
    status: int | None,
    message: str = "",
    metadata: Mapping[str, Any] | None = None,
    error_type: str | None = None,
) -> type[errors.OpenRouterError]:
    """The class for a status (an HTTP status, or the code of an error inside a 200).

    The class comes from ``errors.STATUS_CLASSES`` (by range for statuses it lacks); the message,
    ``metadata`` and a named ``error_type`` only ever choose a SUBCLASS of it, so that
    ``except BadGatewayError`` catches every 502, however it arrived. Without a status, a named
    code stands for its documented status (``NAMED_CODE_STATUSES``).
    """
    metadata = metadata or {}
    if status is None and error_type is not None:
        status = NAMED_CODE_STATUSES.get(error_type)
    cls = _table_class(status)
    for candidate in _refinements(status, message.lower(), metadata, error_type):
        if issubclass(candidate, cls):
            return candidate
    return cls


def _table_class(status: int | None) -> type[errors.OpenRouterError]:
    if status in errors.STATUS_CLASSES:
        return errors.STATUS_CLASSES[status]
    if status is not None and status >= 500:
        return errors.ServerError
    if status is not None and status >= 400:
        return errors.BadRequestError
    return errors.OpenRouterError


def _refinements(
    status: int | None, lowered: str, metadata: Mapping[str, Any], error_type: str | None
) -> Iterator[type[errors.OpenRouterError]]:
    """More specific classes the answer points at, best first (kept only when they agree with
    the table's class)."""
    # "No allowed providers are available for the selected model. Providers serving ..." is
    # the provider.only / ignore form of "No endpoints found"
    no_endpoints = lowered.startswith(("no endpoints found", "no allowed providers"))
    if no_endpoints or error_type in _NO_ENDPOINT_CODES:
        if "can handle the requested parameters" in lowered:
            yield errors.NoEndpointsForParametersError
        yield errors.NoEndpointsError
    if status == 403 and metadata.get("reasons"):
        yield errors.ModerationError
    if status is not None and metadata.get("provider_name"):
        yield errors.ProviderError


def status_of(error: Mapping[str, Any]) -> int | None:
    """The HTTP status an error object stands for: its numeric ``code`` (an int, or digits),
    else ``http_status``, else the status of its named code (``NAMED_CODE_STATUSES``)."""
    for value in (error.get("code"), error.get("http_status")):
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 599:
            return value
    for name in named_codes(error):
        if name in NAMED_CODE_STATUSES:
            return NAMED_CODE_STATUSES[name]
    return None


def named_codes(error: Mapping[str, Any]) -> list[str]:
    """The named codes of an error object, most specific first: ``metadata.error_type``,
    ``availability.code``, a string ``code``."""
    metadata = error.get("metadata") if isinstance(error.get("metadata"), Mapping) else {}
    availability = (
        error.get("availability") if isinstance(error.get("availability"), Mapping) else {}
    )
    assert isinstance(metadata, Mapping) and isinstance(availability, Mapping)
    found = (metadata.get("error_type"), availability.get("code"), error.get("code"))
    return [str(name) for name in found if isinstance(name, str) and name]
