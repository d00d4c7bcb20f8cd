"""Every request setting, validated once and mapped once, whichever path it comes in by.

A setting reaches a request by one of these paths, and means the same on each:

- ``ChatOpenRouter(temperature=0.2, provider={...})``: a constructor field;
- ``ChatOpenRouter(model_kwargs={"temperature": 0.2, "provider": {...}})``: moved onto the field
  of the same name at construction (given both ways, it is an error);
- ``configurable_fields(...)``: LangChain builds a new ``ChatOpenRouter``, so the constructor path;
- a :class:`~langchain_openrouter_fenic.routing.Profile`: the routing fields (``models``,
  ``reasoning_effort``, ``reasoning_max_tokens``, ``provider``);
- ``bind(...)``, ``bind_tools``, ``with_structured_output`` and per-call keyword arguments
  (``llm.invoke(x, temperature=0.2, provider={...})``): LangChain merges the bound and the call's
  arguments into one mapping (the call's value replacing the bound one, key by key); that
  mapping is read by :func:`read_call` — at ``bind`` time already, and again for each call.

Every typed setting is a field of :class:`SettingFields`, which ``ChatOpenRouter`` inherits and
:class:`RequestSettings` (one call's settings) is: the same declaration, so the same check,
wherever the value comes from. Other body keys pass through unchanged, except that ``tools`` /
``tool_choice`` / ``parallel_tool_calls`` are checked (``wire.tools``), values must be JSON, and
a near miss of a setting name (``temprature``) is refused with "did you mean".

**How a call combines with the model** (:func:`combine`, the one implementation; documented in
``docs/routing.md``): the model's settings are its constructor fields plus the routing of the
active profile. A setting the call gives replaces the model's; ``None`` removes it for that call.
``reasoning_effort`` and ``reasoning_max_tokens`` are one setting (either replaces both), as are
``max_tokens`` and ``max_completion_tokens``. ``provider`` is combined key by key
(:meth:`~langchain_openrouter_fenic.routing.ProviderPreferences.merged_with`): the call's keys
replace the profile's, the others are kept.

**Adding a request field** (e.g. a new top-level OpenRouter key):

1. Declare it on :class:`SettingFields` with its type, constraints and an attribute docstring
   holding its docs link. ``ChatOpenRouter``, ``model_kwargs``, ``bind`` and per-call arguments
   accept and check it from then on.
2. Map it in :func:`settings_body` if its wire form is not ``{name: value}``; if its wire name is
   not the field name, add the wire name to ``WIRE_NAMES`` (so ``model_kwargs`` may use either).
3. Add its row to ``docs/routing.md`` and its bad values to the paths test
   (``tests/unit_tests/test_settings.py``), which drives each through every path.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .caching import CacheFields, response_cache_headers
from .routing import RoutingFields, refuse_bool, routing_body

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

    from .catalog import ModelInfo
    from .routing import Profile

__all__ = [
    "CALL_ONLY_NAMES",
    "CHECK_TOOL_SUPPORT_KEY",
    "GROUPED",
    "SETTING_NAMES",
    "WIRE_NAMES",
    "CallSettings",
    "RequestSettings",
    "SettingFields",
    "Trace",
    "Verbosity",
    "check_model_id",
    "combine",
    "describe_validation_error",
    "read_call",
    "read_model_kwargs",
    "settings_body",
    "settings_headers",
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
# OpenRouter request keys that are not typed settings but legitimate: never a "near miss"
_KNOWN_WIRE_KEYS = frozenset({
    "tools", "tool_choice", "parallel_tool_calls", "response_format", "plugins", "transforms",
    "modalities", "image_config", "audio", "service_tier", "prediction", "debug",
    "stream_options", "usage", "preset", "prompt_cache_key", "prompt_cache_options",
    "stop_server_tools_when", "web_search_options", "include_reasoning",
    "reasoning", "route", "n", "logprobs",
})  # fmt: skip
_RESERVED = frozenset({"messages", "stream"})
_EXTRA_BODY = "extra_body"
# keys LangChain passes to _generate that are for tracing only, never for the wire
_LOCAL_ONLY_KEYS = frozenset({"ls_structured_output_format"})
# set by with_structured_output: forces provider.require_parameters on for its requests
_REQUIRE_PARAMETERS_KEY = "require_parameters"
#: set by bind_tools inside a running event loop before the catalog is at hand: its check of
#: the model's tool support is made by the request, once the catalog has been awaited
CHECK_TOOL_SUPPORT_KEY = "_check_tool_support"
_REASONING_WIRE_KEYS = {"effort": "reasoning_effort", "max_tokens": "reasoning_max_tokens"}
# LangChain's invoke() passes its own tracing `metadata` on: a bound one would collide with it
_METADATA_HINT = (
    "{where}: `metadata` is LangChain's tracing metadata, which invoke() passes on under that "
    "name. For OpenRouter's request-body `metadata` use request_metadata={{...}} (the same "
    "dict of strings); for tracing metadata use .with_config(metadata={{...}})."
)
_REASONING_FLAGS = ("exclude", "enabled")


@dataclass(frozen=True)
class CallSettings:
    """One call's arguments, read and checked (:func:`read_call`).

    Attributes:
        settings: the typed settings the call gives (only those keys are set).
        body: other request-body keys, checked, sent as given.
        model: a per-call model id override, or None.
        require_parameters: ``with_structured_output`` asked for ``require_parameters``.
        check_tool_support: ``bind_tools`` left its catalog check to the request.
    """

    settings: RequestSettings
    body: dict[str, Any] = field(default_factory=dict)
    model: str | None = None
    require_parameters: bool = False
    check_tool_support: bool = False


def describe_validation_error(
    exc: ValidationError, label: Callable[[str], str] = lambda path: path
) -> str:
    """One line per error: the setting (``label`` of its dotted path), the value given, and
    pydantic's reason (which lists the allowed values)."""
    lines = []
    for error in exc.errors():
        parts = [str(p) for p in error["loc"] if not _is_branch_label(p)]
        head, rest = (parts[0], parts[1:]) if parts else ("", [])
        path = label(head) + "".join(f".{p}" for p in rest) if head else ""
        value = error.get("input")
        shown = repr(value) if len(repr(value)) < 120 else repr(value)[:117] + "..."
        where = f"{path}={shown}" if path else shown
        lines.append(f"{where}: {error['msg']}")
    return "\n".join(dict.fromkeys(lines))


