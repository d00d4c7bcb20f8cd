"""Every model id form OpenRouter accepts, resolved to the catalog record that describes it (pure).

=====================================  ====================================================
``openai/gpt-4o``                      a catalog row
``google/gemma-3-27b-it:free``         a static variant: a catalog row of its own
``~openai/gpt-latest``                 an alias of the family's current model: a catalog row
``anthropic/claude-3-7-sonnet-...``    a canonical slug (the catalog's ``canonical_slug``)
``openai/gpt-4o:nitro``                a dynamic variant (``:nitro``, ``:floor``, ``:exacto``,
                                       ``:online``, or any other suffix): not a row; the
                                       base id's row describes it. Suffixes stack
                                       (``...:free:online``).
``openai/gpt-4o@preset/my-preset``     a model and a preset: the model part is checked
``@preset/my-preset``                  a preset alone: its model lives on OpenRouter's side,
                                       so there is no record (``ModelRef.model`` is None)
=====================================  ====================================================

Which suffixes are static comes from the data: a suffix that some catalog row carries
(``:free``, ``:thinking`` in today's catalog) names a model of its own, so ``x:free`` is found
only if the catalog lists that row — the paid ``x`` has other limits and prices. The three that
OpenRouter documents as static are counted even when no row carries them today.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .records import ModelInfo

__all__ = [
    "DEPRECATED_VARIANTS",
    "ModelIndex",
    "ModelRef",
    "aliases_of",
    "parse_model_id",
    "variant_suffixes",
    "warn_deprecated_variants",
]

_PRESET = "preset/"
# documented as "each has its own id in /models"; the catalog's own suffixes are added to these
_DOCUMENTED_STATIC = frozenset({"free", "extended", "thinking"})
#: variants OpenRouter still serves but has deprecated: suffix -> what to use instead
DEPRECATED_VARIANTS: Mapping[str, str] = {
    "online": 'the web search server tool, tools=[{"type": "openrouter:web_search"}]',
}


@dataclass(frozen=True, slots=True)
class ModelRef:
    """A model id split into the part the catalog knows and the preset, if any.

    Attributes:
        text: the id as given (what is sent as ``model``).
        model: the catalog part (``openai/gpt-4o:nitro`` of ``openai/gpt-4o:nitro@preset/x``);
            None for a preset alone (``@preset/x``).
        preset: the preset slug (``x``), else None.
    """

    text: str
    model: str | None
    preset: str | None


def parse_model_id(text: str) -> ModelRef:
    """Split ``model@preset/slug`` / ``@preset/slug``; any other id is all model part.

    Raises:
        ValueError: an ``@`` that is not followed by ``preset/<slug>``.
    """
    model, at, rest = text.strip().partition("@")
    if not at:
        return ModelRef(text, text.strip(), None)
    slug = rest[len(_PRESET) :] if rest.startswith(_PRESET) else ""
    if not slug or "@" in slug:
        raise ValueError(
            f"{text!r}: after '@' OpenRouter expects 'preset/<slug>' "
            "(e.g. 'openai/gpt-4o@preset/my-preset' or '@preset/my-preset')."
        )
    return ModelRef(text, model or None, slug)


def _suffixes(model_id: str) -> list[str]:
    """The ``:suffix`` parts after the slug (``a/b:free:online`` -> ``["free", "online"]``)."""
    _, _, slug = model_id.rpartition("/")
    return slug.split(":")[1:]


def variant_suffixes(model_id: str) -> list[str]:
    """The variant suffixes of any id form (``a/b:free:online@preset/x`` -> ``free``,
    ``online``); none for a preset alone."""
    model = parse_model_id(model_id).model
    return _suffixes(model) if model else []


def warn_deprecated_variants(model_id: str) -> None:
    """A ``FutureWarning`` for each deprecated variant in ``model_id`` (Python shows each once)."""
    for suffix in variant_suffixes(model_id):
        instead = DEPRECATED_VARIANTS.get(suffix)
        if instead:
            warnings.warn(
                f"model={model_id!r}: OpenRouter has deprecated the ':{suffix}' variant; it "
                f"still works, but use {instead}.",
                FutureWarning,
                stacklevel=3,
            )


def aliases_of(pairs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    """Canonical slug -> id from ``(id, canonical_slug)`` pairs; slugs that are ids themselves
    are left out, and a plain id wins over its variants (``x/y`` over ``x/y:thinking``)."""
    listed = sorted(pairs, key=lambda pair: ":" in pair[0])
    ids = {model_id for model_id, _ in listed}
    aliases: dict[str, str] = {}
    for model_id, slug in listed:
        if slug and slug not in ids:
            aliases.setdefault(slug, model_id)
    return aliases


class ModelIndex:
    """Catalog records by id, resolving every id form of the module docstring.

    ``records`` may translate lazily (the shipped snapshot does): only the ids looked up are read.
    """

    __slots__ = ("_static", "aliases", "records")

    def __init__(self, records: Mapping[str, ModelInfo], aliases: Mapping[str, str]) -> None:
        self.records = records
        self.aliases = aliases
        seen = {suffix for model_id in records for suffix in _suffixes(model_id)}
        self._static = frozenset(seen | _DOCUMENTED_STATIC) - DEPRECATED_VARIANTS.keys()

    def __len__(self) -> int:
        return len(self.records)

    def resolve(self, model_id: str) -> ModelInfo | None:
        """The record that describes ``model_id``, else None (a preset alone has none)."""
        model = parse_model_id(model_id).model
        return self._find(model) if model else None

    def _find(self, model_id: str) -> ModelInfo | None:
        found = self.records.get(model_id) or self.records.get(self.aliases.get(model_id, ""))
        if found is not None:
            return found
        base, colon, suffix = model_id.rpartition(":")
        if not colon or "/" not in base or suffix in self._static:
            return None  # a static variant the catalog does not list is another, unknown model
        return self._find(base)
