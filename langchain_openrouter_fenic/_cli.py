"""``python -m langchain_openrouter_fenic``: ``explain`` a model's strategy, list ``models``.

Online (``OPENROUTER_API_KEY`` set and OpenRouter reachable) the live catalog and ``/endpoints``
are used. Otherwise the catalog snapshot shipped in the package is, with its date shown; it has
no endpoint data, so ``explain`` then says so and applies the model-level rule. Model ids are
resolved as ``ChatOpenRouter`` resolves them (``catalog.model_ids``): variants, ``~`` aliases,
canonical slugs and presets.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TextIO

from .errors import StructuredOutputUnsupportedError
from .structured_output.strategy import (
    Preference,
    StrategyDecision,
    allowed_endpoints,
    can_force_tools,
    decide_strategy,
    model_level_method,
)
from .wire.transport import DEFAULT_BASE_URL

if TYPE_CHECKING:
    from .catalog import EndpointInfo, ModelCatalog, ModelInfo
    from .catalog.model_ids import ModelIndex
    from .routing import ProviderPreferences

__all__ = ["CatalogView", "build_parser", "load_snapshot", "main", "open_catalog", "render_table"]

_PER_MILLION = 1_000_000
EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
_EXIT_CODES = """exit status:
  0  success (also --help)
  1  explain: the model id is not in the catalog (close ids are printed)
  2  usage error: unknown command or option, a bad value, or an unknown --supports parameter
     (close names are printed)"""
_WIDTH = 100  # wrap long text lines of `explain` (tables are never wrapped)


@dataclass
class CatalogView:
    """The catalog the CLI reads: live, or the shipped snapshot.

    Attributes:
        models: model id -> ModelInfo.
        source: ``"live"`` or ``"snapshot"``.
        snapshot_date: the snapshot's date (None when live).
        note: why the snapshot is used (empty when live).
        load_endpoints: fetches a model's ``/endpoints`` (None offline: no endpoint data).
        base_url: where a live catalog came from.
        index: resolves every model id form to its record (default: built from ``models``).
        find: the live lookup, as ``ChatOpenRouter`` makes it (an id the copy lacks is refetched
            once before it is unknown); None: ``index`` only.
    """

    models: Mapping[str, ModelInfo]
    source: str
    snapshot_date: str | None = None
    note: str = ""
    load_endpoints: Callable[[str], Sequence[EndpointInfo]] | None = None
    base_url: str | None = None
    index: ModelIndex | None = None
    find: Callable[[str], ModelInfo | None] | None = None

    def resolve(self, model_id: str) -> ModelInfo | None:
        if self.find is not None:
            return self.find(model_id)
        if self.index is None:
            from .catalog.model_ids import ModelIndex, aliases_of

            pairs = ((m.id, m.canonical_slug) for m in self.models.values())
            self.index = ModelIndex(self.models, aliases_of(pairs))
        return self.index.resolve(model_id)

    def describe(self) -> str:
        if self.source == "live":
            return f"live, from {self.base_url}"
        return f"snapshot of {self.snapshot_date} shipped in the package ({self.note})"

    def as_json(self) -> dict[str, Any]:
        return {"source": self.source, "snapshot_date": self.snapshot_date, "note": self.note}


def load_snapshot() -> tuple[str, Mapping[str, ModelInfo]]:
    """The shipped catalog snapshot: (its date, model id -> ModelInfo)."""
    from .catalog.snapshot import shipped_snapshot

    snapshot = shipped_snapshot()
    return snapshot.date, MappingProxyType(snapshot.models())


def _snapshot_view(note: str) -> CatalogView:
    from .catalog.snapshot import shipped_snapshot

    snapshot = shipped_snapshot()
    return CatalogView(
        models=snapshot.index.records,
        source="snapshot",
        snapshot_date=snapshot.date,
        note=note,
        index=snapshot.index,
    )


def open_catalog(base_url: str, api_key: str | None, *, offline: bool = False) -> CatalogView:
    """The live catalog when a key is set and OpenRouter answers, else the shipped snapshot."""
    if offline:
        return _snapshot_view("--offline")
    if not api_key:
        return _snapshot_view("OPENROUTER_API_KEY is not set")
    from .catalog import ModelCatalog

    catalog = ModelCatalog.shared(base_url, api_key)
    try:
        index = catalog.index()
    except Exception as exc:  # unreachable, refused, bad key: the snapshot still answers
        return _snapshot_view(f"the live catalog at {base_url} failed: {exc}")
    return CatalogView(
        models=MappingProxyType(dict(index.records)),
        source="live",
        load_endpoints=catalog.endpoints,
        base_url=base_url,
        index=index,
        find=partial(_find_live, catalog),
    )


def _find_live(catalog: ModelCatalog, model_id: str) -> ModelInfo | None:
    from .errors import ModelNotFoundError

    try:
        return catalog.get(model_id)
    except ModelNotFoundError:
        return None


# --------------------------------------------------------------------------------------------
# formatting


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


def _count(value: int | None) -> str:
    return "-" if value is None else f"{value:,}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


# --------------------------------------------------------------------------------------------
# explain


def _endpoint_row(e: EndpointInfo, allowed: bool) -> dict[str, Any]:
    params = frozenset(e.supported_parameters or ())
    return {
        "provider": e.provider_name,
        "tag": e.tag,
        "quantization": e.quantization,
        "context_length": e.context_length,
        "max_completion_tokens": e.max_completion_tokens,
        "prompt_per_million": per_million(e.prompt_price),
        "completion_per_million": per_million(e.completion_price),
        "structured_outputs": "structured_outputs" in params,
        "tools_and_tool_choice": can_force_tools(params),
        "response_format": "response_format" in params,
        "status": e.status,
        "uptime_last_30m": e.uptime_last_30m,
        "allowed": allowed,
    }


def explain(
    view: CatalogView,
    model_id: str,
    prefs: ProviderPreferences | None,
    preference: Preference,
) -> dict[str, Any]:
    """Everything ``explain`` prints, as data; KeyError (holding close ids) for an unknown id,
    ValueError for an id OpenRouter would not accept or a preset alone (it has no record)."""
    from .catalog.model_ids import parse_model_id

    ref = parse_model_id(model_id)
    if ref.model is None:
        raise ValueError(
            f"{model_id!r} is a preset alone: its model and settings live on OpenRouter's side "
            "(https://openrouter.ai/settings/presets), so the catalog has no record to explain. "
            "Explain the preset's model instead; with_structured_output on it needs an "
            "explicit method."
        )
    info = view.resolve(model_id)
    if info is None:
        close = difflib.get_close_matches(ref.model, list(view.models), n=5, cutoff=0.5)
        raise KeyError(close)
    endpoints: Sequence[EndpointInfo] | None = None
    endpoint_note = ""
    if view.load_endpoints is None:
        endpoint_note = "no endpoint data offline (the snapshot has models only)"
    else:
        try:
            endpoints = list(view.load_endpoints(info.id))
        except Exception as exc:  # shown to the user; the model-level rule still answers
            endpoint_note = f"the endpoints call failed: {exc}"
    fetched = list(endpoints or [])

    def already_fetched(_model_id: str) -> Sequence[EndpointInfo]:
        return fetched

    loader = None if endpoints is None else already_fetched
    strategy: dict[str, Any]
    try:
        decision = decide_strategy(
            info, provider=prefs, preference=preference, load_endpoints=loader
        )
        strategy = _decision_json(decision)
    except StructuredOutputUnsupportedError as err:
        strategy = {"method": None, "reason": str(err), "source": None, "tools_possible": False}
    allowed_ids = {id(e) for e in allowed_endpoints(endpoints or [], prefs)}
    return {
        "model": info.id,
        "requested": model_id,
        "preset": ref.preset,
        "name": info.name,
        "catalog": view.as_json(),
        "context_length": info.context_length,
        "max_output_tokens": info.max_output_tokens,
        "prices_per_million": {
            "prompt": per_million(info.prompt_price),
            "completion": per_million(info.completion_price),
            "cache_read": per_million(info.cache_read_price),
        },
        "supported_parameters": sorted(info.supported_parameters),
        "routing": _routing_json(prefs, preference),
        "strategy": strategy,
        "endpoints": None
        if endpoints is None
        else [_endpoint_row(e, id(e) in allowed_ids) for e in endpoints],
        "endpoints_note": endpoint_note,
    }


def _decision_json(decision: StrategyDecision) -> dict[str, Any]:
    return {
        "method": decision.method,
        "reason": decision.reason,
        "source": decision.source,
        "tools_possible": decision.tools_possible,
    }


def _routing_json(prefs: ProviderPreferences | None, preference: str | None) -> dict[str, Any]:
    return {
        "only": list(prefs.only or []) if prefs else [],
        "exclude": list(prefs.exclude or []) if prefs else [],
        "structured_output_strategy": preference or "auto",
    }


def format_explain(report: Mapping[str, Any], view: CatalogView) -> str:
    """``explain``'s human-readable form."""
    prices = report["prices_per_million"]
    routing = report["routing"]
    strategy = report["strategy"]
    method = strategy["method"] or "none (with_structured_output raises)"
    price_line = f"{_num(prices['prompt'])} in / {_num(prices['completion'])} out"
    if prices["cache_read"] is not None:
        price_line += f" / {_num(prices['cache_read'])} cache read"
    restrictions = ", ".join(
        f"{k}={','.join(v)}"
        for k, v in (("only", routing["only"]), ("exclude", routing["exclude"]))
        if v
    )
    lines = [f"Model       {report['model']}  ({report['name']})"]
    if report["requested"] != report["model"]:
        lines.append(_wrapped("Requested   ", _requested_note(report)))
    lines += [
        _wrapped("Catalog     ", view.describe()),
        f"Context     {_count(report['context_length'])} tokens, "
        f"max output {_count(report['max_output_tokens'])}",
        f"Price       USD per million tokens: {price_line}",
        _wrapped("Lists       ", ", ".join(report["supported_parameters"]) or "(nothing)"),
        f"Routing     {restrictions or 'no provider restriction'}; "
        f"structured_output_strategy={routing['structured_output_strategy']}",
        f"Strategy    {method}",
        _wrapped("Why         ", strategy["reason"]),
    ]
    if strategy["method"] == "json_schema" and strategy["tools_possible"]:
        lines.append(
            _wrapped(
                "Recovery    ",
                "a 404 'No endpoints found that can handle the requested parameters' is "
                "retried once as a forced tool call",
            )
        )
    lines.append("")
    endpoints = report["endpoints"]
    if endpoints is None:
        lines.append(f"Providers   {report['endpoints_note']}; the model-level rule is used.")
    elif not endpoints:
        lines.append("Providers   /endpoints lists none for this model.")
    else:
        lines.append(f"Providers ({len(endpoints)}, from /endpoints):")
        lines.append(_endpoint_table(endpoints))
    return "\n".join(lines)


