"""The on-disk copy of the model catalog, shared by every process of one user.

Many worker processes (multiprocessing pools, uvicorn workers, notebook restarts) would each fetch
the ~400 KB catalog on first use; one JSON file per (base_url, API key) lets them fetch it once per
TTL. The file holds OpenRouter's raw entries (translated on load, so a newer package reads an older
file) and never the key: the file name carries a truncated SHA-256 of it.

Settings (read once, when a catalog is created):

=========================================  ================================================
``LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR``    directory of the cache files; default: the user
                                            cache dir (``$XDG_CACHE_HOME`` or ``~/.cache`` on
                                            Linux, ``~/Library/Caches`` on macOS,
                                            ``%LOCALAPPDATA%`` on Windows) +
                                            ``/langchain-openrouter-fenic``
``LANGCHAIN_OPENROUTER_FENIC_CACHE_TTL``    seconds a copy stays fresh (default 3600);
                                            ``0`` disables the disk cache (the copy in
                                            memory still refreshes hourly)
=========================================  ================================================

Writes go to a temporary file in the same directory, then ``os.replace`` it over the old copy:
a concurrent reader sees the old file or the new one, never half of one. Every failure here is
logged and swallowed: the cache is an optimisation, never a reason for a request to fail.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_DIR_ENV",
    "CACHE_TTL_ENV",
    "DEFAULT_TTL_SECONDS",
    "CacheSettings",
    "CachedCatalog",
    "cache_file",
    "default_cache_root",
    "read_catalog",
    "settings_from_env",
    "write_catalog",
]

logger = logging.getLogger(__name__)

CACHE_DIR_ENV = "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"
CACHE_TTL_ENV = "LANGCHAIN_OPENROUTER_FENIC_CACHE_TTL"
DEFAULT_TTL_SECONDS = 3600.0
_APP_DIR = "langchain-openrouter-fenic"
# bump when the file layout changes; files of another format are ignored (and later replaced)
_FORMAT = 1


@dataclass(frozen=True)
class CacheSettings:
    """Where catalog copies live and how long they stay fresh.

    Attributes:
        directory: the cache directory, or None when the disk cache is disabled.
        ttl: seconds a fetched catalog counts as fresh; 0 means "keep no disk copy" (the copy
            in memory is then refreshed every ``DEFAULT_TTL_SECONDS``).
    """

    directory: Path | None
    ttl: float

    @property
    def enabled(self) -> bool:
        return self.directory is not None and self.ttl > 0

    @property
    def memory_ttl(self) -> float:
        """Seconds the copy in memory is used before it is fetched again: the TTL, or the
        default one when the disk cache is off — a process lives longer than a catalog."""
        return self.ttl if self.ttl > 0 else DEFAULT_TTL_SECONDS


@dataclass(frozen=True)
class CachedCatalog:
    """A catalog copy read back from disk: OpenRouter's raw entries and when they were fetched."""

    entries: list[Any]
    fetched_at: float
    source: str
    path: Path


def default_cache_root(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> Path:
    """The per-user cache directory of this platform (no ``platformdirs`` dependency)."""
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or Path.home())
    if platform.startswith("win"):
        local = env.get("LOCALAPPDATA")
        return Path(local) if local else home / "AppData" / "Local"
    if platform == "darwin":
        return home / "Library" / "Caches"
    xdg = env.get("XDG_CACHE_HOME")
    return Path(xdg) if xdg and Path(xdg).is_absolute() else home / ".cache"


def settings_from_env(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> CacheSettings:
    """Read the two environment variables; an unreadable TTL falls back to the default (WARNING)."""
    env = os.environ if environ is None else environ
    ttl = DEFAULT_TTL_SECONDS
    raw_ttl = env.get(CACHE_TTL_ENV, "").strip()
    if raw_ttl:
        try:
            ttl = float(raw_ttl)
            if ttl != ttl or ttl < 0:  # NaN or negative
                raise ValueError
        except ValueError:
            logger.warning(
                "%s=%r is not a number of seconds >= 0; using %s s. Set it to e.g. 3600, or 0 "
                "to disable the catalog disk cache.",
                CACHE_TTL_ENV,
                raw_ttl,
                int(DEFAULT_TTL_SECONDS),
            )
            ttl = DEFAULT_TTL_SECONDS
    custom_dir = env.get(CACHE_DIR_ENV, "").strip()
    directory = Path(custom_dir) if custom_dir else default_cache_root(env, platform) / _APP_DIR
    return CacheSettings(directory=directory if ttl > 0 else None, ttl=ttl)


def cache_file(directory: Path, base_url: str, api_key: str | None) -> Path:
    """The file of one (base_url, key): readable host prefix + a hash of both (never the key)."""
    key_digest = hashlib.sha256(api_key.encode()).hexdigest()[:16] if api_key else "nokey"
    scope = hashlib.sha256(f"{base_url.rstrip('/')}\n{key_digest}".encode()).hexdigest()[:16]
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", base_url.split("://", 1)[-1].split("/", 1)[0])[:60]
    return directory / f"models-{host or 'local'}-{scope}.json"


def read_catalog(path: Path) -> CachedCatalog | None:
    """The copy at ``path``, or None when there is none or it cannot be used (DEBUG log)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        logger.debug("Catalog cache %s unreadable: %s", path, exc)
        return None
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise ValueError("unknown format")
        entries, fetched_at = doc["data"], float(doc["fetched_at"])
        if not isinstance(entries, list):
            raise ValueError("data is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        logger.debug("Catalog cache %s ignored: %s", path, exc)
        return None
    return CachedCatalog(entries, fetched_at, str(doc.get("source") or ""), path)


def write_catalog(
    path: Path, entries: list[Any], *, fetched_at: float, source: str, base_url: str
) -> bool:
    """Write a copy atomically; False (DEBUG log) when the directory is not writable."""
    doc = {
        "format": _FORMAT,
        "fetched_at": fetched_at,
        "base_url": base_url,
        "source": source,
        "data": entries,
    }
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            # one dumps + write is ~3x faster than json.dump's many small writes
            handle.write(json.dumps(doc, separators=(",", ":")))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        return True
    except (OSError, TypeError, ValueError) as exc:
        logger.debug("Catalog cache %s not written: %s", path, exc)
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)
        return False
