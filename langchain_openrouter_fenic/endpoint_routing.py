"""Which of a model's endpoints the ``provider`` preferences allow, and whether the provider
names given exist at all (pure functions over ``/endpoints`` records; I/O injected).

OpenRouter matches ``only`` / ``ignore`` / ``order`` entries against each endpoint's slug: the
full tag (``deepinfra/turbo``) or its base slug (``deepinfra``); the display name
(``DeepInfra``) is accepted too, case-insensitively. A misspelt name fails quietly:
``exclude=["Azzure"]`` excludes nothing, ``order=["Azzure"]`` orders nothing, and
``only=["OpenAl"]`` allows nothing (OpenRouter answers 404 "No allowed providers are available
for the selected model" when no other entry allows an endpoint). :func:`check_routing` therefore

- logs a WARNING for every entry that matches no provider of the model (nor of a fallback in
  ``models``), naming the close match;
- raises :class:`~langchain_openrouter_fenic.errors.NoAllowedProvidersError`, before any
  request, when the routing leaves no endpoint of the model and of every fallback, listing
  the providers there are. When only the main model is left without one, it warns: OpenRouter
  goes on to the fallbacks.

The filters applied are every one ``/endpoints`` has data for (:func:`allowed_endpoints`):
``only``, ``exclude``, ``order`` with ``allow_fallbacks=False``, ``quantizations`` (``fp8``
also matches ``mxfp8``; ``fp4`` also ``mxfp4`` and ``nvfp4``) and ``max_price`` (``prompt`` /
``completion`` per million tokens, ``request`` / ``image`` / ``audio`` per unit).
``data_collection``, ``zdr`` and ``enforce_distillable_text`` restrict too, but endpoints do not
publish what they would need; ``sort`` and the ``preferred_*`` cutoffs only reorder.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from .errors import NoAllowedProvidersError

if TYPE_CHECKING:
    from .catalog import EndpointInfo
    from .routing import ProviderPreferences

__all__ = [
    "UnmatchedName",
    "acheck_routing",
    "allowed_endpoints",
    "check_routing",
    "checks_endpoints",
    "judge_routing",
    "provider_list",
    "routing_restrictions",
    "unmatched_names",
]

logger = logging.getLogger(__name__)

_PER_MILLION = 1_000_000
# a quantization entry -> the endpoint quantizations it matches (OpenRouter's families)
_QUANTIZATION_FAMILIES = {"fp8": {"fp8", "mxfp8"}, "fp4": {"fp4", "mxfp4", "nvfp4"}}
_NAME_FIELDS: tuple[Literal["only", "exclude", "order"], ...] = ("only", "exclude", "order")
_WIRE_NAME = {"only": "only", "exclude": "exclude (sent as ignore)", "order": "order"}
_NO_EFFECT = {"only": "allows nothing", "exclude": "excludes nothing", "order": "orders nothing"}

#: a model's endpoints, or None when they are not known (offline, the request failed)
Endpoints = Sequence["EndpointInfo"] | None


# --------------------------------------------------------------------------------------------
# the filters


def routing_restrictions(prefs: ProviderPreferences | None) -> list[str]:
    """The provider preferences that restrict WHICH endpoints may serve, as ``key=value`` labels.

    Only restrictions visible in ``/endpoints`` data count (see the module docstring).
    """
    if prefs is None:
        return []
    found: list[str] = []
    if prefs.only:
        found.append(f"only={list(prefs.only)}")
    if prefs.exclude:
        found.append(f"exclude={list(prefs.exclude)}")
    if prefs.order and prefs.allow_fallbacks is False:
        found.append(f"order={list(prefs.order)} without fallbacks")
    if prefs.quantizations:
        found.append(f"quantizations={list(prefs.quantizations)}")
    if prefs.max_prompt_price is not None:
        found.append(f"max_prompt_price={prefs.max_prompt_price}")
    if prefs.max_completion_price is not None:
        found.append(f"max_completion_price={prefs.max_completion_price}")
    caps = prefs.max_price
    for unit in ("request", "image", "audio"):
        if caps is not None and getattr(caps, unit) is not None:
            found.append(f"max_price.{unit}={getattr(caps, unit)}")
    return found


def checks_endpoints(prefs: ProviderPreferences | None) -> bool:
    """Whether ``/endpoints`` can tell something about this routing: it restricts endpoints,
    or names providers (an ``order`` entry can be misspelt too)."""
    return bool(routing_restrictions(prefs)) or bool(prefs is not None and prefs.order)


def _names_of(endpoint: EndpointInfo) -> set[str]:
    """Every spelling a routing entry may use for ``endpoint``: tag, base slug, display name."""
    names: set[str] = set()
    if endpoint.tag:
        tag = endpoint.tag.lower()
        names |= {tag, tag.split("/", 1)[0]}
    if endpoint.provider_name:
        display = endpoint.provider_name.lower()
        names |= {display, display.replace(" ", "-"), display.replace(" ", "")}
    return names


def _matches(endpoint: EndpointInfo, entries: Iterable[str]) -> bool:
    names = _names_of(endpoint)
    return any(entry.strip().lower() in names for entry in entries)


def _quantization_matches(endpoint: EndpointInfo, wanted: Iterable[str]) -> bool:
    served = (endpoint.quantization or "unknown").lower()
    return any(served in _QUANTIZATION_FAMILIES.get(q.lower(), {q.lower()}) for q in wanted)


def _within(price: float | None, cap: float | None, per: int = 1) -> bool:
    """``price`` (USD per token or per unit) within ``cap`` (USD per ``per`` of them); an
    endpoint without the price is not filtered."""
    if cap is None or price is None:
        return True
    # round away float noise such as 2.5000000000000004
    return round(price * per, 9) <= cap


def _within_caps(endpoint: EndpointInfo, prefs: ProviderPreferences) -> bool:
    caps = prefs.max_price
    return (
        _within(endpoint.prompt_price, prefs.max_prompt_price, _PER_MILLION)
        and _within(endpoint.completion_price, prefs.max_completion_price, _PER_MILLION)
        and (
            caps is None
            or (
                _within(endpoint.request_price, caps.request)
                and _within(endpoint.image_price, caps.image)
                and _within(endpoint.audio_price, caps.audio)
            )
        )
    )


def allowed_endpoints(
    endpoints: Iterable[EndpointInfo], prefs: ProviderPreferences | None
) -> list[EndpointInfo]:
    """The endpoints the routing lets OpenRouter use, in their original order.

    Applies ``only``, ``exclude``, ``order`` when ``allow_fallbacks`` is False, ``quantizations``
    (an endpoint without one counts as ``"unknown"``) and every ``max_price`` cap. Entries match
    an endpoint's tag (``deepinfra/turbo``), its base slug (``deepinfra``) or its display name
    (``DeepInfra``).
    """
    selected = list(endpoints)
    if prefs is None:
        return selected
    if prefs.only:
        selected = [e for e in selected if _matches(e, prefs.only)]
    if prefs.exclude:
        selected = [e for e in selected if not _matches(e, prefs.exclude)]
    if prefs.order and prefs.allow_fallbacks is False:
        selected = [e for e in selected if _matches(e, prefs.order)]
    if prefs.quantizations:
        wanted = prefs.quantizations
        selected = [e for e in selected if _quantization_matches(e, wanted)]
    return [e for e in selected if _within_caps(e, prefs)]


# --------------------------------------------------------------------------------------------
# names that match no provider


@dataclass(frozen=True)
class UnmatchedName:
    """A provider entry of ``only`` / ``exclude`` / ``order`` that names no endpoint.

    Attributes:
        field: the ``ProviderPreferences`` field it is in.
        entry: the entry as given.
        close: the closest provider name of the model's endpoints, if any is close.
    """

    field: Literal["only", "exclude", "order"]
    entry: str
    close: str | None

    def describe(self) -> str:
        hint = f" (did you mean {self.close!r}?)" if self.close else ""
        return (
            f"provider.{_WIRE_NAME[self.field]} entry {self.entry!r}{hint} matches no provider, "
            f"so it {_NO_EFFECT[self.field]}"
        )


def unmatched_names(
    endpoints: Sequence[EndpointInfo], prefs: ProviderPreferences | None
) -> list[UnmatchedName]:
    """The ``only`` / ``exclude`` / ``order`` entries no endpoint of ``endpoints`` answers to."""
    if prefs is None or not endpoints:
        return []
    spellings: dict[str, str] = {}  # lower-case spelling -> the name to suggest
    for e in endpoints:
        for name in (e.provider_name, e.tag, (e.tag or "").split("/", 1)[0]):
            if name:
                spellings.setdefault(name.lower(), name)
    found = []
    for field in _NAME_FIELDS:
        for entry in getattr(prefs, field) or ():
            if any(_matches(e, [entry]) for e in endpoints):
                continue
            close = difflib.get_close_matches(entry.strip().lower(), list(spellings), n=1)
            found.append(UnmatchedName(field, entry, spellings[close[0]] if close else None))
    return found


def provider_list(endpoints: Sequence[EndpointInfo], *, prices: bool = False) -> str:
    """``OpenAI (openai), DeepInfra (deepinfra/turbo, fp8)``: the names a routing entry may use,
    the quantization where the tag does not show it, and with ``prices`` the prompt and
    completion prices in USD per million tokens."""
    parts = []
    for e in endpoints:
        details = [e.tag] if e.tag else []
        if e.quantization and e.quantization not in (e.tag or "").split("/"):
            details.append(e.quantization)
        if prices and e.prompt_price is not None and e.completion_price is not None:
            prompt, completion = (
                round(p * _PER_MILLION, 6) for p in (e.prompt_price, e.completion_price)
            )
            details.append(f"${prompt:g}/${completion:g} per M")
        parts.append(f"{e.provider_name} ({', '.join(details)})" if details else e.provider_name)
    return ", ".join(parts) or "none"


# --------------------------------------------------------------------------------------------
# the check: pure judgement, then the loading around it (sync and async)


def _fallbacks_needed(endpoints: Endpoints, prefs: ProviderPreferences | None) -> bool:
    """Whether the fallbacks' endpoints can change the verdict on the main model's."""
    if not endpoints:
        return False
    return bool(unmatched_names(endpoints, prefs)) or not allowed_endpoints(endpoints, prefs)


def judge_routing(
    model_id: str,
    prefs: ProviderPreferences | None,
    endpoints_of: Mapping[str, Endpoints],
    fallback_ids: Sequence[str] = (),
) -> list[str]:
    """The WARNING lines for ``prefs`` over the chain ``model_id`` + ``fallback_ids``.

    ``endpoints_of`` holds the endpoints known per model id (None or absent: unknown, so not
    judged; the fallbacks' may be absent when the main model's settle everything).

    Raises:
        NoAllowedProvidersError: no model of the chain keeps an endpoint.
    """
    main = endpoints_of.get(model_id)
    if not main:  # unknown, or /endpoints lists none: nothing to judge by
        return []
    chain = [(m, endpoints_of.get(m)) for m in (model_id, *fallback_ids)]
    known = [e for _m, listed in chain if listed for e in listed]
    # a fallback whose endpoints are not known may be the one a name is meant for
    unreadable = any(endpoints_of.get(m) is None for m in fallback_ids)
    warnings = [
        f"{name.describe()}: the providers of {_chain_label(model_id, fallback_ids)} are "
        f"{provider_list(known)}."
        for name in ([] if unreadable else unmatched_names(known, prefs))
    ]
    if allowed_endpoints(main, prefs):
        return warnings
    served = [m for m, listed in chain[1:] if listed is None or allowed_endpoints(listed, prefs)]
    if served:
        warnings.append(
            f"provider {', '.join(routing_restrictions(prefs))} leaves no endpoint of "
            f"{model_id} (providers: {provider_list(main)}); OpenRouter will go straight to the "
            f"fallback model(s) {', '.join(served)}."
        )
        return warnings
    raise NoAllowedProvidersError(_no_endpoint_message(prefs, chain))


def _chain_label(model_id: str, fallback_ids: Sequence[str]) -> str:
    return model_id + (f" or its fallbacks {', '.join(fallback_ids)}" if fallback_ids else "")


def _no_endpoint_message(
    prefs: ProviderPreferences | None, chain: Sequence[tuple[str, Endpoints]]
) -> str:
    priced = prefs is not None and prefs.max_price is not None
    listed = "; ".join(f"{m}: {provider_list(e or [], prices=priced)}" for m, e in chain)
    known = [e for _m, endpoints in chain if endpoints for e in endpoints]
    unmatched = unmatched_names(known, prefs)
    names = "".join(f" {n.describe()}." for n in unmatched)
    fix = "Fix the provider names, or relax" if unmatched else "Relax"
    return (
        f"provider {', '.join(routing_restrictions(prefs))} leaves no endpoint to serve the "
        f"request, so OpenRouter would answer 404; nothing was sent. The providers are "
        f"({listed}).{names} {fix} only / exclude / order / quantizations / max_price."
    )


Loader = Callable[[str], "Sequence[EndpointInfo]"]


def _safe(load: Loader, model_id: str) -> Endpoints:
    try:
        return load(model_id)
    except Exception as exc:  # the request itself may still work: not judged
        logger.debug("Routing not checked against %s's endpoints: %s", model_id, exc)
        return None


async def _asafe(
    load: Callable[[str], Awaitable[Sequence[EndpointInfo]]], model_id: str
) -> Endpoints:
    try:
        return await load(model_id)
    except Exception as exc:
        logger.debug("Routing not checked against %s's endpoints: %s", model_id, exc)
        return None


def check_routing(
    model_id: str,
    prefs: ProviderPreferences | None,
    fallback_ids: Sequence[str],
    load: Loader,
) -> list[str]:
    """:func:`judge_routing` with the endpoints fetched by ``load`` (the main model's, and the
    fallbacks' only when they can change the verdict); a failed fetch is not judged."""
    if not checks_endpoints(prefs):
        return []
    known: dict[str, Endpoints] = {model_id: _safe(load, model_id)}
    if fallback_ids and _fallbacks_needed(known[model_id], prefs):
        known.update((m, _safe(load, m)) for m in fallback_ids)
    return judge_routing(model_id, prefs, known, fallback_ids)


async def acheck_routing(
    model_id: str,
    prefs: ProviderPreferences | None,
    fallback_ids: Sequence[str],
    aload: Callable[[str], Awaitable[Sequence[EndpointInfo]]],
) -> list[str]:
    """:func:`check_routing` with an async ``aload``."""
    if not checks_endpoints(prefs):
        return []
    known: dict[str, Endpoints] = {model_id: await _asafe(aload, model_id)}
    if fallback_ids and _fallbacks_needed(known[model_id], prefs):
        for m in fallback_ids:
            known[m] = await _asafe(aload, m)
    return judge_routing(model_id, prefs, known, fallback_ids)
