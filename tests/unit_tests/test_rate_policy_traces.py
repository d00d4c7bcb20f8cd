"""One policy, two homes: the pure ``policy`` functions and the Lua script give the same answers.

Every trace runs twice: through ``policy`` on a Python ``State``, and through
``redis_scripts.SCRIPT`` in a real redis-server (with the trace's "now" instead of server time).
After every step the answers (grant or refusal, wait, cause, ticket, 429 outcome) and every field
of the state must be identical, bit for bit: both sides compute in doubles in the same order, and
numbers cross as ``%.17g`` strings. Hand-written traces walk each rule; seeded random traces mix
them.
"""

from __future__ import annotations

import math
import random
from dataclasses import astuple
from typing import Any

import pytest

from langchain_openrouter_fenic.rate_limits import policy
from langchain_openrouter_fenic.rate_limits.policy import (
    DAY,
    Grant,
    Refusal,
    Signal,
    State,
    Ticket,
    Tuning,
)
from langchain_openrouter_fenic.rate_limits.redis_scripts import SCRIPT
from tests.support.redis_server import redis_client_module

START = 1_788_825_123.25  # an epoch: the script's day arithmetic needs a wall clock
DEFAULT = Tuning(
    floor=0.1,
    ceiling=0.0,
    decrease=0.75,
    step=0.01,
    needed=10.0,
    burst=1.0,
    max_pause=60.0,
    margin=0.05,
)
FREE = Tuning(
    floor=0.1,
    ceiling=0.0,
    decrease=0.75,
    step=0.01,
    needed=10.0,
    burst=1.0,
    max_pause=26 * 3600.0,
    margin=0.05,
    window_limit=20.0,
    window_length=60.0,
    day_limit=1000.0,
)
PACED = Tuning(
    floor=0.1,
    ceiling=50.0,
    decrease=0.75,
    step=0.01,
    needed=4.0,
    burst=3.0,
    max_pause=60.0,
    margin=0.0,
    start_rate=10.0,
)
CAUSES = {"cooldown": 0.0, "pace": 1.0, "day": 2.0, "budget": 3.0}


class Twin:
    """The same trace through Python and through Lua, compared after every step."""

    def __init__(self, client: Any, tuning: Tuning, key: str) -> None:
        self.script = client.register_script(SCRIPT)
        self.client, self.tuning, self.key = client, tuning, key
        self.now = START
        self._state: State | None = None
        self.steps = 0

    @property
    def state(self) -> State:
        """The Python state, made at the first step, as the script makes its hash."""
        if self._state is None:
            day_end = (math.floor(self.now / DAY) + 1) * DAY
            self._state = policy.initial_state(self.tuning, self.now, day_end)
        return self._state

    def _lua(self, op: str, *args: Any) -> list[float]:
        argv = [op, repr(self.now), 3_600_000, *self.tuning.as_args(), *args]
        out = [float(x) for x in self.script(keys=[self.key], args=argv)]
        assert out[0] == self.now
        assert out[1] == (1.0 if self.steps == 0 else 0.0)  # the hash made at the first step
        lua_state = out[-len(policy.FIELDS) :]
        assert lua_state == list(astuple(self.state)), self._diff(lua_state)
        self.steps += 1
        return out[2 : -len(policy.FIELDS)]

    def _diff(self, lua_state: list[float]) -> str:
        pairs = zip(policy.FIELDS, astuple(self.state), lua_state, strict=True)
        return f"step {self.steps}: " + ", ".join(
            f"{n}: py={p!r} lua={q!r}" for n, p, q in pairs if p != q
        )

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def acquire(self, max_wait: float = -1.0) -> Grant | Refusal:
        decision = policy.acquire(self.state, self.tuning, self.now, max_wait)
        return self._same(decision, self._lua("acquire", max_wait))

    def reacquire(self, ticket: Ticket, max_wait: float = -1.0) -> Grant | Refusal:
        """A waiter woken by a new plan: its grant given back, a new one taken."""
        policy.release(self.state, self.tuning, self.now, ticket)
        decision = policy.acquire(self.state, self.tuning, self.now, max_wait)
        return self._same(decision, self._lua("reacquire", max_wait, *astuple(ticket)))

    def confirm(self, ticket: Ticket, max_wait: float = -1.0) -> Grant | Refusal:
        decision = policy.confirm(self.state, self.tuning, self.now, ticket, max_wait)
        return self._same(decision, self._lua("confirm", max_wait, *astuple(ticket)))

    @staticmethod
    def _same(decision: Grant | Refusal, out: list[float]) -> Grant | Refusal:
        if isinstance(decision, Refusal):
            assert out[:3] == [0.0, decision.wait, CAUSES[decision.cause]]
        else:
            assert out == [1.0, decision.wait, out[2], *astuple(decision.ticket)]
        return decision

    def success(self, ticket: Ticket | None) -> None:
        policy.on_success(self.state, self.tuning, self.now, ticket)
        self._lua("success", *_optional(ticket))

    def limited(self, signal: Signal, ticket: Ticket | None) -> float:
        outcome = policy.on_rate_limited(self.state, self.tuning, self.now, signal, ticket)
        out = self._lua("limited", *astuple(signal), *_optional(ticket))
        assert out == [outcome]
        return outcome

    def release(self, ticket: Ticket) -> None:
        policy.release(self.state, self.tuning, self.now, ticket)
        self._lua("release", *astuple(ticket))

    def peek(self) -> None:
        policy.refresh(self.state, self.tuning, self.now)
        self._lua("peek")


