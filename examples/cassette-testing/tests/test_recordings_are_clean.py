"""What is committed: no key or account id in any cassette or in the catalog file, and small files.

These read the files only (no cassette of their own), so they also guard cassettes that a
re-recording just wrote.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from example_recording import CASSETTES, RECORDING_KEY

CATALOG = CASSETTES / "openrouter-catalog.json"
MODELS_USED = {
    "openai/gpt-4o-mini",  # extraction
    "deepseek/deepseek-chat",  # extraction with a tools-only model
    "alpindale/goliath-120b",  # the fail-fast test: looked up, never called
    "anthropic/claude-3.5-haiku",  # the agent
}


def recorded() -> list[Path]:
    """Read when a test runs, not at collection: a full re-recording writes the catalog file
    after this module is collected."""
    return sorted(p for p in CASSETTES.rglob("*") if p.suffix in (".yaml", ".json"))


def test_there_is_something_to_check() -> None:
    assert CATALOG in recorded()
    assert len(recorded()) >= 14


def test_no_file_holds_the_key_or_an_authorization_header() -> None:
    for path in recorded():
        text = path.read_text(encoding="utf-8")
        assert RECORDING_KEY not in text, path
        assert RECORDING_KEY[-24:] not in text, path  # not even a piece of it
        assert not re.search(r"sk-or-|authorization|bearer", text, re.IGNORECASE), path


def test_account_ids_are_redacted() -> None:
    for path in recorded():
        for value in re.findall(r'\\*"user_id\\*":\s*\\*"([^"\\]*)', path.read_text()):
            assert value == "REDACTED", path


def test_the_catalog_file_is_small_and_holds_only_the_models_used() -> None:
    assert CATALOG.stat().st_size <= 20 * 1024
    answers = json.loads(CATALOG.read_text())["answers"]
    # which catalog requests the package sends is its own business (a listing, the /endpoints of
    # some models); that the file keeps only the models the tests use is this one's
    listings = {path: answer["body"]["data"] for path, answer in answers.items()
                if isinstance(answer["body"].get("data"), list)}  # fmt: skip
    assert listings, sorted(answers)
    for path, entries in listings.items():
        assert {entry["id"] for entry in entries} == MODELS_USED, path
    for path in set(answers) - set(listings):
        assert path.removeprefix("/models/").removesuffix("/endpoints") in MODELS_USED, path


def test_cassettes_hold_chat_exchanges_only_and_one_exchange_is_small() -> None:
    for path in recorded():
        if path == CATALOG:
            continue
        interactions = yaml.safe_load(path.read_text())["interactions"]
        assert interactions, path
        for interaction in interactions:
            assert interaction["request"]["uri"].endswith("/chat/completions"), path
        if len(interactions) == 1:
            assert path.stat().st_size <= 10 * 1024, path
