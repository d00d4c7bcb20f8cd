"""parse_rate_limit_signal: every place OpenRouter puts a rate-limit hint, and garbage ignored."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import pytest

from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal, parse_rate_limit_signal

NOW = 1_788_825_540.0  # wall-clock epoch seconds of every test
RESET_IN_60_S_MS = str(int((NOW + 60) * 1000))  # 13 digits, as OpenRouter sends it


def _openrouter_429(meta_headers: dict[str, str] | None = None, **metadata: Any) -> dict[str, Any]:
    """The body of a 429 OpenRouter generated itself (shape from the API reference)."""
    meta: dict[str, Any] = dict(metadata)
    if meta_headers is not None:
        meta["headers"] = meta_headers
    return {"error": {"code": 429, "message": "Rate limit exceeded", "metadata": meta}}


def test_reset_in_epoch_milliseconds_from_headers_any_case() -> None:
    headers = {
        "X-RateLimit-Limit": "20",
        "x-ratelimit-remaining": "0",
        "X-RATELIMIT-RESET": RESET_IN_60_S_MS,
    }
    signal = parse_rate_limit_signal(headers, None, now=NOW)
    assert signal == RateLimitSignal(limit=20, remaining=0, reset_in=60.0, retry_after=None)
    assert signal.has_window_budget
    assert signal.wait_seconds() == 60.0


def test_ten_digit_reset_is_epoch_seconds() -> None:
    signal = parse_rate_limit_signal({"x-ratelimit-reset": str(int(NOW + 30))}, None, now=NOW)
    assert signal.reset_in == 30.0


def test_small_reset_value_is_a_delay_not_an_epoch() -> None:
    signal = parse_rate_limit_signal({"x-ratelimit-reset": "12"}, None, now=NOW)
    assert signal.reset_in == 12.0


def test_reset_in_the_past_means_no_wait_left() -> None:
    signal = parse_rate_limit_signal(
        {"x-ratelimit-reset": str(int((NOW - 5) * 1000))}, None, now=NOW
    )
    assert signal.reset_in == 0.0


def test_values_echoed_in_error_metadata_headers() -> None:
    # the real daily free-tier answer: limit 50, reset at the next UTC midnight (epoch ms)
    body = _openrouter_429(
        {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1788912000000",
        }
    )
    signal = parse_rate_limit_signal({}, body, now=NOW)
    assert signal.limit == 50
    assert signal.remaining == 0
    assert signal.reset_in == pytest.approx(1_788_912_000.0 - NOW)


def test_response_headers_win_over_the_echo_in_the_body() -> None:
    body = _openrouter_429({"X-RateLimit-Limit": "50"})
    signal = parse_rate_limit_signal({"x-ratelimit-limit": "20"}, body, now=NOW)
    assert signal.limit == 20


def test_retry_after_seconds_header() -> None:
    signal = parse_rate_limit_signal({"Retry-After": "17"}, None, now=NOW)
    assert signal.retry_after == 17.0
    assert signal.wait_seconds() == 17.0
    assert not signal.has_window_budget


def test_retry_after_http_date() -> None:
    when = datetime.fromtimestamp(NOW + 42, tz=timezone.utc)
    signal = parse_rate_limit_signal(
        {"retry-after": format_datetime(when, usegmt=True)}, None, now=NOW
    )
    assert signal.retry_after == pytest.approx(42.0)


def test_provider_429_with_retry_after_seconds_in_metadata() -> None:
    # as observed on the wire for an upstream provider (Venice)
    body = _openrouter_429(
        {"Retry-After": "17"},
        provider_name="Venice",
        is_byok=False,
        retry_after_seconds=17,
        raw="slow down",
    )
    signal = parse_rate_limit_signal(None, body, now=NOW)
    assert signal.retry_after == 17.0
    assert signal.limit is None and signal.reset_in is None


def test_availability_retry_after_and_the_longest_hint_wins() -> None:
    body = {
        "error": {
            "code": 429,
            "message": "capacity exhausted",
            "availability": {"code": "capacity_exhausted", "retry_after": 30},
            "metadata": {"retry_after_seconds": 5},
        }
    }
    signal = parse_rate_limit_signal({"retry-after": "10"}, body, now=NOW)
    assert signal.retry_after == 30.0


def test_body_may_be_json_text_or_the_bare_error_object() -> None:
    inner = _openrouter_429(retry_after_seconds=9)["error"]
    assert parse_rate_limit_signal(None, inner, now=NOW).retry_after == 9.0
    as_text = json.dumps(_openrouter_429(retry_after_seconds=8))
    assert parse_rate_limit_signal(None, as_text, now=NOW).retry_after == 8.0


def test_a_real_provider_429_without_hints_gives_an_empty_signal() -> None:
    # pydantic-ai's recorded 429 from google/gemini-2.0-flash-exp:free
    body = {
        "error": {
            "code": 429,
            "message": "Provider returned error",
            "metadata": {
                "provider_name": "Google",
                "raw": "google/gemini-2.0-flash-exp:free is temporarily "
                "rate-limited upstream. Please retry shortly.",
            },
        },
        "user_id": "user_x",
    }
    signal = parse_rate_limit_signal({"content-type": "application/json"}, body, now=NOW)
    assert signal == RateLimitSignal()
    assert signal.wait_seconds() is None


@pytest.mark.parametrize(
    "value",
    ["soon", "", "-5", "NaN", "inf", "1e400", "12abc", None, True, [], {"a": 1}],
    ids=repr,
)
def test_garbage_values_are_ignored(value: Any) -> None:
    headers = {
        "x-ratelimit-limit": value,
        "x-ratelimit-remaining": value,
        "x-ratelimit-reset": value,
        "retry-after": value,
    }
    body = {
        "error": {
            "metadata": {"retry_after_seconds": value, "headers": headers},
            "availability": {"retry_after": value},
        }
    }
    assert parse_rate_limit_signal(headers, body, now=NOW) == RateLimitSignal()


def test_fractional_or_zero_limit_is_not_a_budget() -> None:
    for value in ("2.5", "0"):
        assert parse_rate_limit_signal({"x-ratelimit-limit": value}, None, now=NOW).limit is None


def test_implausibly_distant_waits_are_ignored() -> None:
    year_ahead_ms = str(int((NOW + 365 * 86400) * 1000))
    signal = parse_rate_limit_signal(
        {"x-ratelimit-reset": year_ahead_ms, "retry-after": str(365 * 86400)}, None, now=NOW
    )
    assert signal == RateLimitSignal()


@pytest.mark.parametrize("body", [None, "not json", 42, ["error"], {"error": "flat string"}])
def test_odd_bodies_do_not_break_parsing(body: Any) -> None:
    assert parse_rate_limit_signal({"retry-after": "3"}, body, now=NOW).retry_after == 3.0


def test_wait_seconds_takes_the_later_instant() -> None:
    assert RateLimitSignal(reset_in=4.0, retry_after=9.0).wait_seconds() == 9.0
    assert RateLimitSignal(reset_in=12.0, retry_after=2.0).wait_seconds() == 12.0


def test_a_reset_with_budget_left_does_not_force_a_wait() -> None:
    assert RateLimitSignal(limit=20, remaining=3, reset_in=40.0).wait_seconds() is None
    assert RateLimitSignal(limit=20, remaining=0, reset_in=40.0).wait_seconds() == 40.0