def _optional(ticket: Ticket | None) -> list[Any]:
    return ["0", 0, 0, 0, 0, 0, 0] if ticket is None else ["1", *astuple(ticket)]


def bare() -> Signal:
    return Signal()


def spent(limit: float, reset_in: float) -> Signal:
    return Signal(limit=limit, reset_in=reset_in, wait=reset_in, spent=1.0)


@pytest.fixture
def twin(redis_url: str) -> Any:
    redis = redis_client_module()
    clients = []

    def make(tuning: Tuning = DEFAULT, key: str = "trace") -> Twin:
        client = redis.Redis.from_url(redis_url, decode_responses=True)
        clients.append(client)
        return Twin(client, tuning, key)

    yield make
    for client in clients:
        client.close()


def grant(decision: Grant | Refusal) -> Ticket:
    assert isinstance(decision, Grant), decision
    return decision.ticket


# -- hand-written traces: each rule --------------------------------------------------------
def test_unpaced_then_one_decrease_per_burst_then_recovery(twin: Any) -> None:
    t = twin()
    tickets = []
    for _ in range(24):  # nothing limits: every grant is due at once
        decision = t.acquire()
        assert isinstance(decision, Grant) and decision.wait == 0
        tickets.append(decision.ticket)
        t.advance(0.002)
    for ticket in tickets[:20]:
        t.success(ticket)
    for ticket in tickets[20:]:  # a burst of bare 429s: one event
        t.limited(bare(), ticket)
    # below what the server let through; the limit is still unknown: slow start
    assert t.state.fail == 0 and t.state.rate == pytest.approx(15.0)
    assert t.state.epoch == 1
    paced = [grant(t.acquire()) for _ in range(30)]
    assert paced[1].slot - paced[0].slot == pytest.approx(1 / 15)
    for ticket in paced[:20]:
        t.advance(max(0.0, ticket.slot - t.now))
        t.success(ticket)
    assert t.state.rate > 20.0
    t.limited(bare(), paced[20])  # a paced request limited: now the failed rate is known
    assert t.state.fail == pytest.approx(paced[20].rate)
    assert t.state.rate == pytest.approx(0.75 * paced[20].rate)
    for ticket in paced[21:]:
        t.limited(bare(), ticket)  # the rest of the burst: the same event
    assert t.state.epoch == 2
    for _ in range(30):  # callers keep waiting for the limiter: successes prove its pace
        ticket = grant(t.acquire())
        t.advance(max(0.0, ticket.slot - t.now))
        t.success(ticket)
    assert t.state.rate > 0.9 * t.state.fail  # back to 90 % of it, then additive steps
    t.advance(61.0)
    t.peek()
    assert t.state.rate == 0.0  # a quiet minute: unpaced again


