"""``explain MODEL``: the structured-output strategy a model gets under a routing, and why,
with its prices, what it lists and (online) what each provider of it supports."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..endpoint_routing import allowed_endpoints, judge_routing, routing_restrictions
from ..errors import NoAllowedProvidersError, StructuredOutputUnsupportedError
from ..structured_output.strategy import (
    Preference,
    StrategyDecision,
    can_force_tools,
    decide_strategy,
)
from .catalog_view import CatalogView
from .text import count, num, per_million, render_table, wrapped, yes

if TYPE_CHECKING:
    from ..catalog import EndpointInfo
    from ..routing import ProviderPreferences

__all__ = ["explain", "format_explain"]


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
    from ..catalog.model_ids import parse_model_id

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
    warnings: list[str] = []
    try:
        # the check every request makes: misspelt provider names, a routing that leaves nothing
        warnings = judge_routing(info.id, prefs, {info.id: endpoints})
        decision = decide_strategy(
            info, provider=prefs, preference=preference, load_endpoints=loader
        )
        strategy = _decision_json(decision)
    except (StructuredOutputUnsupportedError, NoAllowedProvidersError) as err:
        strategy = {"method": None, "reason": str(err), "source": None, "tools_possible": False}
        strategy["error"] = type(err).__name__
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
        "routing_warnings": warnings,
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
        "provider": prefs.to_wire() if prefs else {},
        "restrictions": routing_restrictions(prefs),
        "structured_output_strategy": preference or "auto",
    }


def format_explain(report: Mapping[str, Any], view: CatalogView) -> str:
    """``explain``'s human-readable form."""
    prices = report["prices_per_million"]
    routing = report["routing"]
    strategy = report["strategy"]
    method = strategy["method"] or "none (with_structured_output raises)"
    if strategy.get("error") == "NoAllowedProvidersError":
        method = (
            "none: the routing leaves no endpoint (every request raises NoAllowedProvidersError)"
        )
    price_line = f"{num(prices['prompt'])} in / {num(prices['completion'])} out"
    if prices["cache_read"] is not None:
        price_line += f" / {num(prices['cache_read'])} cache read"
    restrictions = ", ".join(
        [
            f"{k}={','.join(v)}"
            for k, v in (("only", routing["only"]), ("exclude", routing["exclude"]))
            if v
        ]
        + [r for r in routing["restrictions"] if not r.startswith(("only=", "exclude="))]
    )
    lines = [f"Model       {report['model']}  ({report['name']})"]
    if report["requested"] != report["model"]:
        lines.append(wrapped("Requested   ", _requested_note(report)))
    lines += [
        wrapped("Catalog     ", view.describe()),
        f"Context     {count(report['context_length'])} tokens, "
        f"max output {count(report['max_output_tokens'])}",
        f"Price       USD per million tokens: {price_line}",
        wrapped("Lists       ", ", ".join(report["supported_parameters"]) or "(nothing)"),
        f"Routing     {restrictions or 'no provider restriction'}; "
        f"structured_output_strategy={routing['structured_output_strategy']}",
        *(wrapped("Warning     ", w) for w in report["routing_warnings"]),
        f"Strategy    {method}",
        wrapped("Why         ", strategy["reason"]),
    ]
    if strategy["method"] == "json_schema" and strategy["tools_possible"]:
        lines.append(
            wrapped(
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
            count(e["context_length"]),
            num(e["prompt_per_million"]),
            num(e["completion_per_million"]),
            yes(e["structured_outputs"]),
            yes(e["tools_and_tool_choice"]),
            yes(e["allowed"]),
            "-" if e["uptime_last_30m"] is None else f"{e['uptime_last_30m']:.1f}%",
        ]
        for e in endpoints
    ]
    return render_table(headers, rows, right={3, 4, 5, 9})
