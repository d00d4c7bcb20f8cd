"""The Redis tests' own rule: without redis-server or the client they skip, but under CI=true
(where ``.ci/run`` installs both) they fail, so a broken set-up never passes as green."""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.support.redis_server import redis_client_module, redis_server_binary


def test_a_missing_redis_server_skips_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"redis-server is not installed.*CI=true"):
        redis_server_binary()
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y redis-server"):
        redis_server_binary()


def test_a_missing_redis_client_skips_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # "import redis" raises ImportError
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"langchain-openrouter-fenic\[redis\]"):
        redis_client_module()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="redis client is not installed"):
        redis_client_module()


def test_with_both_installed_they_are_found() -> None:
    # (skipped where redis-server is missing, failed there under CI=true: the rule above)
    assert redis_server_binary().endswith("redis-server")
    assert redis_client_module().__name__ == "redis"
