"""Model id forms resolved over the real 371-model snapshot, and the shipped snapshot itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import langchain_openrouter_fenic
from langchain_openrouter_fenic.catalog.model_ids import ModelIndex, ModelRef, parse_model_id
from langchain_openrouter_fenic.catalog.records import translate_entries
from langchain_openrouter_fenic.catalog.snapshot import shipped_snapshot

SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"


@pytest.fixture(scope="module")
def index() -> ModelIndex:
    return ModelIndex(*translate_entries(json.loads(SNAPSHOT.read_text())["data"]))


@pytest.mark.parametrize(
    ("text", "ref"),
    [
        ("openai/gpt-4o", ModelRef("openai/gpt-4o", "openai/gpt-4o", None)),
        ("openai/gpt-4o@preset/a-b", ModelRef("openai/gpt-4o@preset/a-b", "openai/gpt-4o", "a-b")),
        ("@preset/a-b", ModelRef("@preset/a-b", None, "a-b")),
        ("~openai/gpt-latest:nitro", ModelRef("~openai/gpt-latest:nitro",
                                              "~openai/gpt-latest:nitro", None)),
    ],
)  # fmt: skip
def test_parse(text: str, ref: ModelRef) -> None:
    assert parse_model_id(text) == ref


@pytest.mark.parametrize("text", ["a/b@", "a/b@preset", "a/b@preset/", "a/b@team/x", "@x/y",
                                  "a/b@preset/x@preset/y"])  # fmt: skip
def test_parse_refuses_what_is_not_a_preset(text: str) -> None:
    with pytest.raises(ValueError, match="'preset/<slug>'"):
        parse_model_id(text)


@pytest.mark.parametrize(
    ("asked", "found"),
    [
        ("openai/gpt-4o", "openai/gpt-4o"),
        ("openai/gpt-4o:nitro", "openai/gpt-4o"),
        ("openai/gpt-4o:floor", "openai/gpt-4o"),
        ("openai/gpt-4o:online", "openai/gpt-4o"),
        ("moonshotai/kimi-k2:exacto", "moonshotai/kimi-k2"),
        ("openai/gpt-4o:some-future-variant", "openai/gpt-4o"),
        ("google/gemma-3-27b-it:free", "google/gemma-3-27b-it:free"),
        ("google/gemma-3-27b-it:free:online", "google/gemma-3-27b-it:free"),
        ("google/gemma-3-27b-it:nitro:floor", "google/gemma-3-27b-it"),
        ("anthropic/claude-3.7-sonnet:thinking", "anthropic/claude-3.7-sonnet:thinking"),
        ("anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-3.7-sonnet"),
        ("~openai/gpt-latest", "~openai/gpt-latest"),
        ("~openai/gpt-latest:exacto", "~openai/gpt-latest"),
        ("openai/gpt-4o@preset/x", "openai/gpt-4o"),
        ("moonshotai/kimi-k2:exacto@preset/x", "moonshotai/kimi-k2"),
    ],
)
def test_every_form_resolves(index: ModelIndex, asked: str, found: str) -> None:
    info = index.resolve(asked)
    assert info is not None and info.id == found


@pytest.mark.parametrize(
    "asked",
    [
        "openai/gpt-4o:free",  # static variants are rows of their own: this one is not listed
        "openai/gpt-4o:thinking",  # (':thinking' is a suffix some rows carry)
        "openai/gpt-4o:extended",  # documented as static even though no row has it today
        "nobody/nothing:nitro",
        "gpt-4o:nitro",
        "@preset/x",  # a preset alone has no record
        "~openai/gpt-oldest",
    ],
)
def test_what_does_not_resolve(index: ModelIndex, asked: str) -> None:
    assert index.resolve(asked) is None


def test_the_static_suffixes_come_from_the_data() -> None:
    records, aliases = translate_entries([{"id": "a/b"}, {"id": "a/b:beta"}, {"id": "c/d"}])
    index = ModelIndex(records, aliases)
    assert index.resolve("c/d:beta") is None  # 'beta' names rows of their own in this catalog
    assert index.resolve("c/d:turbo").id == "c/d"  # type: ignore[union-attr]


def test_the_shipped_snapshot_resolves_the_same_and_translates_lazily(index: ModelIndex) -> None:
    shipped_snapshot.cache_clear()
    snapshot = shipped_snapshot()
    assert snapshot.date == json.loads(SNAPSHOT.read_text())["snapshot_date"]
    assert snapshot.taken_at > 1.7e9
    assert len(snapshot.index) == len(index) == 371
    for asked in ("moonshotai/kimi-k2:exacto", "anthropic/claude-3-7-sonnet-20250219"):
        assert snapshot.index.resolve(asked) == index.resolve(asked)
    assert len(snapshot.index.records._done) == 2  # type: ignore[attr-defined]
    assert snapshot.models() == index.records
