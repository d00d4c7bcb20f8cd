"""Provider names and routing filters are checked against the model's ``/endpoints`` before any
chat request: a name that matches no provider gets a WARNING naming the close match, and a
routing that leaves no endpoint raises ``NoAllowedProvidersError`` listing the providers — on
every path a ``provider`` setting can come by, for plain calls and structured output.

``openai/gpt-4o-mini`` is served by OpenAI (``openai``), Azure (``azure``) and Novita
(``novita/...``) in the emulator, at 0.15 / 0.60 USD per million tokens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.rate_limiters import BaseRateLimiter
from pydantic import BaseModel

from langchain_openrouter_fenic import (
    ChatOpenRouter,
    NoAllowedProvidersError,
    NoEndpointsError,
    Profile,
    ProviderPreferences,
)
from tests.support.emulator import OpenRouterEmulator, Reply

KEY = "sk-or-v1-provider-names-test"
MINI = "openai/gpt-4o-mini"
SONNET = "anthropic/claude-sonnet-4"


class _Unlimited(BaseRateLimiter):
    def acquire(self, *, blocking: bool = True) -> bool:
        return True

    async def aacquire(self, *, blocking: bool = True) -> bool:
        return True


@pytest.fixture(scope="module")
def emu() -> Iterator[OpenRouterEmulator]:
    server = OpenRouterEmulator().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh(emu: OpenRouterEmulator) -> None:
    emu.reset()


def make(emu: OpenRouterEmulator, model: str = MINI, **kw: Any) -> ChatOpenRouter:
    options: dict[str, Any] = {"rate_limiter": _Unlimited(), "max_retries": 0, **kw}
    return ChatOpenRouter(model=model, api_key=KEY, base_url=emu.url, **options)


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


class Answer(BaseModel):
    """The answer."""

    answer: str


# --------------------------------------------------------------------------------------------
# a routing that leaves no endpoint: refused on every path, nothing sent


def _constructor(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu, provider=provider).invoke("hi")


def _model_kwargs(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu, model_kwargs={"provider": provider}).invoke("hi")


def _profile(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu, profiles={"p": Profile(provider=provider)}, default_profile="p").invoke("hi")


def _bind(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu).bind(provider=provider).invoke("hi")


def _per_call(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu).invoke("hi", provider=provider)


def _stream(emu: OpenRouterEmulator, provider: Any) -> None:
    list(make(emu).stream("hi", provider=provider))


def _ainvoke(emu: OpenRouterEmulator, provider: Any) -> None:
    asyncio.run(make(emu).ainvoke("hi", provider=provider))


def _structured(emu: OpenRouterEmulator, provider: Any) -> None:
    make(emu, provider=provider).with_structured_output(Answer)  # at build time


def _structured_call(emu: OpenRouterEmulator, provider: Any) -> None:
    # no restriction at build time; the call's routing is checked when it is made
    make(emu).with_structured_output(Answer).invoke("hi", provider=provider)


PATHS: dict[str, Callable[[OpenRouterEmulator, Any], None]] = {
    "constructor": _constructor,
    "model_kwargs": _model_kwargs,
    "profile": _profile,
    "bind": _bind,
    "per_call": _per_call,
    "stream": _stream,
    "ainvoke": _ainvoke,
    "with_structured_output": _structured,
    "structured_per_call": _structured_call,
}

# (id, provider, words of the message)
NOWHERE: list[tuple[str, dict[str, Any], list[str]]] = [
    ("misspelt-only", {"only": ["OpenAl"]},
     ["only=['OpenAl']", "'OpenAl' (did you mean 'OpenAI'?) matches no provider"]),
    ("only-another-provider", {"only": ["anthropic"]}, ["only=['anthropic']"]),
    ("exclude-everyone", {"exclude": ["openai", "Azure", "novita"]}, ["exclude=["]),
    ("order-without-fallbacks", {"order": ["Azzure"], "allow_fallbacks": False},
     ["order=['Azzure'] without fallbacks", "'Azzure' (did you mean 'Azure'?)"]),
    ("unknown-name-no-close-match", {"only": ["google-vertex"]},
     ["'google-vertex' matches no provider"]),
    ("quantization", {"quantizations": ["int4"]}, ["quantizations=['int4']"]),
    ("prompt-price", {"max_price": {"prompt": 0.1}}, ["max_prompt_price=0.1", "$0.15/$0.6 per M"]),
    ("completion-price", {"max_completion_price": 0.5}, ["max_completion_price=0.5"]),
]  # fmt: skip


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize(
    ("provider", "words"), [c[1:] for c in NOWHERE], ids=[c[0] for c in NOWHERE]
)
def test_a_routing_that_leaves_no_endpoint_raises_before_any_request(
    emu: OpenRouterEmulator, path: str, provider: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(NoAllowedProvidersError) as caught:
        PATHS[path](emu, provider)
    message = str(caught.value)
    for word in [*words, "OpenAI (openai", "Azure (azure", "Novita (novita", "nothing was sent"]:
        assert word in message, (word, message)
    assert isinstance(caught.value, NoEndpointsError) and isinstance(caught.value, ValueError)
    assert emu.chat_requests() == []


# --------------------------------------------------------------------------------------------
# a name that matches no provider, while others do: a WARNING, the request as given


@pytest.mark.parametrize(
    ("provider", "words"),
    [
        ({"only": ["OpenAl", "azure"]}, ["provider.only entry 'OpenAl'", "'OpenAI'", "allows"]),
        ({"exclude": ["Azzure"]}, ["provider.exclude (sent as ignore) entry 'Azzure'", "'Azure'"]),
        ({"order": ["novitta", "openai"]}, ["provider.order entry 'novitta'", "'Novita'"]),
    ],
)
@pytest.mark.parametrize("path", ["constructor", "bind", "per_call", "ainvoke"])
def test_a_misspelt_provider_name_warns_with_the_close_match(
    emu: OpenRouterEmulator,
    caplog: pytest.LogCaptureFixture,
    path: str,
    provider: dict[str, Any],
    words: list[str],
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    PATHS[path](emu, provider)
    (warning,) = warnings_of(caplog)
    for word in [*words, "matches no provider", "OpenAI (openai), Azure (azure)"]:
        assert word in warning, (word, warning)
    assert len(emu.chat_requests()) == 1  # sent as given: nothing is rewritten


def test_the_warning_comes_once_per_model_not_per_call(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    llm = make(emu, provider=ProviderPreferences(exclude=["Azzure"]))
    for _ in range(3):
        llm.invoke("hi")
    assert len(warnings_of(caplog)) == 1
    assert emu.count("/endpoints") == 1  # the catalog keeps the endpoints
    llm.invoke("hi", provider={"exclude": ["Novitta"]})  # another routing: checked again
    assert len(warnings_of(caplog)) == 2


def test_names_that_match_are_not_warned_about(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    for prefs in ({"only": ["OpenAI", "azure"]}, {"exclude": ["Azure"]}, {"order": ["novita"]}):
        make(emu, provider=prefs).invoke("hi")
    assert warnings_of(caplog) == []
    assert len(emu.chat_requests()) == 3


def test_unrestricted_routing_makes_no_endpoints_request(emu: OpenRouterEmulator) -> None:
    make(emu, provider={"sort": "price", "data_collection": "deny"}).invoke("hi")
    assert emu.count("/endpoints") == 0


# --------------------------------------------------------------------------------------------
# fallback models


def test_a_name_meant_for_a_fallback_is_not_misspelt(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    make(emu, models=[SONNET], provider={"order": ["openai", "anthropic"]}).invoke("hi")
    assert warnings_of(caplog) == []


def test_no_endpoint_of_the_main_model_goes_to_the_fallback_with_a_warning(
    emu: OpenRouterEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="langchain_openrouter_fenic")
    message = make(emu, models=[SONNET], provider={"only": ["anthropic"]}).invoke("hi")
    (warning,) = warnings_of(caplog)
    assert f"leaves no endpoint of {MINI}" in warning and SONNET in warning
    assert message.response_metadata["model_name"].startswith("anthropic/")  # the fallback served


def test_no_endpoint_anywhere_in_the_chain_raises(emu: OpenRouterEmulator) -> None:
    with pytest.raises(NoAllowedProvidersError) as caught:
        make(emu, models=[SONNET], provider={"only": ["Novitta"]}).invoke("hi")
    message = str(caught.value)
    assert f"{MINI}: OpenAI (openai)" in message and f"{SONNET}: Anthropic (anthropic)" in message
    assert emu.chat_requests() == []


# --------------------------------------------------------------------------------------------
# when /endpoints cannot be read, the request is not judged; the service's own 404 still names it


def test_unreadable_endpoints_send_the_request_and_the_404_is_a_no_endpoints_error(
    emu: OpenRouterEmulator,
) -> None:
    emu.set_get_reply("/endpoints", Reply.error(500, "Internal Server Error"))
    try:
        with pytest.raises(NoEndpointsError) as caught:
            make(emu, provider={"only": ["OpenAl"]}).invoke("hi")
    finally:
        emu.set_get_reply("/endpoints", None)
    assert not isinstance(caught.value, NoAllowedProvidersError)
    assert "No allowed providers are available for the selected model" in str(caught.value)
    assert len(emu.chat_requests()) == 1