def _requested_note(report: Mapping[str, Any]) -> str:
    note = f"{report['requested']}: described by the catalog record of {report['model']}"
    if report["preset"]:
        note += (
            f"; preset {report['preset']!r} is applied by OpenRouter, and its settings take "
            "precedence over the routing shown here"
        )
    return note


def _wrapped(label: str, text: str) -> str:
    return textwrap.fill(
        text, width=_WIDTH, initial_indent=label, subsequent_indent=" " * len(label)
    )


def _num(value: float | None) -> str:
    if value is None:
        return "-"  # not listed, or a router whose price depends on the model it picks
    return f"{value:,.4f}".rstrip("0").rstrip(".")


def _endpoint_table(endpoints: Sequence[Mapping[str, Any]]) -> str:
    headers = [
        "PROVIDER",
        "TAG",
        "QUANT",
        "CONTEXT",
        "IN $/M",
        "OUT $/M",
        "STRUCTURED_OUTPUTS",
        "TOOLS+CHOICE",
        "ALLOWED",
        "UPTIME 30M",
    ]
    rows = [
        [
            str(e["provider"] or "-"),
            str(e["tag"] or "-"),
            str(e["quantization"] or "-"),
            _count(e["context_length"]),
            _num(e["prompt_per_million"]),
            _num(e["completion_per_million"]),
            _yes(e["structured_outputs"]),
            _yes(e["tools_and_tool_choice"]),
            _yes(e["allowed"]),
            "-" if e["uptime_last_30m"] is None else f"{e['uptime_last_30m']:.1f}%",
        ]
        for e in endpoints
    ]
    return render_table(headers, rows, right={3, 4, 5, 9})


