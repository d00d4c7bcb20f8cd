"""What the emulated OpenRouter checks before a request reaches a provider: ``require_parameters``.

With ``provider.require_parameters: true`` OpenRouter routes only to endpoints whose
``supported_parameters`` list every parameter of the request, and answers 404 "No endpoints found
that can handle the requested parameters." when none does — for the main model and every
fallback in ``models``. The emulator does the same, endpoint by endpoint, so a client that sends
a parameter the model does not list (``parallel_tool_calls`` on Claude, ``response_format`` on a
tools-only model) fails here as it would against the real service.

The parameter vocabulary is the endpoints' own (OpenRouter's ``Parameter`` enum). The candidate
endpoints are those ``provider.only`` / ``provider.ignore`` allow. When they leave none, for the
main model and every fallback, the answer is OpenRouter's 404 "No allowed providers are
available for the selected model. Providers serving <model>: <slugs>, but your request's
provider.only preference permits only: <entries>." (the client checks this before sending,
when it can read ``/endpoints``). Pure functions over the request body and endpoint records.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = [
    "NO_ALLOWED_PROVIDERS_MESSAGE",
    "REQUIRED_PARAMETERS_MESSAGE",
    "candidate_endpoints",
    "first_servable_model",
    "request_parameters",
    "route",
    "unsupported_parameters",
]

REQUIRED_PARAMETERS_MESSAGE = "No endpoints found that can handle the requested parameters."
NO_ALLOWED_PROVIDERS_MESSAGE = "No allowed providers are available for the selected model."

# body keys that are parameters in the endpoints' vocabulary, checked by name
_PLAIN = (
    "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
    "repetition_penalty", "logit_bias", "logprobs", "top_logprobs", "prediction", "seed", "stop",
    "tools", "tool_choice", "parallel_tool_calls", "reasoning_effort", "web_search_options",
    "verbosity", "include_reasoning",
)  # fmt: skip
# names an endpoint may list instead (the same capability under another name)
_SAME = {
    "max_tokens": ("max_tokens", "max_completion_tokens"),
    "max_completion_tokens": ("max_completion_tokens", "max_tokens"),
    "reasoning": ("reasoning", "include_reasoning"),
    "include_reasoning": ("include_reasoning", "reasoning"),
}


def request_parameters(body: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each parameter the request uses -> the ``supported_parameters`` names that accept it."""
    found: dict[str, tuple[str, ...]] = {}
    for key in (*_PLAIN, "max_tokens", "max_completion_tokens", "reasoning"):
        if body.get(key) is not None:
            found[key] = _SAME.get(key, (key,))
    response_format = body.get("response_format")
    if isinstance(response_format, Mapping):
        if response_format.get("type") == "json_schema":
            found["structured_outputs"] = ("structured_outputs",)
        found["response_format"] = ("response_format", "structured_outputs")
    return found


def unsupported_parameters(body: Mapping[str, Any], listed: Sequence[str]) -> list[str]:
    """The request's parameters one endpoint (listing ``listed``) cannot handle."""
    names = set(listed)
    return sorted(p for p, ok in request_parameters(body).items() if not names & set(ok))


def _names(endpoint: Mapping[str, Any]) -> set[str]:
    tag = str(endpoint.get("tag") or "").lower()
    display = str(endpoint.get("provider_name") or "").lower()
    return {n for n in (tag, tag.split("/", 1)[0], display, display.replace(" ", "-")) if n}


def _matches(endpoint: Mapping[str, Any], entries: Any) -> bool:
    wanted = {str(e).strip().lower() for e in entries or () if isinstance(e, str)}
    return bool(_names(endpoint) & wanted)


def candidate_endpoints(
    body: Mapping[str, Any], endpoints: Sequence[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The endpoints ``provider.only`` / ``provider.ignore`` allow (possibly none)."""
    prefs = body.get("provider")
    selected = list(endpoints)
    if not isinstance(prefs, Mapping):
        return selected
    if prefs.get("only"):
        selected = [e for e in selected if _matches(e, prefs["only"])]
    if prefs.get("ignore"):
        selected = [e for e in selected if not _matches(e, prefs["ignore"])]
    return selected


def route(
    body: Mapping[str, Any],
    model_ids: Sequence[str],
    endpoints_of: Callable[[str], Sequence[Mapping[str, Any]] | None],
) -> tuple[str | None, str]:
    """(the model that serves, "") or (None, the 404 message OpenRouter answers).

    The first of ``model_ids`` (the main model, then the fallbacks) with an endpoint that
    ``only`` / ``ignore`` allow and, under ``require_parameters``, that handles every parameter.
    ``endpoints_of`` gives a model's endpoint records (None: an unknown model, skipped).
    """
    prefs = body.get("provider")
    strict = isinstance(prefs, Mapping) and prefs.get("require_parameters") is True
    some_allowed = False
    refused: list[str] = []
    for model_id in model_ids:
        endpoints = endpoints_of(model_id)
        if endpoints is None:
            continue
        candidates = candidate_endpoints(body, endpoints)
        if not candidates:
            refused.append(_refusal(model_id, endpoints, prefs))
            continue
        some_allowed = True
        if not strict:
            return model_id, ""
        for endpoint in candidates:
            if not unsupported_parameters(body, endpoint.get("supported_parameters") or []):
                return model_id, ""
    if some_allowed:
        return None, REQUIRED_PARAMETERS_MESSAGE
    return None, " ".join([NO_ALLOWED_PROVIDERS_MESSAGE, *refused[:1]])


def _refusal(model_id: str, endpoints: Sequence[Mapping[str, Any]], prefs: Any) -> str:
    slugs = ", ".join(str(e.get("tag") or e.get("provider_name")) for e in endpoints)
    if prefs.get("only"):
        which = f"provider.only preference permits only: {', '.join(map(str, prefs['only']))}"
    else:
        which = f"provider.ignore preference excludes: {', '.join(map(str, prefs['ignore']))}"
    return f"Providers serving {model_id}: {slugs}, but your request's {which}."


def first_servable_model(
    body: Mapping[str, Any],
    model_ids: Sequence[str],
    endpoints_of: Callable[[str], Sequence[Mapping[str, Any]] | None],
) -> str | None:
    """The model :func:`route` serves the request with, or None when it answers 404."""
    return route(body, model_ids, endpoints_of)[0]
