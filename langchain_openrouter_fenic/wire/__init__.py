"""Everything on the wire, kept apart from LangChain glue and from policy.

- ``transport``: the only importer of the ``openai`` SDK (clients, raw bodies, SSE decoding);
- ``error_mapping``: the one translator of every failure into ``errors.OpenRouterError`` s;
- ``messages`` / ``tools``: LangChain messages and tools as OpenRouter JSON (pure);
- ``request``: the chat-completions body (pure);
- ``response``: OpenRouter JSON and SSE chunks as LangChain messages (pure, sync and async);
- ``calls``: one call with retries, as JSON or as a stream (the I/O loops).

Internal: nothing here is public API. Nothing is imported by this ``__init__`` so that importing
the package stays cheap (the SDK loads with the first request).
"""
