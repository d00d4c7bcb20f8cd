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

Every typed setting is a field of :class:`SettingFields` (``settings.fields``), which
``ChatOpenRouter`` inherits and :class:`RequestSettings` (one call's settings) is: the same
declaration, so the same check, wherever the value comes from. ``settings.reading`` reads and
checks the arguments of each path; ``settings.combining`` combines a call with the model and
maps the result onto the request body and headers. Other body keys pass through unchanged,
except that ``tools`` / ``tool_choice`` / ``parallel_tool_calls`` are checked (``wire.tools``),
values must be JSON, ``extra_body={...}`` is read as its keys, and a near miss of a setting name
(``temprature``) is refused with "did you mean".

**How a call combines with the model** (:func:`combine`, the one implementation; documented in
``docs/routing.md``): the model's settings are its constructor fields plus the routing of the
active profile. A setting the call gives replaces the model's; ``None`` removes it for that call.
``reasoning_effort`` and ``reasoning_max_tokens`` are one setting (either replaces both), as are
``max_tokens`` and ``max_completion_tokens``. ``provider`` is combined key by key
(:meth:`~langchain_openrouter_fenic.routing.ProviderPreferences.merged_with`): the call's keys
replace the profile's, the others are kept.

**Adding a request field** (e.g. a new top-level OpenRouter key):

1. Declare it on :class:`SettingFields` (``settings/fields.py``) with its type, constraints and
   an attribute docstring holding its docs link. ``ChatOpenRouter``, ``model_kwargs``, ``bind``
   and per-call arguments accept and check it from then on.
2. Map it in :func:`settings_body` (``settings/combining.py``) if its wire form is not
   ``{name: value}``; if its wire name is not the field name, add the wire name to
   ``WIRE_NAMES`` (so ``model_kwargs`` may use either).
3. Add its row to ``docs/routing.md`` and its bad values to the paths test
   (``tests/unit_tests/test_settings.py``), which drives each through every path.
"""

from .combining import combine, model_settings, routing_profile, settings_body, settings_headers
from .fields import (
    CALL_ONLY_NAMES,
    GROUPED,
    SETTING_NAMES,
    WIRE_NAMES,
    RequestSettings,
    SettingFields,
    Trace,
    Verbosity,
)
from .reading import (
    CHECK_TOOL_SUPPORT_KEY,
    CallSettings,
    check_model_id,
    describe_validation_error,
    read_call,
    read_model_kwargs,
)

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
    "model_settings",
    "read_call",
    "read_model_kwargs",
    "routing_profile",
    "settings_body",
    "settings_headers",
]
