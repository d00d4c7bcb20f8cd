"""The on-disk catalog copy: where it lives, its TTL setting, atomic writes, damaged files."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

from langchain_openrouter_fenic.catalog import disk_cache as _disk_cache
from langchain_openrouter_fenic.catalog.disk_cache import (
    CACHE_DIR_ENV,
    CACHE_TTL_ENV,
    cache_file,
    default_cache_root,
    read_catalog,
    settings_from_env,
    write_catalog,
)

KEY = "sk-or-v1-0123456789abcdef-secret"


@pytest.mark.parametrize(
    ("platform", "environ", "expected"),
    [
        pytest.param("linux", {"HOME": "/home/u"}, "/home/u/.cache", id="linux-default"),
        pytest.param(
            "linux", {"HOME": "/home/u", "XDG_CACHE_HOME": "/xdg"}, "/xdg", id="linux-xdg"
        ),
        pytest.param(
            "linux", {"HOME": "/home/u", "XDG_CACHE_HOME": "rel"}, "/home/u/.cache",
            id="linux-relative-xdg-ignored",
        ),
        pytest.param("darwin", {"HOME": "/Users/u"}, "/Users/u/Library/Caches", id="macos"),
        pytest.param(
            "win32", {"HOME": "C:/Users/u", "LOCALAPPDATA": "C:/Users/u/AppData/Local"},
            "C:/Users/u/AppData/Local", id="windows",
        ),
    ],
)  # fmt: skip
def test_default_cache_root_per_platform(
    platform: str, environ: dict[str, str], expected: str
) -> None:
    assert default_cache_root(environ, platform) == Path(expected)


def test_settings_default_to_user_cache_dir_and_one_hour() -> None:
    settings = settings_from_env({"HOME": "/home/u"}, "linux")
    assert settings.directory == Path("/home/u/.cache/langchain-openrouter-fenic")
    assert settings.ttl == 3600.0
    assert settings.enabled


def test_settings_env_moves_the_directory_and_sets_the_ttl() -> None:
    settings = settings_from_env({CACHE_DIR_ENV: "/tmp/x", CACHE_TTL_ENV: "90"}, "linux")
    assert settings.directory == Path("/tmp/x")
    assert settings.ttl == 90.0


def test_ttl_zero_disables_the_disk_cache() -> None:
    settings = settings_from_env({CACHE_DIR_ENV: "/tmp/x", CACHE_TTL_ENV: "0"}, "linux")
    assert settings.directory is None
    assert not settings.enabled
    assert settings.memory_ttl == 3600.0  # the copy in memory still refreshes hourly


@pytest.mark.parametrize("bad", ["soon", "-5", "nan"])
def test_unreadable_ttl_falls_back_with_a_warning(
    bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        settings = settings_from_env({CACHE_DIR_ENV: "/tmp/x", CACHE_TTL_ENV: bad}, "linux")
    assert settings.ttl == 3600.0
    assert CACHE_TTL_ENV in caplog.text
    assert repr(bad) in caplog.text


def test_cache_file_is_per_base_url_and_key_and_never_holds_the_key(tmp_path: Path) -> None:
    a = cache_file(tmp_path, "https://openrouter.ai/api/v1", KEY)
    b = cache_file(tmp_path, "https://openrouter.ai/api/v1/", KEY)  # trailing slash: same
    c = cache_file(tmp_path, "https://openrouter.ai/api/v1", KEY + "x")
    d = cache_file(tmp_path, "http://127.0.0.1:8080/api/v1", KEY)
    e = cache_file(tmp_path, "https://openrouter.ai/api/v1", None)
    assert a == b
    assert len({a, c, d, e}) == 4
    assert a.parent == tmp_path
    assert a.name.startswith("models-openrouter.ai-")
    assert d.name.startswith("models-127.0.0.1_8080-")
    for path in (a, c, d, e):
        assert KEY not in path.name and KEY[:12] not in path.name


def test_write_then_read_round_trip(tmp_path: Path) -> None:
    path = cache_file(tmp_path / "nested" / "dir", "https://openrouter.ai/api/v1", KEY)
    entries = [{"id": "a/b", "pricing": {"prompt": "0.1"}}]
    assert write_catalog(
        path, entries, fetched_at=1234.5, source="/models/user", base_url="https://x/api/v1"
    )
    cached = read_catalog(path)
    assert cached is not None
    assert cached.entries == entries
    assert cached.fetched_at == 1234.5
    assert cached.source == "/models/user"
    assert KEY not in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left


def test_missing_file_reads_as_none(tmp_path: Path) -> None:
    assert read_catalog(tmp_path / "absent.json") is None


@pytest.mark.parametrize(
    "content",
    [
        pytest.param('{"format": 1, "fetched_at": 1, "data": [', id="truncated"),
        pytest.param('{"format": 99, "fetched_at": 1, "data": []}', id="other-format"),
        pytest.param('{"format": 1, "fetched_at": "x", "data": []}', id="bad-timestamp"),
        pytest.param('{"format": 1, "fetched_at": 1, "data": {}}', id="data-not-list"),
        pytest.param("[]", id="not-an-object"),
    ],
)
def test_damaged_files_are_ignored(tmp_path: Path, content: str) -> None:
    path = tmp_path / "models.json"
    path.write_text(content)
    assert read_catalog(path) is None


def test_unwritable_directory_returns_false_and_leaves_no_temp(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert not write_catalog(
        blocker / "models.json", [], fetched_at=1.0, source="/models", base_url="u"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_unserialisable_entries_leave_the_old_copy_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "models.json"
    assert write_catalog(path, [{"id": "old"}], fetched_at=1.0, source="/models", base_url="u")
    assert not write_catalog(path, [object()], fetched_at=2.0, source="/models", base_url="u")
    cached = read_catalog(path)
    assert cached is not None and cached.entries == [{"id": "old"}]
    assert [p.name for p in tmp_path.iterdir()] == ["models.json"]


def test_readers_never_see_half_a_file(tmp_path: Path) -> None:
    """Writers replace the file while readers read it: every read is a whole copy."""
    path = tmp_path / "models.json"
    big = [{"id": f"m/{i}", "description": "x" * 200} for i in range(2000)]  # ~0.5 MB
    write_catalog(path, big, fetched_at=0.0, source="/models", base_url="u")
    stop = threading.Event()
    seen: list[int] = []

    def writer(offset: int) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            write_catalog(path, big, fetched_at=offset + n, source="/models", base_url="u")

    def reader() -> None:
        for _ in range(60):
            cached = read_catalog(path)
            assert cached is not None, "a reader saw a partial or missing file"
            seen.append(len(cached.entries))

    writers = [threading.Thread(target=writer, args=(k * 10_000,)) for k in range(2)]
    for thread in writers:
        thread.start()
    try:
        reader()
    finally:
        stop.set()
        for thread in writers:
            thread.join()
    assert seen and set(seen) == {2000}
    json.loads(path.read_text())  # the final file is whole
    assert [p.name for p in tmp_path.iterdir()] == ["models.json"]


def test_write_uses_os_replace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The new copy is moved over the old one in one step (never written in place)."""
    calls: list[tuple[str, str]] = []
    real_replace = _disk_cache.os.replace

    def spy(src: str, dst: str) -> None:
        calls.append((str(src), str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(_disk_cache.os, "replace", spy)
    path = tmp_path / "models.json"
    assert write_catalog(path, [], fetched_at=1.0, source="/models", base_url="u")
    assert len(calls) == 1
    src, dst = calls[0]
    assert dst == str(path)
    assert Path(src).parent == tmp_path and src != dst
