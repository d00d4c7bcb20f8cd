"""Many event loops: each loop's async client is closed when the loop shuts down.

The long run happens in a subprocess of its own, under ``ulimit -n 256``, so that a leak of one
socket per ``asyncio.run`` fails it long before the end, and no other test's sockets count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.emulator_process import emulator_process

ROOT = Path(__file__).resolve().parents[2]
RUNS = 500

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts open descriptors in /proc (Linux)"
)

_SCRIPT = r"""
import asyncio, gc, json, os, resource, sys, warnings

resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, category, *args, **kw: caught.append(
    f"{category.__name__}: {message}"
)
from langchain_openrouter_fenic import ChatOpenRouter
from langchain_openrouter_fenic.wire import transport
from tests.support.emulator_process import echoed

url, runs, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
from langchain_core.rate_limiters import InMemoryRateLimiter

# pacing is not what this measures (the adaptive limiter's slow start would spread 500 calls)
fast = InMemoryRateLimiter(requests_per_second=1e5)
llm = ChatOpenRouter(
    model="openai/gpt-4o-mini", api_key="sk-or-v1-loops", base_url=url, rate_limiter=fast
)


def fds():
    return len(os.listdir("/proc/self/fd"))


def live_clients():
    return sum(t.live_async_clients() for t in transport._SHARED.values())


inside = []


async def one(i):
    prompt = f"run {i}"
    if i % 10 == 9:
        text = "".join([str(c.content) async for c in llm.astream(prompt)])
    else:
        text = str((await llm.ainvoke(prompt)).content)
    inside.append(live_clients())
    return text == echoed(prompt)


def run(i):
    if mode == "asyncio.run":
        return asyncio.run(one(i))
    loop = asyncio.new_event_loop()  # closed without shutdown_asyncgens()
    try:
        return loop.run_until_complete(one(i))
    finally:
        loop.close()


run(-1)  # the first call loads the catalog; count from here
inside.clear()
start, peak_fds, peak_clients, right, failures = fds(), 0, 0, 0, []
for i in range(runs):
    try:
        right += run(i)
    except Exception as exc:
        failures.append(f"run {i}: {type(exc).__name__}: {exc}"[:300])
        if len(failures) > 3:
            break
    peak_fds, peak_clients = max(peak_fds, fds()), max([peak_clients, *inside])
    inside.clear()
gc.collect()
print(json.dumps({
    "right": right, "failures": failures, "start_fds": start, "peak_fds": peak_fds,
    "end_fds": fds(), "peak_clients": peak_clients, "end_clients": live_clients(),
    "warnings": [w for w in caught if "Warning" in w][:5],
}))
"""


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with emulator_process() as base_url:
        yield base_url


def _run(url: str, runs: int, mode: str) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, url, str(runs), mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    report["stderr"] = [line for line in proc.stderr.splitlines() if "Warning" in line][:5]
    return report


def test_500_asyncio_runs_under_ulimit_256_leak_no_client_and_no_socket(url: str) -> None:
    report = _run(url, RUNS, "asyncio.run")
    assert report["failures"] == []
    assert report["right"] == RUNS
    # each loop's client is closed at its shutdown: at most the one of the running loop lives
    assert report["peak_clients"] == 1 and report["end_clients"] == 0
    assert report["peak_fds"] <= report["start_fds"] + 4  # type: ignore[operator]
    assert report["end_fds"] <= report["start_fds"]  # type: ignore[operator]
    assert report["warnings"] == [] and report["stderr"] == []


def test_loops_closed_without_finalising_are_released_on_the_next_loop(url: str) -> None:
    """A bare ``loop.close()`` gives no chance to close the client on its loop: the next loop
    that asks for a client releases it, so clients and sockets stay bounded all the same."""
    report = _run(url, 200, "bare loop.close()")
    assert report["failures"] == []
    assert report["right"] == 200
    assert report["peak_clients"] <= 2
    # a released client is collected at once, which closes its sockets (left to the collector,
    # they piled up: 16-48 more descriptors, more the less garbage the calls made)
    assert report["peak_fds"] <= report["start_fds"] + 4  # type: ignore[operator]
