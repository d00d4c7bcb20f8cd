"""An LCEL extraction chain: free text in, a validated ``Person`` out.

``with_structured_output`` picks its strategy from OpenRouter's live model catalog: JSON-schema
``response_format`` where the model's providers support it, a forced tool call where only tools
are, a clear error before any request where neither is.
"""

from __future__ import annotations

from typing import Any

from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable
from pydantic import BaseModel, Field

from langchain_openrouter_fenic import ChatOpenRouter

DEFAULT_MODEL = "openai/gpt-4o-mini"


class Person(BaseModel):
    """A person described in the text."""

    name: str = Field(description="the person's full name")
    age: int = Field(description="age in years")
    city: str = Field(description="the city the person lives in")


PROMPT = ChatPromptTemplate.from_messages(
    [
        ("system", "Extract the person the user describes. Use only facts from the text."),
        ("human", "{text}"),
    ]
)


def extraction_chain(model: str = DEFAULT_MODEL, **options: Any) -> Runnable[dict[str, str], Any]:
    """``{"text": ...}`` -> ``Person``."""
    llm = ChatOpenRouter(model=model, temperature=0, **options)
    return PROMPT | llm.with_structured_output(Person)
