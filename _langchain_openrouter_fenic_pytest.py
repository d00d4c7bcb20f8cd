"""The pytest plugin of langchain-openrouter-fenic (entry point ``pytest11``).

Installing the package changes no one's tests. This module is loaded by every pytest run in an
environment that has the package, so it imports nothing but pytest (not even the package, whose
import loads langchain-core); all of it waits for a test that asks:

    @pytest.mark.openrouter_cassette          # with @pytest.mark.vcr, or alone
    def test_chain(): ...

    def test_chain(openrouter_cassette): ...  # the fixture, same effect

Such a test records or replays its OpenRouter traffic with the package's cassette support
(``langchain_openrouter_fenic.testing``): scrubbing, JSON body matching, the catalog from one
committed file, no waiting on replay, and a failure that says what to re-record. A separate
top-level module because ``langchain_openrouter_fenic.testing.pytest_plugin`` could not be
imported without importing ``langchain_openrouter_fenic`` first.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

MARKER = "openrouter_cassette"
FIXTURE = "openrouter_cassette"
_SESSION = pytest.StashKey[Any]()
_REPORTED = pytest.StashKey[bool]()
# on the report of a test whose replay missed (user_properties travel with pytest-xdist reports)
MISSED = ("openrouter_cassette", "replay missed")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(catalog=None, secrets=(), match_body=True): record or replay this test's "
        "OpenRouter traffic with langchain_openrouter_fenic.testing (scrubbed cassettes, the "
        "catalog from one committed file, no rate-limit waits on replay).",
    )


def _asks(item: pytest.Item) -> bool:
    return item.get_closest_marker(MARKER) is not None or FIXTURE in getattr(
        item, "fixturenames", ()
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    uses_recording = config.pluginmanager.has_plugin("recording")
    for item in items:
        names = getattr(item, "fixturenames", None)
        if names is None or not _asks(item):
            continue
        # first, so that the catalog is ours before any other fixture can load it
        if FIXTURE in names:
            names.remove(FIXTURE)
        names.insert(0, FIXTURE)
        if uses_recording and item.get_closest_marker("vcr") is None:
            item.add_marker(pytest.mark.vcr)


@pytest.fixture
def openrouter_catalog_path(request: pytest.FixtureRequest) -> Path:
    """The committed catalog file of this test (override this fixture to move it)."""
    from langchain_openrouter_fenic.testing.pytest_plugin import default_catalog_path

    return default_catalog_path(request)


@pytest.fixture
def openrouter_cassette(
    request: pytest.FixtureRequest, openrouter_catalog_path: Path
) -> Iterator[Any]:
    """This test's ``CassetteSession``: records or replays its OpenRouter traffic."""
    from langchain_openrouter_fenic.testing.pytest_plugin import cassette_session

    with cassette_session(request, openrouter_catalog_path) as session:
        request.node.stash[_SESSION] = session
        yield session


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    outcome = yield
    session = item.stash.get(_SESSION, None)
    if session is None or call.when == "setup":
        return
    if call.when == "teardown":
        del item.stash[_SESSION]  # the cassette's interactions need not outlive the test
    if item.stash.get(_REPORTED, False):
        return
    from langchain_openrouter_fenic.testing.pytest_plugin import report_misses

    report = outcome.get_result()
    if report_misses(session, report):
        item.stash[_REPORTED] = True
        report.user_properties.append(MISSED)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """After a run with missed replays: one command that re-records every such test."""
    missed = [
        report.nodeid
        for reports in terminalreporter.stats.values()
        for report in reports
        if any(tuple(p) == MISSED for p in getattr(report, "user_properties", ()))
    ]
    if not missed:
        return
    from langchain_openrouter_fenic.testing.pytest_plugin import summary_lines

    terminalreporter.write_sep("=", "openrouter cassettes")
    for line in summary_lines(config, list(dict.fromkeys(missed))):
        terminalreporter.write_line(line)
