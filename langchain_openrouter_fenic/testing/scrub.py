"""What a cassette may never keep, and the noise it need not keep.

:class:`Scrubber` is applied to every request and response before vcrpy matches or stores it
(and once more to everything written to disk):

- **secrets**: ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie``,
  ``X-Api-Key`` and OpenAI organisation/project headers are dropped; the API key is replaced by
  ``REDACTED`` wherever else it appears -- other header values, the URL and its query string,
  request and response bodies (JSON, SSE or text). The keys it looks for: every bearer token
  the scrubber has seen in an ``Authorization`` header, ``OPENROUTER_API_KEY`` from the
  environment, any ``secrets`` given, and anything shaped like an OpenRouter key (``sk-or-...``);
- **account ids**: the value of every ``"user_id"`` in a body (OpenRouter's error bodies carry
  the account's id), escaped JSON inside JSON strings included;
- **noise**: headers that change with every run, SDK version or machine (``User-Agent``,
  ``X-Stainless-*``, ``Date``, ``Cf-Ray``, ``Content-Length``, ...) are dropped so that a
  re-recorded cassette differs only where the traffic did.

``Content-Type``, ``X-RateLimit-*``, ``Retry-After`` and every other header are kept: the parser
and the rate limiter are tested against them. ``Date`` is kept on a 429 and on any answer with
rate-limit headers: a replay reads their reset epochs against it (``rate_limits.waits``).
Scrubbing is idempotent (vcrpy applies it again to what it loads) and keeps a body's bytes as
they were unless something had to be replaced.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "NOISY_REQUEST_HEADERS",
    "NOISY_RESPONSE_HEADERS",
    "REDACTED",
    "SECRET_HEADERS",
    "Scrubber",
]

REDACTED = "REDACTED"

SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-api-key",
        "api-key",
        "openai-organization",
        "openai-project",
        "x-clerk-user-id",
    }
)
# not secret, but different on every run / machine / SDK version: each would be a diff
NOISY_REQUEST_HEADERS = frozenset(
    {"user-agent", "accept", "accept-encoding", "connection", "host", "content-length"}
)
NOISY_RESPONSE_HEADERS = frozenset(
    {
        "date",
        "server",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "cf-ray",
        "cf-cache-status",
        "alt-svc",
        "nel",
        "report-to",
        "vary",
        "strict-transport-security",
        "x-content-type-options",
        "x-powered-by",
        "access-control-allow-origin",
        "access-control-allow-credentials",
        "access-control-allow-headers",
        "access-control-allow-methods",
        "access-control-expose-headers",
        "access-control-max-age",
    }
)
_NOISY_PREFIXES = ("x-stainless-",)

# an OpenRouter key (sk-or-v1-<64 hex>), or a bearer token written out in text
_KEY_SHAPES = re.compile(r"sk-or-[A-Za-z0-9_-]{16,}|(?<=Bearer )[A-Za-z0-9._~+/=-]{16,}")
# "user_id": "..." -- also as escaped JSON inside a JSON string (\"user_id\": \"...\")
_USER_ID = re.compile(r'(\\*"user_id\\*"\s*:\s*\\*")((?:(?!\\*").)*)(\\*")')
# literal secrets shorter than this would match ordinary text; the headers go whatever their value
_MIN_SECRET = 8
_ENV_KEY = "OPENROUTER_API_KEY"


class Scrubber:
    """Scrubs vcrpy requests and responses (see the module docstring).

    Args:
        secrets: more strings to replace wherever they appear (at least 8 characters).
        keep_noise: keep the noisy headers too (only the secret ones are dropped).
        environ: where ``OPENROUTER_API_KEY`` is read (default ``os.environ``).
    """

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        keep_noise: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.keep_noise = keep_noise
        env = os.environ if environ is None else environ
        for secret in (*secrets, env.get(_ENV_KEY, "")):
            self.add_secret(secret)

    def add_secret(self, secret: str) -> None:
        """Replace ``secret`` from now on (ignored when shorter than 8 characters)."""
        secret = secret.strip()
        if len(secret) >= _MIN_SECRET and secret != REDACTED:
            with self._lock:
                self._secrets.add(secret)

    # -- text --------------------------------------------------------------------------------
    def text(self, text: str) -> str:
        """``text`` with every secret and ``user_id`` value replaced."""
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)  # longest first
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _KEY_SHAPES.sub(REDACTED, text)
        return _USER_ID.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)

    def body(self, body: Any) -> Any:
        """A body (bytes, str or None) scrubbed, of the same type; undecodable bytes as they are."""
        if isinstance(body, bytes):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                return body
            cleaned = self.text(text)
            return body if cleaned == text else cleaned.encode("utf-8")
        if isinstance(body, str):
            return self.text(body)
        return body

    # -- vcrpy hooks -------------------------------------------------------------------------
    def request(self, request: Any) -> Any:
        """vcrpy ``before_record_request``: learns the bearer key, then scrubs (in place)."""
        headers = request.headers
        for name in list(headers):
            lowered = name.lower()
            if lowered in ("authorization", "proxy-authorization"):
                scheme, _, token = str(headers[name]).partition(" ")
                self.add_secret(token if token else scheme)
            elif lowered in ("x-api-key", "api-key"):
                self.add_secret(str(headers[name]))
        for name in list(headers):
            lowered = name.lower()
            if lowered in SECRET_HEADERS or (not self.keep_noise and _noisy_request(lowered)):
                del headers[name]
            else:
                headers[name] = self.text(str(headers[name]))
        request.uri = self.text(request.uri)
        request.body = self.body(request.body)
        return request

    def response(self, response: dict[str, Any]) -> dict[str, Any]:
        """vcrpy ``before_record_response``: scrubs headers and body (in place)."""
        headers = response.get("headers") or {}
        timed = _carries_rate_limits(response)
        for name in list(headers):
            lowered = name.lower()
            noise = lowered in NOISY_RESPONSE_HEADERS and not (timed and lowered == "date")
            if lowered in SECRET_HEADERS or (not self.keep_noise and noise):
                del headers[name]
                continue
            values = headers[name]
            if isinstance(values, list):
                headers[name] = [self.text(str(v)) for v in values]
            else:
                headers[name] = self.text(str(values))
        body = response.get("body")
        if isinstance(body, dict) and "string" in body:
            body["string"] = self.body(body["string"])
        return response


def _carries_rate_limits(response: Mapping[str, Any]) -> bool:
    """A 429 or an answer with rate-limit headers: its ``Date`` dates its reset epochs."""
    status = response.get("status")
    code = status.get("code") if isinstance(status, Mapping) else None
    names = {str(n).lower() for n in response.get("headers") or {}}
    return code == 429 or "retry-after" in names or any(n.startswith("x-ratelimit-") for n in names)


def _noisy_request(name: str) -> bool:
    return name in NOISY_REQUEST_HEADERS or name.startswith(_NOISY_PREFIXES)