def _is_branch_label(part: Any) -> bool:
    """pydantic's union branch labels in ``loc`` (``literal['price',...]``, ``float``)."""
    return isinstance(part, str) and (
        "[" in part
        or part in ("float", "int", "str", "bool", "function-after")
        or part[:1].isupper()
    )


def _near_miss(key: str) -> str | None:
    if key in _KNOWN_WIRE_KEYS:
        return None
    names = sorted(SETTING_NAMES | set(WIRE_NAMES))
    close = difflib.get_close_matches(key, names, n=1, cutoff=0.8)
    return WIRE_NAMES.get(close[0], close[0]) if close else None


def _check_json(label: str, value: Any) -> None:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{label}: a value of type {type(value).__name__} cannot be sent as JSON ({exc}); "
            "use str, int, float, bool, None, lists and dicts."
        ) from None


def check_model_id(value: Any, label: str = "model") -> str:
    """A model id must be a non-blank string without surrounding spaces, in a form OpenRouter
    accepts (``catalog.model_ids``); a deprecated variant (``:online``) warns once."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{label}={value!r}: a model id is a non-empty string such as 'openai/gpt-4o-mini' "
            "(https://openrouter.ai/models)."
        )
    if value != value.strip():
        raise ValueError(f"{label}={value!r}: remove the surrounding spaces.")
    from .catalog.model_ids import parse_model_id, warn_deprecated_variants

    try:
        parse_model_id(value)  # `model@preset/slug` and `@preset/slug` are the '@' forms
    except ValueError as exc:
        raise ValueError(f"{label}={exc}") from None
    warn_deprecated_variants(value)
    return value


@dataclass(frozen=True)
class _Source:
    """Where arguments come from, for messages: ``model_kwargs['x']`` or ``invoke(x=...)``;
    ``within`` is the ``extra_body`` the keys were found in."""

    name: str  # "model_kwargs", "bind" or "call"
    within: str = ""

    def label(self, key: str) -> str:
        if self.within:
            return f"{self.within}[{key!r}]"
        if self.name == "model_kwargs":
            return f"model_kwargs[{key!r}]"
        return f"{self.name} argument {key}" if key else f"{self.name} argument"

    def inside(self, key: str) -> _Source:
        return _Source(self.name, self.label(key))


_PER_CALL = _Source("call")


def _split_reasoning(value: Any, source: _Source) -> tuple[dict[str, Any], dict[str, Any]]:
    """The wire spelling ``reasoning={...}``: effort / max_tokens as typed settings, the
    exclude / enabled flags (no typed field) checked and kept as body keys."""
    label = source.label("reasoning")
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{label}={value!r}: use reasoning_effort=... or reasoning_max_tokens=... "
            "(or a dict such as {'effort': 'low', 'exclude': True})."
        )
    typed: dict[str, Any] = {}
    flags: dict[str, Any] = {}
    for key, item in value.items():
        if key in _REASONING_WIRE_KEYS:
            typed[_REASONING_WIRE_KEYS[key]] = item
        elif key in _REASONING_FLAGS and isinstance(item, bool):
            flags[key] = item
        else:
            raise ValueError(
                f"{label}[{key!r}]={item!r}: the reasoning object takes effort, max_tokens, "
                "exclude (bool) and enabled (bool)."
            )
    return typed, flags


def _read(
    values: Mapping[str, Any], source: _Source
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Sort ``values`` into (typed settings, checked body keys, ``model`` / internal keys)."""
    typed: dict[str, Any] = {}
    body: dict[str, Any] = {}
    special: dict[str, Any] = {}

    def put(name: str, value: Any, key: str) -> None:
        if name in typed:
            raise ValueError(f"{source.label(key)}: {name} is given twice; give it once.")
        typed[name] = value

    for key, value in values.items():
        if key == "metadata" and source.name != "model_kwargs" and not source.within:
            raise ValueError(_METADATA_HINT.format(where=source.label(key)))
        name = WIRE_NAMES.get(key, key)
        if name in SETTING_NAMES or (name in CALL_ONLY_NAMES and source.name != "model_kwargs"):
            put(name, value, key)
        elif key in _LOCAL_ONLY_KEYS:
            continue
        elif key in ("model", _REQUIRE_PARAMETERS_KEY, CHECK_TOOL_SUPPORT_KEY):
            special[key] = value
        elif key in _RESERVED:
            raise ValueError(f"{source.label(key)} is set by ChatOpenRouter itself; remove it.")
        elif key == "reasoning":
            more, flags = _split_reasoning(value, source)
            for name, item in more.items():
                put(name, item, key)
            if flags:
                body["reasoning"] = flags
        elif key == _EXTRA_BODY:
            _read_extra_body(value, source, put, body, special)
        else:
            guess = _near_miss(key)
            if guess is not None:
                raise ValueError(
                    f"{source.label(key)}: not a setting; did you mean {guess}? (Other keys are "
                    "sent in the request body as given.)"
                )
            _check_json(source.label(key), value)
            body[key] = value
    return typed, body, special