def test_window_budget_spent_at_the_reset_measured_and_rolled(twin: Any) -> None:
    t = twin()
    for _ in range(100):  # a window of 100: spent, our first success at its start
        t.success(grant(t.acquire()))
        t.advance(0.001)
    held = grant(t.acquire())
    t.advance(0.01)
    reset_in = 5.0 - 0.11
    assert t.limited(spent(100, reset_in), held) == policy.CHANGED
    assert t.limited(spent(100, reset_in - 0.01), held) == policy.UNCHANGED  # same window
    assert t.state.b_lim == 100 and t.state.b_meas == policy.ESTIMATED
    opened = t.state.b_real  # the earlier of the two reports (the less late one)
    assert opened == pytest.approx(t.now + reset_in - 0.01, abs=1e-6)
    budget = t.state.b_id
    t.limited(Signal(limit=100, reset_in=reset_in + 0.7, spent=1.0), held)  # a report 0.7 s late
    assert t.state.b_id == budget and t.state.b_real == opened  # the same window, not a new one
    waits = [t.acquire() for _ in range(101)]
    assert all(isinstance(w, Grant) for w in waits)
    first = grant(waits[0])
    assert first.slot == pytest.approx(t.state.b_start)  # nothing before the reset
    assert grant(waits[99]).slot == first.slot  # spent as fast as asked, not spread
    assert grant(waits[100]).slot == pytest.approx(t.state.b_end)  # then the window's end
    t.advance(first.slot - t.now)
    for w in waits[:100]:
        t.success(grant(w))
    t.advance(t.state.b_end - t.now)
    t.peek()  # estimated (a lower bound), spent: the next window holds the same budget
    assert t.state.b_lim == 100 and t.state.b_meas == policy.ESTIMATED
    held = grant(t.acquire())
    # too early (the estimate was short): the reset that answers measures the window exactly
    t.limited(spent(100, 0.2), held)
    assert t.state.b_meas == policy.MEASURED
    assert t.state.b_end - t.state.b_start == pytest.approx(t.state.b_real - opened, abs=1e-6)
    t.advance(t.state.b_start - t.now)
    for _ in range(100):
        t.success(grant(t.acquire()))
    t.advance(t.state.b_end - t.now + 0.001)
    extra = t.acquire()  # measured and spent: the next window holds the same budget
    assert isinstance(extra, Grant) and t.state.b_lim == 100 and t.state.b_used == 1


def test_window_lengths_count_whole_windows_between_real_resets(twin: Any) -> None:
    t = twin()
    t.advance(1.0 - t.now % 1.0)  # a boundary of the server's 5 s windows, as START + k
    boundary = t.now + 3.0
    t.success(grant(t.acquire()))
    t.advance(1.3)  # our first success came late in that window: a short estimate
    t.limited(spent(20, boundary - t.now), None)
    assert t.state.b_meas == policy.ESTIMATED and t.state.b_len == pytest.approx(3.0)
    t.advance(boundary + 5.0 + 2.5 - t.now)  # two windows later, mid-window
    t.success(grant(t.acquire()))
    t.limited(spent(20, boundary + 10.0 - t.now), None)
    # 10 s between two real resets; our first success in this window was 2.5 s before its end:
    # 4 windows of 2.5 s (wrong, but counted from real boundaries, and at least what it proves)
    assert t.state.b_meas == policy.MEASURED
    assert t.state.b_len == pytest.approx(2.5)
    t.advance(boundary + 15.0 + 0.4 - t.now)  # a 429 early in its window: at least 4.6 s long
    t.limited(spent(20, boundary + 20.0 - t.now), None)
    assert t.state.b_len == pytest.approx(5.0)  # 10 s is 2 windows, not 4: corrected
    ticket = grant(t.acquire())
    assert ticket.slot == pytest.approx(boundary + 20.05)


