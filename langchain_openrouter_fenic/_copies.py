"""Copies, pickles and LangChain serialization of a ``ChatOpenRouter``: configuration only.

A model is configuration plus handles on process-wide state (``_process_local``): the shared
rate limiter of its key, SDK clients, the catalog. What a copy does with each:

- ``copy.deepcopy``: the configuration is copied; the process-wide state is shared with the
  original, as every model of the process shares it — the limiter (a key's budget is one
  budget), callbacks and the cache. A rate limiter given by the caller is shared too.
- ``pickle``: the configuration travels, the state does not. The unpickled model looks the
  shared limiter up again in its own process; a caller's ``InMemoryRateLimiter`` (whose lock
  cannot be pickled) travels as its settings and starts afresh. **The API key is not in the
  pickle**: only its fingerprint, and unpickling finds the key again (``_secrets.key_for``) —
  one this process holds, else ``OPENROUTER_API_KEY`` when it is the same key. A model unpickled
  where neither is raises ``AuthenticationError`` on its first request, before sending anything.
- ``langchain_core.load.dumps``: nested settings (``provider``, ``profiles``, ``trace``) are
  written as plain JSON, which the constructor validates again on ``loads``; the key is a
  secret reference (``OPENROUTER_API_KEY``), as LangChain does it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from langchain_core.rate_limiters import InMemoryRateLimiter
from pydantic import BaseModel, SecretStr

from . import _secrets

if TYPE_CHECKING:
    from .chat_models import ChatOpenRouter

__all__ = [
    "MISSING_KEY_MESSAGE",
    "restore_pickled",
    "shared_in_copies",
    "state_to_pickle",
    "with_plain_settings",
]

_PICKLE_KEY = "__openrouter_pickle__"

MISSING_KEY_MESSAGE = (
    "This ChatOpenRouter was unpickled without its API key: a pickle carries only the key's "
    "fingerprint, never the key, and this process holds no key with that fingerprint. Set "
    "OPENROUTER_API_KEY to the same key in this process (a spawned worker inherits the parent's "
    "environment), or build the model here with ChatOpenRouter(api_key=...). See "
    "docs/deployment.md (process pools). Nothing was sent."
)


def shared_in_copies(model: ChatOpenRouter) -> Iterator[Any]:
    """What a deep copy shares with the original instead of copying (process-wide state)."""
    for value in (model.rate_limiter, model.callbacks, model.cache):
        if isinstance(value, list):  # the list is copied, the handlers in it are shared
            yield from value
        elif value is not None and not isinstance(value, bool):
            yield value


def state_to_pickle(model: ChatOpenRouter, state: dict[str, Any]) -> dict[str, Any]:
    """``BaseModel.__getstate__``'s state, as configuration: no key, no process-wide state."""
    fields = dict(state["__dict__"])
    private = dict(state.get("__pydantic_private__") or {})
    key = model.api_key.get_secret_value() if model.api_key is not None else None
    fields["api_key"] = None
    private["_transport_key"] = None  # it holds the key; made again on the way in
    shared = model._default_limiter is not None and model.rate_limiter is model._default_limiter
    if shared:  # the key's shared limiter: looked up again in the process that unpickles
        fields["rate_limiter"] = None
        private["_default_limiter"] = None
    elif isinstance(model.rate_limiter, InMemoryRateLimiter):
        fields["rate_limiter"] = _InMemorySettings.of(model.rate_limiter)
    return {
        **state,
        "__dict__": fields,
        "__pydantic_private__": private,
        _PICKLE_KEY: {
            "key_fingerprint": _secrets.fingerprint(key) if key else None,
            "shared_limiter": shared,
        },
    }


def restore_pickled(state: dict[str, Any]) -> tuple[dict[str, Any], str | None, bool]:
    """The pydantic state to set, the key found again (None: not found), and whether the model
    used its key's shared limiter."""
    extra = state.pop(_PICKLE_KEY, None) or {}
    fields = dict(state["__dict__"])
    if isinstance(fields.get("rate_limiter"), _InMemorySettings):
        fields["rate_limiter"] = fields["rate_limiter"].limiter()
    key_fingerprint = extra.get("key_fingerprint")
    key = _secrets.key_for(key_fingerprint) if key_fingerprint else None
    fields["api_key"] = SecretStr(key) if key is not None else None
    return {**state, "__dict__": fields}, key, bool(extra.get("shared_limiter"))


class _InMemorySettings:
    """A LangChain ``InMemoryRateLimiter`` as its settings (its lock cannot be pickled)."""

    def __init__(self, requests_per_second: float, check_every: float, max_bucket: float) -> None:
        self.settings = (requests_per_second, check_every, max_bucket)

    @classmethod
    def of(cls, limiter: InMemoryRateLimiter) -> _InMemorySettings:
        return cls(
            limiter.requests_per_second, limiter.check_every_n_seconds, limiter.max_bucket_size
        )

    def limiter(self) -> InMemoryRateLimiter:
        rps, check_every, max_bucket = self.settings
        return InMemoryRateLimiter(
            requests_per_second=rps, check_every_n_seconds=check_every, max_bucket_size=max_bucket
        )


def with_plain_settings(model: ChatOpenRouter, serialized: dict[str, Any]) -> dict[str, Any]:
    """``Serializable.to_json()`` output with nested pydantic settings as plain JSON.

    LangChain writes a value that is not itself ``Serializable`` as ``"not_implemented"``,
    which ``loads`` refuses; the constructor validates plain JSON back into the same types.
    """
    kwargs = serialized.get("kwargs")
    if serialized.get("type") != "constructor" or not isinstance(kwargs, dict):
        return serialized
    plain = dict(kwargs)
    for name in kwargs:
        value = getattr(model, name, None)
        if _holds_model(value):
            dumped = model.model_dump(mode="json", include={name}, exclude_none=True)
            plain[name] = dumped[name]
    return {**serialized, "kwargs": plain}


def _holds_model(value: Any) -> bool:
    if isinstance(value, BaseModel):
        return True
    if isinstance(value, Mapping):
        return any(_holds_model(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_model(v) for v in value)
    return False
