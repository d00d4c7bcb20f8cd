"""``ChatOpenRouter``: the LangChain chat model. Glue only — the work is done in the modules
it delegates to (``wire``: messages, request, response, transport; ``rate_limits``, ``catalog``,
``routing``, ``structured_output``)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult
from langchain_core.rate_limiters import BaseRateLimiter
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils import from_env, secret_from_env
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)
from typing_extensions import Self

from . import _cost
from . import call_plan as _call_plan
from . import usage as _usage
from ._process_local import at_fork_in_child
from ._secrets import remember_key
from .routing import SAMPLING_PARAMETERS, Profile, StructuredOutputStrategy
from .settings import SETTING_NAMES, SettingFields
from .wire import tools as _tools
from .wire.transport import (
    DEFAULT_BASE_URL,
    OpenRouterTransport,
    TransportKey,
    transport_for,
    transport_key,
)

if TYPE_CHECKING:
    from .account import Credits, GenerationStats
    from .catalog import ModelCatalog, ModelInfo

__all__ = ["ChatOpenRouter"]

logger = logging.getLogger(__name__)


class ChatOpenRouter(BaseChatModel, SettingFields):
    """OpenRouter chat model: one API key, hundreds of models, typed routing.

    Example:
        .. code-block:: python

            from langchain_openrouter_fenic import ChatOpenRouter, ProviderPreferences

            llm = ChatOpenRouter(
                model="anthropic/claude-sonnet-4",
                provider=ProviderPreferences(sort="price", exclude=["Google"]),
            )
            llm.invoke("Hello").response_metadata["provider"]

    Every request setting (sampling, routing, ``user`` / ``session_id`` / ``trace`` /
    ``request_metadata`` / ``verbosity``) is declared once in ``settings.SettingFields`` and
    checked the same way whether it is given here, in ``model_kwargs``, in a profile, to
    ``bind`` or per call; see ``docs/routing.md`` for how a call combines with the profile.
    See ``docs/`` for routing profiles, structured output and rate limiting.
    """

    # validation aliases keep `model=` the name type checkers see, and accept `model_name=` too
    model: str = Field(
        default="openai/gpt-4o",
        validation_alias=AliasChoices("model", "model_name"),
        min_length=1,
    )
    """OpenRouter model id, e.g. ``"anthropic/claude-sonnet-4"`` (https://openrouter.ai/models)."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("OPENROUTER_API_KEY", default=None)
    )
    """API key; default: env ``OPENROUTER_API_KEY``. Never shown in repr, logs or dumps."""
    base_url: str = Field(default_factory=from_env("OPENROUTER_API_BASE", default=DEFAULT_BASE_URL))
    """API base; default: env ``OPENROUTER_API_BASE``, else ``https://openrouter.ai/api/v1``."""
    app_url: str | None = Field(default_factory=from_env("OPENROUTER_APP_URL", default=None))
    """Sent as ``HTTP-Referer`` for app attribution (env ``OPENROUTER_APP_URL``)."""
    app_title: str | None = Field(default_factory=from_env("OPENROUTER_APP_TITLE", default=None))
    """Sent as ``X-Title`` / ``X-OpenRouter-Title`` (env ``OPENROUTER_APP_TITLE``)."""
    timeout: float | None = Field(default=None, gt=0)
    """Request timeout in SECONDS (``timeout=60`` is one minute). None: the SDK default."""
    max_retries: int = Field(default=2, ge=0)
    """Retries after the first attempt (0: exactly one request)."""
    max_rate_limit_wait: float = Field(default=60.0, ge=0)
    """A 429 whose reset is further away than this (seconds) is raised at once."""

    streaming: bool = False
    """``invoke`` streams under the hood (callbacks get tokens)."""
    stream_usage: bool = True
    """Attach ``usage_metadata`` to the last chunk of a stream."""

    structured_output_strategy: StructuredOutputStrategy | None = None
    profiles: dict[str, Profile] | None = None
    """Named routing profiles; choose one with ``default_profile`` or ``with_profile(name)``."""
    default_profile: str | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Anything else, sent in the request body as is (e.g. ``plugins``). A typed setting given
    here (``{"provider": {...}}``) is checked and set on its field, as if given by name."""

    # the schema is built on first construction, not at import (import time is a target)
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, defer_build=True)

    _transport_key: TransportKey | None = PrivateAttr()  # None: unpickled without its key
    # the shared limiter this model was given by default (None: the caller passed one)
    _default_limiter: BaseRateLimiter | None = PrivateAttr(default=None)
    _flat_profile: Profile = PrivateAttr()
    _info: ModelInfo | None = PrivateAttr(default=None)
    # routings already checked against /endpoints (endpoint_routing): each warns once per model
    # instance, not on every call. Plain strings: copies, pickles and forked children keep it.
    _routings_checked: set[str] = PrivateAttr(default_factory=set)

    # -- validation ------------------------------------------------------------------------
    @model_validator(mode="before")
    @classmethod
    def _collect_extra_kwargs(cls, values: Any) -> Any:
        if isinstance(values, dict):
            from ._params import collect_model_kwargs

            return collect_model_kwargs(cls, values)
        return values

    @field_validator("model", mode="after")
    @classmethod
    def _model_id(cls, value: str) -> str:
        from .settings import check_model_id

        return check_model_id(value)

    @model_validator(mode="after")
    def _setup(self) -> Self:
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            raise ValueError(
                "api_key: no OpenRouter API key. Set the OPENROUTER_API_KEY environment variable "
                "or pass ChatOpenRouter(api_key=...); keys are at https://openrouter.ai/settings/keys."
            )
        if self.profile is None and not hasattr(BaseChatModel, "_resolve_model_profile"):
            self.profile = self._resolve_model_profile()  # a langchain-core without the hook
        self._flat_profile = Profile(
            models=self.models,
            reasoning_effort=self.reasoning_effort,
            reasoning_max_tokens=self.reasoning_max_tokens,
            provider=self.provider,
            structured_output_strategy=self.structured_output_strategy,
        )
        if self.default_profile is not None and self.default_profile not in (self.profiles or {}):
            known = ", ".join(sorted(self.profiles or {})) or "none defined"
            raise ValueError(
                f"default_profile={self.default_profile!r} is not a key of profiles ({known})."
            )
        remember_key(self.api_key.get_secret_value())  # redacted from errors, found by pickles
        self._transport_key = transport_key(
            self.base_url,
            self.api_key.get_secret_value(),
            self._attribution_headers(),
            self.timeout,
        )
        from .caching import warn_if_not_automatic

        warn_if_not_automatic(self.model, self.cache_control)
        if self.rate_limiter is None:
            self._use_shared_limiter()
        else:
            from .rate_limits.limiter import bounded_by

            # BaseChatModel acquires before _generate: the limiter itself must know the bound
            self.rate_limiter = bounded_by(self.rate_limiter, self.max_rate_limit_wait)
        return self

    # -- copies and pickles: configuration only (``_copies``) -------------------------------
    def __copy__(self) -> Self:
        clone = super().__copy__()
        if clone._default_limiter is not None:
            _SHARED_LIMITER_USERS[id(clone)] = clone
        return clone

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Self:
        from ._copies import shared_in_copies

        memo = {} if memo is None else memo
        for shared in shared_in_copies(self):  # process-wide state: shared, never copied
            memo.setdefault(id(shared), shared)
        clone = super().__deepcopy__(memo)
        if clone._default_limiter is not None:
            _SHARED_LIMITER_USERS[id(clone)] = clone
        return clone

    def __getstate__(self) -> dict[Any, Any]:
        from ._copies import state_to_pickle

        return state_to_pickle(self, super().__getstate__())

    def __setstate__(self, state: dict[Any, Any]) -> None:
        from ._copies import restore_pickled

        restored, key, shared_limiter = restore_pickled(state)
        super().__setstate__(restored)
        self._transport_key = (
            transport_key(self.base_url, key, self._attribution_headers(), self.timeout)
            if key is not None
            else None
        )
        if shared_limiter:
            self._use_shared_limiter()

    def to_json(self) -> Any:
        """LangChain serialization, with nested settings (``provider``, ``profiles``) as plain
        JSON so that ``langchain_core.load.loads`` revives them (``docs/deployment.md``)."""
        from ._copies import with_plain_settings

        return with_plain_settings(self, dict(super().to_json()))

    @property
    def _transport(self) -> OpenRouterTransport:
        # looked up on every call, never kept: instances with the same configuration share SDK
        # clients (connection pools, TLS setup), and a forked child gets its own
        if self._transport_key is None:
            from ._copies import MISSING_KEY_MESSAGE
            from .errors import AuthenticationError

            raise AuthenticationError(MISSING_KEY_MESSAGE)
        return transport_for(self._transport_key)

    def _use_shared_limiter(self) -> None:
        """One limiter per key, shared by every instance: they share OpenRouter's limits
        (:free models have a budget of their own, so they get a limiter of their own)."""
        from .rate_limits.limiter import bounded_by
        from .rate_limits.shared import limiter_scope, shared_rate_limiter

        key = self.api_key.get_secret_value() if self.api_key is not None else None
        shared = shared_rate_limiter(key, self.base_url, scope=limiter_scope(self.model))
        # BaseChatModel acquires before _generate: the limiter itself must know the bound
        self.rate_limiter = self._default_limiter = bounded_by(shared, self.max_rate_limit_wait)
        _SHARED_LIMITER_USERS[id(self)] = self

    def _attribution_headers(self) -> dict[str, str]:
        headers = {}
        if self.app_url:
            headers["HTTP-Referer"] = self.app_url
        if self.app_title:
            headers["X-Title"] = self.app_title
            headers["X-OpenRouter-Title"] = self.app_title
        return headers

    # -- LangChain plumbing ----------------------------------------------------------------
    @property
    def _llm_type(self) -> str:
        return "openrouter-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        return {"api_key": "OPENROUTER_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        return True

    @classmethod
    def get_lc_namespace(cls) -> list[str]:
        return ["langchain_openrouter_fenic", "chat_models"]

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "base_url": self.base_url,
            **self._sampling_params(),
            "profile": self.default_profile,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="openrouter",
            ls_model_name=kwargs.get("model") or self.model,
            ls_model_type="chat",
        )
        if self.temperature is not None:
            params["ls_temperature"] = self.temperature
        if self.max_tokens is not None:
            params["ls_max_tokens"] = self.max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or _as_list(self.stop)
        return params

    # -- catalog -----------------------------------------------------------------------------
    @property
    def catalog(self) -> ModelCatalog:
        """The shared live catalog of this (base_url, key)."""
        from .catalog import ModelCatalog

        key = self.api_key.get_secret_value() if self.api_key else None
        return ModelCatalog.shared(
            self.base_url,
            key,
            timeout=self.timeout,
            headers=self._attribution_headers(),
            max_retries=self.max_retries,
            max_rate_limit_wait=self.max_rate_limit_wait,
        )

    def model_info(self) -> ModelInfo:
        """This model's catalog record (loads the catalog on first use). For
        ``model@preset/slug``, the record of the model part.

        Raises:
            ModelNotFoundError: an unknown id, or a preset alone (``@preset/slug``: no record).
        """
        if self._info is None:
            self._remember(self.catalog.get(self.model))
        assert self._info is not None
        return self._info

    async def amodel_info(self) -> ModelInfo:
        if self._info is None:
            self._remember(await self.catalog.aget(self.model))
        assert self._info is not None
        return self._info

    def _remember(self, info: ModelInfo) -> None:
        from .routing import validate_profile

        validate_profile(self.active_profile, info, self.catalog, name=self.default_profile)
        self._info = info  # llm.profile stays what construction found: one strategy per instance

    def _resolve_model_profile(self) -> ModelProfile | None:
        # construction must not fail or wait on the network: memory, disk, the shipped snapshot
        try:
            info = self.catalog.offline_record(self.model)
        except Exception:
            return None
        return _profile_of(info) if info is not None else None

    def _model_info_at_hand(self) -> ModelInfo | None:
        """The record when it can be had without any I/O (an event loop may not wait): already
        known, or in a copy in memory within its TTL with every fallback id. Else None."""
        if self._info is not None:
            return self._info
        ids = [self.model, *(self.active_profile.models or ())]
        if all(self.catalog.peek(model_id) is not None for model_id in ids):
            return self.model_info()
        return None

    @property
    def active_profile(self) -> Profile:
        """The routing profile in force: ``default_profile`` if set, else the flat kwargs."""
        if self.default_profile is not None and self.profiles:
            return self.profiles[self.default_profile]
        return self._flat_profile

    def with_profile(self, name: str) -> ChatOpenRouter:
        """A copy of this model that uses the named profile."""
        if name not in (self.profiles or {}):
            known = ", ".join(sorted(self.profiles or {})) or "none defined"
            raise ValueError(f"Unknown profile {name!r}: the profiles are {known}.")
        clone = self.model_copy(update={"default_profile": name})
        clone._info = None  # the new profile is validated against the catalog on first use
        return clone

    # -- request (``call_plan``: what a call sends, checked before sending) ---------------------
    def _sampling_params(self) -> dict[str, Any]:
        return {
            name: getattr(self, name)
            for name in _SAMPLING_FIELDS
            if getattr(self, name) is not None
        }

    # -- generation ----------------------------------------------------------------------------
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import generate_from_stream

            return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))
        from .wire import calls as _calls  # the SDK and tenacity load with the first request

        with _usage.meter(kwargs.get("model") or self.model) as meter:
            body, options, info = _call_plan.plan(self, messages, stop, kwargs, stream=False)
            result = _calls.complete(self._transport, body, options)
            result = _cost.with_estimated_cost(result, info)
            meter.record_result(result)
        return result

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            from langchain_core.language_models.chat_models import agenerate_from_stream

            return await agenerate_from_stream(self._astream(messages, stop, run_manager, **kwargs))
        from .wire import calls as _calls

        with _usage.meter(kwargs.get("model") or self.model) as meter:
            body, options, info = await _call_plan.aplan(self, messages, stop, kwargs, stream=False)
            result = await _calls.acomplete(self._transport, body, options)
            result = _cost.with_estimated_cost(result, info)
            meter.record_result(result)
        return result

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        from .wire import calls as _calls

        with _usage.meter(kwargs.get("model") or self.model) as meter:
            body, options, info = _call_plan.plan(self, messages, stop, kwargs, stream=True)
            # closed on every exit, here and now: LangChain's stream() leaves this generator to
            # the garbage collector, and with it the response, when its consumer stops early
            with closing(_calls.stream(self._transport, body, options)) as chunks:
                for chunk in chunks:
                    if _is_closing(chunk):
                        last = _cost.with_estimated_cost_chunk(chunk, info)
                        meter.record(last.message)
                        yield last
                        continue
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        from .wire import calls as _calls

        with _usage.meter(kwargs.get("model") or self.model) as meter:
            body, options, info = await _call_plan.aplan(self, messages, stop, kwargs, stream=True)
            # as in _stream; and an async generator left to be finalised would close the
            # response only at loop shutdown, out of order with the ones it holds
            async with aclosing(_calls.astream(self._transport, body, options)) as chunks:
                async for chunk in chunks:
                    if _is_closing(chunk):
                        last = _cost.with_estimated_cost_chunk(chunk, info)
                        meter.record(last.message)
                        yield last
                        continue
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=chunk)
                    yield chunk

    # -- account -------------------------------------------------------------------------------
    def credits(self) -> Credits:
        """The key's spending limit, usage and what remains (``GET /key``), in USD."""
        from . import account

        return account.credits(self._transport, max_retries=self.max_retries)

    async def acredits(self) -> Credits:
        """Async ``credits()``."""
        from . import account

        return await account.acredits(self._transport, max_retries=self.max_retries)

    def get_generation(
        self, generation: str | BaseMessage, *, max_wait: float = 10.0
    ) -> GenerationStats:
        """One generation as OpenRouter billed it (``GET /generation?id=``): exact cost, tokens,
        provider, latency.

        Args:
            generation: ``response_metadata["id"]`` of an answer, or the answer itself.
            max_wait: seconds to keep asking while OpenRouter answers 404, as it does until the
                stats are recorded (a few seconds after the answer ends); then NotFoundError.
        """
        from . import account

        return account.get_generation(
            self._transport, generation, max_retries=self.max_retries, max_wait=max_wait
        )

    async def aget_generation(
        self, generation: str | BaseMessage, *, max_wait: float = 10.0
    ) -> GenerationStats:
        """Async ``get_generation()``; waits with ``asyncio.sleep``."""
        from . import account

        return await account.aget_generation(
            self._transport, generation, max_retries=self.max_retries, max_wait=max_wait
        )

    # -- tools and structured output --------------------------------------------------------------
    if not TYPE_CHECKING:  # type checkers keep the inherited signature (its return type varies)

        def bind(self, **kwargs: Any) -> Any:
            """``bind``, with the arguments checked at once (the check every call makes)."""
            from .settings import read_call

            read_call(kwargs, bind=True)
            return super().bind(**kwargs)

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        strict_capabilities: bool = True,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools (OpenAI function format on the wire; OpenRouter server tools as given).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"required"`` (alias ``"any"``/``True``), or a
        tool name to force that tool. ``strict`` asks providers to follow the JSON schemas
        exactly. Every tool is checked before anything is sent (names, schemas, duplicates, a
        ``tool_choice`` naming a bound tool). ``strict_capabilities`` (default True) also checks
        the model's catalog entry: a model that lists no ``tools`` (or no ``tool_choice``, for a
        forced choice) raises ``ToolsUnsupportedError`` here, as ``with_structured_output``
        fails fast; False skips that check, for a catalog known to be wrong.
        """
        formatted = _tools.format_tools(tools, strict)
        names = _tools.check_tools(formatted, unique=False)  # duplicates: refused when sent
        if tool_choice is not None and tool_choice is not False:
            kwargs["tool_choice"] = _tools.tool_choice_param(tool_choice, names)
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        if strict_capabilities and formatted:
            from .structured_output.deferred import in_running_loop

            if in_running_loop() and self._model_info_at_hand() is None:
                # fetching the catalog here would stall the loop (an agent binds on every
                # model call): the request makes the check, after awaiting the catalog
                from .settings import CHECK_TOOL_SUPPORT_KEY

                kwargs[CHECK_TOOL_SUPPORT_KEY] = True
            else:
                _call_plan.check_tool_support(self, kwargs.get("tool_choice"), None)
        return self.bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        strict_capabilities: bool = True,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Structured output, with the strategy chosen from the live catalog.

        Args:
            schema: a Pydantic class (the result is an instance), a TypedDict or a JSON-schema
                dict (the result is a dict). May be None only with ``method="json_mode"``.
            method: None chooses from the catalog (and, when the routing restricts providers,
                from their ``/endpoints``): ``json_schema`` where ``structured_outputs`` is
                supported, a forced tool call where only ``tools`` + ``tool_choice`` are,
                following the profile's ``structured_output_strategy``. A forced method the model
                does not list is an error, unless ``strict_capabilities=False``.
            include_raw: return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            strict: ask providers to follow the schema exactly (default: on for ``json_schema``).
            strict_capabilities: check a forced ``method`` against the catalog, and send
                ``provider.require_parameters``. False skips both.

        Raises:
            StructuredOutputUnsupportedError: at once, when the model lists neither
                ``structured_outputs`` nor ``tools`` + ``tool_choice`` (no request is sent).

        A ``json_schema`` request that OpenRouter answers with 404 "No endpoints found that can
        handle the requested parameters" is retried once as a forced tool call (with a
        WARNING) when the method was chosen automatically and the model lists tools.
        """
        if kwargs:
            raise ValueError(
                f"Unexpected arguments to with_structured_output: {sorted(kwargs)}; the "
                "arguments are schema, method, include_raw, strict, strict_capabilities."
            )
        from .structured_output import with_structured_output

        return with_structured_output(
            self,
            schema,
            method=method,
            include_raw=include_raw,
            strict=strict,
            strict_capabilities=strict_capabilities,
        )