def test_a_grant_is_confirmed_unless_a_new_plan_voided_it(twin: Any) -> None:
    t = twin(PACED)
    first = [grant(t.acquire()) for _ in range(5)]
    t.advance(first[-1].slot - t.now)
    kept = t.confirm(first[-1])  # nothing changed: the same grant
    assert isinstance(kept, Grant) and kept.ticket == first[-1] and kept.wait == 0
    later = grant(t.acquire())
    t.limited(bare(), first[0])  # another process's 429: a decrease, a new plan
    redone = grant(t.confirm(later))  # voided: given back, a slot of the new plan
    assert redone != later and redone.plan == t.state.plan and redone.rate == t.state.rate
    woken = grant(t.acquire())
    t.limited(Signal(wait=2.0), None)
    again = t.reacquire(woken)  # a waiter of this process woken by the pause asks again
    assert isinstance(again, Grant) and again.ticket.slot >= t.state.cool
    refused = t.confirm(again.ticket, max_wait=0.5)  # the plan holds: confirmed, wait and all
    assert isinstance(refused, Grant) and refused.ticket == again.ticket


def test_a_429_that_leaves_budget_is_a_bare_429(twin: Any) -> None:
    t = twin()
    held = grant(t.acquire())
    t.success(grant(t.acquire()))
    signal = Signal(limit=50, reset_in=3600.0, wait=-1.0, spent=0.0)
    assert t.limited(signal, held) == policy.CHANGED
    assert t.state.b_lim == 0 and t.state.cool == policy.NEVER and t.state.rate > 0


def test_quota_cooldowns_refusals_and_releases(twin: Any) -> None:
    t = twin()
    held = grant(t.acquire())
    assert t.limited(Signal(limit=50, reset_in=8 * 3600.0, wait=8 * 3600.0, spent=1), held) == (
        policy.QUOTA
    )
    assert t.state.cool == policy.NEVER  # a quota of one model pauses nothing
    t.limited(Signal(wait=3.0), held)
    refused = t.acquire(max_wait=2.0)
    assert isinstance(refused, Refusal) and refused.cause == "cooldown"
    waiting = grant(t.acquire(max_wait=5.0))
    t.release(waiting)
    t.limited(Signal(wait=1.0), None)  # an earlier deadline never shortens the pause
    assert t.state.cool == pytest.approx(t.now + 3.05, abs=1e-6)


def test_free_models_start_from_the_published_limits(twin: Any) -> None:
    t = twin(FREE)
    grants = [t.acquire(max_wait=120) for _ in range(41)]
    assert [g.wait for g in grants[:20]] == [0.0] * 20
    assert grant(grants[20]).slot == pytest.approx(START + 60)  # the next window
    assert isinstance(grants[40], Grant) and grants[40].wait > 100  # beyond: the one after
    t.advance(200.0)
    t.peek()  # an unused window: a configured budget restarts with the next grant
    assert t.state.b_lim == 20 and t.state.b_start == pytest.approx(t.now)
    held = grant(t.acquire())
    daily = Signal(limit=50, reset_in=6 * 3600.0, wait=6 * 3600.0, spent=1.0)
    assert t.limited(daily, held) == policy.CHANGED  # the :free daily quota pauses the scope
    assert t.state.d_lim == 50 and t.state.d_used == 50
    refused = t.acquire(max_wait=60)
    assert isinstance(refused, Refusal) and refused.wait > 5 * 3600
    t.advance(7 * 3600.0)
    t.peek()
    assert t.state.d_used == 0  # a new day


def test_a_configured_pace_slow_starts_until_the_first_429(twin: Any) -> None:
    t = twin(PACED)
    tickets = [grant(t.acquire()) for _ in range(6)]
    assert [round(x.slot - START, 6) for x in tickets[:3]] == [0, 0, 0]  # burst 3
    for ticket in tickets:
        t.advance(max(0.0, ticket.slot - t.now))
        t.success(ticket)
    assert t.state.rate > 10  # slow start
    t.limited(bare(), tickets[-1])
    t.limited(bare(), tickets[-2])  # older epoch: the same event
    assert t.state.epoch == 1


