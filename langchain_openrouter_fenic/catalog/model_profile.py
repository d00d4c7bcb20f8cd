"""``llm.profile``: LangChain's ``ModelProfile`` filled from the model's catalog entry (pure).

Only keys the installed ``langchain_core`` declares are set (LangChain warns about unknown ones),
and only what the catalog actually says: a limit the catalog leaves out stays absent rather than
guessed.
"""

from __future__ import annotations

import datetime
import functools
from typing import TYPE_CHECKING, Any, cast

from langchain_core.language_models.model_profile import ModelProfile

if TYPE_CHECKING:
    from ..catalog import ModelInfo

__all__ = ["model_profile_from_info"]


@functools.lru_cache(maxsize=1)
def _declared_keys() -> frozenset[str]:
    return frozenset(ModelProfile.__annotations__)


def model_profile_from_info(info: ModelInfo) -> ModelProfile:
    """The ``ModelProfile`` of one catalog entry.

    Inputs come from ``architecture.input_modalities`` (``file`` means PDF and other documents),
    capabilities from ``supported_parameters``: ``tools`` -> tool_calling, ``tool_choice`` ->
    tool_choice, ``structured_outputs`` (json_schema) -> structured_output, ``temperature``,
    and reasoning from ``reasoning``/``include_reasoning`` or a listed effort set.
    """
    inputs, outputs, params = (
        info.input_modalities,
        info.output_modalities,
        info.supported_parameters,
    )
    values: dict[str, Any] = {
        "name": info.name or info.id,
        "max_input_tokens": info.context_length,
        "max_output_tokens": info.max_output_tokens,
        "text_inputs": "text" in inputs,
        "image_inputs": "image" in inputs,
        "image_url_inputs": "image" in inputs,
        "pdf_inputs": "file" in inputs,
        "audio_inputs": "audio" in inputs,
        "video_inputs": "video" in inputs,
        "text_outputs": "text" in outputs,
        "image_outputs": "image" in outputs,
        "audio_outputs": "audio" in outputs,
        "video_outputs": "video" in outputs,
        "reasoning_output": info.supports_reasoning,
        "tool_calling": "tools" in params,
        "tool_choice": "tool_choice" in params,
        "structured_output": "structured_outputs" in params,
        "temperature": "temperature" in params,
    }
    if info.supports_reasoning and info.reasoning_efforts:
        values["reasoning_effort_levels"] = list(info.reasoning_efforts)
        if info.reasoning_default_effort:
            values["reasoning_effort_default"] = info.reasoning_default_effort
    if info.created:
        created = datetime.datetime.fromtimestamp(info.created, tz=datetime.timezone.utc)
        values["release_date"] = created.date().isoformat()
    declared = _declared_keys()
    return cast(
        "ModelProfile", {k: v for k, v in values.items() if v is not None and k in declared}
    )
