"""The API keys this process holds: kept out of errors, and out of pickles.

**Errors.**
An upstream answer may echo the key it was sent (a provider that quotes "Incorrect API key
provided: sk-..."), and OpenRouter passes such text on in ``error.message`` and
``metadata.raw``. Every ``OpenRouterError`` redacts what it is given (``errors`` calls
``redact_text`` / ``redact_value`` at construction), so the key is in neither its message, its
``raw``, ``body``, ``metadata`` nor ``headers`` — nor in callbacks, traces and logs made from them.

Two kinds of text are redacted:

- every API key a transport of this process was given (``remember_key``): the exact secret,
  whatever its shape;
- anything shaped like a bearer credential: ``sk-...`` keys (OpenRouter's ``sk-or-v1-...``, and
  the provider keys of BYOK setups) and ``Bearer <token>``.

**Pickles.** A pickled model carries the key's ``fingerprint`` (a SHA-256 digest), never the
key; unpickling finds the key again with ``key_for``: a key this process already holds (a copy
in the same process, a forked worker), else ``OPENROUTER_API_KEY`` when it is the same key (a
spawned worker inherits the environment). See ``docs/deployment.md``.

The keys remembered are process-wide on purpose, with nothing to reset: a forked child uses the
same keys as its parent, a closed event loop changes nothing, and nothing here is pickled or
copied with a model. Keys shorter than ``_MIN_KEY_LENGTH`` are not secrets worth the name (tests
use ``"k"``) and would redact ordinary words; they are still found again by fingerprint.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "KEY_ENV_VAR",
    "REDACTED",
    "fingerprint",
    "key_for",
    "redact_text",
    "redact_value",
    "remember_key",
]

KEY_ENV_VAR = "OPENROUTER_API_KEY"
REDACTED = "[REDACTED]"
_MIN_KEY_LENGTH = 8
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9][A-Za-z0-9_\-]{15,}|(?i:\bbearer\s+)[^\s\"',;]{8,}")
_known: set[str] = set()  # redacted from errors
_by_fingerprint: dict[str, str] = {}  # found again when a model is unpickled
_compiled: tuple[int, re.Pattern[str] | None] = (0, None)  # (how many keys, their pattern)


def remember_key(key: str | None) -> None:
    """Hold ``key``: redacted from every error made from now on, and found again by its
    fingerprint when a model is unpickled (models and transports call this)."""
    if not key:
        return
    _by_fingerprint.setdefault(fingerprint(key), key)
    if len(key.strip()) >= _MIN_KEY_LENGTH:
        _known.add(key)


def fingerprint(key: str) -> str:
    """What a pickle carries in place of the key: its SHA-256 digest (not reversible)."""
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()


def key_for(key_fingerprint: str) -> str | None:
    """The key with this fingerprint: one this process holds, else ``OPENROUTER_API_KEY`` when
    it is that key; None when neither is."""
    key = _by_fingerprint.get(key_fingerprint)
    if key is None:
        from_env = os.environ.get(KEY_ENV_VAR, "")
        if from_env and fingerprint(from_env) == key_fingerprint:
            key = from_env
            remember_key(key)
    return key


def redact_text(text: str) -> str:
    """``text`` with every known key and every key-shaped token replaced by ``[REDACTED]``."""
    pattern = _known_keys_pattern()
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    return _KEY_SHAPED.sub(_redact_match, text)


def _known_keys_pattern() -> re.Pattern[str] | None:
    global _compiled
    count, pattern = _compiled
    if count != len(_known):  # keys were added (only ever added): compile again, once
        keys = sorted(_known, key=len, reverse=True)  # the longest match first
        pattern = re.compile("|".join(re.escape(k) for k in keys))
        _compiled = (len(keys), pattern)
    return pattern


def _redact_match(match: re.Match[str]) -> str:
    found = match.group(0)
    if found[:1] in "Bb":  # "Bearer <token>": keep the scheme, lose the token
        return found[: len(found) - len(found.split()[-1])] + REDACTED
    return REDACTED


def redact_value(value: Any) -> Any:
    """A copy of a decoded JSON value (or headers) with every string redacted."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {redact_value(k): redact_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_value(v) for v in value)
    return value
