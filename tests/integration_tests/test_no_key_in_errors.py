"""No API key in errors: not in the message, ``.raw``, ``.body``, ``.metadata``, ``.headers``,
a pickle, a printed traceback, a callback, nor in anything reachable from the error's chain.

The emulator's ``Reply.key_echo`` plays an upstream that quotes the key it was sent (in the
message, in ``metadata.raw`` and in echoed headers), as an HTTP error, as an error inside a 200
body and as a mid-stream error chunk.
"""

from __future__ import annotations

import asyncio
import gc
import pickle
import traceback
import types
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.callbacks import BaseCallbackHandler

from langchain_openrouter_fenic import ChatOpenRouter, errors
from tests.support.emulator import OpenRouterEmulator, Reply

KEY = "sk-or-v1-" + "5eC12e7" * 9  # shaped like a real key
SHORT_KEY = "not-a-sk-shaped-key-but-secret"  # redacted because the process holds it
MODES = ("invoke", "ainvoke", "stream", "astream", "streaming")
# what a walk of the error's object graph does not enter: code and the interpreter's own state
_OPAQUE = (types.FrameType, types.TracebackType, types.CodeType, types.ModuleType, type)


class _Errors(BaseCallbackHandler):
    def __init__(self) -> None:
        self.seen: list[BaseException] = []

    def on_llm_error(self, error: BaseException, **kwargs: Any) -> None:
        self.seen.append(error)


def _fail(llm: ChatOpenRouter, mode: str) -> errors.OpenRouterError:
    with pytest.raises(errors.OpenRouterError) as raised:
        if mode == "invoke":
            llm.invoke("hi")
        elif mode == "ainvoke":
            asyncio.run(llm.ainvoke("hi"))
        elif mode == "stream":
            list(llm.stream("hi"))
        elif mode == "astream":

            async def drain() -> None:
                async for _ in llm.astream("hi"):
                    pass

            asyncio.run(drain())
        else:
            llm.model_copy(update={"streaming": True}).invoke("hi")
    return raised.value


def reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through references (its attributes, its chain, the
    SDK objects it may hold), without entering frames, code or modules."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        obj = todo.pop()
        if id(obj) in seen or isinstance(obj, _OPAQUE):
            continue
        seen.add(id(obj))
        yield obj
        todo.extend(gc.get_referents(obj))
        if isinstance(obj, BaseException):  # the chain is what Sentry and pools serialise
            todo.extend(x for x in (obj.__cause__, obj.__context__) if x is not None)


def leaks(err: BaseException, secret: str) -> list[str]:
    """Where ``secret`` (or an Authorization header) can be found from ``err``."""
    found = []
    texts = {
        "str": str(err),
        "repr": repr(err),
        "traceback": "".join(traceback.format_exception(err)),
        "pickle": pickle.dumps(err).decode("latin-1"),
    }
    if isinstance(err, errors.OpenRouterError):
        texts.update(
            raw=str(err.raw),
            body=repr(err.body),
            metadata=repr(err.metadata),
            headers=repr(err.headers),
        )
    found += [name for name, text in texts.items() if secret in text]
    for obj in reachable(err):
        if isinstance(obj, (str, bytes)) and secret in (
            obj if isinstance(obj, str) else obj.decode("latin-1")
        ):
            found.append(f"a reachable {type(obj).__name__}: {obj[:80]!r}")
        elif isinstance(obj, (str, bytes)) and obj.lower() in ("authorization", b"authorization"):
            found.append("an Authorization header")
    return found


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("where", ["http 401", "200 body", "stream chunk"])
def test_an_echoed_key_is_in_nothing_an_error_carries(
    emulator: OpenRouterEmulator, where: str, mode: str
) -> None:
    if where == "stream chunk" and mode in ("invoke", "ainvoke"):
        where = "200 body"  # the same fault, asked without stream
    watcher = _Errors()
    llm = ChatOpenRouter(
        model="openai/gpt-4o-mini",
        api_key=KEY,
        base_url=emulator.url,
        max_retries=0,
        callbacks=[watcher],
    )
    emulator.enqueue(Reply.key_echo(401, in_200=where != "http 401"))
    err = _fail(llm, mode)
    assert isinstance(err, errors.AuthenticationError)
    assert "Incorrect API key provided: [REDACTED]" in str(err)  # the rest of the text is kept
    assert leaks(err, KEY) == []
    assert watcher.seen and all(KEY not in str(e) for e in watcher.seen)


def test_a_key_of_any_shape_is_redacted_once_the_process_holds_it(
    emulator: OpenRouterEmulator,
) -> None:
    llm = ChatOpenRouter(
        model="openai/gpt-4o-mini", api_key=SHORT_KEY, base_url=emulator.url, max_retries=0
    )
    emulator.enqueue(Reply.key_echo(403))
    err = _fail(llm, "invoke")
    assert isinstance(err, errors.PermissionDeniedError)
    assert leaks(err, SHORT_KEY) == []


@pytest.mark.parametrize("mode", ["invoke", "stream", "ainvoke", "astream"])
def test_no_sdk_exception_and_no_request_is_chained_to_an_error(
    emulator: OpenRouterEmulator, mode: str
) -> None:
    """The SDK's exception holds the request, Authorization header and all; the translated
    error is chained to a text-only stand-in instead, and to nothing implicitly."""
    llm = ChatOpenRouter(
        model="openai/gpt-4o-mini", api_key=KEY, base_url=emulator.url, max_retries=0
    )
    emulator.enqueue(Reply.error(503, "no provider available"))
    err = _fail(llm, mode)
    assert isinstance(err, errors.ServiceUnavailableError)
    assert err.__context__ is None
    assert type(err.__cause__).__name__ == "SDKException"
    assert "503" in str(err.__cause__)
    sdk = __import__("openai")
    assert not [o for o in reachable(err) if isinstance(o, sdk.APIError)]
    assert leaks(err, KEY) == []


def test_a_dropped_connection_chains_no_request(emulator: OpenRouterEmulator) -> None:
    llm = ChatOpenRouter(
        model="openai/gpt-4o-mini", api_key=KEY, base_url=emulator.url, max_retries=0
    )
    emulator.enqueue(Reply.drop_connection(after_bytes=0))
    err = _fail(llm, "invoke")
    assert isinstance(err, errors.APIConnectionError)
    assert leaks(err, KEY) == []
    assert not [o for o in reachable(err) if type(o).__name__ == "Request"]
