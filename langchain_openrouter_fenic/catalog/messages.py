"""What the catalog tells its caller when a model is unknown or the catalog cannot be loaded.

Pure functions over data: each error says what was asked, where the answer came from and what to
change (close ids, the account's privacy settings, the network or the disk cache).
"""

from __future__ import annotations

import difflib
from collections.abc import Collection

from ..errors import ModelNotFoundError, OpenRouterError
from . import disk_cache
from .fetching import USER_MODELS
from .model_ids import parse_model_id

__all__ = ["age", "load_error", "not_found", "suggestions"]


def suggestions(model_id: str, ids: Collection[str]) -> list[str]:
    """Up to five catalog ids close to ``model_id`` (by spelling, then by its slug)."""
    wanted = model_id.lower()
    by_lower = {i.lower(): i for i in ids}
    close = difflib.get_close_matches(wanted, list(by_lower), n=5, cutoff=0.6)
    if len(close) < 5:  # "gpt-4o" finds "openai/gpt-4o" by its slug
        slug = wanted.rpartition("/")[2].partition(":")[0]
        close += [i for i in sorted(by_lower) if slug and slug in i and i not in close]
    return [by_lower[i] for i in close[:5]]


def not_found(model_id: str, ids: Collection[str], source: str) -> ModelNotFoundError:
    """``model_id`` is in none of the ``ids`` that the copy from ``source`` lists."""
    ref = parse_model_id(model_id)
    if ref.model is None:
        return ModelNotFoundError(
            f"{model_id!r} is a preset alone: its model and settings live on OpenRouter's side, "
            "so the model catalog has no record of it. Requests with it are sent without "
            "catalog checks; name the model too ('author/model@preset/slug') to have them.",
            suggestions=[],
        )
    close = suggestions(ref.model, ids)
    hint = f" Close ids: {', '.join(close)}." if close else ""
    account = (
        " /models/user hides models that the account's provider and privacy settings exclude "
        "(https://openrouter.ai/settings/privacy)."
        if source.endswith(USER_MODELS)
        else ""
    )
    return ModelNotFoundError(
        f"Model {ref.model!r} is not in OpenRouter's model catalog ({len(ids)} models "
        f"from {source}).{hint} Check the id at https://openrouter.ai/models.{account}",
        suggestions=close,
    )


def load_error(
    exc: OpenRouterError, base_url: str, cache: disk_cache.CacheSettings
) -> OpenRouterError:
    """The catalog could not be loaded and no copy exists: ``exc``'s class, chained to it."""
    where = (
        f"no cached copy in {cache.directory}"
        if cache.enabled
        else f"the disk cache is disabled ({disk_cache.CACHE_TTL_ENV}=0)"
    )
    message = (
        f"Could not load the OpenRouter model catalog from {base_url}: {exc.message} "
        f"({where}). Check the network, base_url and API key; once loaded, the catalog is "
        "cached on disk and used when OpenRouter cannot be reached."
    )
    error = type(exc)(message, **exc._state())
    error.__cause__ = exc
    return error


def age(seconds: float) -> str:
    """``seconds`` for a reader: ``42 s``, ``5 min``, ``3.0 h``."""
    seconds = max(seconds, 0.0)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
