"""``scripts/refresh_catalog_snapshot.py``: the shipped snapshot is reproducible, and a refresh
from a (loopback) OpenRouter writes a file the package reads."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

import langchain_openrouter_fenic
from tests.support.emulator import running_emulator

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = Path(langchain_openrouter_fenic.__file__).parent / "data" / "catalog-snapshot.json"
RECORDED = ROOT.parent / "shared" / "openrouter-recordings" / "catalog-2026-05-01.json"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "refresh_catalog_snapshot", ROOT / "scripts" / "refresh_catalog_snapshot.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not RECORDED.exists(), reason="needs ../shared/openrouter-recordings")
def test_the_shipped_snapshot_is_the_recorded_catalog_rewritten_by_the_script(
    script: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "snapshot.json"
    argv = ["--from-file", str(RECORDED), "--date", "2026-05-01", "--output", str(out)]
    assert script.main(argv) == 0
    assert out.read_bytes() == SHIPPED.read_bytes()


def test_a_refresh_over_http_writes_a_dated_sorted_snapshot(
    script: ModuleType, tmp_path: Path
) -> None:
    out = tmp_path / "snapshot.json"
    with running_emulator() as emu:
        served = list(reversed(emu.models.entries[:5]))
        emu.models.entries[:] = served
        emu.__dict__.pop("_all_models_wire", None)
        assert (
            script.main(["--base-url", emu.url, "--date", "2027-01-02", "--output", str(out)]) == 0
        )
        assert emu.count("/models") == 1
        url = emu.url
    document = json.loads(out.read_text())
    assert document["snapshot_date"] == "2027-01-02"
    assert document["source"] == f"GET {url}/models"
    assert [e["id"] for e in document["data"]] == sorted(e["id"] for e in served)


def test_a_body_that_is_not_a_model_list_is_refused(script: ModuleType) -> None:
    with pytest.raises(SystemExit, match="not a /models body"):
        script.entries_of({"models": []})
    with pytest.raises(ValueError):
        script.snapshot_document([{"id": "a/b"}], "May 1st", "x")
