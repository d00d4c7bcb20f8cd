"""Reading one path's arguments (a call's, ``bind``'s, ``model_kwargs``): typed settings
checked by their fields, other body keys checked and kept, near misses refused."""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from pydantic import ValidationError

from .fields import CALL_ONLY_NAMES, SETTING_NAMES, WIRE_NAMES, RequestSettings

if TYPE_CHECKING:
    from pydantic_core import InitErrorDetails

__all__ = [
    "CHECK_TOOL_SUPPORT_KEY",
    "CallSettings",
    "check_model_id",
    "describe_validation_error",
    "read_call",
    "read_model_kwargs",
]

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
    from ..catalog.model_ids import parse_model_id, warn_deprecated_variants

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
    from ..wire.response_format import check_response_format
    from ..wire.tools import check_tool_arguments

    source = _Source("bind") if bind else _PER_CALL
    typed, body, special = _read(kwargs, source)
    if stop is not None:
        typed["stop"] = stop
    settings = _validated(typed, source)
    check_tool_arguments(body, source.label, unique=not bind)  # see check_tools
    if "response_format" in body:
        check_response_format(body["response_format"], source.label)
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
    from ..wire.response_format import check_response_format
    from ..wire.tools import check_tool_arguments

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
    if "response_format" in body:
        check_response_format(body["response_format"], source.label)
    return {name: getattr(validated, name) for name in validated.model_fields_set}, body
