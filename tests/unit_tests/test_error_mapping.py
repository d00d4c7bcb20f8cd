"""The one translation boundary: statuses, errors inside 200s, transport failures (SPEC §6)."""

from __future__ import annotations

import json
import pickle

import pytest

from langchain_openrouter_fenic import errors
from langchain_openrouter_fenic.wire.error_mapping import from_error_payload, from_http
from tests.support.statuses import DOCUMENTED_STATUSES


def _body(status: int, message: str, **metadata: object) -> str:
    error: dict[str, object] = {"code": status, "message": message}
    if metadata:
        error["metadata"] = metadata
    return json.dumps({"error": error, "user_id": "user_x"})


@pytest.mark.parametrize("status", sorted(DOCUMENTED_STATUSES))
def test_every_documented_status_maps_to_its_class(status: int) -> None:
    err = from_http(status, {}, _body(status, f"status {status} happened"))
    assert type(err) is DOCUMENTED_STATUSES[status]
    assert err.status_code == status
    assert f"status {status} happened" in str(err)


def test_every_documented_status_is_in_the_table() -> None:
    unmapped = set(DOCUMENTED_STATUSES) - set(errors.STATUS_CLASSES)
    assert not unmapped, f"statuses without a class: {unmapped}"


def test_provider_error_names_the_provider_and_the_way_out() -> None:
    raw = '{"error": {"message": "messages.0: all messages must have non-empty content"}}'
    err = from_http(
        400, {}, _body(400, "Provider returned error", provider_name="Anthropic", raw=raw)
    )
    assert isinstance(err, errors.ProviderError)
    assert err.provider_name == "Anthropic"
    assert err.raw == raw
    text = str(err)
    assert "Provider returned error" in text and "Anthropic" in text
    assert "non-empty content" in text
    assert "ProviderPreferences(exclude=['Anthropic'])" in text


def test_no_endpoints_is_its_own_class_with_fenic_advice() -> None:
    msg = "No endpoints found that can handle the requested parameters."
    err = from_http(404, {}, _body(404, msg))
    assert isinstance(err, errors.NoEndpointsError)
    assert "prefer_tools" in str(err) and msg in str(err)


def test_no_allowed_providers_is_a_no_endpoints_error() -> None:
    msg = (
        "No allowed providers are available for the selected model. Providers serving "
        "openai/gpt-4o-mini: openai, but your request's provider.only preference permits only: "
        "azure."
    )
    err = from_http(404, {}, _body(404, msg))
    assert type(err) is errors.NoEndpointsError
    assert msg in str(err) and "relax provider only/exclude" in str(err)


def test_moderation_reasons_are_kept() -> None:
    err = from_http(
        403,
        {},
        _body(
            403,
            "Input flagged",
            reasons=["violence"],
            flagged_input="x",
            provider_name="OpenAI",
            model_slug="openai/gpt-4o",
        ),
    )
    assert isinstance(err, errors.ModerationError)
    assert err.reasons == ["violence"] and "violence" in str(err)


def test_rate_limit_keeps_headers_and_retry_after() -> None:
    headers = {"retry-after": "17", "x-ratelimit-reset": "1788825600000"}
    err = from_http(429, headers, _body(429, "Rate limit exceeded: free-models-per-min"))
    assert isinstance(err, errors.RateLimitError)
    assert err.retry_after == 17.0
    assert err.headers["x-ratelimit-reset"] == "1788825600000"


def test_provider_retry_after_seconds_from_metadata() -> None:
    err = from_http(
        429,
        {},
        _body(
            429,
            "Provider returned error",
            provider_name="Venice",
            retry_after_seconds=17,
            headers={"Retry-After": "17"},
        ),
    )
    assert isinstance(err, errors.RateLimitError)
    assert err.retry_after == 17 and err.provider_name == "Venice"


def test_non_json_error_body_still_maps() -> None:
    err = from_http(502, {}, "<html>bad gateway</html>")
    assert isinstance(err, errors.BadGatewayError)
    assert "bad gateway" in str(err)


def test_mid_stream_error_with_string_code() -> None:
    err = from_error_payload(
        {"code": "server_error", "message": "Provider disconnected"},
        served_by="Minimax",
        generation_id="gen-1",
    )
    assert isinstance(err, errors.OpenRouterError)
    assert err.code == "server_error" and err.provider_name == "Minimax"
    assert err.generation_id == "gen-1"
    assert "Provider disconnected" in str(err)


def test_the_code_decides_and_a_named_code_only_refines_within_it() -> None:
    """One table: a 502 is a BadGatewayError whatever its error_type says (provider_overloaded
    is documented as a 503); a named code alone stands for its documented status."""
    err = from_error_payload(
        {"code": 502, "message": "overloaded", "metadata": {"error_type": "provider_overloaded"}}
    )
    assert type(err) is errors.BadGatewayError and err.status_code == 502
    alone = from_error_payload(
        {"message": "overloaded", "metadata": {"error_type": "provider_overloaded"}}
    )
    assert type(alone) is errors.ServiceUnavailableError and alone.status_code == 503
    pinned = from_error_payload(
        {"code": 404, "message": "gone", "availability": {"code": "no_endpoints"}}
    )
    assert type(pinned) is errors.NoEndpointsError and pinned.status_code == 404


def test_errors_survive_pickling() -> None:
    err = from_http(
        400,
        {"x-generation-id": "gen-9"},
        _body(400, "Provider returned error", provider_name="Google", raw="boom"),
    )
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is type(err)
    assert (copy.status_code, copy.provider_name, copy.raw, copy.generation_id) == (
        400,
        "Google",
        "boom",
        "gen-9",
    )


def test_retry_after_as_an_http_date() -> None:
    import time as _time
    from email.utils import formatdate

    headers = {"retry-after": formatdate(_time.time() + 30, usegmt=True)}
    err = from_http(503, headers, _body(503, "no provider available"))
    assert err.retry_after is not None and 25 <= err.retry_after <= 31
