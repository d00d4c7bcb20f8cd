"""The pytest side of cassette testing, imported only once a test asks for it.

The entry-point module ``_langchain_openrouter_fenic_pytest`` (registered under ``pytest11``)
holds the marker, the fixtures and the hooks, and imports this module for a test marked
``@pytest.mark.openrouter_cassette`` or using the ``openrouter_cassette`` fixture:

- with pytest-recording installed, the test's cassette is pytest-recording's (``@pytest.mark.vcr``
  is added when missing), so ``--record-mode``, ``vcr_config`` and ``vcr_cassette_dir`` work as
  they always do;
- without it, the cassette is opened here with plain vcrpy, at the same place pytest-recording
  would use (``<test dir>/cassettes/<module>/<test>.yaml``), in the record mode named by
  ``LANGCHAIN_OPENROUTER_FENIC_RECORD_MODE`` (default ``none``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .session import INTENDED, CassetteSession

__all__ = [
    "CATALOG_FILE_NAME",
    "RECORD_MODE_ENV",
    "cassette_session",
    "default_catalog_path",
    "report_misses",
    "rerecord_command",
    "summary_lines",
]

CATALOG_FILE_NAME = "openrouter-catalog.json"
RECORD_MODE_ENV = "LANGCHAIN_OPENROUTER_FENIC_RECORD_MODE"
_MODES = ("none", "once", "new_episodes", "all", "rewrite")
_FORBIDDEN = r"<>?%*:|\"'/\\"


def _has_pytest_recording(config: Any) -> bool:
    return bool(config.pluginmanager.has_plugin("recording"))


def default_catalog_path(request: Any) -> Path:
    """Beside the per-module cassette folders: ``<cassette dir>/../openrouter-catalog.json``."""
    if _has_pytest_recording(request.config):
        return Path(request.getfixturevalue("vcr_cassette_dir")).parent / CATALOG_FILE_NAME
    return Path(request.node.path).parent / "cassettes" / CATALOG_FILE_NAME


def _marker_options(item: Any) -> dict[str, Any]:
    marker = item.get_closest_marker("openrouter_cassette")
    options = dict(marker.kwargs) if marker is not None else {}
    unknown = set(options) - {"catalog", "secrets", "match_body"}
    if unknown:
        raise TypeError(
            f"@pytest.mark.openrouter_cassette got {sorted(unknown)}; it takes catalog=, "
            "secrets= and match_body=."
        )
    return options


def rerecord_command(config: Any, nodeids: Iterable[str]) -> str:
    """The command that re-records the tests ``nodeids``, runnable from where pytest ran."""
    command = "pytest " + " ".join(shlex.quote(nodeid) for nodeid in nodeids)
    if _has_pytest_recording(config):
        command = f"{command} --record-mode=rewrite"
    else:
        command = f"{RECORD_MODE_ENV}=rewrite {command}"
    if Path(config.invocation_params.dir) != Path(config.rootpath):
        command = f"cd {shlex.quote(str(config.rootpath))} && {command}"
    return command


def summary_lines(config: Any, nodeids: Sequence[str]) -> list[str]:
    """The end-of-run summary of the tests whose replay missed: one command re-records them."""
    return [
        f"{len(nodeids)} replayed test(s) sent requests that their cassettes do not hold:",
        *(f"  {nodeid}" for nodeid in nodeids),
        f"If the changes are intended ({INTENDED}), re-record them and review the cassette diff:",
        f"  {rerecord_command(config, nodeids)}",
    ]


@contextlib.contextmanager
def cassette_session(request: Any, catalog_path: Path) -> Iterator[CassetteSession]:
    """The session of the requesting test, around pytest-recording's cassette or our own."""
    item = request.node
    options = _marker_options(item)
    catalog = Path(options.get("catalog") or catalog_path)
    if not catalog.is_absolute():
        catalog = Path(item.config.rootpath) / catalog
    with contextlib.ExitStack() as stack:
        if _has_pytest_recording(item.config):
            cassette = request.getfixturevalue("vcr")
        else:
            cassette = stack.enter_context(_own_cassette(item))
        session = CassetteSession(
            cassette,
            catalog=catalog,
            test=item.nodeid,
            rerecord=rerecord_command(item.config, [item.nodeid]),
            secrets=options.get("secrets", ()),
            match_body=options.get("match_body", True),
            raise_on_mismatch=False,
        )
        yield stack.enter_context(session)


@contextlib.contextmanager
def _own_cassette(item: Any) -> Iterator[Any]:
    """A plain-vcrpy cassette where pytest-recording would put it."""
    from .vcr_support import make_vcr

    mode = os.environ.get(RECORD_MODE_ENV, "none").strip() or "none"
    if mode not in _MODES:
        raise ValueError(f"{RECORD_MODE_ENV}={mode!r}: use one of {', '.join(_MODES)}.")
    name = f"{item.cls.__name__}.{item.name}" if getattr(item, "cls", None) else item.name
    for char in _FORBIDDEN:
        name = name.replace(char, "-")
    module = Path(item.path)
    path = module.parent / "cassettes" / module.stem / f"{name}.yaml"
    if mode == "rewrite":
        path.unlink(missing_ok=True)
        mode = "all"
    with make_vcr(record_mode=mode).use_cassette(str(path)) as cassette:
        yield cassette


def report_misses(session: CassetteSession, report: Any) -> bool:
    """Fail ``report`` with the session's misses (first, above any other failure)."""
    message = session.failure_message()
    if not message or report.skipped:
        return False
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    else:
        report.longrepr = f"{message}\n\n{report.longrepr}"
    return True
