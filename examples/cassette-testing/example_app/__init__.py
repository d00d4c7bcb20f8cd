"""The code under test: an extraction chain and a LangGraph agent built on ChatOpenRouter."""
