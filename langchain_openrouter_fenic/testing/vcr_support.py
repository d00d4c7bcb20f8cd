"""The vcrpy side: its lazy import, a configured ``VCR``, and what is attached to a cassette.

vcrpy is an optional dependency (``pip install 'langchain-openrouter-fenic[testing]'``), imported
only here and only when a cassette is used. :func:`attach` adds this package's behaviour to an
open vcrpy ``Cassette`` whoever made it (pytest-recording, plain vcrpy, :func:`make_vcr`): it
runs after the cassette's own filters, so a project's ``vcr_config`` can add filters but never
lose the scrubbing. It relies on four long-standing attributes of vcrpy's ``Cassette``
(``_before_record_request``, ``_before_record_response``, ``_match_on``, ``_persister``) and
on ``filter_request``, which vcrpy calls only when a replay finds no recorded answer.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import ModuleType
from typing import Any

from .catalog_store import catalog_request_in_flight
from .matching import MATCHER_NAME, json_body
from .scrub import Scrubber

__all__ = ["MATCH_ON", "attach", "make_vcr", "require_vcr", "vcr_config"]

# vcrpy's own names, valid for any VCR: attach() adds the JSON body matcher to the cassette
MATCH_ON = ("method", "scheme", "host", "port", "path", "query")
EXTRA = "langchain-openrouter-fenic[testing]"


def require_vcr() -> ModuleType:
    """The ``vcr`` module, or an ImportError that names the extra to install."""
    try:
        import vcr
    except ImportError as exc:
        raise ImportError(
            "langchain_openrouter_fenic.testing records and replays with vcrpy, which is not "
            f"installed: pip install '{EXTRA}' (or add vcrpy>=6 to your test dependencies)."
        ) from exc
    module: ModuleType = vcr
    return module


def vcr_config(**overrides: Any) -> dict[str, Any]:
    """Options for ``vcr.VCR(...)`` (or pytest-recording's ``vcr_config`` fixture); bodies are
    matched as JSON once the cassette is attached (:func:`attach`)."""
    options: dict[str, Any] = {
        "record_mode": "none",
        "match_on": MATCH_ON,
        "decode_compressed_response": True,
    }
    options.update(overrides)
    return options


def make_vcr(**overrides: Any) -> Any:
    """A ``vcr.VCR`` with :func:`vcr_config`, and the JSON body matcher registered under
    :data:`~.matching.MATCHER_NAME` for ``match_on`` lists that name it."""
    vcr = require_vcr()
    recorder = vcr.VCR(**vcr_config(**overrides))
    recorder.register_matcher(MATCHER_NAME, json_body)
    return recorder


class _ScrubbingPersister:
    """Wraps a cassette's persister: everything written is scrubbed once more."""

    def __init__(self, inner: Any, scrubber: Scrubber) -> None:
        self._inner, self._scrubber = inner, scrubber

    def load_cassette(self, cassette_path: Any, serializer: Any) -> Any:
        return self._inner.load_cassette(cassette_path, serializer=serializer)

    def save_cassette(self, cassette_path: Any, cassette_dict: Any, serializer: Any) -> None:
        requests = [self._scrubber.request(copy.deepcopy(r)) for r in cassette_dict["requests"]]
        responses = [self._scrubber.response(copy.deepcopy(r)) for r in cassette_dict["responses"]]
        cleaned = {**cassette_dict, "requests": requests, "responses": responses}
        self._inner.save_cassette(cassette_path, cleaned, serializer=serializer)


def attach(
    cassette: Any,
    scrubber: Scrubber,
    *,
    match_body: bool = True,
    on_unmatched: Callable[[Any], None] | None = None,
) -> None:
    """Add scrubbing, catalog filtering, body matching and miss reporting to ``cassette``."""
    from vcr import matchers
    from vcr.filters import decode_response

    theirs_request = cassette._before_record_request
    theirs_response = cassette._before_record_response

    def before_record_request(request: Any) -> Any:
        request = theirs_request(request)
        if request is None:
            return None
        request = scrubber.request(copy.deepcopy(request))  # also learns the bearer key
        return None if catalog_request_in_flight() else request

    def before_record_response(response: Any) -> Any:
        response = theirs_response(response)
        return None if response is None else scrubber.response(decode_response(response))

    cassette._before_record_request = before_record_request
    cassette._before_record_response = before_record_response
    cassette._persister = _ScrubbingPersister(cassette._persister, scrubber)
    body_matchers = (matchers.body, matchers.raw_body, json_body)
    if match_body and not any(m in body_matchers for m in cassette._match_on):
        cassette._match_on = (*cassette._match_on, json_body)
    if on_unmatched is not None:
        original = cassette.filter_request

        def filter_request(request: Any) -> Any:
            kept = original(request)
            if kept and cassette.write_protected:  # vcrpy raises right after this call
                on_unmatched(kept)
            return kept

        cassette.filter_request = filter_request
