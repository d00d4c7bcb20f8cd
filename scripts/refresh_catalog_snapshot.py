"""Refresh the catalog snapshot shipped in the package (``data/catalog-snapshot.json``).

    python scripts/refresh_catalog_snapshot.py                      # from https://openrouter.ai
    python scripts/refresh_catalog_snapshot.py --date 2026-05-01 \
        --from-file ../shared/openrouter-recordings/catalog-2026-05-01.json   # today's file

The snapshot gives ``llm.profile`` before any catalog is in memory or on disk, and answers the CLI
without a key. Run this before a release, then the whole suite: the tests and the loopback
emulator read real entries from the snapshot, and some assert what today's models list.

``GET /models`` is public (no key). ``?output_modalities=all`` is asked because ``/models`` lists
only text-output models by default. The entries are kept as OpenRouter sent them, sorted by id.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = (
    Path(__file__).resolve().parents[1]
    / "langchain_openrouter_fenic"
    / "data"
    / "catalog-snapshot.json"
)
DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"


def fetch_models(base_url: str, timeout: float = 60.0) -> list[dict[str, Any]]:
    """The ``data`` list of ``GET {base_url}/models?output_modalities=all``."""
    url = f"{base_url.rstrip('/')}/models?output_modalities=all"
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return entries_of(json.load(response))


def entries_of(body: Any) -> list[dict[str, Any]]:
    """The model entries of a ``/models`` body (``{"data": [...]}``, or the bare list)."""
    data = body.get("data") if isinstance(body, dict) else body
    if not isinstance(data, list) or not all(isinstance(e, dict) and e.get("id") for e in data):
        raise SystemExit("not a /models body: expected {'data': [{'id': ...}, ...]}")
    return data


def snapshot_document(entries: list[dict[str, Any]], date: str, source: str) -> dict[str, Any]:
    """The file's content: its date and source first (read by humans), then the sorted entries."""
    datetime.date.fromisoformat(date)  # YYYY-MM-DD, as the package parses it
    return {
        "snapshot_date": date,
        "source": source,
        "data": sorted(entries, key=lambda entry: str(entry["id"])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL)
    parser.add_argument("--from-file", type=Path, help="a saved /models body instead of a GET")
    parser.add_argument("--date", default=datetime.date.today().isoformat(), help="YYYY-MM-DD")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    source = f"GET {args.base_url.rstrip('/')}/models"  # a saved file came from that GET too
    if args.from_file is not None:
        entries = entries_of(json.loads(args.from_file.read_text(encoding="utf-8")))
    else:
        entries = fetch_models(args.base_url)
    document = snapshot_document(entries, args.date, source)
    # compact: the package reads it on first need, and a smaller file decodes faster
    text = json.dumps(document, separators=(",", ":"))
    args.output.write_text(text, encoding="ascii")
    print(f"{args.output}: {len(entries)} models, snapshot_date {args.date}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
