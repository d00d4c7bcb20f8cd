"""``models``: the catalog's models filtered by the parameters they list and their prompt price,
with the structured-output method each would get."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import StructuredOutputUnsupportedError
from ..structured_output.strategy import model_level_method
from .catalog_view import CatalogView
from .text import count, num, per_million, render_table

if TYPE_CHECKING:
    from ..catalog import ModelInfo

__all__ = ["auto_method", "format_models", "list_models", "unknown_parameters"]


def auto_method(info: ModelInfo) -> str | None:
    """The strategy ``with_structured_output`` picks under auto by the model-level rule."""
    try:
        return model_level_method(info, None).method
    except StructuredOutputUnsupportedError:
        return None


def unknown_parameters(view: CatalogView, supports: Sequence[str]) -> str:
    """Why ``--supports`` names a parameter no model of the catalog lists (empty when none)."""
    known = sorted(set().union(*(m.supported_parameters for m in view.models.values())))
    problems = []
    for name in supports:
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        problems.append(f"no model lists the parameter {name!r}{hint}")
    if not problems:
        return ""
    return (
        f"--supports: {'; '.join(problems)}. Parameters in the {view.source} catalog: "
        f"{', '.join(known)}."
    )


def list_models(
    view: CatalogView, supports: Sequence[str], max_prompt_price: float | None
) -> list[dict[str, Any]]:
    """The models listing every parameter in ``supports`` and within the prompt price cap."""
    rows = []
    for model_id in sorted(view.models):
        info = view.models[model_id]
        if any(p not in info.supported_parameters for p in supports):
            continue
        price = per_million(info.prompt_price)
        if max_prompt_price is not None and (
            price is None or price < 0 or price > max_prompt_price
        ):
            continue
        rows.append(
            {
                "id": info.id,
                "context_length": info.context_length,
                "prompt_per_million": price,
                "completion_per_million": per_million(info.completion_price),
                "structured_output_method": auto_method(info),
            }
        )
    return rows


def format_models(rows: Sequence[Mapping[str, Any]], view: CatalogView) -> str:
    headers = ["MODEL", "CONTEXT", "IN $/M", "OUT $/M", "STRUCTURED OUTPUT"]
    table = [
        [
            r["id"],
            count(r["context_length"]),
            num(r["prompt_per_million"]),
            num(r["completion_per_million"]),
            r["structured_output_method"] or "none",
        ]
        for r in rows
    ]
    footer = f"\n{len(rows)} model(s); catalog: {view.describe()}"
    return render_table(headers, table, right={1, 2, 3}) + footer
