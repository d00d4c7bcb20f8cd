"""The chat-completions request body, built from plain data (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..routing import SAMPLING_PARAMETERS, filter_supported_params

if TYPE_CHECKING:
    from ..catalog import ModelInfo
    from ..routing import Profile

__all__ = ["build_body"]

# keys LangChain passes to _generate that are for tracing only, never for the wire
_LOCAL_ONLY_KEYS = frozenset({"ls_structured_output_format"})


def build_body(
    *,
    model: str,
    messages: list[dict[str, Any]],
    sampling: Mapping[str, Any],
    profile: Profile,
    info: ModelInfo | None,
    model_kwargs: Mapping[str, Any],
    call_kwargs: Mapping[str, Any],
    stream: bool,
) -> dict[str, Any]:
    """Merge, lowest precedence first: sampling fields, the routing profile, ``model_kwargs``,
    per-call kwargs (``bind``, ``bind_tools``, ``with_structured_output``, ``invoke(..., x=)``).

    Sampling parameters the catalog says the model does not support are left out (debug log):
    OpenRouter would drop them silently, or refuse the request when ``require_parameters`` is set.
    """
    call = {k: v for k, v in call_kwargs.items() if k not in _LOCAL_ONLY_KEYS}
    require_parameters = call.pop("require_parameters", None)
    merged_sampling = {
        **sampling,
        **{k: call.pop(k) for k in list(call) if k in SAMPLING_PARAMETERS},
    }
    merged_sampling = {k: v for k, v in merged_sampling.items() if v is not None}
    if info is not None:
        merged_sampling, _dropped = filter_supported_params(merged_sampling, info)
    body: dict[str, Any] = {"model": model, "messages": messages, **merged_sampling}
    _deep_update(body, profile.to_request_body(info))
    _deep_update(body, dict(model_kwargs))
    _deep_update(body, call)
    if require_parameters:
        body.setdefault("provider", {})["require_parameters"] = True
    if stream:
        body["stream"] = True
    return body


def _deep_update(target: dict[str, Any], extra: Mapping[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(target.get(key), dict):
            _deep_update(target[key], value)
        else:
            target[key] = value
