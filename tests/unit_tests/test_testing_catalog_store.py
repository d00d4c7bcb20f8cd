"""``testing.catalog_store``: the catalog recorded once into a small file, served from it on replay.

A ``ModelCatalog`` with an injected ``fetch_json`` stands in for the HTTP transport; the
recorder is installed as the catalog tap exactly as a cassette session installs it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from langchain_openrouter_fenic.catalog import ModelCatalog, tap
from langchain_openrouter_fenic.catalog.disk_cache import CacheSettings
from langchain_openrouter_fenic.errors import ModelNotFoundError, NotFoundError
from langchain_openrouter_fenic.testing import (
    CatalogFile,
    CatalogNotRecordedError,
    CatalogRecorder,
    Scrubber,
)
from langchain_openrouter_fenic.testing.catalog_store import catalog_request_in_flight
from langchain_openrouter_fenic.wire.error_mapping import from_http
from tests.support.emulator_catalog import load_snapshot_catalog

BASE = "http://127.0.0.1:1/api/v1"
LISTING = "/models/user?output_modalities=all"
KEY = "sk-or-v1-" + "ab" * 32


class Live:
    """The service: the full real catalog, endpoints of one model, a 404 for another."""

    def __init__(self) -> None:
        self.entries = load_snapshot_catalog()
        self.paths: list[str] = []
        self.in_flight: list[bool] = []

    def __call__(self, path: str) -> Any:
        self.paths.append(path)
        self.in_flight.append(catalog_request_in_flight())
        if path.startswith("/models/user"):
            return {"data": copy.deepcopy(self.entries)}
        if path == "/models/openai/gpt-4o/endpoints":
            return {"data": {"id": "openai/gpt-4o", "endpoints": [{"provider_name": "OpenAI"}]}}
        body = {"error": {"code": 404, "message": f"No model at {path}"}}
        raise from_http(404, {"content-type": "application/json"}, json.dumps(body))


def _catalog(fetch: Callable[[str], Any]) -> ModelCatalog:
    return ModelCatalog(BASE, KEY, fetch_json=fetch, cache=CacheSettings(None, 0))


def _record(file: CatalogFile, *model_ids: str, live: Live | None = None) -> Live:
    live = live or Live()
    recorder = CatalogRecorder(file, recording=True, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder):
        catalog = _catalog(live)
        for model_id in model_ids:
            catalog.get(model_id)
    recorder.save()
    return live


def _listing(file: CatalogFile) -> list[str]:
    return [e["id"] for e in file.load()[LISTING].body["data"]]


def _never(path: str) -> Any:
    raise AssertionError(f"replay sent {path}")


@pytest.fixture
def file(tmp_path: Path) -> CatalogFile:
    return CatalogFile(tmp_path / "cassettes" / "openrouter-catalog.json")


def test_recording_keeps_only_the_entries_found(file: CatalogFile) -> None:
    live = _record(file, "openai/gpt-4o-mini", "deepseek/deepseek-chat:nitro")
    assert _listing(file) == ["deepseek/deepseek-chat", "openai/gpt-4o-mini"]
    assert file.path.stat().st_size < 6_000  # of a live listing of ~450 KB
    assert live.in_flight == [True]  # the cassette's filter sees the request as the recorder's


def test_replay_answers_from_the_file_alone(file: CatalogFile) -> None:
    _record(file, "openai/gpt-4o-mini")
    recorder = CatalogRecorder(file, recording=False, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder):
        catalog = _catalog(_never)
        assert catalog.get("openai/gpt-4o-mini").supports_structured_outputs
        with pytest.raises(ModelNotFoundError):  # not looked up while recording: not kept
            catalog.get("openai/gpt-4o")
    assert recorder.misses == []


async def test_async_lookups_record_and_replay(file: CatalogFile) -> None:
    live = Live()
    recorder = CatalogRecorder(file, recording=True, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder):
        await _catalog(live).aget("openai/gpt-4o")
        assert [e.provider_name for e in await _catalog(live).aendpoints("openai/gpt-4o")] == [
            "OpenAI"
        ]
    recorder.save()
    replay = CatalogRecorder(file, recording=False, scrubber=Scrubber(environ={}))
    with tap.tapped(replay):
        catalog = _catalog(_never)
        assert (await catalog.aget("openai/gpt-4o")).id == "openai/gpt-4o"
        assert len(await catalog.aendpoints("openai/gpt-4o")) == 1


def test_error_answers_are_recorded_and_replayed_as_the_same_error(file: CatalogFile) -> None:
    recorder = CatalogRecorder(file, recording=True, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder), pytest.raises(NotFoundError) as live_error:
        _catalog(Live()).endpoints("acme/ghost")
    recorder.save()
    replay = CatalogRecorder(file, recording=False, scrubber=Scrubber(environ={}))
    with tap.tapped(replay), pytest.raises(NotFoundError) as replayed:
        _catalog(_never).endpoints("acme/ghost")
    assert type(replayed.value) is type(live_error.value)
    assert replayed.value.message == live_error.value.message


def test_a_replay_miss_raises_and_is_remembered(file: CatalogFile) -> None:
    _record(file, "openai/gpt-4o")
    recorder = CatalogRecorder(file, recording=False, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder), pytest.raises(CatalogNotRecordedError, match="re-record"):
        _catalog(_never).endpoints("openai/gpt-4o")
    assert recorder.misses == ["/models/openai/gpt-4o/endpoints"]


def test_recordings_merge_and_the_files_entries_win(file: CatalogFile) -> None:
    _record(file, "openai/gpt-4o-mini")
    doc = json.loads(file.path.read_text())
    entry = doc["answers"][LISTING]["body"]["data"][0]
    entry["supported_parameters"] = ["tools"]  # as recorded before the live catalog changed
    file.path.write_text(json.dumps(doc))

    live = Live()
    recorder = CatalogRecorder(file, recording=True, scrubber=Scrubber(environ={}))
    with tap.tapped(recorder):
        catalog = _catalog(live)
        assert not catalog.get("openai/gpt-4o-mini").supports_structured_outputs  # the file's
        catalog.get("anthropic/claude-3.5-haiku")
    recorder.save()
    assert _listing(file) == ["anthropic/claude-3.5-haiku", "openai/gpt-4o-mini"]
    kept = file.load()[LISTING].body["data"][1]
    assert kept["supported_parameters"] == ["tools"]


def test_the_file_never_holds_the_key(file: CatalogFile) -> None:
    live = Live()
    mini = next(e for e in live.entries if e["id"] == "openai/gpt-4o-mini")
    mini["description"] = f"echoes {KEY}"
    scrubber = Scrubber(environ={})
    scrubber.add_secret(KEY)
    recorder = CatalogRecorder(file, recording=True, scrubber=scrubber)
    with tap.tapped(recorder):
        _catalog(live).get("openai/gpt-4o-mini")
    recorder.save()
    assert KEY not in file.path.read_text()


def test_a_file_of_another_kind_is_a_clear_error(file: CatalogFile) -> None:
    file.path.parent.mkdir(parents=True)
    file.path.write_text('{"data": []}')
    with pytest.raises(ValueError, match=r"not a catalog file .* Delete it and re-record"):
        file.load()


def test_one_tap_at_a_time(file: CatalogFile) -> None:
    recorder = CatalogRecorder(file, recording=False, scrubber=Scrubber(environ={}))
    with (
        tap.tapped(recorder),
        pytest.raises(RuntimeError, match="already installed"),
        tap.tapped(recorder),
    ):
        pass
    assert tap.installed() is None
