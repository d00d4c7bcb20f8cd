"""Everything around one cassette: what makes a recorded test replay alone, anywhere, at once.

:class:`CassetteSession` wraps an open vcrpy cassette (from pytest-recording, plain vcrpy or
:func:`use_cassette`) for the length of one test:

- **fresh process state**: the shared catalogs are forgotten and the catalog disk cache points
  at an empty temporary directory, so a test never depends on what ran before it or on the
  machine's ``~/.cache`` (the cause of cassettes that lack the catalog request);
- **the catalog from its file** (:mod:`.catalog_store`): installed as the catalog tap;
- **no waiting on replay** (``rate_limits.waits``): no pacing, no retry sleeps, while a
  recorded 429 still goes through the retry and limiter logic;
- **scrubbing, body matching, catalog filtering** attached to the cassette (:mod:`.vcr_support`);
- **misses remembered**: a request the cassette lacks, or a catalog answer the file lacks, is
  kept with the closest recorded request and how it differs; :meth:`failure_message` names the
  test, the requests and the command that re-records it.

Recording or replaying follows the cassette: write-protected (vcrpy's ``none``, or ``once`` with
a cassette on disk) replays; anything else records. Without a cassette (pytest-recording's
``--disable-recording``) the test runs live, with fresh state only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

from .catalog_store import CatalogFile, CatalogRecorder
from .matching import canonical_body, first_difference
from .scrub import Scrubber

__all__ = ["INTENDED", "CassetteMismatchError", "CassetteSession", "use_cassette"]

_CACHE_DIR_ENV = "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR"
# a request changes with the caller's code, or with the code that builds it: say both
INTENDED = (
    "your code's, or an upgraded langchain-openrouter-fenic or LangChain that builds its "
    "requests differently"
)


class CassetteMismatchError(AssertionError):
    """A replay sent a request that its cassette (or the catalog file) does not hold."""


def _fresh_process_state() -> None:
    from ..catalog import ModelCatalog

    ModelCatalog.clear_shared()


class CassetteSession:
    """The package's side of one cassette (see the module docstring); a context manager.

    Args:
        cassette: the open vcrpy ``Cassette``, or None to run live.
        catalog: the catalog file (it need not exist while recording).
        test: what to call the test in messages (a pytest node id, a cassette name).
        rerecord: the command that re-records this test, for messages.
        secrets: more strings to scrub wherever they appear.
        match_body: match requests on their JSON body too (unless the cassette already
            matches bodies some way).
        raise_on_mismatch: on exit, raise :class:`CassetteMismatchError` if the replay missed
            (the pytest plugin reports instead).
    """

    def __init__(
        self,
        cassette: Any | None,
        *,
        catalog: str | os.PathLike[str],
        test: str = "",
        rerecord: str = "",
        secrets: Iterable[str] = (),
        match_body: bool = True,
        raise_on_mismatch: bool = True,
    ) -> None:
        self.cassette = cassette
        self.catalog_path = Path(catalog)
        self.test = test or str(getattr(cassette, "_path", "this test"))
        self.rerecord = rerecord
        self.scrubber = Scrubber(secrets)
        self.match_body = match_body
        self.raise_on_mismatch = raise_on_mismatch
        self.recorder: CatalogRecorder | None = None
        self._misses: list[str] = []
        self._seen: set[tuple[str, str, Any]] = set()
        self._lock = threading.Lock()
        self._stack: contextlib.ExitStack | None = None

    @property
    def recording(self) -> bool:
        """True while recording (the cassette is not write-protected)."""
        return self.cassette is not None and not self.cassette.write_protected

    @property
    def replaying(self) -> bool:
        return self.cassette is not None and bool(self.cassette.write_protected)

    # -- context -------------------------------------------------------------------------
    def __enter__(self) -> CassetteSession:
        from ..catalog import tap
        from ..rate_limits import waits
        from .vcr_support import attach

        stack = contextlib.ExitStack()
        try:
            _fresh_process_state()
            stack.callback(_fresh_process_state)
            stack.enter_context(_empty_cache_dir())
            if self.cassette is not None:
                attach(
                    self.cassette,
                    self.scrubber,
                    match_body=self.match_body,
                    on_unmatched=self._unmatched,
                )
                self.recorder = CatalogRecorder(
                    CatalogFile(self.catalog_path),
                    recording=self.recording,
                    scrubber=self.scrubber,
                )
                stack.enter_context(tap.tapped(self.recorder))
                if self.replaying:
                    stack.enter_context(waits.skipped())
        except BaseException:
            stack.close()
            raise
        self._stack = stack
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        try:
            if self.recorder is not None and self.recording:
                self.recorder.save()
        finally:
            if stack is not None:
                stack.close()
        message = self.failure_message()
        if message and self.raise_on_mismatch:
            if exc is None:
                raise CassetteMismatchError(message)
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(message)

    # -- misses --------------------------------------------------------------------------
    def _unmatched(self, request: Any) -> None:
        body = canonical_body(request.body)
        key = (str(request.method), str(request.uri), repr(body))
        with self._lock:
            if key in self._seen:  # a retry of the same request
                return
            self._seen.add(key)
        line = f"  {request.method} {request.uri}\n    {self._closest(request, body)}"
        with self._lock:
            self._misses.append(line)

    def _closest(self, request: Any, body: Any) -> str:
        cassette = self.cassette
        try:
            best = cassette.find_requests_with_most_matches(request) if cassette else []
        except Exception as exc:  # a message helper must never hide the miss itself
            return f"(no comparison with the recorded requests: {exc})"
        if not best:
            if cassette is not None and not cassette.data:
                return "the cassette is empty: it was never recorded (or nothing was saved)"
            return "the cassette holds no request like it (or every one was already played)"
        recorded, _, failed = best[0]
        if not failed:
            return f"its recorded answer was already played ({recorded.method} {recorded.uri})"
        reasons = []
        for name, message in failed:
            difference = first_difference(body, canonical_body(recorded.body))
            if getattr(name, "__name__", name) in ("json_body", "body", "raw_body") and difference:
                reasons.append(f"body differs at {difference}")
            else:
                reasons.append(f"{getattr(name, '__name__', name)}: {str(message).strip()}")
        return "closest recorded request differs: " + "; ".join(reasons)

    def misses(self) -> list[str]:
        """One description per request the replay could not answer."""
        with self._lock:
            lines = list(self._misses)
        if self.recorder is not None:
            for path in dict.fromkeys(self.recorder.misses):
                lines.append(f"  GET {path} (catalog)\n    not in {_short(self.catalog_path)}")
        return lines

    def failure_message(self) -> str | None:
        """What went wrong and how to re-record, or None when the replay matched."""
        lines = self.misses()
        if not lines:
            return None
        where = getattr(self.cassette, "_path", None)
        mode = getattr(self.cassette, "record_mode", None)
        mode_name = getattr(mode, "value", mode)
        rerecord = self.rerecord or "re-record this cassette (record mode 'all')"
        return "\n".join(
            [
                f"{self.test} sent requests that its cassette does not hold:",
                *lines,
                f"cassette: {_short(where)} (record mode {mode_name!r}); "
                f"catalog: {_short(self.catalog_path)}",
                f"If the change is intended ({INTENDED}), re-record this test and review "
                "the cassette diff:",
                f"  {rerecord}",
            ]
        )


def _short(path: Any) -> str:
    """``path`` relative to the working directory when it lies below it (shorter messages)."""
    if path is None:
        return "(none)"
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


@contextlib.contextmanager
def _empty_cache_dir() -> Iterator[Path]:
    """Point the catalog disk cache at a new empty directory for the block."""
    old = os.environ.get(_CACHE_DIR_ENV)
    directory = Path(tempfile.mkdtemp(prefix="openrouter-cassette-cache-"))
    os.environ[_CACHE_DIR_ENV] = str(directory)
    try:
        yield directory
    finally:
        if old is None:
            os.environ.pop(_CACHE_DIR_ENV, None)
        else:
            os.environ[_CACHE_DIR_ENV] = old
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def use_cassette(
    path: str | os.PathLike[str],
    *,
    catalog: str | os.PathLike[str],
    record_mode: str = "none",
    secrets: Iterable[str] = (),
    **vcr_options: Any,
) -> Iterator[CassetteSession]:
    """Record or replay one cassette with plain vcrpy (no pytest needed).

    ``record_mode`` is vcrpy's (``none``, ``once``, ``new_episodes``, ``all``) or ``rewrite``
    (delete the cassette, then record it afresh). Raises :class:`CassetteMismatchError` on exit
    when the replay sent a request that the cassette or the catalog file lacks.
    """
    from .vcr_support import make_vcr

    cassette_path = Path(path)
    if record_mode == "rewrite":
        cassette_path.unlink(missing_ok=True)
        record_mode = "all"
    recorder = make_vcr(record_mode=record_mode, **vcr_options)
    rerecord = f"use_cassette({str(cassette_path)!r}, ..., record_mode='rewrite')"
    with (
        recorder.use_cassette(str(cassette_path)) as cassette,
        CassetteSession(
            cassette,
            catalog=catalog,
            test=str(cassette_path),
            rerecord=rerecord,
            secrets=secrets,
        ) as session,
    ):
        yield session
