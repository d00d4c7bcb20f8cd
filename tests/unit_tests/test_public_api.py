"""The public surface: SPEC §2 names exported, ``__all__`` exact, nothing heavy at import."""

from __future__ import annotations

import subprocess
import sys

import langchain_openrouter_fenic as pkg

SPEC_NAMES = {
    "ChatOpenRouter", "Profile", "ProviderPreferences", "ModelCatalog", "ModelInfo",
    "AdaptiveRateLimiter", "OpenRouterError", "NoEndpointsError", "ProviderError",
    "RateLimitError", "InsufficientCreditsError", "AuthenticationError", "ModerationError",
    "ModelNotFoundError", "StructuredOutputUnsupportedError",
    # SPEC §9
    "openrouter_usage", "BudgetExceededError",
}  # fmt: skip


def test_spec_names_are_exported() -> None:
    missing = SPEC_NAMES - set(pkg.__all__)
    assert not missing, f"SPEC §2 names missing from __all__: {sorted(missing)}"


def test_every_name_in_all_resolves() -> None:
    for name in pkg.__all__:
        assert getattr(pkg, name) is not None, name
    assert set(pkg.__all__) <= set(dir(pkg))


def test_every_error_class_is_exported() -> None:
    from langchain_openrouter_fenic import errors

    exported = {n for n in pkg.__all__ if n.endswith("Error")}
    assert exported == set(errors.__all__)


def test_import_loads_neither_the_sdk_nor_tenacity() -> None:
    code = (
        "import sys, langchain_openrouter_fenic as p; "
        "print(','.join(m for m in ('openai', 'tenacity') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"imported at package import: {out.stdout.strip()}"


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        pkg.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_spec_section_9_methods_and_attributes() -> None:
    for method in ("credits", "acredits", "get_generation", "aget_generation"):
        assert callable(getattr(pkg.ChatOpenRouter, method)), method
    usage = pkg.openrouter_usage()
    for name in ("requests", "input_tokens", "output_tokens", "cost", "cost_estimated"):
        assert getattr(usage, name) in (0, 0.0, False), name
    assert usage.by_model == {} and usage.by_provider == {}
    assert issubclass(pkg.BudgetExceededError, pkg.OpenRouterError)
    fields = pkg.Credits.__dataclass_fields__
    assert {"limit", "usage", "remaining", "is_free_tier"} <= set(fields)
