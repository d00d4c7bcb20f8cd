"""What ChatOpenRouter declares to LangChain's standard suites (shared by unit and integration)."""

from __future__ import annotations

from langchain_openrouter_fenic import ChatOpenRouter

MODEL = "openai/gpt-4o-mini"
OVERRIDE_MODEL = "openai/gpt-4o"


class OpenRouterCapabilities:
    """Capabilities of the model the suites run against (openai/gpt-4o-mini via OpenRouter)."""

    @property
    def chat_model_class(self) -> type[ChatOpenRouter]:
        return ChatOpenRouter

    @property
    def has_tool_choice(self) -> bool:
        return True

    @property
    def supports_json_mode(self) -> bool:
        return True

    @property
    def supports_image_inputs(self) -> bool:
        return True

    @property
    def supports_image_urls(self) -> bool:
        return True

    @property
    def supports_pdf_inputs(self) -> bool:
        return True

    @property
    def supports_audio_inputs(self) -> bool:
        return True

    @property
    def model_override_value(self) -> str:
        return OVERRIDE_MODEL
