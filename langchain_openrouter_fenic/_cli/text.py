"""Plain-text output of the CLI: aligned tables, wrapped labelled lines, numbers and prices."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

__all__ = ["count", "num", "per_million", "render_table", "wrapped", "yes"]

_PER_MILLION = 1_000_000
_WIDTH = 100  # wrap long text lines of `explain` (tables are never wrapped)


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """An aligned text table; columns whose index is in ``right`` are right-aligned."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ]
        return "  ".join(padded).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def per_million(price: float | None) -> float | None:
    """USD per token -> USD per million tokens (None stays None; float noise rounded away)."""
    return None if price is None else round(price * _PER_MILLION, 6)


def count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def yes(flag: bool) -> str:
    return "yes" if flag else "no"


def num(value: float | None) -> str:
    if value is None:
        return "-"  # not listed, or a router whose price depends on the model it picks
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def wrapped(label: str, text: str) -> str:
    """``label`` then ``text`` wrapped to the CLI's width, continuation lines under the text."""
    return textwrap.fill(
        text, width=_WIDTH, initial_indent=label, subsequent_indent=" " * len(label)
    )
