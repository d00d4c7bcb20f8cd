"""What users write type-checks: lists for provider names, `model=`, profiles (mypy --strict)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from langchain_openrouter_fenic import ChatOpenRouter, ProviderPreferences

SNIPPET = """
from langchain_openrouter_fenic import ChatOpenRouter, Profile, ProviderPreferences

prefs = ProviderPreferences(sort="price", exclude=["Google"], only=["anthropic", "openai"],
                            quantizations=["fp8"], max_prompt_price=5.0)
llm = ChatOpenRouter(model="openai/gpt-4o", models=["openai/gpt-4o-mini"], provider=prefs,
                     timeout=60, stop=["END"], reasoning_effort="low",
                     profiles={"cheap": Profile(models=["a/b"], provider=prefs)})
cheap: ChatOpenRouter = llm.with_profile("cheap")
"""


def test_readme_style_code_type_checks(tmp_path: Path) -> None:
    source = tmp_path / "user_code.py"
    source.write_text(SNIPPET)
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        # the project's own mypy settings and cache (warm after the test command's mypy run)
        [sys.executable, "-m", "mypy", "--config-file", str(root / "pyproject.toml"), str(source)],
        capture_output=True,
        text=True,
        cwd=root,
        # an editable install is found through an import hook, which mypy does not run
        env={**os.environ, "MYPYPATH": str(root)},
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_aliases_still_accepted_at_runtime() -> None:
    llm = ChatOpenRouter(model_name="x/y", api_key="k", stop_sequences=["E"])
    assert (llm.model, llm.stop, llm.model_kwargs) == ("x/y", ["E"], {})
    assert ProviderPreferences(only=["a"]).only == ("a",)
