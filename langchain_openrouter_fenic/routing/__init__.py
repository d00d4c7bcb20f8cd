"""Typed provider routing and reasoning settings (SPEC §2), and their request-body form.

``ProviderPreferences`` is OpenRouter's whole ``provider`` object
(https://openrouter.ai/docs/guides/routing/provider-selection), ``Profile`` a named set of routing
and reasoning settings. Both are frozen pydantic models that reject unknown keys (with a "did
you mean" hint), unknown enum values, negative prices and both reasoning fields at once — all
before any network call. The wire mapping is exact and emits nothing for unset fields:

=============================================  ============================================
``Profile.models``                             ``models``
``Profile.reasoning_effort`` / ``_max_tokens``  ``reasoning.effort`` / ``reasoning.max_tokens``
``ProviderPreferences.exclude``                ``provider.ignore`` (the API's name for it)
``max_prompt_price`` / ``max_completion_price``  ``provider.max_price.prompt`` / ``.completion``
                                               (shorthands of ``max_price``; USD per MILLION)
other ``ProviderPreferences`` fields            ``provider.<same name>``
=============================================  ============================================

The same ``provider`` object may come from ``ChatOpenRouter(provider=...)``,
``model_kwargs={"provider": {...}}``, a ``Profile``, ``bind(provider=...)`` or a per-call
``provider=``: every one is validated as :class:`ProviderPreferences` (``settings`` is the one
path). A per-call object is combined with the active profile's by
:meth:`ProviderPreferences.merged_with`: key by key, see ``docs/routing.md``.

The types and their wire form are in ``routing.preferences``. Checks that need the catalog
(``routing.checks``: reasoning support and efforts of the model, fallback ids) are in
:func:`validate_profile`; :func:`filter_supported_params` leaves out the sampling parameters a
model does not list.
"""

from .checks import (
    SAMPLING_PARAMETERS,
    check_fallback_model,
    filter_supported_params,
    manual_thinking,
    validate_profile,
)
from .preferences import (
    REASONING_EFFORTS,
    DataCollection,
    MaxPrice,
    PerformanceCutoffs,
    Profile,
    ProviderPreferences,
    ProviderSort,
    ProviderSortSpec,
    Quantization,
    ReasoningEffort,
    RoutingFields,
    StructuredOutputStrategy,
    refuse_a_string,
    refuse_bool,
    routing_body,
)

__all__ = [
    "REASONING_EFFORTS",
    "SAMPLING_PARAMETERS",
    "DataCollection",
    "MaxPrice",
    "PerformanceCutoffs",
    "Profile",
    "ProviderPreferences",
    "ProviderSort",
    "ProviderSortSpec",
    "Quantization",
    "ReasoningEffort",
    "RoutingFields",
    "StructuredOutputStrategy",
    "check_fallback_model",
    "filter_supported_params",
    "manual_thinking",
    "refuse_a_string",
    "refuse_bool",
    "routing_body",
    "validate_profile",
]
