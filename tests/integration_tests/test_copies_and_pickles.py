"""Copies, pickles and LangChain serialization carry configuration; process-wide state is
looked up again, never copied; a pickle never carries the API key (docs/deployment.md).
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import pickle
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from langchain_core.load import dumps, loads
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_core.runnables import Runnable
from pydantic import BaseModel

from langchain_openrouter_fenic import ChatOpenRouter, ProviderPreferences, errors
from langchain_openrouter_fenic.routing import Profile
from tests.support.emulator import OpenRouterEmulator, running_emulator
from tests.support.emulator_process import echoed

MODEL = "openai/gpt-4o-mini"
KEY = "sk-or-v1-" + "c0ffee42" * 8


class City(BaseModel):
    name: str


def make(url: str, **kw: Any) -> ChatOpenRouter:
    return ChatOpenRouter(model=MODEL, api_key=KEY, base_url=url, max_retries=0, **kw)


def pickled(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


COPIES: dict[str, Callable[[Any], Any]] = {"deepcopy": copy.deepcopy, "pickle": pickled}
RUNNABLES: dict[str, Callable[[ChatOpenRouter], Runnable[Any, Any]]] = {
    "model": lambda llm: llm,
    "bind_tools": lambda llm: llm.bind_tools([City], tool_choice="City"),
    "with_structured_output": lambda llm: llm.with_structured_output(City),
    "with_profile": lambda llm: llm.with_profile("cheap"),
    "bind": lambda llm: llm.bind(temperature=0.2),
}


@pytest.mark.parametrize("how", sorted(COPIES))
@pytest.mark.parametrize("what", sorted(RUNNABLES))
def test_copies_of_a_used_model_and_its_runnables_answer_as_the_original(
    emulator: OpenRouterEmulator, what: str, how: str
) -> None:
    llm = make(
        emulator.url, profiles={"cheap": Profile(provider=ProviderPreferences(sort="price"))}
    )
    runnable = RUNNABLES[what](llm)
    original = runnable.invoke("Name a city: Paris")  # clients, limiter and catalog are live
    clone = COPIES[how](runnable)
    assert clone.invoke("Name a city: Paris") == original
    sent = [r.json for r in emulator.chat_requests()]
    assert sent[-1] == sent[-2]  # the copy sends what the original sent


@pytest.mark.parametrize("how", sorted(COPIES))
def test_a_copy_shares_the_process_state_it_would_look_up(
    emulator: OpenRouterEmulator, how: str
) -> None:
    llm = make(emulator.url)
    llm.invoke("hi")
    clone = COPIES[how](llm)
    # the key's one shared limiter, the shared SDK clients and catalog: the same objects
    assert clone.rate_limiter is llm.rate_limiter
    assert clone._transport is llm._transport
    assert clone.catalog is llm.catalog
    assert copy.copy(llm).rate_limiter is llm.rate_limiter


def test_a_callers_limiter_is_shared_by_deep_copies_and_rebuilt_by_pickles(
    emulator: OpenRouterEmulator,
) -> None:
    limiter = InMemoryRateLimiter(requests_per_second=50, max_bucket_size=3)
    llm = make(emulator.url, rate_limiter=limiter)
    llm.invoke("hi")
    assert copy.deepcopy(llm).rate_limiter is limiter  # one budget, not two
    revived = pickled(llm)  # its lock cannot travel: its settings do
    assert isinstance(revived.rate_limiter, InMemoryRateLimiter)
    assert revived.rate_limiter is not limiter
    assert (revived.rate_limiter.requests_per_second, revived.rate_limiter.max_bucket_size) == (
        50,
        3,
    )
    assert revived.invoke("hi").content == llm.invoke("hi").content


def test_a_pickle_carries_no_key_and_finds_it_again_in_this_process(
    emulator: OpenRouterEmulator,
) -> None:
    llm = make(emulator.url)
    data = pickle.dumps(llm)
    assert KEY.encode() not in data and KEY[9:25].encode() not in data
    revived = pickle.loads(data)
    assert revived.api_key is not None and revived.api_key.get_secret_value() == KEY
    assert revived.invoke("hi").content == echoed("hi")
    assert emulator.chat_requests()[-1].headers["authorization"] == f"Bearer {KEY}"


# -- a "spawn" process pool: a new interpreter, nothing inherited but the environment ----------


def _answer(llm: ChatOpenRouter, prompt: str) -> str:
    return str(llm.invoke(prompt).content)


def _answer_without_env_key(data: bytes, prompt: str) -> str:
    os.environ.pop("OPENROUTER_API_KEY", None)
    llm = pickle.loads(data)  # succeeds: the missing key is reported on first use
    return str(llm.invoke(prompt).content)


@pytest.fixture
def spawned() -> Iterator[tuple[ProcessPoolExecutor, OpenRouterEmulator]]:
    """A fresh "spawn" worker (it holds no key yet) and an emulator it can reach."""
    saved = os.environ.get("OPENROUTER_API_KEY")
    os.environ["OPENROUTER_API_KEY"] = KEY  # what the workers inherit
    try:
        context = multiprocessing.get_context("spawn")
        with running_emulator() as emulator, ProcessPoolExecutor(1, mp_context=context) as pool:
            pool.submit(os.getpid).result(timeout=120)  # started while the key is set
            yield pool, emulator
    finally:
        if saved is None:
            os.environ.pop("OPENROUTER_API_KEY", None)
        else:
            os.environ["OPENROUTER_API_KEY"] = saved


def test_an_unpickled_model_answers_in_a_spawn_process_pool(
    spawned: tuple[ProcessPoolExecutor, OpenRouterEmulator],
) -> None:
    pool, emulator = spawned
    llm = make(emulator.url)
    prompts = [f"spawned {uuid.uuid4().hex}" for _ in range(3)]
    answers = [pool.submit(_answer, llm, p).result(timeout=120) for p in prompts]
    assert answers == [echoed(p) for p in prompts]
    structured = llm.with_structured_output(City)
    here = structured.invoke("Name a city: Paris")
    assert pool.submit(_answer_structured, structured).result(timeout=120) == here


def _answer_structured(runnable: Runnable[Any, Any]) -> Any:
    return runnable.invoke("Name a city: Paris")


def test_without_the_key_an_unpickled_model_says_so_before_sending(
    spawned: tuple[ProcessPoolExecutor, OpenRouterEmulator],
) -> None:
    pool, emulator = spawned
    sent = len(emulator.chat_requests())
    future = pool.submit(_answer_without_env_key, pickle.dumps(make(emulator.url)), "hi")
    with pytest.raises(errors.AuthenticationError, match="unpickled without its API key"):
        future.result(timeout=120)
    assert len(emulator.chat_requests()) == sent  # nothing was sent


# -- langchain_core.load ----------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:The function `loads` is in beta")
def test_langchain_serialization_round_trips_provider_preferences_and_profiles(
    emulator: OpenRouterEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    llm = make(
        emulator.url,
        provider=ProviderPreferences(sort="price", only=["OpenAI"], allow_fallbacks=False),
        profiles={
            "cheap": Profile(provider=ProviderPreferences(sort="price"), reasoning_effort="low"),
            "fast": Profile(provider=ProviderPreferences(sort="throughput")),
        },
        default_profile="fast",
    )
    text = dumps(llm)
    assert "not_implemented" not in text and KEY not in text
    monkeypatch.setenv("OPENROUTER_API_KEY", KEY)
    revived = loads(
        text,
        allowed_objects=[ChatOpenRouter],
        valid_namespaces=["langchain_openrouter_fenic"],
        secrets_from_env=True,
    )
    assert isinstance(revived, ChatOpenRouter)
    assert revived.provider == llm.provider and revived.profiles == llm.profiles
    assert revived.default_profile == "fast"
    llm.invoke("hi")
    revived.invoke("hi")
    first, second = (r.json for r in emulator.chat_requests()[-2:])
    assert first == second and first["provider"]["sort"] == "throughput"
