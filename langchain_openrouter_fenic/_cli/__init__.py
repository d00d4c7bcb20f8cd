"""``python -m langchain_openrouter_fenic``: ``explain`` a model's strategy, list ``models``.

Online (``OPENROUTER_API_KEY`` set and OpenRouter reachable) the live catalog and ``/endpoints``
are used. Otherwise the catalog snapshot shipped in the package is, with its date shown; it has
no endpoint data, so ``explain`` then says so and applies the model-level rule. Model ids are
resolved as ``ChatOpenRouter`` resolves them (``catalog.model_ids``): variants, ``~`` aliases,
canonical slugs and presets.

One module per concern: ``catalog_view`` (live or snapshot), ``explain``, ``models``, ``text``
(tables and wrapping); this one is the command line (arguments, exit statuses).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from ..structured_output.strategy import Preference
from ..wire.transport import DEFAULT_BASE_URL
from .catalog_view import CatalogView, load_snapshot, open_catalog
from .explain import explain, format_explain
from .models import format_models, list_models, unknown_parameters
from .text import render_table

__all__ = [
    "EXIT_CLOSED_OUTPUT",
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "CatalogView",
    "build_parser",
    "load_snapshot",
    "main",
    "open_catalog",
    "render_table",
    "run_command",
]

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
EXIT_CLOSED_OUTPUT = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left
_PROG = "langchain-openrouter-fenic"
_EXIT_CODES = """exit status:
  0    success (also --help)
  1    explain: the model id is not in the catalog (close ids are printed), or is a preset
       alone, which has no catalog record
  2    usage error: unknown command or option, a bad value (e.g. a negative price, a provider
       both in --provider-only and --provider-exclude), or an unknown --supports parameter
       (close names are printed)
  141  the output was closed before everything was written (e.g. `... | head`)"""


def _csv(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _price(value: str) -> float:
    try:
        price = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if not math.isfinite(price) or price < 0:
        raise argparse.ArgumentTypeError(
            f"{value!r}: a price is a number of USD per million tokens, 0 or more"
        )
    return price


def _provider_json(value: str) -> dict[str, Any]:
    """``--provider``: a JSON object checked as ``ProviderPreferences`` (a usage error if not)."""
    from pydantic import ValidationError

    from ..routing import ProviderPreferences
    from ..settings import describe_validation_error

    try:
        parsed = json.loads(value)
        if not isinstance(parsed, dict):
            raise ValueError('a JSON object is expected, e.g. \'{"only": ["openai"]}\'')
        ProviderPreferences.model_validate(parsed)
    except ValidationError as exc:  # a ValueError too: first
        raise argparse.ArgumentTypeError(describe_validation_error(exc)) from None
    except ValueError as exc:  # not JSON, or not an object
        raise argparse.ArgumentTypeError(str(exc)) from None
    return parsed


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``langchain-openrouter-fenic``."""
    parser = argparse.ArgumentParser(
        prog=_PROG,
        description="Inspect OpenRouter models the way ChatOpenRouter sees them.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    common.add_argument(
        "--base-url",
        default=os.environ.get("OPENROUTER_API_BASE") or DEFAULT_BASE_URL,
        help="OpenRouter API base URL (default: $OPENROUTER_API_BASE or %(default)s)",
    )
    common.add_argument(
        "--offline", action="store_true", help="use the shipped catalog snapshot, no network"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    each: dict[str, Any] = {
        "parents": [common],
        "epilog": _EXIT_CODES,
        "formatter_class": argparse.RawDescriptionHelpFormatter,
    }

    ex = sub.add_parser(
        "explain", help="the structured-output strategy of a model, and why", **each
    )
    ex.add_argument("model", help="an OpenRouter model id, e.g. openai/gpt-4o")
    ex.add_argument(
        "--provider-only",
        type=_csv,
        default=[],
        metavar="A,B",
        help="allow only these providers (provider.only)",
    )
    ex.add_argument(
        "--provider-exclude",
        type=_csv,
        default=[],
        metavar="C",
        help="never use these providers (provider.ignore)",
    )
    ex.add_argument(
        "--provider",
        type=_provider_json,
        default=None,
        metavar="JSON",
        help="the whole provider object as JSON (ProviderPreferences keys), e.g. "
        """'{"quantizations": ["fp8"], "max_price": {"prompt": 1}}'; """
        "--provider-only / --provider-exclude replace its only / exclude",
    )
    ex.add_argument(
        "--prefer-tools", action="store_true", help="structured_output_strategy='prefer_tools'"
    )

    models = sub.add_parser("models", help="list models by capability and price", **each)
    models.add_argument(
        "--supports",
        type=_csv,
        default=[],
        metavar="P,Q",
        help="supported_parameters every listed model must have, e.g. structured_outputs,tools",
    )
    models.add_argument(
        "--max-prompt-price",
        type=_price,
        default=None,
        metavar="X",
        help="maximum prompt price, USD per million tokens",
    )
    return parser


def run_command(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run the CLI and return its exit status (see ``--help``); ``main`` is this for a process."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse already printed
        return int(stop.code or 0) if not isinstance(stop.code, str) else EXIT_USAGE
    if args.command == "explain":
        return _run_explain(args, out, err)
    view = open_catalog(args.base_url, os.environ.get("OPENROUTER_API_KEY"), offline=args.offline)
    unknown = unknown_parameters(view, args.supports)
    if unknown:
        print(f"{_PROG} models: error: {unknown}", file=err)
        return EXIT_USAGE
    rows = list_models(view, args.supports, args.max_prompt_price)
    text = (
        json.dumps({"catalog": view.as_json(), "models": rows}, indent=2)
        if args.json
        else format_models(rows, view)
    )
    print(text, file=out)
    return EXIT_OK


def main(
    argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """``run_command``, and a reader that leaves early (``... | head``) ends it quietly with
    status 141 instead of a ``BrokenPipeError`` traceback."""
    try:
        code = run_command(argv, stdout=stdout, stderr=stderr)
        (stdout or sys.stdout).flush()
    except BrokenPipeError:
        # nothing more can be written there; point the descriptor at /dev/null so that the
        # interpreter's own flush at exit does not raise again
        if stdout is None:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        return EXIT_CLOSED_OUTPUT
    return code


def _run_explain(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from pydantic import ValidationError

    from ..routing import ProviderPreferences

    given = dict(args.provider or {})
    if args.provider_only:
        given["only"] = args.provider_only
    if args.provider_exclude:
        given["exclude"] = args.provider_exclude
    prefs = None
    if given:
        try:
            prefs = ProviderPreferences.model_validate(given)
        except ValidationError as bad:  # e.g. one provider both required and excluded
            problems = "; ".join(e["msg"].removeprefix("Value error, ") for e in bad.errors())
            print(f"{_PROG} explain: error: {problems}", file=err)
            return EXIT_USAGE
    preference: Preference = "prefer_tools" if args.prefer_tools else None
    view = open_catalog(args.base_url, os.environ.get("OPENROUTER_API_KEY"), offline=args.offline)
    try:
        report = explain(view, args.model, prefs, preference)
    except ValueError as refused:
        print(str(refused), file=err)
        return EXIT_ERROR
    except KeyError as missing:
        close = missing.args[0] if missing.args else []
        hint = f" Close ids: {', '.join(close)}." if close else ""
        print(f"Unknown model {args.model!r} in the {view.source} catalog.{hint}", file=err)
        return EXIT_ERROR
    print(json.dumps(report, indent=2) if args.json else format_explain(report, view), file=out)
    return EXIT_OK