def _read_extra_body(
    value: Any,
    source: _Source,
    put: Callable[[str, Any, str], None],
    body: dict[str, Any],
    special: dict[str, Any],
) -> None:
    """``extra_body={...}`` (the ``ChatOpenAI`` habit): its keys are read as if given
    directly, so ``extra_body={"provider": {...}}`` is checked and mapped as ``provider=``
    is, never sent as a nested ``extra_body`` key that OpenRouter would not read."""
    label = source.label(_EXTRA_BODY)
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{label}={value!r}: a dict of request-body keys is expected, e.g. "
            "{'provider': {'sort': 'price'}}; or give its keys directly."
        )
    typed, more, more_special = _read(value, source.inside(_EXTRA_BODY))
    for name, item in typed.items():
        put(name, item, _EXTRA_BODY)
    for key in [*more, *more_special]:
        if key in body or key in special:
            raise ValueError(f"{label}[{key!r}]: {key} is given twice; give it once.")
    body.update(more)
    special.update(more_special)


def _rebuilt(title: str, exc: ValidationError) -> ValidationError:
    """``exc`` under another title, for a call's or ``bind``'s arguments. Error types that
    pydantic-core cannot rebuild by name (``sequence_str``: a string given for a list) keep
    their type and message as custom errors."""
    errors = cast("list[InitErrorDetails]", exc.errors())
    try:
        return ValidationError.from_exception_data(title, errors)
    except KeyError:
        from pydantic_core import PydanticCustomError

        custom = [
            cast(
                "InitErrorDetails",
                {
                    "type": PydanticCustomError(str(e["type"]), str(e.get("msg", ""))),
                    "loc": e["loc"],
                    "input": e.get("input"),
                },
            )
            for e in errors
        ]
        return ValidationError.from_exception_data(title, custom)


