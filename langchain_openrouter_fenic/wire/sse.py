"""Server-sent events off an SDK response: framing, what the body says about its own end, and
closing on every exit.

OpenRouter streams ``data: {json}`` events, ``: OPENROUTER PROCESSING`` comment lines while a
model is slow to start, and ``data: [DONE]`` at the end. Whether the answer is complete is
judged above (``response.StreamAssembler.finish``) from what the framing saw: ``done`` is set by
``[DONE]``. A body with no SSE in it at all (an HTML page from a wrong ``base_url``, a JSON
error body) is raised here, as what it is.

The event iterators close the HTTP library's line iterator on every exit (end, error, a consumer
that stops early, cancellation), and translate its exceptions themselves rather than through a
generator-based context manager: an async generator suspended inside another async generator's
context manager may be finalised out of order when its loop shuts down, which asyncio reports
as "generator didn't stop after athrow()".
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from .. import errors
from . import error_mapping

__all__ = ["SSEFraming", "aevents", "events"]

_SSE_FIELDS = ("event", "id", "retry")
_NON_SSE_LIMIT = 65536  # characters of a non-SSE body kept to say what it was


class SSEFraming:
    """SSE framing, line by line: ``data:`` lines join into one event at a blank line; comment
    lines and other fields are skipped; ``[DONE]`` ends the stream (``done``)."""

    __slots__ = ("_base_url", "_data", "_headers", "_other", "_other_size", "_saw_sse", "done")

    def __init__(self, headers: Mapping[str, str], base_url: str | None = None) -> None:
        self._data: list[str] = []
        self._headers = headers
        self._base_url = base_url
        self._saw_sse = False
        self._other: list[str] = []
        self._other_size = 0
        self.done = False

    def feed(self, line: str) -> Any:
        """The decoded event this line completes, else None."""
        if line.startswith("data:"):
            self._saw_sse = True
            self._data.append(line[5:].lstrip())
        elif not line:
            if self._data:
                return self._event()
        elif line.startswith(":") or line.partition(":")[0] in _SSE_FIELDS:
            self._saw_sse = True
        elif not self._saw_sse:  # not SSE (yet): keep it, to say what the body was
            self._other.append(line)
            self._other_size += len(line)
            if self._other_size > _NON_SSE_LIMIT:
                raise self._not_sse()
        return None

    def flush(self) -> Any:
        """At the end of the body: an event left unterminated, else None. A body that held no
        SSE at all is raised as what it was."""
        if self._data:
            return self._event()
        if not self._saw_sse and self._other:
            raise self._not_sse()
        return None

    def _event(self) -> Any:
        payload = "\n".join(self._data)
        self._data.clear()
        if payload.strip() == "[DONE]":
            self.done = True
            return None
        try:
            return json.loads(payload)
        except json.JSONDecodeError:
            pass  # raised below, outside the handler: the decoder's error holds the payload
        raise error_mapping.malformed_body(
            payload, 200, self._headers, base_url=self._base_url, expected="a JSON event"
        )

    def _not_sse(self) -> errors.OpenRouterError:
        text = "\n".join(self._other)
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            document = None
        error = document.get("error") if isinstance(document, Mapping) else None
        if isinstance(error, Mapping):  # an error answered as plain JSON on the stream path
            return error_mapping.from_error_payload(
                error,
                headers=self._headers,
                body=document,
                generation_id=document.get("id") if isinstance(document, Mapping) else None,
                where="an error body instead of the stream",
            )
        return error_mapping.malformed_body(
            text, 200, self._headers, base_url=self._base_url, expected="an SSE stream"
        )


def events(response: Any, framing: SSEFraming) -> Iterator[Any]:
    """The decoded events of a streamed response (sync)."""
    lines = response.iter_lines()
    failure: errors.OpenRouterError | None = None
    try:
        for line in lines:
            event = framing.feed(line)
            if framing.done:
                return
            if event is not None:
                yield event
        event = framing.flush()
        if event is not None:
            yield event
    except errors.OpenRouterError:
        raise
    except Exception as exc:
        failure = error_mapping.translated(exc)
        if failure is None:
            raise
    finally:
        close = getattr(lines, "close", None)
        if close is not None:
            close()
    if failure is not None:
        raise failure  # outside the handler: nothing of the HTTP library's is chained to it


async def aevents(response: Any, framing: SSEFraming) -> AsyncIterator[Any]:
    """The decoded events of a streamed response (async)."""
    lines = response.aiter_lines()
    failure: errors.OpenRouterError | None = None
    try:
        async for line in lines:
            event = framing.feed(line)
            if framing.done:
                return
            if event is not None:
                yield event
        event = framing.flush()
        if event is not None:
            yield event
    except errors.OpenRouterError:
        raise
    except Exception as exc:
        failure = error_mapping.translated(exc)
        if failure is None:
            raise
    finally:
        aclose = getattr(lines, "aclose", None)
        if aclose is not None:
            await aclose()
    if failure is not None:
        raise failure
