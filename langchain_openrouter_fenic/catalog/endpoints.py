"""A model's provider endpoints (``GET /models/{id}/endpoints``), kept for the catalog's TTL.

The catalog record says what a model accepts across all its providers; the endpoints say what
each provider serves (the structured-output strategy and the provider-name checks read them).
They are asked under the catalog id first, then under the canonical slug that the catalog's own
``links.details`` uses, since OpenRouter answers some ids 404 under one and 200 under the other.
Concurrent first uses of one model share one request (the catalog's ``SingleFlight``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ..errors import NotFoundError, ResponseParseError
from .fetching import CatalogHttp
from .model_ids import parse_model_id
from .records import EndpointInfo, ModelInfo, as_mapping
from .single_flight import SingleFlight

__all__ = ["EndpointCache", "endpoint_slugs"]


def endpoint_slugs(info: ModelInfo | None, model_id: str) -> list[str]:
    """The slugs to ask, in order: the catalog id that describes the model (documented
    ``{author}/{slug}``), then its canonical slug. An id the catalog lacks is asked as given
    (its model part: OpenRouter may know it)."""
    if info is None:
        return [parse_model_id(model_id).model or model_id]
    slugs = [info.id]
    if info.canonical_slug and info.canonical_slug != info.id:
        slugs.append(info.canonical_slug)
    return slugs


class EndpointCache:
    """The endpoints of each model asked so far, by the first slug of its ``endpoint_slugs``."""

    def __init__(
        self,
        http: CatalogHttp,
        *,
        base_url: str,
        ttl: float,
        clock: Callable[[], float],
        flight: SingleFlight,
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._ttl = ttl
        self._clock = clock
        self._flight = flight
        self._kept: dict[str, tuple[float, tuple[EndpointInfo, ...]]] = {}

    def fresh(self, slug: str) -> tuple[EndpointInfo, ...] | None:
        """The endpoints kept for ``slug`` while within the TTL (no I/O), else None."""
        hit = self._kept.get(slug)
        return hit[1] if hit is not None and self._clock() < hit[0] else None

    def get(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self.fresh(slugs[0])
        if hit is None:
            hit = self._flight.run("endpoints:" + slugs[0], lambda: self._load(slugs))
        return hit

    async def aget(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self.fresh(slugs[0])
        if hit is None:
            hit = await self._flight.arun("endpoints:" + slugs[0], lambda: self._aload(slugs))
        return hit

    def _load(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self.fresh(slugs[0])  # loaded by the leader we waited behind
        if hit is not None:
            return hit
        for slug in slugs[:-1]:
            try:
                return self._keep(slugs[0], self._http.get(_path(slug)))
            except NotFoundError:
                continue
        return self._keep(slugs[0], self._http.get(_path(slugs[-1])))

    async def _aload(self, slugs: list[str]) -> tuple[EndpointInfo, ...]:
        hit = self.fresh(slugs[0])
        if hit is not None:
            return hit
        for slug in slugs[:-1]:
            try:
                return self._keep(slugs[0], await self._http.aget(_path(slug)))
            except NotFoundError:
                continue
        return self._keep(slugs[0], await self._http.aget(_path(slugs[-1])))

    def _keep(self, slug: str, body: Any) -> tuple[EndpointInfo, ...]:
        data = as_mapping(as_mapping(body).get("data"))
        raw = data.get("endpoints")
        if not isinstance(raw, list):
            raise ResponseParseError(
                f"The endpoints of {slug!r} at {self._base_url} came without 'data.endpoints' "
                f"({str(body)[:200]})."
            )
        endpoints = tuple(EndpointInfo.from_api(e) for e in raw if isinstance(e, Mapping))
        self._kept[slug] = (self._clock() + self._ttl, endpoints)
        return endpoints


def _path(slug: str) -> str:
    return f"/models/{quote(slug, safe='/:~')}/endpoints"
