"""Every typed request setting, declared once: :class:`SettingFields` (the model's constructor
fields) and :class:`RequestSettings` (one call's settings), and the name tables the readers use."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from ..caching import CacheFields
from ..routing import RoutingFields, refuse_bool

__all__ = [
    "CALL_ONLY_NAMES",
    "GROUPED",
    "SETTING_NAMES",
    "WIRE_NAMES",
    "RequestSettings",
    "SettingFields",
    "Trace",
    "Verbosity",
]

Verbosity = Literal["low", "medium", "high", "xhigh", "max"]

_PARAMETERS_DOCS = "https://openrouter.ai/docs/api-reference/parameters"
_METADATA_LIMITS = (16, 64, 512)  # pairs, key length, value length


class Trace(BaseModel):
    """``trace``: observability ids forwarded to broadcast destinations (Langfuse, ...).

    The known keys are typed; other keys are passed through as given (they must be JSON).
    https://openrouter.ai/docs/guides/features/broadcast
    """

    model_config = ConfigDict(frozen=True, extra="allow", defer_build=True)

    trace_id: str | None = None
    """Groups the calls of one trace."""
    trace_name: str | None = None
    """A name for the trace."""
    span_name: str | None = None
    """The span this call belongs to."""
    generation_name: str | None = None
    """A name for this generation."""
    parent_span_id: str | None = None
    """The parent span of this call."""

    def to_wire(self) -> dict[str, Any]:
        return {k: v for k, v in self.model_dump().items() if v is not None}


# numeric settings: pydantic would read True as 1 (temperature=True is a mistake, not 1.0)
_NUMBERS = (
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "top_k", "frequency_penalty",
    "presence_penalty", "repetition_penalty", "min_p", "top_a", "seed", "top_logprobs",
)  # fmt: skip


class SettingFields(RoutingFields, CacheFields):
    """Every typed request setting: declared once, inherited by ``ChatOpenRouter`` (its
    constructor fields) and by :class:`RequestSettings` (one call's settings). The routing
    fields come from ``routing.RoutingFields``, the caching ones from ``caching.CacheFields``."""

    model_config = ConfigDict(defer_build=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    """Sampling temperature, 0 to 2."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Upper bound of the completion length, in tokens."""
    max_completion_tokens: int | None = Field(default=None, gt=0)
    """The newer spelling of ``max_tokens`` (set one of them); sent under this name."""
    top_p: float | None = Field(default=None, ge=0, le=1)
    top_k: int | None = Field(default=None, ge=0)
    frequency_penalty: float | None = Field(default=None, ge=-2, le=2)
    presence_penalty: float | None = Field(default=None, ge=-2, le=2)
    repetition_penalty: float | None = Field(default=None, gt=0, le=2)
    min_p: float | None = Field(default=None, ge=0, le=1)
    top_a: float | None = Field(default=None, ge=0, le=1)
    seed: int | None = None
    stop: list[str] | str | None = Field(
        default=None, validation_alias=AliasChoices("stop", "stop_sequences")
    )
    """Stop sequences (a string or a list of strings)."""
    logit_bias: dict[str, float] | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = Field(default=None, ge=0, le=20)

    user: str | None = Field(default=None, min_length=1, max_length=128)
    """A stable id of your end user (at most 128 characters), for abuse detection and
    broadcast. https://openrouter.ai/docs/guides/features/broadcast"""
    session_id: str | None = Field(default=None, min_length=1, max_length=256)
    """Groups the calls of one conversation (at most 256 characters): the sticky-routing key of
    prompt caching, and log grouping.
    https://openrouter.ai/docs/guides/best-practices/prompt-caching"""
    trace: Trace | None = None
    """Observability ids (``trace_id``, ``span_name`` ...), a ``Trace`` or a dict.
    https://openrouter.ai/docs/guides/features/broadcast"""
    request_metadata: dict[str, str] | None = None
    """OpenRouter's request-body ``metadata``: at most 16 string pairs, keys up to 64
    characters, values up to 512; sent as ``"metadata"``. It has another name here because
    every LangChain chat model already has a ``metadata`` field, for tracing (LangSmith tags),
    which is never sent: ``ChatOpenRouter(metadata=...)`` and ``.with_config(metadata=...)`` tag
    runs, ``request_metadata=`` (constructor, ``bind``, per call) or
    ``model_kwargs={"metadata": ...}`` goes in the request.
    https://openrouter.ai/docs/api-reference/parameters"""
    verbosity: Verbosity | None = None
    """How long and detailed the answer should be: ``"low"`` ... ``"max"`` (default medium).
    https://openrouter.ai/docs/api-reference/parameters"""

    @field_validator("stop", mode="before")
    @classmethod
    def _stop_type(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, list, tuple)):
            raise ValueError("a string or a list of strings is expected, e.g. ['END']")
        return list(value) if isinstance(value, tuple) else value

    @field_validator("stop", mode="after")
    @classmethod
    def _stop_sequences(cls, value: list[str] | str | None) -> list[str] | str | None:
        if value == "" or (isinstance(value, list) and any(not s for s in value)):
            raise ValueError("stop sequences must be non-empty strings")
        return value

    @field_validator(*_NUMBERS, mode="before")
    @classmethod
    def _not_a_bool(cls, value: Any) -> Any:
        return refuse_bool(value)

    @field_validator("user", "session_id", mode="after")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("request_metadata", mode="after")
    @classmethod
    def _metadata_limits(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is None:
            return None
        pairs, key_max, value_max = _METADATA_LIMITS
        if len(value) > pairs:
            raise ValueError(f"at most {pairs} pairs (got {len(value)})")
        for key, item in value.items():
            if not key or len(key) > key_max:
                raise ValueError(f"key {key[:80]!r}: keys are 1 to {key_max} characters")
            if len(item) > value_max:
                raise ValueError(f"value of {key!r}: at most {value_max} characters")
        return value

    @model_validator(mode="after")
    def _one_output_cap(self) -> Any:
        if self.max_tokens is not None and self.max_completion_tokens is not None:
            raise ValueError(
                "max_tokens and max_completion_tokens are the same cap: set one of them "
                f"(got max_tokens={self.max_tokens}, "
                f"max_completion_tokens={self.max_completion_tokens})."
            )
        return self


class RequestSettings(SettingFields):
    """One layer of settings (a call's, or the combined result): only the keys given are set."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True, populate_by_name=True)

    response_cache_clear: bool | None = None
    """Per call only: drop the stored answer first, fetch a fresh one and store it
    (``X-OpenRouter-Cache-Clear``). https://openrouter.ai/docs/guides/features/response-caching"""


#: every typed setting name of the model (constructor fields)
SETTING_NAMES: frozenset[str] = frozenset(SettingFields.model_fields)
#: settings a call (or bind) may give that the model itself has no field for
CALL_ONLY_NAMES: frozenset[str] = frozenset(RequestSettings.model_fields) - SETTING_NAMES
#: wire (request-body) names that differ from the field name -> the field
WIRE_NAMES: dict[str, str] = {"metadata": "request_metadata", "stop_sequences": "stop"}
#: settings that are one choice: a layer giving one member replaces every member below it
GROUPED: tuple[frozenset[str], ...] = (
    frozenset({"reasoning_effort", "reasoning_max_tokens"}),
    frozenset({"max_tokens", "max_completion_tokens"}),
)
