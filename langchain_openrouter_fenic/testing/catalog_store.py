"""The model catalog of a cassette suite: recorded once into one small committed file.

Per-test cassettes hold chat exchanges only. The catalog (``/models/user`` or ``/models``, ~400 KB
live) and the ``/models/{slug}/endpoints`` answers that the tests needed are written, while
recording, to one JSON file -- keeping only the catalog entries that a lookup found -- and served
from it on replay, so that every test replays alone, in any order, with no cache directory.

:class:`CatalogRecorder` is the :class:`~langchain_openrouter_fenic.catalog.tap.CatalogTap` of
one test. Recording, it sends each catalog request for real (flagged, so that the cassette does
not keep it: :func:`catalog_request_in_flight`), with the file's answers taking precedence: an
entry already in the file is what the code sees, so re-recording one test never changes what the
other tests replay. To refresh prices and capabilities, delete the file and re-record everything.
Replaying, it answers from the file alone; a request the file lacks raises
:class:`CatalogNotRecordedError` and is remembered as a miss.

The file (``format`` 1)::

    {"about": "...", "format": 1,
     "answers": {"/models/user?output_modalities=all": {"status": 200, "body": {"data": [...]}},
                 "/models/openai/gpt-4o-mini/endpoints": {"status": 200, "body": {...}}}}

Keys are paths relative to the API base (any host), entries are sorted by id, one answer per
line group, so a re-recording reviews as a small diff. Writes are atomic and, where ``fcntl``
exists, serialised between processes (pytest-xdist workers).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .scrub import Scrubber

__all__ = [
    "CatalogFile",
    "CatalogNotRecordedError",
    "CatalogRecorder",
    "StoredAnswer",
    "catalog_request_in_flight",
]

_FORMAT = 1
_ABOUT = (
    "OpenRouter catalog answers of a cassette suite: only the models its tests looked up. "
    "Written while recording by langchain_openrouter_fenic.testing, served from here on replay. "
    "Delete this file and re-record every test to refresh it."
)

_IN_FLIGHT: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "openrouter_catalog_request_in_flight", default=False
)


def catalog_request_in_flight() -> bool:
    """True while this thread / task sends a catalog request for the recorder (not cassette
    material: the cassette's request filter drops it)."""
    return _IN_FLIGHT.get()


@contextlib.contextmanager
def _in_flight() -> Iterator[None]:
    token = _IN_FLIGHT.set(True)
    try:
        yield
    finally:
        _IN_FLIGHT.reset(token)


class CatalogNotRecordedError(LookupError):
    """A replayed test asked for a catalog answer that the catalog file does not hold."""

    def __init__(self, path: str, file: Path) -> None:
        super().__init__(
            f"GET {path} is not in the recorded catalog {file}: re-record this test so that "
            "its catalog answers are written there (see the command in the test's failure)."
        )
        self.path = path
        self.file = file


@dataclass(frozen=True)
class StoredAnswer:
    """One recorded catalog answer: its status, decoded JSON body and (error) headers."""

    status: int
    body: Any
    headers: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"status": self.status, "body": self.body}
        if self.headers:
            doc["headers"] = dict(self.headers)
        return doc

    @classmethod
    def from_json(cls, doc: Any) -> StoredAnswer:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("status"), int):
            raise ValueError(f"not a recorded answer: {str(doc)[:120]}")
        return cls(doc["status"], doc.get("body"), dict(doc.get("headers") or {}))


def _entries(body: Any) -> list[Any] | None:
    """The entry list of a catalog listing (``{"data": [...]}``), else None."""
    data = body.get("data") if isinstance(body, Mapping) else None
    return data if isinstance(data, list) else None


def _entry_id(entry: Any) -> str | None:
    value = entry.get("id") if isinstance(entry, Mapping) else None
    return value if isinstance(value, str) else None


