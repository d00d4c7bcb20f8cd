"""Routing checked against the catalog: reasoning support and efforts of the model, fallback
ids, Anthropic's manual thinking, and the sampling parameters a model does not list."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ModelNotFoundError
from .preferences import REASONING_EFFORTS

if TYPE_CHECKING:
    from ..catalog import ModelInfo
    from .preferences import Profile

__all__ = [
    "SAMPLING_PARAMETERS",
    "check_fallback_model",
    "filter_supported_params",
    "manual_thinking",
    "validate_profile",
]

logger = logging.getLogger(__name__)

#: request parameters dropped when the model does not list them (OpenRouter would ignore them,
#: or find no endpoint at all when ``provider.require_parameters`` is set)
SAMPLING_PARAMETERS = frozenset({
    "temperature", "top_p", "top_k", "min_p", "top_a", "frequency_penalty", "presence_penalty",
    "repetition_penalty", "seed", "stop", "logit_bias", "logprobs", "top_logprobs", "max_tokens",
    "max_completion_tokens",
})  # fmt: skip
# either spelling of the output cap is accepted by a model that lists one of them
_SAME_AS = {"max_tokens": "max_completion_tokens", "max_completion_tokens": "max_tokens"}


class _Catalog(Protocol):
    def get(self, model_id: str) -> ModelInfo: ...


def validate_profile(
    profile: Profile, info: ModelInfo, catalog: _Catalog | None = None, *, name: str | None = None
) -> None:
    """Check a profile against the model's catalog entry (and fallback ids against the catalog).

    ``name`` (the profile's key in ``profiles``) prefixes the messages. Call it before the first
    request; it makes no request itself unless ``catalog`` is not loaded yet.

    Raises:
        ValueError: reasoning asked of a model without reasoning, an effort the model does not
            accept, ``reasoning_max_tokens`` where the model takes only efforts.
        ModelNotFoundError: a ``models`` id is not in the catalog (with close ids).
    """
    where = f"profiles[{name!r}]." if name else ""
    _check_reasoning(profile, info, where)
    if catalog is None:
        return
    for index, model_id in enumerate(profile.models or ()):
        try:
            catalog.get(model_id)
        except ModelNotFoundError as exc:
            raise _fallback_not_found(where, index, model_id, exc) from None


async def check_fallback_model(
    index: int, model_id: str, aget: Callable[[str], Awaitable[ModelInfo]], where: str = ""
) -> None:
    """The async form of :func:`validate_profile`'s fallback-id check, for one id."""
    try:
        await aget(model_id)
    except ModelNotFoundError as exc:
        raise _fallback_not_found(where, index, model_id, exc) from None


def _fallback_not_found(
    where: str, index: int, model_id: str, exc: ModelNotFoundError
) -> ModelNotFoundError:
    return ModelNotFoundError(
        f"{where}models[{index}]={model_id!r}: {exc.message}", suggestions=exc.suggestions
    )


def _check_reasoning(profile: Profile, info: ModelInfo, where: str) -> None:
    effort, budget = profile.reasoning_effort, profile.reasoning_max_tokens
    if effort is None and budget is None:
        return
    field = f"{where}reasoning_effort={effort!r}" if effort else f"{where}reasoning_max_tokens"
    if not info.supports_reasoning:
        if effort == "none":
            return  # asks for no reasoning: already the case
        raise ValueError(
            f"{field}: model {info.id!r} does not support reasoning (its catalog entry lists "
            "no 'reasoning' parameter). Remove the setting, or choose a model whose "
            "supported_parameters include 'reasoning'."
        )
    if effort is not None:
        allowed = _allowed_efforts(info)
        if effort not in allowed:
            why = " (it always reasons: 'none' cannot turn it off)" if effort == "none" else ""
            raise ValueError(
                f"{field}: model {info.id!r} does not accept this effort{why}; allowed values: "
                f"{_quoted(allowed)}."
            )
    elif info.reasoning_supports_max_tokens is False:
        raise ValueError(
            f"{field}={budget}: model {info.id!r} takes a reasoning effort, not a token budget; "
            f"use reasoning_effort with one of: {_quoted(_allowed_efforts(info))}."
        )


def _quoted(values: tuple[str, ...]) -> str:
    return ", ".join(repr(v) for v in values)


def _allowed_efforts(info: ModelInfo) -> tuple[str, ...]:
    listed = info.reasoning_efforts or REASONING_EFFORTS
    if info.reasoning_mandatory:
        return tuple(e for e in listed if e != "none")
    return tuple(listed) if "none" in listed else (*listed, "none")


_ANTHROPIC = ("anthropic/", "~anthropic/")
# Claude models with adaptive thinking, where an effort is not a manual budget: 4.6 and later
_ADAPTIVE_FROM = (4, 6)
_CLAUDE_VERSION = re.compile(r"claude-(?:opus|sonnet|haiku)-(\d+)(?:\.(\d+))?")


def manual_thinking(
    model_id: str, reasoning_effort: str | None, reasoning_max_tokens: int | None
) -> str | None:
    """The setting that turns on Anthropic's manual (budgeted) thinking for ``model_id``, or None.

    Anthropic rejects a forced tool choice (``tool_choice`` required or naming a tool) while
    manual thinking is on: ``reasoning.max_tokens``, or an effort on a model without adaptive
    thinking (before Claude 4.6, where OpenRouter turns the effort into a budget). A
    ``~anthropic/...-latest`` alias is taken to be adaptive (it follows the newest models).
    """
    if not model_id.startswith(_ANTHROPIC):
        return None
    if reasoning_max_tokens is not None:
        return f"reasoning_max_tokens={reasoning_max_tokens}"
    if reasoning_effort in (None, "none") or model_id.startswith("~"):
        return None
    match = _CLAUDE_VERSION.search(model_id)
    version = (int(match.group(1)), int(match.group(2) or 0)) if match else (0, 0)
    if version >= _ADAPTIVE_FROM:
        return None
    return f"reasoning_effort={reasoning_effort!r} (a thinking budget on {model_id})"


def filter_supported_params(
    params: Mapping[str, Any], info: ModelInfo, *, strict: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split request parameters into (kept, dropped) by the model's ``supported_parameters``.

    Only :data:`SAMPLING_PARAMETERS` are ever dropped; other keys pass through. A model whose
    entry lists no parameters at all is not filtered (the catalog knows nothing) unless
    ``strict`` (the request asks ``require_parameters``: OpenRouter then takes the list as it
    is). Values are not judged: ``temperature=0.0`` is kept wherever ``temperature`` is listed.
    """
    supported = info.supported_parameters
    if not supported and not strict:
        return dict(params), {}
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for key, value in params.items():
        if key not in SAMPLING_PARAMETERS or _listed(key, supported):
            kept[key] = value
        else:
            dropped[key] = value
    if dropped:
        logger.debug(
            "%s does not list %s in supported_parameters; not sent", info.id, sorted(dropped)
        )
    return kept, dropped


def _listed(key: str, supported: frozenset[str]) -> bool:
    return key in supported or _SAME_AS.get(key, "") in supported