def _validated(typed: Mapping[str, Any], source: _Source) -> RequestSettings:
    """The typed settings, checked by their fields. A call's or ``bind``'s bad value raises the
    pydantic ``ValidationError`` the constructor raises for it (same type, same wording); in
    ``model_kwargs`` the message names the ``model_kwargs`` key."""
    try:
        return RequestSettings.model_validate(typed)
    except ValidationError as exc:
        if source.name == "model_kwargs":
            raise ValueError(describe_validation_error(exc, source.label)) from None
        raise _rebuilt(f"ChatOpenRouter {source.name} arguments", exc) from None


def read_call(kwargs: Mapping[str, Any], stop: Any = None, *, bind: bool = False) -> CallSettings:
    """Read and check one call's arguments (bound and per-call, merged by LangChain).

    ``stop`` is LangChain's separate stop argument; ``bind`` only words the messages for
    ``bind(...)``. Raises ValueError naming the argument and the fix, before anything is sent.
    """
    from .wire.tools import check_tool_arguments

    source = _Source("bind") if bind else _PER_CALL
    typed, body, special = _read(kwargs, source)
    if stop is not None:
        typed["stop"] = stop
    settings = _validated(typed, source)
    check_tool_arguments(body, source.label, unique=not bind)  # see check_tools
    model = special.get("model")
    if model is not None:
        check_model_id(model, source.label("model"))
    return CallSettings(
        settings=settings,
        body=body,
        model=model,
        require_parameters=bool(special.get(_REQUIRE_PARAMETERS_KEY)),
        check_tool_support=bool(special.get(CHECK_TOOL_SUPPORT_KEY)),
    )


