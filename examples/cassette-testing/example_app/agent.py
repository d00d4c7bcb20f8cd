"""A LangGraph agent with two tools: the weather in a city, and a unit conversion.

The graph is the classic loop, written out: the model answers or calls tools; tool results go
back to the model until it answers. Both nodes have a sync and an async path, so ``invoke``,
``ainvoke`` and ``stream`` all run the real HTTP code of ``ChatOpenRouter``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph

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
_BY_NAME = {t.name: t for t in TOOLS}


def _tool_calls(state: MessagesState) -> list[dict[str, Any]]:
    last = state["messages"][-1]
    return list(last.tool_calls) if isinstance(last, AIMessage) else []


def run_tools(state: MessagesState) -> dict[str, Any]:
    """Run every tool the model called; each result goes back as a ToolMessage."""
    return {
        "messages": [
            ToolMessage(
                str(_BY_NAME[call["name"]].invoke(call["args"])),
                name=call["name"],
                tool_call_id=call["id"],
            )
            for call in _tool_calls(state)
        ]
    }


async def arun_tools(state: MessagesState) -> dict[str, Any]:
    results = [await _BY_NAME[c["name"]].ainvoke(c["args"]) for c in _tool_calls(state)]
    return {
        "messages": [
            ToolMessage(str(result), name=call["name"], tool_call_id=call["id"])
            for call, result in zip(_tool_calls(state), results, strict=True)
        ]
    }


def next_step(state: MessagesState) -> str:
    """To the tools while the model calls some, else the end."""
    return "tools" if _tool_calls(state) else END


def build_agent(model: str = DEFAULT_MODEL, *, checkpointer: Any = None, **options: Any) -> Any:
    """The compiled graph; ``options`` go to ``ChatOpenRouter``."""
    llm = ChatOpenRouter(model=model, temperature=0, **options).bind_tools(TOOLS)

    def call_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    async def acall_model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", RunnableLambda(call_model, afunc=acall_model))
    graph.add_node("tools", RunnableLambda(run_tools, afunc=arun_tools))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", next_step, ["tools", END])
    graph.add_edge("tools", "model")
    return graph.compile(checkpointer=checkpointer)
