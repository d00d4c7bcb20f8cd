"""``testing.scrub``: what a cassette may never keep (the key, cookies, account ids) and what it
keeps on purpose (Content-Type, X-RateLimit-*), on vcrpy's own request and response shapes."""

from __future__ import annotations

import json

import pytest
from vcr.request import Request

from langchain_openrouter_fenic.testing import REDACTED, Scrubber

KEY = "sk-or-v1-" + "0123456789abcdef" * 4
OTHER_KEY = "sk-or-v1-" + "fedcba9876543210" * 4
# OpenRouter's real error shape (../shared/openrouter-recordings/README.md), account id faked
ERROR_BODY = (
    '{"error":{"message":"Provider returned error","code":429,"metadata":{"raw":"{\\"error\\":'
    '{\\"user_id\\": \\"user_2wT5ElBE4Es3R4Qr\\"}}","provider_name":"Chutes"}},'
    '"user_id":"user_2wT5ElBE4Es3R4Qr"}'
)


def _request(body: bytes | None = b'{"model":"openai/gpt-4o"}', uri: str = "") -> Request:
    return Request(
        "POST",
        uri or "https://openrouter.ai/api/v1/chat/completions",
        body,
        {
            "Authorization": f"Bearer {KEY}",
            "Cookie": "session=abc",
            "Content-Type": "application/json",
            "User-Agent": "OpenAI/Python 3.57.0",
            "X-Stainless-Os": "Linux",
            "HTTP-Referer": "https://example.com/app",
        },
    )


def _response(body: bytes | str, **headers: list[str]) -> dict:
    base = {
        "content-type": ["application/json"],
        "x-ratelimit-remaining": ["0"],
        "set-cookie": ["__cf_bm=xyz"],
        "date": ["Mon, 01 Dec 2026 10:00:00 GMT"],
        "cf-ray": ["8f00-AMS"],
    }
    return {
        "status": {"code": 429, "message": "Too Many Requests"},
        "headers": {**base, **headers},
        "body": {"string": body},
    }


def test_request_secrets_and_noise_go_content_type_and_attribution_stay() -> None:
    request = Scrubber(environ={}).request(_request())
    assert dict(request.headers) == {
        "Content-Type": "application/json",
        "HTTP-Referer": "https://example.com/app",
    }
    assert request.body == b'{"model":"openai/gpt-4o"}'  # untouched bytes


def test_noise_can_be_kept_secrets_never() -> None:
    request = Scrubber(keep_noise=True, environ={}).request(_request())
    assert "User-Agent" in request.headers and "X-Stainless-Os" in request.headers
    assert "Authorization" not in request.headers and "Cookie" not in request.headers


def test_the_bearer_key_is_learnt_and_replaced_everywhere_after() -> None:
    scrubber = Scrubber(environ={})
    body = json.dumps({"model": "x", "metadata": {"note": f"my key {KEY[:-1]}Z is"}}).encode()
    request = scrubber.request(_request(body=body, uri=f"https://h/api/v1/models?key={KEY}"))
    assert KEY not in request.uri and request.uri.endswith(f"?key={REDACTED}")
    text = f"echo: {KEY}"
    response = scrubber.response(_response(text, **{"x-echo": [KEY]}))
    assert response["body"]["string"] == f"echo: {REDACTED}"
    assert response["headers"]["x-echo"] == [REDACTED]


def test_response_headers_keep_rate_limits_drop_cookies_and_noise() -> None:
    response = Scrubber(environ={}).response(_response("{}"))
    assert response["headers"] == {
        "content-type": ["application/json"],
        "x-ratelimit-remaining": ["0"],
        "date": ["Mon, 01 Dec 2026 10:00:00 GMT"],  # it dates the rate limit
    }


def test_the_environment_key_and_given_secrets_are_scrubbed_though_never_sent() -> None:
    scrubber = Scrubber(secrets=["project-secret-42"], environ={"OPENROUTER_API_KEY": OTHER_KEY})
    cleaned = scrubber.text(f"a {OTHER_KEY} b project-secret-42 c")
    assert cleaned == f"a {REDACTED} b {REDACTED} c"


def test_anything_shaped_like_an_openrouter_key_is_scrubbed() -> None:
    assert Scrubber(environ={}).text(f"leaked {KEY}.") == f"leaked {REDACTED}."
    assert Scrubber(environ={}).text("Bearer abcdefghijklmnopqrstu") == f"Bearer {REDACTED}"


def test_short_secrets_are_not_searched_for() -> None:
    scrubber = Scrubber(secrets=["k"], environ={"OPENROUTER_API_KEY": "short"})
    assert scrubber.text("keep kind words") == "keep kind words"


def test_user_ids_are_redacted_in_plain_and_escaped_json() -> None:
    response = Scrubber(environ={}).response(_response(ERROR_BODY.encode()))
    body = response["body"]["string"]
    assert isinstance(body, bytes) and b"user_2wT5" not in body
    doc = json.loads(body)
    assert doc["user_id"] == REDACTED
    assert json.loads(doc["error"]["metadata"]["raw"])["error"]["user_id"] == REDACTED


def test_user_ids_are_redacted_in_sse_lines() -> None:
    sse = ': OPENROUTER PROCESSING\n\ndata: {"error":{"code":502},"user_id":"user_abc"}\n\n'
    body = Scrubber(environ={}).response(_response(sse))["body"]["string"]
    assert body == sse.replace("user_abc", REDACTED)


def test_scrubbing_is_idempotent() -> None:
    scrubber = Scrubber(environ={})
    once = scrubber.response(_response(ERROR_BODY))
    twice = scrubber.response(json.loads(json.dumps(once)))
    assert once == twice


@pytest.mark.parametrize("body", [b"\x1f\x8b\x08\x00binary", None])
def test_bodies_that_are_not_text_pass_unchanged(body: bytes | None) -> None:
    request = Scrubber(environ={}).request(_request(body=body))
    assert request.body == body


def test_date_is_kept_only_where_it_dates_a_rate_limit() -> None:
    scrubber = Scrubber(environ={})
    limited = scrubber.response(_response("{}"))  # a 429 with X-RateLimit-*
    assert limited["headers"]["date"] == ["Mon, 01 Dec 2026 10:00:00 GMT"]
    plain = _response("{}")
    plain["status"] = {"code": 200, "message": "OK"}
    del plain["headers"]["x-ratelimit-remaining"]
    assert "date" not in scrubber.response(plain)["headers"]