def read_model_kwargs(
    model_kwargs: Mapping[str, Any], given: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``model_kwargs`` at construction: (settings for their fields, body keys to keep).

    ``given`` holds the constructor's own arguments: a setting given both there and in
    ``model_kwargs`` is an error. Settings are checked as per-call ones are.
    """
    from .wire.tools import check_tool_arguments

    source = _Source("model_kwargs")
    typed, body, special = _read(model_kwargs, source)
    for key in special:
        fixes = {
            "model": "pass ChatOpenRouter(model=...)",
            _REQUIRE_PARAMETERS_KEY: "use provider=...",
        }
        raise ValueError(f"{source.label(key)}: {fixes.get(key, 'set by bind_tools; remove it')}.")
    for name in typed:
        spellings = {name, *(w for w, f in WIRE_NAMES.items() if f == name)}
        if spellings & set(given):
            raise ValueError(
                f"{source.label(name)}: {name!r} is also given as ChatOpenRouter({name}=...); "
                "give it once."
            )
    validated = _validated(typed, source)
    check_tool_arguments(body, source.label)
    return {name: getattr(validated, name) for name in validated.model_fields_set}, body


# --------------------------------------------------------------------------------------------
# combining a call with the model, and the request body


def model_settings(values: Mapping[str, Any], profile: Profile) -> RequestSettings:
    """The model's own layer: its non-routing setting fields (``values``, already validated)
    plus the routing of the active ``profile``."""
    routing = {
        name: getattr(profile, name)
        for name in RoutingFields.model_fields
        if getattr(profile, name) is not None
    }
    own = {k: v for k, v in values.items() if k not in routing and v is not None}
    own = {k: v for k, v in own.items() if k not in RoutingFields.model_fields}
    merged = {**own, **routing}
    return RequestSettings.model_construct(_fields_set=set(merged), **merged)


def combine(base: RequestSettings, call: RequestSettings) -> RequestSettings:
    """``call`` over ``base``: the rule of the module docstring, the one implementation.

    Raises:
        ValueError: the combined ``provider`` contradicts itself (e.g. the profile's ``only``
            and the call's ``exclude`` name the same provider).
    """
    values = {name: getattr(base, name) for name in base.model_fields_set}
    for name in call.model_fields_set:
        for group in GROUPED:
            if name in group:
                for member in group:
                    values.pop(member, None)
        value = getattr(call, name)
        if name == "provider" and value is not None and values.get("provider") is not None:
            try:
                value = values["provider"].merged_with(value)
            except ValidationError as exc:
                raise ValueError(
                    "The call's provider combined with the model's is contradictory: "
                    + describe_validation_error(exc)
                ) from None
        values[name] = value
    values = {k: v for k, v in values.items() if v is not None}
    return RequestSettings.model_construct(_fields_set=set(values), **values)


_SAMPLING_ORDER = (
    "temperature", "max_tokens", "max_completion_tokens", "top_p", "top_k", "frequency_penalty",
    "presence_penalty", "repetition_penalty", "min_p", "top_a", "seed", "stop", "logit_bias",
    "logprobs", "top_logprobs",
)  # fmt: skip


def settings_body(settings: RequestSettings, info: ModelInfo | None) -> dict[str, Any]:
    """The request-body keys of ``settings`` (unset ones emit nothing); the one mapping."""
    body: dict[str, Any] = {}
    for name in _SAMPLING_ORDER:
        value = getattr(settings, name)
        if value is not None:
            body[name] = [value] if name == "stop" and isinstance(value, str) else value
    body.update(
        routing_body(
            settings.models,
            settings.reasoning_effort,
            settings.reasoning_max_tokens,
            settings.provider,
            info,
        )
    )
    if settings.user is not None:
        body["user"] = settings.user
    if settings.session_id is not None:
        body["session_id"] = settings.session_id
    if settings.trace is not None:
        body["trace"] = settings.trace.to_wire()
    if settings.request_metadata is not None:
        body["metadata"] = dict(settings.request_metadata)
    if settings.verbosity is not None:
        body["verbosity"] = settings.verbosity
    if settings.cache_control is not None:
        body["cache_control"] = dict(settings.cache_control)
    return body


def settings_headers(settings: RequestSettings) -> dict[str, str]:
    """The request headers of ``settings``: OpenRouter's response cache."""
    return response_cache_headers(
        settings.response_cache, settings.response_cache_ttl, settings.response_cache_clear
    )


def routing_profile(settings: RequestSettings, strategy: Any = None) -> Profile:
    """The routing part of ``settings`` as a ``Profile`` (for catalog checks and strategy)."""
    from .routing import Profile

    return Profile.model_construct(
        models=settings.models,
        reasoning_effort=settings.reasoning_effort,
        reasoning_max_tokens=settings.reasoning_max_tokens,
        provider=settings.provider,
        structured_output_strategy=strategy,
    )
