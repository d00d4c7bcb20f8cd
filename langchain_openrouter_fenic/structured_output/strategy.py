"""Which structured-output strategy a model gets: pure functions over catalog records (SPEC §4).

The model-level rule reads the catalog's ``supported_parameters`` — the UNION over a model's
providers:

==============================================  ====================  ======================
model lists                                     preference            method
==============================================  ====================  ======================
``structured_outputs``                          auto / response fmt   ``json_schema``
``structured_outputs`` + ``tools/tool_choice``  ``prefer_tools``      ``function_calling``
``tools`` + ``tool_choice`` only                any                   ``function_calling``
neither                                         any                   error, nothing sent
==============================================  ====================  ======================

Because the union can hide that only one provider of five supports ``structured_outputs``, the
choice can also be made from ``/endpoints`` (:func:`choose_strategy` with ``endpoints=``), after
:func:`allowed_endpoints` has kept the providers the routing allows. :func:`needs_endpoint_check`
says when that extra call can change the answer; otherwise it is skipped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal

from ..endpoint_routing import allowed_endpoints, judge_routing, routing_restrictions
from ..errors import StructuredOutputUnsupportedError

if TYPE_CHECKING:
    from ..catalog import EndpointInfo, ModelInfo
    from ..routing import ProviderPreferences

__all__ = [
    "NEEDS",
    "Method",
    "Preference",
    "StrategyDecision",
    "allowed_endpoints",
    "can_force_tools",
    "choose_strategy",
    "decide_strategy",
    "model_level_method",
    "needs_endpoint_check",
    "routing_restrictions",
    "supports_method",
    "thinking_conflict_message",
    "unsupported_message",
]

logger = logging.getLogger(__name__)

Method = Literal["json_schema", "function_calling"]
Preference = Literal["prefer_response_format", "prefer_tools"] | None


@dataclass(frozen=True)
class StrategyDecision:
    """The strategy chosen for one model and routing, and why.

    Attributes:
        method: ``"json_schema"`` (response_format) or ``"function_calling"`` (forced tool).
        reason: one sentence saying why, for logs and ``explain``.
        source: ``"model"`` (the catalog's union) or ``"endpoints"`` (per provider).
        tools_possible: forced tools would work too (the 404 recovery may switch to them).
        json_schema_possible: ``response_format`` would work too.
        endpoints_considered: providers the routing allows (None when endpoints were not used).
        structured_outputs_providers: of those, the ones listing ``structured_outputs``.
        tools_providers: of those, the ones listing ``tools`` and ``tool_choice``.
        routing_warnings: provider names that match no endpoint, and the like
            (``endpoint_routing.judge_routing``); logged when the request is made.
    """

    method: Method
    reason: str
    source: Literal["model", "endpoints"] = "model"
    tools_possible: bool = False
    json_schema_possible: bool = False
    endpoints_considered: tuple[str, ...] | None = None
    structured_outputs_providers: tuple[str, ...] = ()
    tools_providers: tuple[str, ...] = ()
    routing_warnings: tuple[str, ...] = ()


def _lists_structured_outputs(params: Iterable[str]) -> bool:
    return "structured_outputs" in params


def can_force_tools(params: Iterable[str]) -> bool:
    """A forced tool call needs both ``tools`` and ``tool_choice``."""
    params = frozenset(params)
    return "tools" in params and "tool_choice" in params


def unsupported_message(info: ModelInfo) -> str:
    """The StructuredOutputUnsupportedError message: the model, what it lists, what to do."""
    listed = ", ".join(sorted(info.supported_parameters)) or "nothing"
    json_mode = (
        'Or, since it lists `response_format`, use with_structured_output(..., method="json_mode")'
        " (valid JSON, schema not enforced)."
        if "response_format" in info.supported_parameters
        else "It does not list `response_format` either, so json_mode is not available."
    )
    return (
        f"Model {info.id!r} offers no structured-output strategy: its supported_parameters list "
        f"neither `structured_outputs` nor both `tools` and `tool_choice` (it lists: {listed}). "
        "Choose another model (`python -m langchain_openrouter_fenic models --supports "
        f"structured_outputs` lists them). {json_mode}"
    )


def model_level_method(info: ModelInfo, preference: Preference) -> StrategyDecision:
    """SPEC §4's rule on the catalog's union of ``supported_parameters``.

    Raises:
        StructuredOutputUnsupportedError: the model lists neither capability.
    """
    params = info.supported_parameters
    structured, tools = _lists_structured_outputs(params), can_force_tools(params)
    if structured and tools and preference == "prefer_tools":
        return StrategyDecision(
            "function_calling",
            "the model lists structured_outputs and tools+tool_choice, and the profile prefers "
            "tools (structured_output_strategy='prefer_tools')",
            tools_possible=True,
            json_schema_possible=True,
        )
    if structured:
        why = "the model lists structured_outputs"
        if preference == "prefer_tools":
            why += " (prefer_tools ignored: it does not list both tools and tool_choice)"
        return StrategyDecision("json_schema", why, tools_possible=tools, json_schema_possible=True)
    if tools:
        return StrategyDecision(
            "function_calling",
            "the model lists tools+tool_choice but not structured_outputs: a forced tool call",
            tools_possible=True,
        )
    raise StructuredOutputUnsupportedError(unsupported_message(info))


def choose_strategy(
    info: ModelInfo,
    *,
    preference: Preference = None,
    endpoints: Sequence[EndpointInfo] | None = None,
) -> StrategyDecision:
    """Pick the structured-output method for ``info``.

    Args:
        info: the model's catalog record.
        preference: the active profile's ``structured_output_strategy``.
        endpoints: the model's endpoints ALREADY filtered to the providers the routing allows
            (:func:`allowed_endpoints`), or None to use the model-level rule alone.

    With endpoints, a method counts only if some allowed provider lists it; when both are
    possible an explicit preference wins, and under auto the one more providers support wins
    (``json_schema`` on a tie). An empty ``endpoints`` (the routing matched no listed provider,
    perhaps a name we do not recognise) falls back to the model-level rule.

    Raises:
        StructuredOutputUnsupportedError: no strategy is possible (nothing is sent).
    """
    model_decision = model_level_method(info, preference)
    if endpoints is None:
        return model_decision
    if not endpoints:
        return _replace_reason(
            model_decision,
            "the routing matched none of the model's listed endpoints, so the model-level rule "
            "applies: " + model_decision.reason,
        )
    names = tuple(_provider_label(e) for e in endpoints)
    so = tuple(_provider_label(e) for e in endpoints if _lists_structured_outputs(_params(e)))
    tools = tuple(_provider_label(e) for e in endpoints if can_force_tools(_params(e)))
    method, why = _endpoint_method(len(names), len(so), len(tools), preference)
    if method is None:
        raise StructuredOutputUnsupportedError(
            f"Model {info.id!r}: none of the providers the routing allows "
            f"({', '.join(names)}) lists `structured_outputs` or both `tools` and `tool_choice`. "
            "Relax `provider` (only / exclude / order / quantizations / price caps) so that a "
            "provider supporting them is allowed, or choose another model; "
            f"`python -m langchain_openrouter_fenic explain {info.id}` shows what each provider "
            "supports."
        )
    return StrategyDecision(
        method,
        why,
        source="endpoints",
        tools_possible=bool(tools),
        json_schema_possible=bool(so),
        endpoints_considered=names,
        structured_outputs_providers=so,
        tools_providers=tools,
    )


def _endpoint_method(
    total: int, so: int, tools: int, preference: Preference
) -> tuple[Method | None, str]:
    coverage = f"{so}/{total} allowed providers support structured_outputs, {tools}/{total} tools"
    if so == 0 and tools == 0:
        return None, coverage
    if tools == 0:
        return "json_schema", coverage + ": only structured_outputs is possible"
    if so == 0:
        return "function_calling", coverage + ": only a forced tool call is possible"
    if preference == "prefer_tools":
        return "function_calling", coverage + "; the profile prefers tools"
    if preference == "prefer_response_format":
        return "json_schema", coverage + "; the profile prefers response_format"
    if tools > so:
        return "function_calling", coverage + ": forced tools reach more providers"
    return "json_schema", coverage + ": structured_outputs reaches at least as many providers"


def _replace_reason(decision: StrategyDecision, reason: str) -> StrategyDecision:
    return replace(decision, reason=reason)


def _params(endpoint: EndpointInfo) -> frozenset[str]:
    return frozenset(endpoint.supported_parameters or ())


def _provider_label(endpoint: EndpointInfo) -> str:
    return endpoint.tag or endpoint.provider_name or "?"


# --------------------------------------------------------------------------------------------
# routing: whether the providers' /endpoints can change the answer


def needs_endpoint_check(
    info: ModelInfo, prefs: ProviderPreferences | None, preference: Preference = None
) -> bool:
    """True when ``/endpoints`` can change the strategy, so the extra HTTP call is worth it.

    - The model lists neither capability: no provider has one, the answer is an error — skip.
    - The routing restricts providers (:func:`routing_restrictions`): the allowed ones may lack
      what the union lists — check.
    - Both capabilities listed, preference auto: which one more providers support decides (the
      "one provider out of five supports structured_outputs" case) — check.
    - Otherwise (one capability only, or an explicit preference, unrestricted routing): the union
      guarantees some provider supports the chosen method — skip.
    """
    params = info.supported_parameters
    structured, tools = _lists_structured_outputs(params), can_force_tools(params)
    if not (structured or tools):
        return False
    if routing_restrictions(prefs):
        return True
    return structured and tools and preference is None


# --------------------------------------------------------------------------------------------
# the whole decision, with the /endpoints call injected


def decide_strategy(
    info: ModelInfo,
    *,
    provider: ProviderPreferences | None,
    preference: Preference,
    load_endpoints: Callable[[str], Sequence[EndpointInfo]] | None,
    fallbacks: Sequence[ModelInfo] = (),
    thinking: str | None = None,
) -> StrategyDecision:
    """Choose the strategy as ``with_structured_output`` does, consulting endpoints only if useful.

    ``load_endpoints(model_id)`` fetches ``/endpoints`` (None: no endpoint data, e.g. offline).
    It is called only when :func:`needs_endpoint_check` says the answer can change; if it fails,
    the model-level rule applies (WARNING log). Then:

    - ``thinking`` (``routing.manual_thinking``: Anthropic's manual thinking is on) rules out a
      forced tool call, which Anthropic rejects: ``json_schema`` if the model lists it, else an
      error;
    - ``fallbacks`` (the catalog records of the profile's ``models``): a method every model of the
      chain supports is chosen when there is one; otherwise a WARNING names the fallback that
      cannot serve the method, since OpenRouter would find no endpoint for it there.

    The choice is logged at INFO.

    Raises:
        StructuredOutputUnsupportedError: no strategy is possible.
        NoAllowedProvidersError: the routing leaves none of the model's endpoints (and there is
            no fallback model that could serve), listing its providers.
    """
    endpoints: list[EndpointInfo] | None = None
    note = ""
    warnings: tuple[str, ...] = ()
    if needs_endpoint_check(info, provider, preference):
        if load_endpoints is None:
            note = " (no endpoint data available: model-level rule)"
        else:
            try:
                listed = list(load_endpoints(info.id))
            except Exception as exc:  # any failure: the model-level rule still gives an answer
                logger.warning(
                    "Could not read the endpoints of %s (%s); choosing the structured-output "
                    "strategy from the model-level catalog entry instead.",
                    info.id,
                    exc,
                )
                note = " (endpoints unavailable: model-level rule)"
            else:
                endpoints, note, warnings = _routed(info, listed, provider, fallbacks)
    decision = choose_strategy(info, preference=preference, endpoints=endpoints)
    if note:
        decision = _replace_reason(decision, decision.reason + note)
    if warnings:
        decision = replace(decision, routing_warnings=warnings)
    if thinking:
        decision = _without_forced_tools(decision, info, thinking)
    decision = _for_the_chain(decision, info, fallbacks)
    logger.info(
        "Structured output for %s: %s, because %s", info.id, decision.method, decision.reason
    )
    return decision


def _routed(
    info: ModelInfo,
    listed: list[EndpointInfo],
    provider: ProviderPreferences | None,
    fallbacks: Sequence[ModelInfo],
) -> tuple[list[EndpointInfo] | None, str, tuple[str, ...]]:
    """The endpoints the routing allows (None: use the model-level rule), a note for the
    reason, and the routing's warnings (``endpoint_routing.judge_routing``).

    Raises:
        NoAllowedProvidersError: the routing leaves no endpoint, and no fallback could serve.
    """
    if not listed:
        return None, " (/endpoints lists no provider: model-level rule)", ()
    fallback_ids = [f.id for f in fallbacks]
    warnings = tuple(judge_routing(info.id, provider, {info.id: listed}, fallback_ids))
    allowed = allowed_endpoints(listed, provider)
    if not allowed:
        note = " (the routing leaves none of its endpoints, the fallbacks serve: model-level rule)"
        return None, note, warnings
    return allowed, "", warnings


#: what each method needs a model to list
NEEDS: dict[str, tuple[str, ...]] = {
    "json_schema": ("structured_outputs",),
    "function_calling": ("tools", "tool_choice"),
}


def supports_method(info: ModelInfo, method: str) -> bool:
    """``info`` lists what ``method`` needs (model level)."""
    return all(p in info.supported_parameters for p in NEEDS[method])


def _other(method: Method) -> Method:
    return "function_calling" if method == "json_schema" else "json_schema"


def thinking_conflict_message(info: ModelInfo, thinking: str) -> str:
    return (
        f"Structured output for {info.id!r}: a forced tool call is the only strategy it offers "
        f"(it lists no structured_outputs), and Anthropic rejects a forced tool call while manual "
        f"thinking is on ({thinking}). Build the structured-output chain from a model or profile "
        "without the thinking budget (e.g. llm.with_profile(...) of a profile without "
        "reasoning_max_tokens), use reasoning_effort on Claude 4.6 or later (adaptive thinking), "
        "or choose a model that lists structured_outputs."
    )


def _without_forced_tools(
    decision: StrategyDecision, info: ModelInfo, thinking: str
) -> StrategyDecision:
    if decision.method == "json_schema":
        return replace(decision, tools_possible=False)  # no forced-tool recovery either
    if not decision.json_schema_possible:
        raise StructuredOutputUnsupportedError(thinking_conflict_message(info, thinking))
    return replace(
        decision,
        method="json_schema",
        tools_possible=False,
        reason=decision.reason + f"; json_schema instead: Anthropic rejects a forced tool call "
        f"while manual thinking is on ({thinking})",
    )


def _for_the_chain(
    decision: StrategyDecision, info: ModelInfo, fallbacks: Sequence[ModelInfo]
) -> StrategyDecision:
    unable = [f.id for f in fallbacks if not supports_method(f, decision.method)]
    if not unable:
        return decision
    other = _other(decision.method)
    possible = (
        decision.tools_possible if other == "function_calling" else (decision.json_schema_possible)
    )
    if possible and all(supports_method(f, other) for f in fallbacks):
        switched = replace(decision, method=other)
        return _replace_reason(
            switched,
            decision.reason + f"; {other} instead, which every model of the chain supports "
            f"(fallback {', '.join(unable)} does not list "
            f"{' and '.join(NEEDS[decision.method])})",
        )
    logger.warning(
        "Structured output for %s uses %s, which fallback model(s) %s cannot serve (they do not "
        "list %s): if OpenRouter falls back to them, no endpoint can handle the request. Choose "
        "fallbacks that list it, or leave them out of the structured-output chain.",
        info.id,
        decision.method,
        ", ".join(unable),
        " and ".join(NEEDS[decision.method]),
    )
    return _replace_reason(
        decision, decision.reason + f"; fallback {', '.join(unable)} cannot serve it"
    )
