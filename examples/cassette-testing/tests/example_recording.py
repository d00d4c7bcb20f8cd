"""Where the example records: the project's loopback OpenRouter emulator, on a fixed port.

Your own suite records against OpenRouter itself (your ``OPENROUTER_API_KEY``, the default base
URL) and needs none of this. The example records against ``tests/support/emulator.py`` of this
repository so that anyone can re-record it without an account; the port is fixed because the
cassettes keep the URL they were recorded at.
"""

from __future__ import annotations

import hashlib
import sys
import time
from pathlib import Path
from typing import Any

PORT = 18790
BASE_URL = f"http://127.0.0.1:{PORT}/api/v1"
# shaped like a real key, so that the scrubbing is tested against the real shape; never stored
RECORDING_KEY = "sk-or-v1-" + hashlib.sha256(b"cassette-testing example").hexdigest()
CASSETTES = Path(__file__).parent / "cassettes"
REPOSITORY = Path(__file__).resolve().parents[3]


class RecordingServer:
    """The running emulator, with the one script the example needs (a rate limit)."""

    def __init__(self) -> None:
        if str(REPOSITORY) not in sys.path:
            sys.path.insert(0, str(REPOSITORY))  # tests.support lives in the repository
        from tests.support.emulator import OpenRouterEmulator

        self.emulator: Any = OpenRouterEmulator(port=PORT, api_key=RECORDING_KEY).start()

    def rate_limit_next_call(self, retry_after: float) -> None:
        """Answer the next chat call with OpenRouter's 429 (``Retry-After`` in seconds)."""
        from tests.support.emulator import Reply

        reset_ms = int((time.time() + retry_after) * 1000)
        self.emulator.enqueue(Reply.rate_limited(retry_after=retry_after, reset_ms=reset_ms))

    def stop(self) -> None:
        self.emulator.stop()
