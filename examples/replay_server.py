"""A loopback stand-in for OpenRouter that replays real recorded answers (standard library only).

    with ReplayServer.from_file(ANSWERS) as server:
        llm = ChatOpenRouter(model=..., api_key="demo", base_url=server.url)

- ``GET /api/v1/models`` and ``/models/user``: the real catalog snapshot shipped in the package,
  plus the recorded cassettes' own entries for models that have left it (marked
  ``"x-synthesized": true`` there);
- ``POST /api/v1/chat/completions``: the recorded answer for the request's ``model`` and
  ``stream`` flag, byte for byte, with its recorded status and content type. A request with no
  recorded answer gets a 404 in OpenRouter's error shape that says so;
- every request body is kept in ``requests`` (what went on the wire).

The answers file is built from ``cassettes/real/`` by ``tests/tools/build_demo_replay.py``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ReplayServer"]

_PREFIX = "/api/v1"


class ReplayServer:
    """Serves recorded answers on 127.0.0.1 (a free port) from a daemon thread."""

    def __init__(self, answers: list[dict[str, Any]], catalog: list[dict[str, Any]]) -> None:
        self.answers = {(a["model"], a["stream"]): a for a in answers}
        self.catalog = catalog
        self.requests: list[dict[str, Any]] = []
        self._server: ThreadingHTTPServer | None = None

    @classmethod
    def from_file(cls, path: Path) -> ReplayServer:
        data = json.loads(path.read_text("utf-8"))
        snapshot = json.loads(
            resources.files("langchain_openrouter_fenic")
            .joinpath("data/catalog-snapshot.json")
            .read_text("utf-8")
        )["data"]
        known = {entry["id"] for entry in snapshot}
        extra = [e for e in data["catalog_entries"] if e["id"] not in known]
        return cls(data["answers"], snapshot + extra)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        return f"http://127.0.0.1:{self._server.server_address[1]}{_PREFIX}"

    def answer_for(self, model: str, stream: bool) -> dict[str, Any] | None:
        return self.answers.get((model, stream))

    def start(self) -> ReplayServer:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- answers ------------------------------------------------------------------------------
    def respond(self, method: str, path: str, body: bytes) -> tuple[int, str, bytes]:
        """(status, content type, body) for one request."""
        path = path.split("?", 1)[0]
        if method == "GET" and path in (f"{_PREFIX}/models", f"{_PREFIX}/models/user"):
            return 200, "application/json", json.dumps({"data": self.catalog}).encode()
        if method == "POST" and path == f"{_PREFIX}/chat/completions":
            request = json.loads(body or b"{}")
            self.requests.append(request)
            model, stream = request.get("model"), bool(request.get("stream"))
            answer = self.answer_for(str(model), stream)
            if answer is not None:
                return answer["status"], answer["content_type"], answer["body"].encode()
            recorded = ", ".join(f"{m} (stream={s})" for m, s in sorted(self.answers))
            message = f"The replay has no recorded answer for {model} (stream={stream}): {recorded}"
            return 404, "application/json", _error(404, message)
        return 404, "application/json", _error(404, f"The replay does not serve {method} {path}")


def _error(code: int, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def _handler(server: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, content_type, body = server.respond(
                self.command, self.path, self.rfile.read(length)
            )
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _reply

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler
