"""``testing.use_cassette``: the same record-once, replay-anywhere with plain vcrpy (no pytest
plugin), and a recorded 429 that replays through the retry policy without waiting."""

from __future__ import annotations

import contextlib
import logging
import re
import time
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
import yaml

from langchain_openrouter_fenic import ChatOpenRouter, errors
from langchain_openrouter_fenic.rate_limits import waits
from langchain_openrouter_fenic.testing import CassetteMismatchError, use_cassette
from tests.support.emulator import Reply, running_emulator

KEY = "sk-or-v1-" + "7c" * 32
PAUSE = 30.0  # what the recorded 429 asks for: a replay that waited would take >= 30 s


def _llm(url: str) -> ChatOpenRouter:
    return ChatOpenRouter(model="openai/gpt-4o-mini", base_url=url, api_key=KEY)


@pytest.fixture
def recorded(tmp_path: Path) -> tuple[Path, Path, str]:
    """A cassette of a 429 (Retry-After 30 s, reset 30 s ahead) then the answer.

    Recorded with waits skipped so that the recording itself does not take 30 s; the emulator
    does not enforce the pause, a real service would.
    """
    cassette, catalog = tmp_path / "chat.yaml", tmp_path / "openrouter-catalog.json"
    with running_emulator(api_key=KEY) as emu:
        reset_ms = int((time.time() + PAUSE) * 1000)
        emu.enqueue(Reply.rate_limited(retry_after=PAUSE, reset_ms=reset_ms))
        with (
            waits.skipped(),
            use_cassette(cassette, catalog=catalog, record_mode="rewrite") as session,
        ):
            assert session.recording
            assert _llm(emu.url).invoke("Say hi").content == "You said: Say hi"
        url = emu.url
    return cassette, catalog, url


def test_the_recording_holds_the_429_and_no_catalog(recorded: tuple[Path, Path, str]) -> None:
    cassette, catalog, _ = recorded
    statuses = [i["response"]["status"]["code"] for i in yaml.safe_load(cassette.read_text())[
        "interactions"
    ]]  # fmt: skip
    assert statuses == [429, 200]
    assert KEY not in cassette.read_text() and KEY not in catalog.read_text()
    assert "openai/gpt-4o-mini" in catalog.read_text()


def test_a_recorded_429_replays_through_the_retry_policy_without_waiting(
    recorded: tuple[Path, Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    cassette, catalog, url = recorded
    started = time.monotonic()
    with (
        caplog.at_level(logging.DEBUG, logger="langchain_openrouter_fenic"),
        use_cassette(cassette, catalog=catalog) as session,
    ):
        assert session.replaying
        assert _llm(url).invoke("Say hi").content == "You said: Say hi"
    elapsed = time.monotonic() - started
    # the retry policy read the recorded Retry-After and the limiter paused for it...
    # 30 s, or up to a second more: the reset is read against the answer's Date (whole seconds)
    retries = [
        r.getMessage() for r in caplog.records if "answered 429; retry 1 of 2" in r.getMessage()
    ]
    assert len(retries) == 1 and re.search(r"in 3[01]\.\d+ s$", retries[0]), retries
    assert any("throttling" in r.getMessage() for r in caplog.records)
    # ...yet nothing waited: 30 s of server wait against a bound of 15 s on a loaded machine
    assert elapsed < PAUSE / 2
    assert not waits.are_skipped()  # only while the cassette was in use


def test_a_changed_request_raises_on_exit_with_the_rerecord_hint(
    recorded: tuple[Path, Path, str],
) -> None:
    cassette, catalog, url = recorded
    with (
        pytest.raises(CassetteMismatchError) as info,
        use_cassette(cassette, catalog=catalog),
        contextlib.suppress(Exception),  # the code under test swallows the failure...
    ):
        _llm(url).invoke("Say something else")
    message = str(info.value)  # ...the replay still fails, saying why
    assert f"{cassette} sent requests that its cassette does not hold" in message
    assert "body differs at $.messages[0].content: sent 'Say something else'" in message
    assert "record_mode='rewrite'" in message


def _shift_hour_back(text: str, reset_ms: int) -> str:
    """The cassette as if recorded an hour earlier: its Date and reset epochs move back."""
    doc = yaml.safe_load(text)
    (interaction,) = doc["interactions"]
    headers = interaction["response"]["headers"]
    # older vcrpy releases keep header names' case as sent ("Date"), later ones lower-case them
    name = next(n for n in headers if n.lower() == "date")
    sent = parsedate_to_datetime(headers[name][0]).timestamp()
    earlier = datetime.fromtimestamp(sent - 3600, tz=timezone.utc)
    headers[name] = [format_datetime(earlier, usegmt=True)]
    shifted = yaml.safe_dump(doc)
    return shifted.replace(str(reset_ms), str(reset_ms - 3_600_000))


def test_a_replay_reads_a_recorded_reset_against_the_recording_time(tmp_path: Path) -> None:
    """A daily-quota 429 (reset 5 min ahead, no Retry-After) raised at once when recorded; an
    hour later its reset epoch is in the past, yet the replay still raises, without a retry."""
    cassette, catalog = tmp_path / "quota.yaml", tmp_path / "openrouter-catalog.json"
    with running_emulator(api_key=KEY) as emu:
        reset_ms = int((time.time() + 300) * 1000)
        emu.enqueue(Reply.rate_limited(reset_ms=reset_ms))
        with (
            use_cassette(cassette, catalog=catalog, record_mode="rewrite"),
            pytest.raises(errors.RateLimitError, match="max_rate_limit_wait"),
        ):
            _llm(emu.url).invoke("Say hi")
        url = emu.url
    cassette.write_text(_shift_hour_back(cassette.read_text(), reset_ms))

    with (
        use_cassette(cassette, catalog=catalog),
        pytest.raises(errors.RateLimitError, match="max_rate_limit_wait") as replayed,
    ):
        _llm(url).invoke("Say hi")
    wait = replayed.value.retry_after
    assert wait is not None and 290 < wait <= 301  # Date is in whole seconds


@pytest.mark.parametrize("mode", ["sync", "async"])
async def test_polling_for_generation_stats_replays_without_waiting(
    tmp_path: Path, mode: str
) -> None:
    """``get_generation`` asks again while OpenRouter answers 404: 12 recorded 404s stand for
    10 s of pauses between lookups (its default max_wait), which a replay must not sleep."""
    cassette, catalog = tmp_path / "stats.yaml", tmp_path / "openrouter-catalog.json"

    async def answer_and_stats(url: str) -> tuple[str, object]:
        llm = _llm(url)
        if mode == "sync":
            answer = llm.invoke("Say hi")
            return str(answer.content), llm.get_generation(answer)
        answer = await llm.ainvoke("Say hi")
        return str(answer.content), await llm.aget_generation(answer)

    with running_emulator(api_key=KEY, generation_not_found_lookups=12) as emu:
        with waits.skipped(), use_cassette(cassette, catalog=catalog, record_mode="rewrite"):
            recorded = await answer_and_stats(emu.url)  # quick: waits skipped while recording
        url = emu.url
    statuses = [i["response"]["status"]["code"] for i in yaml.safe_load(cassette.read_text())[
        "interactions"
    ]]  # fmt: skip
    assert statuses == [200] + [404] * 12 + [200]

    started = time.monotonic()
    with use_cassette(cassette, catalog=catalog) as session:
        assert session.replaying
        assert await answer_and_stats(url) == recorded
    assert time.monotonic() - started < 5  # a replay that slept the pauses takes >= 10 s