# -- random traces: everything mixed -------------------------------------------------------
@pytest.mark.parametrize("seed", range(12))
def test_random_traces_give_identical_decisions(twin: Any, seed: int) -> None:
    rng = random.Random(seed)
    tuning = [DEFAULT, FREE, PACED][seed % 3]
    t = twin(tuning, key=f"random-{seed}")
    held: list[Ticket] = []
    seen: set[str] = set()
    for _ in range(250):
        t.advance(rng.choice([0.0, 0.001, 0.01, 0.05, 0.3, 1.0, 2.5, 7.0, 70.0]))
        roll = rng.random()
        if roll < 0.4:
            decision = t.acquire(rng.choice([-1.0, -1.0, 0.0, 0.5, 5.0, 90.0]))
            if isinstance(decision, Grant):
                held.append(decision.ticket)
                seen.add("waited" if decision.wait > 0 else "at once")
            else:
                seen.add(f"refused: {decision.cause}")
        elif roll < 0.65 and held:
            t.success(held.pop(rng.randrange(len(held))))
        elif roll < 0.85:
            ticket = held.pop(rng.randrange(len(held))) if held and rng.random() < 0.8 else None
            kind = rng.random()
            if kind < 0.4:
                signal = bare()
            elif kind < 0.55:
                signal = Signal(wait=rng.choice([0.5, 2.0, 30.0, 120.0]))
            elif kind < 0.85:
                signal = spent(rng.choice([5, 20, 100]), rng.choice([0.2, 1.5, 4.0, 40.0]))
            elif kind < 0.95:
                signal = Signal(limit=50, reset_in=5 * 3600.0, wait=5 * 3600.0, spent=1.0)
            else:
                signal = Signal(limit=50, reset_in=30.0, wait=-1.0, spent=0.0)
            seen.add(f"429 outcome {t.limited(signal, ticket)}")
            seen.add(f"budget {t.state.b_lim > 0}, measured {t.state.b_meas}")
        elif roll < 0.9 and held:
            ticket = held.pop(rng.randrange(len(held)))
            retry = t.confirm(ticket) if rng.random() < 0.5 else t.reacquire(ticket)
            if isinstance(retry, Grant):
                held.append(retry.ticket)
                seen.add("kept" if retry.ticket == ticket else "renewed")
        elif roll < 0.95 and held:
            t.release(held.pop(rng.randrange(len(held))))
        else:
            t.peek()
    assert t.steps == 250
    # each trace reaches the main branches (so equal answers mean something)
    assert {"waited", "429 outcome 1.0", "429 outcome 0.0"} <= seen, seen
    assert {"kept", "renewed"} & seen, seen
    assert any(s.startswith("refused") for s in seen), seen


