"""A LangGraph agent with two tools: the weather in a city, and a unit conversion.

The graph is the classic loop: the model answers or calls tools; tool results go back to the
model until it answers. Both nodes have a sync and an async path, so ``invoke``, ``ainvoke`` and
``stream`` all run the real HTTP code of ``ChatOpenRouter``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_openrouter_fenic import ChatOpenRouter

DEFAULT_MODEL = "anthropic/claude-3.5-haiku"
_CELSIUS = {"paris": 21.0, "london": 15.5, "tokyo": 27.0}


@tool
def get_weather(city: str) -> str:
    """The current temperature in a city, in degrees Celsius."""
    celsius = _CELSIUS.get(city.strip().lower())
    return f"{celsius:g} C in {city}" if celsius is not None else f"no weather data for {city}"


@tool
def celsius_to_fahrenheit(celsius: float) -> str:
    """Convert a temperature from degrees Celsius to degrees Fahrenheit."""
    return f"{celsius * 9 / 5 + 32:.1f} F"


TOOLS = [get_weather, celsius_to_fahrenheit]


def build_agent(model: str = DEFAULT_MODEL, *, checkpointer: Any = None, **options: Any) -> Any:
    """The compiled graph; ``options`` go to ``ChatOpenRouter``."""
    llm = ChatOpenRouter(model=model, temperature=0, **options).bind_tools(TOOLS)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    async def acall_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", RunnableLambda(call_model, afunc=acall_model))
    graph.add_node("tools", ToolNode(TOOLS))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition)
    graph.add_edge("tools", "model")
    return graph.compile(checkpointer=checkpointer)