# --------------------------------------------------------------------------------------------
# models


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
            _count(r["context_length"]),
            _num(r["prompt_per_million"]),
            _num(r["completion_per_million"]),
            r["structured_output_method"] or "none",
        ]
        for r in rows
    ]
    footer = f"\n{len(rows)} model(s); catalog: {view.describe()}"
    return render_table(headers, table, right={1, 2, 3}) + footer


# --------------------------------------------------------------------------------------------
# command line


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``langchain-openrouter-fenic``."""
    parser = argparse.ArgumentParser(
        prog="langchain-openrouter-fenic",
        description="Inspect OpenRouter models the way ChatOpenRouter sees them.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--base-url",
        default=os.environ.get("OPENROUTER_API_BASE") or DEFAULT_BASE_URL,
        help="OpenRouter API base URL (default: $OPENROUTER_API_BASE or %(default)s)",
    )
    common.add_argument(
        "--offline", action="store_true", help="use the shipped catalog snapshot, no network"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    each: dict[str, Any] = {
        "parents": [common],
        "epilog": _EXIT_CODES,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }

    ex = sub.add_parser(
        "explain", help="the structured-output strategy of a model, and why", **each
    )
    ex.add_argument("model", help="an OpenRouter model id, e.g. openai/gpt-4o")
    ex.add_argument(
        "--provider-only",
        type=_csv,
        default=[],
        metavar="A,B",
        help="allow only these providers (provider.only)",
    )
    ex.add_argument(
        "--provider-exclude",
        type=_csv,
        default=[],
        metavar="C",
        help="never use these providers (provider.ignore)",
    )
    ex.add_argument(
        "--prefer-tools", action="store_true", help="structured_output_strategy='prefer_tools'"
    )

    models = sub.add_parser("models", help="list models by capability and price", **each)
    models.add_argument(
        "--supports",
        type=_csv,
        default=[],
        metavar="P,Q",
        help="supported_parameters every listed model must have, e.g. structured_outputs,tools",
    )
    models.add_argument(
        "--max-prompt-price",
        type=float,
        default=None,
        metavar="X",
        help="maximum prompt price, USD per million tokens",
    )
    return parser


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 unknown model, 2 usage error: see --help)."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse already printed
        return int(stop.code or 0) if not isinstance(stop.code, str) else EXIT_USAGE
    view = open_catalog(args.base_url, os.environ.get("OPENROUTER_API_KEY"), offline=args.offline)
    if args.command == "models":
        unknown = unknown_parameters(view, args.supports)
        if unknown:
            print(f"langchain-openrouter-fenic models: error: {unknown}", file=err)
            return EXIT_USAGE
        rows = list_models(view, args.supports, args.max_prompt_price)
        text = (
            json.dumps({"catalog": view.as_json(), "models": rows}, indent=2)
            if args.json
            else format_models(rows, view)
        )
        print(text, file=out)
        return EXIT_OK
    return _run_explain(args, view, out, err)


def _run_explain(args: argparse.Namespace, view: CatalogView, out: TextIO, err: TextIO) -> int:
    from .routing import ProviderPreferences

    prefs = None
    if args.provider_only or args.provider_exclude:
        prefs = ProviderPreferences(
            only=args.provider_only or None, exclude=args.provider_exclude or None
        )
    preference: Preference = "prefer_tools" if args.prefer_tools else None
    try:
        report = explain(view, args.model, prefs, preference)
    except ValueError as refused:
        print(str(refused), file=err)
        return EXIT_ERROR
    except KeyError as missing:
        close = missing.args[0] if missing.args else []
        hint = f" Close ids: {', '.join(close)}." if close else ""
        print(f"Unknown model {args.model!r} in the {view.source} catalog.{hint}", file=err)
        return EXIT_ERROR
    print(json.dumps(report, indent=2) if args.json else format_explain(report, view), file=out)
    return EXIT_OK
