"""OpenRouter's model catalog: what each model accepts, costs and returns (SPEC §3).

- ``records``: the frozen ``ModelInfo`` / ``EndpointInfo`` records and their translation from
  the API (pure; the bottom floor that the request builder and the strategy read);
- ``model_ids``: every model id form (variants, ``~`` aliases, presets) resolved to a record;
- ``model_catalog``: ``ModelCatalog``, the live catalog with its memory and disk copies;
- ``endpoints``: each model's provider endpoints (``/models/{id}/endpoints``), kept for the TTL;
- ``messages``: the errors for an unknown model or a catalog that cannot be loaded;
- ``fetching``: its HTTP GETs, under the chat calls' retry policy;
- ``disk_cache``: the on-disk copy shared by worker processes;
- ``snapshot``: the catalog snapshot shipped in the package, read on first need;
- ``single_flight``: one load per key at a time, shared by threads and event loops;
- ``model_profile``: a LangChain ``ModelProfile`` derived from a ``ModelInfo``;
- ``tap``: the hook through which cassette tests record and replay the catalog's requests.
"""

from .model_catalog import EndpointInfo, FrozenMapping, ModelCatalog, ModelInfo, estimate_cost

__all__ = ["EndpointInfo", "FrozenMapping", "ModelCatalog", "ModelInfo", "estimate_cost"]
