"""Test your chains and agents offline: record OpenRouter traffic once, replay it anywhere.

With pytest (the plugin is registered through the ``pytest11`` entry point and does nothing until
a test asks for it)::

    @pytest.mark.vcr                      # pytest-recording: --record-mode=once/rewrite/none
    @pytest.mark.openrouter_cassette
    def test_extraction():
        assert chain.invoke("...") == ...

With plain vcrpy::

    from langchain_openrouter_fenic.testing import use_cassette

    with use_cassette("cassettes/extraction.yaml", catalog="cassettes/openrouter-catalog.json"):
        chain.invoke("...")

Either way: secrets and account ids are scrubbed (:mod:`.scrub`), request bodies match as JSON
(:mod:`.matching`), the model catalog lives in one small committed file instead of every
cassette (:mod:`.catalog_store`), a replay never waits for the rate limiter or a retry, and a
request the cassette lacks fails the test with the command that re-records it
(:mod:`.session`). vcrpy is needed only to record and replay: ``pip install
'langchain-openrouter-fenic[testing]'``. See ``docs/testing.md``.
"""

from __future__ import annotations

from .catalog_store import CatalogFile, CatalogNotRecordedError, CatalogRecorder, StoredAnswer
from .matching import MATCHER_NAME, canonical_body, first_difference, json_body
from .scrub import REDACTED, Scrubber
from .session import CassetteMismatchError, CassetteSession, use_cassette
from .vcr_support import MATCH_ON, attach, make_vcr, vcr_config

__all__ = [
    "MATCHER_NAME",
    "MATCH_ON",
    "REDACTED",
    "CassetteMismatchError",
    "CassetteSession",
    "CatalogFile",
    "CatalogNotRecordedError",
    "CatalogRecorder",
    "Scrubber",
    "StoredAnswer",
    "attach",
    "canonical_body",
    "first_difference",
    "json_body",
    "make_vcr",
    "use_cassette",
    "vcr_config",
]