# models holding their key's shared limiter: re-pointed at the child's own in a forked child, so
# that models built before the fork and after it share one limiter there, not the parent's copy
# (by id: pydantic models are unhashable)
_SHARED_LIMITER_USERS: weakref.WeakValueDictionary[int, ChatOpenRouter] = (
    weakref.WeakValueDictionary()
)


def _repoint_shared_limiters() -> None:
    for model in list(_SHARED_LIMITER_USERS.values()):
        # unless the limiter was replaced after construction
        if model._default_limiter is not None and model.rate_limiter is model._default_limiter:
            model._use_shared_limiter()


at_fork_in_child(_repoint_shared_limiters)


def _profile_of(info: ModelInfo) -> ModelProfile:
    from .catalog.model_profile import model_profile_from_info

    return model_profile_from_info(info)


def _as_list(stop: list[str] | str | None) -> list[str] | None:
    if stop is None:
        return None
    return [stop] if isinstance(stop, str) else list(stop)


def _is_closing(chunk: ChatGenerationChunk) -> bool:
    """The stream's closing chunk, which carries metadata, usage and cost."""
    return isinstance(chunk.message, AIMessageChunk) and chunk.message.chunk_position == "last"


# the sampling fields, for _identifying_params (tracing)
_SAMPLING_FIELDS = tuple(
    sorted(name for name in SAMPLING_PARAMETERS if name in SETTING_NAMES and name != "stop")
)
