"""One code -> class table: an HTTP status, the code of an error inside a 200 body and the code of
a mid-stream error chunk reach the same class, with the same ``status_code``.

Every documented status goes through all three ways against the emulator; every named code
OpenRouter documents (``metadata.error_type``, ``availability.code``) goes through the two
in-200 ways of the shared parsing, where no HTTP status says anything.
"""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.rate_limiters import InMemoryRateLimiter

from langchain_openrouter_fenic import ChatOpenRouter, errors
from langchain_openrouter_fenic.wire.error_table import NAMED_CODE_STATUSES
from langchain_openrouter_fenic.wire.response import StreamAssembler, result_from_completion
from tests.support.emulator import OpenRouterEmulator, Reply
from tests.support.emulator_replies import DOCUMENTED_ERROR_STATUSES
from tests.support.statuses import DOCUMENTED_STATUSES

WAYS = ("HTTP status", "error inside a 200 body", "mid-stream error chunk")


def _expected(status: int) -> type[errors.OpenRouterError]:
    if status in errors.STATUS_CLASSES:
        return errors.STATUS_CLASSES[status]
    return errors.ServerError if status >= 500 else errors.BadRequestError


def _raised(llm: ChatOpenRouter, emulator: OpenRouterEmulator, way: str, status: int) -> Any:
    message = f"status {status} happened"
    delivered: list[Any] = []
    with pytest.raises(errors.OpenRouterError) as raised:
        if way == "HTTP status":
            emulator.enqueue(Reply.error(status, message))
            llm.invoke("hi")
        elif way == "error inside a 200 body":
            emulator.enqueue(Reply.error_in_200(message, code=status))
            llm.invoke("hi")
        else:
            emulator.enqueue(Reply.mid_stream_error(after_chunks=1, message=message, code=status))
            delivered.extend(llm.stream("say something long enough"))
    if way == "mid-stream error chunk":
        assert len(delivered) == 1  # delivered before the error, and kept
    assert message in str(raised.value)
    return raised.value


def _model(emulator: OpenRouterEmulator) -> ChatOpenRouter:
    return ChatOpenRouter(
        model="openai/gpt-4o-mini",
        api_key="sk-or-v1-error-table",
        base_url=emulator.url,
        max_retries=0,
        rate_limiter=InMemoryRateLimiter(requests_per_second=1e5),  # 429s must not pace the walk
    )


@pytest.mark.parametrize("way", WAYS)
def test_every_documented_code_reaches_one_class_every_way(
    emulator: OpenRouterEmulator, way: str
) -> None:
    llm = _model(emulator)
    got, want = [], []
    for status in DOCUMENTED_ERROR_STATUSES:
        err = _raised(llm, emulator, way, status)
        got.append((status, type(err).__name__, err.status_code))
        want.append((status, DOCUMENTED_STATUSES[status].__name__, status))
        assert DOCUMENTED_STATUSES[status] is _expected(status)
    assert got == want


def test_a_502_error_chunk_is_caught_as_a_bad_gateway(emulator: OpenRouterEmulator) -> None:
    """The mid-stream chunk also says ``error_type: provider_unavailable``: the code decides."""
    err = _raised(_model(emulator), emulator, "mid-stream error chunk", 502)
    assert isinstance(err, errors.BadGatewayError) and err.status_code == 502
    assert "Raised after 1 chunk had been delivered: not retried" in str(err)


def _in_body(error: dict[str, Any]) -> errors.OpenRouterError:
    with pytest.raises(errors.OpenRouterError) as raised:
        result_from_completion({"id": "gen-1", "error": error})
    return raised.value


def _in_stream(error: dict[str, Any]) -> errors.OpenRouterError:
    assembler = StreamAssembler()
    text = {"id": "gen-1", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    assert assembler.feed(text) is not None
    with pytest.raises(errors.OpenRouterError) as raised:
        assembler.feed({"id": "gen-1", "error": error, "choices": []})
    return raised.value


@pytest.mark.parametrize("name", sorted(NAMED_CODE_STATUSES))
def test_every_named_code_stands_for_its_documented_status(name: str) -> None:
    status = NAMED_CODE_STATUSES[name]
    for error in (
        {"message": f"{name} happened", "metadata": {"error_type": name}},
        {"message": f"{name} happened", "availability": {"code": name, "retryable": False}},
    ):
        for err in (_in_body(error), _in_stream(error)):
            assert isinstance(err, _expected(status)), (name, type(err))
            assert err.status_code == status


def test_a_numeric_code_wins_over_a_named_one_and_refinements_stay_in_its_family() -> None:
    error = {"code": 503, "message": "x", "metadata": {"error_type": "rate_limit_exceeded"}}
    for err in (_in_body(error), _in_stream(error)):
        assert type(err) is errors.ServiceUnavailableError and err.status_code == 503
    endpoints = {
        "code": 404,
        "message": "No endpoints found that can handle the requested parameters.",
    }
    for err in (_in_body(endpoints), _in_stream(endpoints)):
        assert type(err) is errors.NoEndpointsForParametersError and err.status_code == 404
    documented = {"http_status": 402, "message": "pay", "metadata": {"error_type": "server"}}
    for err in (_in_body(documented), _in_stream(documented)):  # the docs' form: no `code`
        assert type(err) is errors.InsufficientCreditsError and err.status_code == 402