def test_a_predicted_window_sends_one_probe_first_and_holds_the_rest(twin: Any) -> None:
    """A roll only predicts where the next window starts. Our first request came 0.1 s into the
    first window, so its length is estimated 4.9 s (a lower bound) and the roll comes before the
    real reset. The callers waiting for that window are held (nothing counted), the first to ask
    in it is its probe; the probe's 429 carries the real reset (one 429 for the window, not the
    requests in flight at the roll), and measures the window."""
    t = twin()
    t.advance(5.0 - t.now % 5.0)  # a boundary of the server's 5 s windows
    boundary = t.now
    t.advance(0.1)
    for _ in range(10):
        t.success(grant(t.acquire()))
    t.limited(spent(10, boundary + 5.0 - t.now), grant(t.acquire()))
    assert t.state.b_meas == policy.ESTIMATED and t.state.b_len == pytest.approx(4.9)
    t.advance(t.state.b_start - t.now)
    for _ in range(10):  # the budget, spent at the reset
        t.success(grant(t.acquire()))
    waiting = [grant(t.acquire()) for _ in range(10)]
    assert all(w.plan == policy.HOLD and w.b_id == policy.NEVER for w in waiting)  # held
    assert t.state.b_used == 10  # nothing counted for the next window yet
    assert waiting[0].slot == pytest.approx(boundary + 9.95)
    assert waiting[0].slot < boundary + 10.0  # too early
    t.advance(waiting[0].slot - t.now)
    probe = grant(t.confirm(waiting[0]))  # the first to ask in the rolled window
    assert probe.plan == t.state.plan and probe.b_id == t.state.b_id
    assert t.state.b_proof == 0 and t.state.b_used == 1
    held = [t.confirm(w) for w in waiting[1:]]
    for h in held:
        assert isinstance(h, Grant) and h.ticket.plan == policy.HOLD
        assert h.wait == pytest.approx(policy.HOLD_MIN)  # ask again soon
    assert t.state.b_used == 1
    t.advance(0.01)
    assert t.limited(spent(10, boundary + 10.0 - t.now), probe) == policy.CHANGED
    assert t.state.b_meas == policy.MEASURED and t.state.b_proof == 1
    assert t.state.b_len == pytest.approx(5.0, abs=0.02)  # one window since the last reset
    assert t.state.b_start == pytest.approx(boundary + 10.05)
    t.advance(0.01)
    again = [grant(t.confirm(h.ticket)) for h in held]  # the real window's budget
    assert all(a.plan == t.state.plan and a.slot == pytest.approx(t.state.b_start) for a in again)
    assert t.state.b_used == 9


def test_a_probe_that_succeeds_releases_the_budget_and_a_lost_one_is_replaced(twin: Any) -> None:
    t = twin()
    t.advance(5.0 - t.now % 5.0)
    boundary = t.now
    for _ in range(10):
        t.success(grant(t.acquire()))
    t.advance(0.2)
    t.limited(spent(10, boundary + 5.0 - t.now), grant(t.acquire()))
    t.advance(t.state.b_start - t.now)
    for _ in range(10):
        t.success(grant(t.acquire()))
    waiting = [grant(t.acquire()) for _ in range(6)]
    t.advance(waiting[0].slot - t.now + 0.01)  # this roll is right: the window has opened
    first = grant(t.confirm(waiting[0]))
    t.release(first)  # its caller gave up: the next caller probes
    assert t.state.pr_until == policy.NEVER
    second = grant(t.confirm(waiting[1]))
    assert second.plan != policy.HOLD and t.state.b_used == 1
    held = grant(t.confirm(waiting[2]))
    assert held.plan == policy.HOLD
    t.advance(min(policy.PROBE_LEASE, t.state.b_len / 2) + 0.01)  # no answer within the lease
    third = grant(t.confirm(held))
    assert third.plan != policy.HOLD and t.state.b_used == 2  # another probe
    polled = t.confirm(waiting[3])
    assert isinstance(polled, Grant) and polled.ticket.plan == policy.HOLD
    assert polled.wait == pytest.approx(policy.HOLD_MIN)  # the probe is new
    t.advance(0.5)
    polled = t.confirm(polled.ticket)
    assert isinstance(polled, Grant) and polled.wait == pytest.approx(0.5)  # the probe's age
    held = polled.ticket
    plan = t.state.plan
    t.advance(0.005)
    t.success(third)  # the server let it through: the window has opened
    assert t.state.b_proof == 1 and t.state.plan == plan + 1
    rest = [t.confirm(w) for w in (held, waiting[4], waiting[5])]
    assert all(isinstance(r, Grant) and r.wait == 0 and r.ticket.plan == plan + 1 for r in rest)
    assert t.state.b_used == 5


