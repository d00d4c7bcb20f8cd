"""Many processes, one key: limits shared through Redis against independent in-process limiters.

    .venv/bin/python benchmarks/rate_limit_shared.py [--repeats 2] [--requests 50] [--log]

Everything on loopback: a real ``redis-server`` started for the run (``--save '' --appendonly
no``), the emulator in this process with a hidden limit, and 4 or 8 worker processes started
with the "spawn" context (as Celery/Ray/k8s workers are: nothing inherited). Every worker uses
one API key, the same for all of them, and ``ChatOpenRouter``'s defaults; the only difference
between the two set-ups is the environment variable ``LANGCHAIN_OPENROUTER_FENIC_REDIS_URL``:

- **Redis**: set, so every worker's shared limiter keeps its state in that Redis;
- **independent**: unset, so each worker learns the limit alone (what every release before did).

Measured, in one run, set-ups interleaved round by round (the machine has 2 cores that other
engineers' test suites share, so compare within a round):

1. **Goodput**: each worker sends ``--requests`` requests, ``--concurrency`` at a time, through
   ``batch`` (sync, threads) or ``abatch`` (async), against a provider token bucket of R = 20
   requests/s (burst 20, bare 429s) and OpenRouter fixed windows (100 per 5 s, 429s with
   ``X-RateLimit-*``). Goodput = successes per second of the whole run (first start to last
   finish) / R; the share of HTTP attempts answered 429, and how many of them came within a
   second of the first (the discovery burst: what was in flight when the limit first showed)
   and after it; requests that failed. ``--procs 8 --requests 100`` for longer runs of 8.
2. **Grant log**: every admission of every worker (Redis server time of its slot, the rate it
   was paced at): in any window W, admissions <= rate * W + burst, W = 0.25, 1 and 5 s. Checked
   on the adaptive runs above and on a fixed pace (1,200/min, burst 4) hammered by 8 processes
   x 8 threads.
3. **Acquire latency**: 8 processes each timing ``acquire()`` of a free (unpaced) shared limiter:
   one EVALSHA round trip; and the overhead of paced acquires (time blocked minus the wait the
   decision computed).
4. **Fault drills**: 8 processes x 4 threads acquire from a paced shared limiter while Redis is
   stopped, paused (``kill -STOP``), slowed (``DEBUG SLEEP``), restarted (``NOSCRIPT``, state
   rebuilt), flushed (``FLUSHALL``) and full (``maxclients``): the longest an acquire blocked
   beyond its computed wait, the log lines each worker wrote, and whether every worker went
   back to the shared state.

Ends with markdown tables (``benchmarks/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout

RATE = 20.0  # R: requests per second of the hidden limit, for all workers together
WINDOW = 5.0
MODEL = "openai/gpt-4o-mini"
PROMPT = "Say OK."
WINDOWS_CHECKED = (0.25, 1.0, 5.0)
DISCOVERY = 1.0  # seconds from the first 429: the requests in flight when it came
FIXED_RPM, FIXED_BURST = 1200.0, 4  # the fixed pace of the grant-log check
DRILL_RPM = 3000.0  # the pace of the fault drills (50/s for 32 threads)
REDIS_ENV = "LANGCHAIN_OPENROUTER_FENIC_REDIS_URL"
LIMITER_LOGGERS = ("langchain_openrouter_fenic.rate_limits.redis_state",)


# -- in each worker process ---------------------------------------------------------------------
class _GrantLog:
    """Every admission of this process; per thread, the decisions of its current acquire and
    the time spent in them (a round trip to Redis, or the in-process fallback)."""

    def __init__(self) -> None:
        self.grants: list[tuple[float, float, float, int]] = []  # wall, slot, rate, origin
        self.decisions = 0  # every decision of this process (acquire, re-ask, confirm)
        self.local = threading.local()
        self.lock = threading.Lock()

    def start(self) -> None:
        self.local.calls, self.local.talking = 0, 0.0

    def install(self) -> None:
        from langchain_openrouter_fenic.rate_limits import limiter, redis_state

        log = self
        real_admitted = limiter._Core.admitted
        real_acquire = redis_state.RedisState.acquire

        def admitted(core: Any, held: Any) -> None:
            with log.lock:
                log.grants.append((time.time(), held.ticket.slot, held.ticket.rate, held.origin))
            real_admitted(core, held)

        def acquire(state: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return real_acquire(state, *args, **kwargs)
            finally:
                log.local.calls = getattr(log.local, "calls", 0) + 1
                log.local.talking = getattr(log.local, "talking", 0.0) + (
                    time.perf_counter() - started
                )
                with log.lock:
                    log.decisions += 1

        limiter._Core.admitted = admitted  # type: ignore[method-assign]
        redis_state.RedisState.acquire = acquire  # type: ignore[method-assign]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[float, str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((time.time(), record.levelname, record.getMessage()))


def _timed_acquires(limiter: Any, log: _GrantLog, stop: Callable[[], bool]) -> list[list[float]]:
    """Acquire until ``stop()``: [started, seconds in acquire, seconds in its decisions,
    decisions] each (the rest of an acquire is sleeping until the slot its decision gave)."""
    out = []
    while not stop():
        log.start()
        started = time.perf_counter()
        limiter.acquire()
        took = time.perf_counter() - started
        out.append([time.time(), took, log.local.talking, log.local.calls])
    return out


def _worker(task: dict[str, Any], ready: Any, go: Any, stop: Any, results: Any) -> None:
    try:
        results.put((os.getpid(), _work(task, ready, go, stop)))
    except BaseException as exc:  # reported, so the run fails loudly instead of hanging
        results.put((os.getpid(), {"error": f"{type(exc).__name__}: {exc}"}))


def _work(task: dict[str, Any], ready: Any, go: Any, stop: Any) -> dict[str, Any]:
    if task.get("redis_url") and task["kind"] == "chat":
        os.environ[REDIS_ENV] = task["redis_url"]
    from langchain_openrouter_fenic import AdaptiveRateLimiter, ChatOpenRouter

    lines = _Lines()
    for name in LIMITER_LOGGERS:
        logging.getLogger(name).addHandler(lines)
        logging.getLogger(name).setLevel(logging.INFO)
    log = _GrantLog()
    log.install()
    kind = task["kind"]
    if kind == "chat":
        warm = ChatOpenRouter(
            model=MODEL, api_key=f"sk-or-v1-warm-{uuid.uuid4().hex}", base_url=task["url"]
        )
        warm.invoke(PROMPT)  # imports, the SDK, the catalog: before the clock starts
        llm = ChatOpenRouter(model=MODEL, api_key=task["key"], base_url=task["url"])
        ready.put(os.getpid())
        go.wait()
        log.grants.clear()
        log.decisions = 0
        prompts = [PROMPT] * task["requests"]
        config: Any = {"max_concurrency": task["concurrency"]}
        started = time.time()
        if task["mode"] == "async":
            answers = asyncio.run(llm.abatch(prompts, config=config, return_exceptions=True))
        else:
            answers = llm.batch(prompts, config=config, return_exceptions=True)
        finished = time.time()
        errors = [f"{type(a).__name__}: {a}"[:200] for a in answers if isinstance(a, Exception)]
        return {
            "started": started,
            "finished": finished,
            "ok": len(answers) - len(errors),
            "failed": len(errors),
            "errors": errors[:3],
            "grants": log.grants,
            "decisions": log.decisions,
            "lines": lines.lines,
        }
    options = dict(task["limiter"])
    limiter = AdaptiveRateLimiter(redis_url=task["redis_url"], redis_name=task["name"], **options)
    limiter.acquire()  # connect before the clock starts
    ready.put(os.getpid())
    go.wait()
    log.grants.clear()
    if kind == "latency":
        timings = []
        pause = task.get("pause", 0.0)
        for _ in range(task["acquires"]):
            started = time.perf_counter()
            limiter.acquire()
            timings.append(time.perf_counter() - started)
            if pause:
                time.sleep(pause)  # a caller that does some work between requests
        return {"timings": timings, "shared": limiter.shared}
    # "hammer": threads acquiring until told to stop (or a count is reached)
    count = task.get("acquires_per_thread")
    per_thread: list[list[list[float]]] = []

    def run() -> None:
        done = [0]

        def enough() -> bool:
            done[0] += 1
            return stop.is_set() or (count is not None and done[0] > count)

        per_thread.append(_timed_acquires(limiter, log, enough))

    threads = [threading.Thread(target=run) for _ in range(task["threads"])]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "acquires": [a for t in per_thread for a in t],
        "grants": log.grants,
        "lines": lines.lines,
        "shared": limiter.shared,
    }


# -- in the benchmark process -------------------------------------------------------------------
@contextmanager
def _workers(tasks: list[dict[str, Any]], timeout: float = 180.0) -> Iterator[Any]:
    """Spawn one process per task; yields ``start()``, which returns their results."""
    ctx = multiprocessing.get_context("spawn")
    ready, results, go, stop = ctx.Queue(), ctx.Queue(), ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(t, ready, go, stop, results)) for t in tasks]
    for proc in procs:
        proc.start()
    try:
        for _ in procs:
            ready.get(timeout=timeout)

        class Run:
            stop_event = stop

            @staticmethod
            def start() -> None:
                go.set()

            @staticmethod
            def collect() -> list[dict[str, Any]]:
                out = [results.get(timeout=timeout)[1] for _ in procs]
                failed = [r["error"] for r in out if "error" in r]
                if failed:
                    raise RuntimeError(f"a worker failed: {failed[0]}")
                return out

        yield Run
    finally:
        for proc in procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()


def _max_in_window(times: list[float], width: float) -> tuple[int, int, int]:
    """The most entries of sorted ``times`` in a half-open window of ``width``: (count, i, j)."""
    best, at, j = 0, (0, 0), 0
    for i in range(len(times)):
        while j < len(times) and times[j] < times[i] + width:
            j += 1
        if j - i > best:
            best, at = j - i, (i, j)
    return best, at[0], at[1]


def _grant_check(grants: list[list[float]], burst: float) -> dict[str, Any]:
    """Admissions (Redis slots) against rate * W + burst, rate = the highest pace of the window."""
    # paced grants of the shared state (unpaced ones, before the first 429, have no bound)
    shared = sorted((g[1], g[2]) for g in grants if g[3] == 1 and g[2] > 0)
    slots = [s for s, _ in shared]
    worst: dict[str, Any] = {"grants": len(slots), "local": len(grants) - len(slots)}
    ok = True
    for width in WINDOWS_CHECKED:
        margin = None
        j = 0
        for i in range(len(slots)):
            while j < len(slots) and slots[j] < slots[i] + width:
                j += 1
            rate = max(r for _, r in shared[i:j])
            bound = (rate * width + burst) if rate > 0 else None
            if bound is None:
                continue  # unpaced: nothing to hold to
            spare = bound - (j - i)
            if margin is None or spare < margin[0]:
                margin = (spare, j - i, bound)
        if margin is not None:
            worst[f"W={width:g}"] = f"{margin[1]} <= {margin[2]:.1f}"
            ok = ok and margin[0] >= -1e-9
    worst["ok"] = ok
    return worst


def _goodput_round(
    emu: Any, redis_url: str, scenario: str, procs: int, mode: str, shared: bool, args: Any
) -> dict[str, Any]:
    key = f"sk-or-v1-shared-{uuid.uuid4().hex}"
    task = {
        "kind": "chat",
        "url": emu.url,
        "key": key,
        "mode": mode,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "redis_url": redis_url if shared else "",
    }
    with _workers([dict(task) for _ in range(procs)]) as run:
        if scenario == "windows":  # start at a window boundary (the emulator's are epoch-aligned)
            now = time.time()
            time.sleep(-now % WINDOW + 0.01)
        emu.clear_limits()
        emu.reset()
        if scenario == "bucket":
            limit = emu.provider_bucket(rate=RATE)
        else:
            limit = emu.window_budget(limit=round(RATE * WINDOW), window=WINDOW)
        run.start()
        out = run.collect()
        emu.clear_limits()
    refusals = list(limit.refusals)  # the instant of every 429 the hidden limit answered
    stats = emu.stats()
    first_start = min(r["started"] for r in out)
    seconds = max(r["finished"] for r in out) - first_start
    # the discovery burst: 429s answered to what was already in flight when the first came
    discovery = sum(1 for at in refusals if refusals and at < min(refusals) + DISCOVERY)
    ok = sum(r["ok"] for r in out)
    grants = [g for r in out for g in r["grants"]]
    walls = sorted(g[0] for g in grants)
    limited_per_window = None
    per_window_list: list[int] = []
    if scenario == "windows":
        per_window: dict[int, int] = {}
        for at in refusals:
            per_window[int(at // WINDOW)] = per_window.get(int(at // WINDOW), 0) + 1
        limited_per_window = max(per_window.values(), default=0)
        first_window = min(per_window, default=0)
        per_window_list = [per_window.get(first_window + i, 0) for i in range(len(per_window) + 4)]
    return {
        "scenario": scenario,
        "procs": procs,
        "mode": mode,
        "setup": "Redis" if shared else "independent",
        "goodput": ok / seconds / RATE,
        "share_429": stats.rate_limited / stats.attempts if stats.attempts else 0.0,
        "failed": sum(r["failed"] for r in out),
        "attempts": stats.attempts,
        "discovery_429s": discovery,
        "later_429s": len(refusals) - discovery,
        "seconds": seconds,
        "errors": [e for r in out for e in r["errors"]][:2],
        "grant_check": _grant_check(grants, 1) if shared else None,
        "decisions_per_admission": sum(r["decisions"] for r in out) / max(1, len(grants)),
        "max_per_second": _max_in_window(walls, 1.0)[0],
        "limited_per_window": limited_per_window,
        "per_window": per_window_list,
        "warnings": sum(1 for r in out for line in r["lines"] if line[1] == "WARNING"),
    }


def _latency(redis_url: str, procs: int, acquires: int, pause: float = 0.0) -> dict[str, Any]:
    name = f"latency-{uuid.uuid4().hex}"
    task = {"kind": "latency", "redis_url": redis_url, "name": name, "limiter": {}}
    task["acquires"], task["pause"] = acquires, pause
    with _workers([dict(task) for _ in range(procs)]) as run:
        run.start()
        out = run.collect()
    timings = sorted(t for r in out for t in r["timings"])
    return {
        "procs": procs,
        "pause_ms": 1000 * pause,
        "acquires": len(timings),
        "p50_ms": 1000 * timings[len(timings) // 2],
        "p99_ms": 1000 * timings[int(len(timings) * 0.99)],
        "max_ms": 1000 * timings[-1],
        "shared": all(r["shared"] for r in out),
    }


def _fixed_pace(redis_url: str, procs: int, threads: int, per_thread: int) -> dict[str, Any]:
    limiter = {
        "requests_per_minute": FIXED_RPM,
        "max_requests_per_minute": FIXED_RPM,
        "max_burst": FIXED_BURST,
    }
    task = {
        "kind": "hammer",
        "redis_url": redis_url,
        "name": f"fixed-{uuid.uuid4().hex}",
        "limiter": limiter,
        "threads": threads,
        "acquires_per_thread": per_thread,
    }
    with _workers([dict(task) for _ in range(procs)]) as run:
        run.start()
        out = run.collect()
    grants = [g for r in out for g in r["grants"]]
    acquires = [a for r in out for a in r["acquires"]]
    overhead = sorted(a[2] for a in acquires)
    check = _grant_check(grants, FIXED_BURST)
    walls = sorted(g[0] for g in grants)
    return {
        "check": check,
        "admissions_1s_wall": _max_in_window(walls, 1.0)[0],
        "deciding_p50_ms": 1000 * overhead[len(overhead) // 2],
        "deciding_p99_ms": 1000 * overhead[int(len(overhead) * 0.99)],
        "decisions_per_acquire": statistics.mean(a[3] for a in acquires),
    }


def _drill(server: Any, fault: str, procs: int, threads: int) -> dict[str, Any]:
    """One fault in the middle of 8 s of acquiring; what the workers saw."""
    task = {
        "kind": "hammer",
        "redis_url": server.url,
        "name": f"drill-{uuid.uuid4().hex}",
        "limiter": {"requests_per_minute": DRILL_RPM, "max_requests_per_minute": DRILL_RPM},
        "threads": threads,
    }
    holder = None
    with _workers([dict(task) for _ in range(procs)]) as run:
        run.start()
        time.sleep(1.0)
        fault_at = time.time()
        if fault == "down":  # stopped; back on the same port 1.5 s later (empty, no scripts)
            server.stop()
            time.sleep(1.5)
            server.start()
        elif fault == "kill -STOP":
            server.pause()
            time.sleep(1.5)
            server.resume()
        elif fault == "DEBUG SLEEP":
            server.client().execute_command("DEBUG", "SLEEP", "1.5")
        elif fault == "FLUSHALL":
            server.client().flushall()
        elif fault == "maxclients":
            holder = server.client()
            holder.config_set("maxclients", 1)
            holder.client_kill_filter(_type="normal", skipme=True)
            time.sleep(1.5)
            holder.config_set("maxclients", 10000)
        time.sleep(5.5)  # probes back off up to 2 s (x1.5 jitter): all are back by then
        run.stop_event.set()
        out = run.collect()
    if holder is not None:
        holder.close()
    acquires = [a for r in out for a in r["acquires"]]
    during = [a for a in acquires if a[0] >= fault_at - 0.5]
    deciding = sorted(a[2] for a in during)
    warnings = [sum(1 for x in r["lines"] if x[1] == "WARNING") for r in out]
    infos = [sum(1 for x in r["lines"] if x[1] == "INFO") for r in out]
    return {
        "fault": fault,
        "acquires": len(acquires),
        "after_fault": len(during),
        "deciding_max_ms": 1000 * deciding[-1],
        "deciding_p99_ms": 1000 * deciding[int(len(deciding) * 0.99)],
        "decisions_max": max(a[3] for a in during),
        "warnings_per_worker": sorted(set(warnings)),
        "infos_per_worker": sorted(set(infos)),
        "shared_at_end": sum(1 for r in out if r["shared"]),
        "lines": sorted({x[2] for r in out for x in r["lines"]})[:4],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=2, help="rounds of the goodput runs")
    parser.add_argument("--requests", type=int, default=50, help="requests per worker")
    parser.add_argument("--concurrency", type=int, default=4, help="in flight per worker")
    parser.add_argument("--procs", default="4,8", help="worker counts of the goodput runs")
    parser.add_argument("--skip", default="", help="comma list of: goodput,latency,fixed,drills")
    parser.add_argument(
        "--scenarios", default="bucket,windows", help="goodput limits: bucket, windows or both"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(message)s")
    skip = set(filter(None, args.skip.split(",")))
    os.environ.setdefault(
        "LANGCHAIN_OPENROUTER_FENIC_CACHE_DIR", tempfile.mkdtemp(prefix="bench-catalog-")
    )
    from tests.support.emulator import OpenRouterEmulator
    from tests.support.redis_server import RedisServer

    report: dict[str, Any] = {}
    with RedisServer("--enable-debug-command", "yes") as server, OpenRouterEmulator() as emu:
        if "goodput" not in skip:
            rows = []
            plan = [
                (scenario, procs, mode)
                for scenario in ("bucket", "windows")
                if scenario in args.scenarios.split(",")
                for procs in sorted({int(p) for p in args.procs.split(",")})
                for mode in ("sync", "async")
                if scenario == "bucket" or procs == 8
            ]
            for repeat in range(args.repeats):
                for scenario, procs, mode in plan:
                    order = (True, False) if repeat % 2 == 0 else (False, True)
                    for shared in order:
                        row = _goodput_round(emu, server.url, scenario, procs, mode, shared, args)
                        row["round"] = repeat + 1
                        rows.append(row)
                        print(json.dumps(row), file=sys.stderr, flush=True)
            report["goodput"] = rows
        if "latency" not in skip:
            report["latency"] = [
                _latency(server.url, 1, 5000),
                _latency(server.url, 8, 1000, pause=0.01),
                _latency(server.url, 8, 2000),
            ]
            for row in report["latency"]:
                print(json.dumps(row), file=sys.stderr, flush=True)
        if "fixed" not in skip:
            report["fixed"] = _fixed_pace(server.url, 8, 8, 40)
            print(json.dumps(report["fixed"]), file=sys.stderr, flush=True)
        if "drills" not in skip:
            drills = []
            for fault in ("down", "kill -STOP", "DEBUG SLEEP", "FLUSHALL", "maxclients"):
                drills.append(_drill(server, fault, 8, 4))
                print(json.dumps(drills[-1]), file=sys.stderr, flush=True)
            report["drills"] = drills
    _print_tables(report)


def _print_tables(report: dict[str, Any]) -> None:
    if "goodput" in report:
        print(
            "\n| limit | workers | API | limiter state | goodput | 429 share | failed | attempts "
            "| 429s: first second / after | most admissions in 1 s | grant log (Redis slots) "
            "| round |"
        )
        print("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---|---:|")
        for r in report["goodput"]:
            limit = "bucket R=20/s" if r["scenario"] == "bucket" else "windows 100/5 s"
            check = "-"
            if r["grant_check"] is not None:
                c = r["grant_check"]
                check = ("ok" if c["ok"] else "OVER") + f" (1 s: {c.get('W=1', '-')})"
                check += f", {r['decisions_per_admission']:.2f} decisions/admission"
            extra = ""
            if r["limited_per_window"] is not None:
                extra = f" ({r['limited_per_window']} max/window)"
            print(
                f"| {limit} | {r['procs']} | {r['mode']} | {r['setup']} | {r['goodput']:.2f} | "
                f"{r['share_429']:.1%}{extra} | {r['failed']} | {r['attempts']} | "
                f"{r['discovery_429s']} / {r['later_429s']} | "
                f"{r['max_per_second']} | {check} | {r['round']} |"
            )
    if "latency" in report:
        print("\n| acquire on loopback Redis | acquires | p50 (ms) | p99 (ms) | max (ms) |")
        print("|---|---:|---:|---:|---:|")
        for lat in report["latency"]:
            how = f"{lat['procs']} process(es), " + (
                f"{lat['pause_ms']:g} ms of work between acquires"
                if lat["pause_ms"]
                else "back to back"
            )
            print(
                f"| {how} | {lat['acquires']} | {lat['p50_ms']:.3f} | {lat['p99_ms']:.3f} | "
                f"{lat['max_ms']:.1f} |"
            )
    if "fixed" in report:
        f = report["fixed"]
        print(f"\nfixed pace {FIXED_RPM:g}/min burst {FIXED_BURST}, 8 processes x 8 threads: {f}")
    if "drills" in report:
        print(
            "\n| fault | acquires (from the fault on) | time deciding per acquire: p99 / max "
            "| WARNING / INFO lines per worker | workers shared again |"
        )
        print("|---|---:|---:|---|---:|")
        for d in report["drills"]:
            print(
                f"| {d['fault']} | {d['acquires']} ({d['after_fault']}) | "
                f"{d['deciding_p99_ms']:.1f} / {d['deciding_max_ms']:.0f} ms | "
                f"{d['warnings_per_worker']} / {d['infos_per_worker']} | "
                f"{d['shared_at_end']} of 8 |"
            )


if __name__ == "__main__":
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
