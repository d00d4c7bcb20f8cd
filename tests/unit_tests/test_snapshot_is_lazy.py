"""The shipped snapshot is read only when a profile needs it: never at import, never when the
catalog is in memory or on disk. (Importing stays cheap: benchmarks/overhead.py.)"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import langchain_openrouter_fenic
from langchain_openrouter_fenic.catalog.disk_cache import cache_file, write_catalog

SNAPSHOT = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"
BASE_URL = "http://127.0.0.1:9/api/v1"  # nothing listens: construction must not need it
KEY = "sk-or-v1-lazy"

PROBE = f"""
import sys
from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.catalog.snapshot import shipped_snapshot
reads = lambda: shipped_snapshot.cache_info().misses
print(reads())
on_disk = ChatOpenRouter(model="openai/gpt-4o", api_key={KEY!r}, base_url={BASE_URL!r})
print(reads(), on_disk.profile["name"])
elsewhere = ChatOpenRouter(model="mistralai/mistral-nemo", api_key={KEY!r}, base_url={BASE_URL!r})
print(reads(), elsewhere.profile["name"])
"""


def test_the_snapshot_is_read_only_for_a_model_memory_and_disk_lack(tmp_path: Path) -> None:
    gpt_4o = next(e for e in json.loads(SNAPSHOT.read_text())["data"] if e["id"] == "openai/gpt-4o")
    on_disk = {**gpt_4o, "name": "GPT-4o (disk copy)"}
    write_catalog(cache_file(tmp_path, BASE_URL, KEY), [on_disk], fetched_at=time.time(),
                  source="/models/user", base_url=BASE_URL)  # fmt: skip
    env = {"LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR": str(tmp_path), "PATH": ""}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.splitlines() == [
        "0",  # import: not read
        "0 GPT-4o (disk copy)",  # a fresh disk copy has the model: not read
        "1 Mistral: Mistral Nemo",  # nothing else has it: read, once
    ]


def test_the_docs_say_how_old_the_snapshot_is_and_how_to_refresh_it() -> None:
    document = json.loads(SNAPSHOT.read_text())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "catalog.md").read_text()
    assert f"**{document['snapshot_date']}** in this release" in docs
    assert f"({len(document['data'])} models)" in docs
    assert "python scripts/refresh_catalog_snapshot.py" in docs
