"""The example's fixtures: ChatOpenRouter points at the recording server, which runs only while
recording (``--record-mode`` other than ``none``). Replays need no server, no key, no network."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from example_recording import BASE_URL, RECORDING_KEY, RecordingServer


@pytest.fixture(autouse=True)
def _openrouter_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENROUTER_API_BASE", BASE_URL)
    monkeypatch.setenv("OPENROUTER_API_KEY", RECORDING_KEY)


@pytest.fixture(scope="session", autouse=True)
def recording_server(record_mode: str) -> Iterator[RecordingServer | None]:
    """The emulator while recording, None while replaying."""
    if record_mode == "none":
        yield None
        return
    server = RecordingServer()
    try:
        yield server
    finally:
        server.stop()
