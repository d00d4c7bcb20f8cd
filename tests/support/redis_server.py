"""A real ``redis-server`` on a free loopback port, started and stopped by the tests.

No persistence (``--save '' --appendonly no``), nothing outside a temporary directory. When the
binary is missing the Redis tests are skipped, except under ``CI=true``, where that fails the
run: CI installs it (``.ci/run``), so a missing server there is a broken set-up, not a reason to
pass. Fault drills use the process handle: ``pause`` / ``resume`` (``kill -STOP`` / ``-CONT``),
``restart`` (same port, empty state, scripts forgotten), ``stop``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

__all__ = ["RedisServer", "redis_client_module", "redis_server_binary"]


def _missing(message: str) -> NoReturn:
    """Skip (a module or a test) for want of ``message``'s part; fail instead under CI=true."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; under CI=true the Redis tests must run", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def redis_server_binary() -> str:
    """The ``redis-server`` path; skips the test (fails it under CI=true) when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        _missing(
            "redis-server is not installed (apt-get install -y redis-server); .ci/run installs it"
        )
    return found


def redis_client_module() -> ModuleType:
    """The ``redis`` client (the ``[redis]`` extra, a dev dependency); skips without it, fails
    under CI=true."""
    try:
        import redis
    except ImportError:
        _missing(
            "the redis client is not installed (pip install 'langchain-openrouter-fenic[redis]')"
        )
    return redis


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """One ``redis-server`` process on 127.0.0.1."""

    def __init__(self, *extra: str) -> None:
        self.binary = redis_server_binary()
        self.port = _free_port()
        self.extra = extra
        self._dir = tempfile.TemporaryDirectory(prefix="redis-test-")
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            self._dir.name,
            "--logfile",
            str(Path(self._dir.name) / "redis.log"),
            *self.extra,
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited at start: {err}")
            if self._answers():
                return self
            time.sleep(0.01)
        raise RuntimeError(f"redis-server on port {self.port} did not answer within 10 s")

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, decode_responses=True, socket_timeout=5)

    # -- faults --------------------------------------------------------------------------
    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()  # a stopped process would not act on SIGTERM
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
        self.process = None

    def restart(self) -> None:
        """Down and up again on the same port: empty state, no scripts loaded."""
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        self._dir.cleanup()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()