class CatalogFile:
    """The committed catalog file at ``path`` (it need not exist yet)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, StoredAnswer]:
        """The recorded answers by path ({} when there is no file yet)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(text)
            if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
                raise ValueError(f"format {doc.get('format') if isinstance(doc, dict) else '?'}")
            return {str(k): StoredAnswer.from_json(v) for k, v in doc["answers"].items()}
        except (ValueError, KeyError, AttributeError) as exc:
            raise ValueError(
                f"{self.path} is not a catalog file of langchain_openrouter_fenic.testing "
                f"(format {_FORMAT}): {exc}. Delete it and re-record the tests."
            ) from exc

    def update(self, answers: Mapping[str, StoredAnswer], scrubber: Scrubber) -> None:
        """Merge ``answers`` into the file (listings by entry id), atomically."""
        with _file_lock(self.path):
            merged = self.load()
            for path, answer in answers.items():
                merged[path] = _merge(merged.get(path), answer)
            self._write(merged, scrubber)

    def _write(self, answers: Mapping[str, StoredAnswer], scrubber: Scrubber) -> None:
        doc = {
            "about": _ABOUT,
            "format": _FORMAT,
            "answers": {path: answers[path].to_json() for path in sorted(answers)},
        }
        text = scrubber.text(_layout(doc)) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 is not what a committed file wants
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def _layout(value: Any, indent: str = "") -> str:
    """JSON with one key per line and short arrays of scalars on one line: small, diffable."""
    inner = indent + " "
    if isinstance(value, dict) and value:
        items = [
            f"{inner}{json.dumps(key, ensure_ascii=False)}: {_layout(value[key], inner)}"
            for key in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + indent + "}"
    if isinstance(value, list) and value:
        if all(not isinstance(v, (dict, list)) for v in value):
            return json.dumps(value, ensure_ascii=False)
        return "[\n" + ",\n".join(inner + _layout(v, inner) for v in value) + "\n" + indent + "]"
    return json.dumps(value, ensure_ascii=False)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _merge(old: StoredAnswer | None, new: StoredAnswer) -> StoredAnswer:
    """A listing keeps every entry of both (the new one wins an id); other answers are replaced."""
    old_entries = _entries(old.body) if old is not None else None
    new_entries = _entries(new.body)
    if old is None or old_entries is None or new_entries is None:
        return new
    by_id = {_entry_id(e): e for e in old_entries}
    by_id.update({_entry_id(e): e for e in new_entries})
    entries = [by_id[k] for k in sorted(k for k in by_id if k is not None)]
    return StoredAnswer(new.status, {**new.body, "data": entries}, new.headers)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock between processes (in the temp dir: nothing beside the committed file)."""
    try:
        import fcntl
    except ImportError:  # Windows: one writer at a time is the user's to ensure
        yield
        return
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]
    lock_path = Path(tempfile.gettempdir()) / f"langchain-openrouter-fenic-catalog-{digest}.lock"
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class CatalogRecorder:
    """The catalog tap of one test: records into, or replays from, a :class:`CatalogFile`.

    Args:
        file: the catalog file.
        recording: True to send missing requests for real and keep their answers; False to
            answer from the file alone.
        scrubber: applied to everything written to the file.
    """

    def __init__(self, file: CatalogFile, *, recording: bool, scrubber: Scrubber) -> None:
        self.file = file
        self.recording = recording
        self.scrubber = scrubber
        self.misses: list[str] = []
        self._stored = file.load()
        self._lock = threading.Lock()
        self._found: set[str] = set()
        self._served: dict[str, StoredAnswer] = {}  # what this test was answered, by path

    # -- CatalogTap ----------------------------------------------------------------------
    def get(self, base_url: str, path: str, fetch: Callable[[], Any]) -> Any:
        stored = self._stored.get(path)
        if not self.recording or (stored is not None and _entries(stored.body) is None):
            return self._replay(path)
        try:
            with _in_flight():
                live = fetch()
        except Exception as exc:
            return self._failed(path, exc)
        return self._answer(path, live)

    async def aget(self, base_url: str, path: str, fetch: Callable[[], Awaitable[Any]]) -> Any:
        stored = self._stored.get(path)
        if not self.recording or (stored is not None and _entries(stored.body) is None):
            return self._replay(path)
        try:
            with _in_flight():
                live = await fetch()
        except Exception as exc:
            return self._failed(path, exc)
        return self._answer(path, live)

    def found(self, model_id: str) -> None:
        with self._lock:
            self._found.add(model_id)

    # -- recording -----------------------------------------------------------------------
    def _answer(self, path: str, live: Any) -> Any:
        """The live answer, with the file's entries in place of the live ones (they win)."""
        served = StoredAnswer(200, live, {})
        stored, entries = self._stored.get(path), _entries(live)
        stored_entries = _entries(stored.body) if stored is not None else None
        if entries is not None and stored_entries is not None:
            by_id = {_entry_id(e): e for e in entries}
            by_id.update({_entry_id(e): e for e in stored_entries})
            served = StoredAnswer(200, {**live, "data": list(by_id.values())}, {})
        with self._lock:
            self._served[path] = served
        return copy.deepcopy(served.body)

    def _failed(self, path: str, exc: Exception) -> Any:
        """A live error: the file's answer if it has one, else the error (kept if HTTP)."""
        from ..errors import OpenRouterError

        if path in self._stored:
            return self._replay(path)
        if isinstance(exc, OpenRouterError) and isinstance(exc.status_code, int):
            with self._lock:
                self._served[path] = StoredAnswer(exc.status_code, exc.body, exc.headers)
        raise exc

    def save(self) -> None:
        """Write what this test was served (listings trimmed to the entries found) to the file."""
        with self._lock:
            served, found = dict(self._served), set(self._found)
        answers: dict[str, StoredAnswer] = {}
        for path, answer in served.items():
            entries = _entries(answer.body)
            if entries is None:
                if path not in self._stored:
                    answers[path] = answer
                continue
            kept = [e for e in entries if _entry_id(e) in found]
            if kept or path not in self._stored:
                answers[path] = StoredAnswer(answer.status, {**answer.body, "data": kept}, {})
        if answers:
            self.file.update(answers, self.scrubber)

    # -- replay --------------------------------------------------------------------------
    def _replay(self, path: str) -> Any:
        stored = self._stored.get(path)
        if stored is None:
            with self._lock:
                self.misses.append(path)
            raise CatalogNotRecordedError(path, self.file.path)
        if stored.status < 400:
            return copy.deepcopy(stored.body)
        from ..wire.error_mapping import from_http

        raise from_http(stored.status, dict(stored.headers), json.dumps(stored.body))