@pytest.mark.parametrize("seed", range(4))
def test_random_traces_against_fixed_windows_give_identical_decisions(twin: Any, seed: int) -> None:
    """Callers against a server's fixed windows (its budget, its resets, reported late by a
    random delay), waiting, confirming and giving up at random: rolls, holds and probes."""
    rng = random.Random(seed)
    t = twin(key=f"windows-{seed}")
    length, limit = rng.choice([2.0, 5.0]), rng.choice([5, 10])
    t.advance(rng.uniform(0.0, length))  # the run starts anywhere in a window
    used: dict[int, int] = {}
    waiting: list[tuple[float, Ticket]] = []  # (due, ticket)
    seen: set[str] = set()
    for _ in range(300):
        t.advance(rng.choice([0.0, 0.002, 0.01, 0.03, 0.2]))
        if len(waiting) < 12 and rng.random() < 0.5:
            decision = t.acquire()
            assert isinstance(decision, Grant)
            waiting.append((t.now + decision.wait, decision.ticket))
            continue
        due = [w for w in waiting if w[0] <= t.now]
        if not due:
            if waiting:  # sleep until the next slot
                t.advance(min(w[0] for w in waiting) - t.now)
            continue
        item = rng.choice(due)
        waiting.remove(item)
        ticket = item[1]
        if rng.random() < 0.05:
            t.release(ticket)
            seen.add("released")
            continue
        if ticket.plan == policy.HOLD or ticket.plan != t.state.plan:
            decision = t.confirm(ticket)  # held, or voided: ask again
            assert isinstance(decision, Grant)
            seen.add("held" if ticket.plan == policy.HOLD else "voided")
            waiting.append((t.now + decision.wait, decision.ticket))
            continue
        if t.state.b_proof == 0:
            seen.add("probe")
        window = math.floor(t.now / length)  # the request reaches the server now
        if used.get(window, 0) < limit:
            used[window] = used.get(window, 0) + 1
            t.success(ticket)
        else:
            reset_in = (window + 1) * length - t.now  # "seconds from now" when it was read
            t.advance(rng.uniform(0.0, 0.05))  # reported to the state later
            t.limited(spent(limit, reset_in), ticket)
            seen.add("429")
    assert {"held", "probe", "429"} <= seen, seen


def test_a_window_rolled_on_early_is_measured_from_the_resets_not_from_early_grants(
    twin: Any,
) -> None:
    """Across processes, feedback arrives out of order: a success of a grant made in a window that
    rolled on before the real reset (its request reached the server just after the reset) is
    reported before the 429s of the grants that reached it just before. That success says
    nothing about the window's length: the reset after it ends the window the roll predicted.
    (Since probes, the callers of a predicted window are held and only probes go at a roll; the
    rule stays for requests that went anyway, e.g. probes whose leases ran out. Here the held
    tickets stand for such requests.)"""
    t = twin()
    t.advance(5.0 - t.now % 5.0)  # a boundary of the server's 5 s windows
    boundary = t.now
    t.advance(0.1)  # our first request came 0.1 s into the window: a short estimate
    for _ in range(10):
        t.success(grant(t.acquire()))
    t.limited(spent(10, boundary + 5.0 - t.now), grant(t.acquire()))
    assert t.state.b_meas == policy.ESTIMATED and t.state.b_len == pytest.approx(4.9)
    t.advance(t.state.b_start - t.now)
    for _ in range(10):
        t.success(grant(t.acquire()))
    early = [grant(t.acquire()) for _ in range(10)]  # held for the next window's estimated start
    assert early[0].slot == pytest.approx(boundary + 9.95)
    assert early[0].slot < boundary + 10.0  # rolls on before the real reset
    t.advance(early[0].slot - t.now)
    t.peek()
    t.advance(0.07)  # one holder's request reached the server after the reset: its success ...
    t.success(early[0])
    t.advance(0.01)  # ... is reported before the 429s of the others (late by their processes)
    for ticket in early[1:]:
        t.limited(spent(10, 0.03), ticket)
    assert t.state.b_meas == policy.MEASURED
    assert t.state.b_len == pytest.approx(5.0, abs=0.1)  # one window since the last reset
    t.advance(t.state.b_start - t.now)
    # the budget of the window that opened at the reset, and nothing more before it ends
    later = [grant(t.acquire()) for _ in range(11)]
    assert later[9].slot < boundary + 15.0 <= later[10].slot
