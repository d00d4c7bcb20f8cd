"""The rate-limit policy: every pacing decision as a pure function of a flat state and "now".

One policy, two homes for its state: ``local_state`` keeps a :class:`State` in the process,
``redis_state`` keeps the same fields in a Redis hash and runs the same decisions as Lua
scripts (``redis_scripts``), tested against the same traces for the same answers. So every
field is a float and every decision is written in the small subset both languages share:
``+ - * /``, ``min``, ``max``, ``floor`` and comparisons. Nothing here locks, sleeps
or reads a clock.

The decisions:

- **Free when nothing limits.** Until the first 429 nothing is paced (``rate == 0``): a grant is
  due at once. Sixty seconds without a 429, nobody waiting, end the pacing again.
- **AIMD on bare 429s.** The first bare 429 starts pacing below what the server let through
  (successes over the last second, times ``decrease``, at least 1 request/s) and slow-starts
  from there (+1 request/s per completed success) until a paced request is limited; from then
  on each event multiplies the rate that failed by ``decrease``. One decrease per burst of
  429s: the 429s of grants made before the decrease (an older ``epoch``) are the same event,
  however many callers (or processes) see them. After a few successes the rate returns to
  90 % of the failed rate, then grows by ``step`` of it per ``needed`` completed successes,
  faster once past it. A minute without a 429 forgets the failed rate: the pace ends if nobody
  waits for it, else slow start resumes. Grants are slots ``1/rate`` apart (GCRA, ``burst``
  back to back). A decrease, or an increase of a quarter, voids the slots already granted:
  their holders ask again (``plan``).
- **Reset instants.** A retry-after or a spent window's reset is a cooldown deadline (it only
  grows): nothing is granted before it.
- **Window budgets.** ``X-RateLimit-Limit`` + ``Reset`` with nothing remaining: at most Limit
  grants in the window that starts at the reset, granted as fast as the callers ask (the budget
  is spent, not spread), then nothing until the window ends. A window's length is measured from
  the resets 429s reported (a whole number of windows apart: the count is the gap over the best
  estimate, rounded), or, with one reset known, estimated from our first success in the window
  that closes (a lower bound), or guessed (a minute); a reset that follows a predicted boundary
  closely ends the window that boundary predicted (the successes since it prove nothing: they
  were granted early). Reports of one reset differ by how late each 429 was read: anything
  within half a known length of the last reset is that reset, and the earliest report (the
  least late) places it. A spent window rolls on to the next one, unless its length was only
  guessed; a window that was not spent ends, and with it the budget.
- **Probing a predicted window.** A roll only predicts where the next window starts (a length
  estimated from our first success is a lower bound, a measured one carries the lateness of
  the reports it came from, and rolls add up the error), so its budget is not granted at once:
  callers waiting for the next window are *held* (a grant that must ask again at its slot,
  ``plan == HOLD``), the first caller in the rolled window is its *probe*, and the rest stay
  held until the probe succeeds (the server's window has opened: the budget is released) or is
  answered 429 (its reset is the real boundary: a new, measured budget). A probe given back, or
  not answered within its lease, lets the next caller probe. So a window whose start was
  predicted costs at most one 429, never the requests in flight at an early roll.
- **Daily quotas.** A reset further away than an hour is a daily quota; one further than
  ``max_pause`` is a quota of one model and pauses nothing (``QUOTA``).
- **Configured budgets.** The ``:free`` models start from OpenRouter's published limits: a
  window budget of 20 requests per minute and a daily cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

__all__ = [
    "DAY",
    "HOLD",
    "NEVER",
    "Grant",
    "Refusal",
    "Signal",
    "State",
    "Ticket",
    "Tuning",
    "acquire",
    "confirm",
    "initial_state",
    "on_rate_limited",
    "on_success",
    "release",
    "success_rate",
]

NEVER = -1e18  # "never happened" for instants (a float both languages store and compare)
DAY = 86400.0
QUIET = 60.0  # a minute without a 429 ends a throttling episode, and with it the pacing
RECOVERY_SHARE = 0.9  # after a decrease, the rate returns to this share of the failed rate
SLOW_START_GAIN = 1.0  # requests/s per completed success while the limit is unknown
DISCOVERY_FLOOR = 1.0  # requests/s: the first pace after a 429 that came while unpaced
OVERSHOT_BY_AT_MOST = 0.5  # a failed rate is read as at least this share of the pace
REPLAN_GROWTH = 1.25  # an increase this large re-times the waiting callers
BUSY_WITHIN = 1.0  # seconds: a caller waited this recently, so the limiter set the pace
SHORTEST_WINDOW = 1.0  # resets closer than this are the same window (or clock noise)
DEFAULT_WINDOW = 60.0  # a window's length when nothing better is known
DAILY_ABOVE = 3600.0  # a reset further away than this is a daily quota, not a window
SAME_INSTANT = 1e-3  # two reports of one reset differ by less than this
# two reports of one window's reset, rebuilt on this clock from "seconds from now" by different
# processes, late feedback or skewed hosts, differ by less than this (half the shortest window)
SAME_RESET = SHORTEST_WINDOW / 2
# a held caller asks again this soon (the probe's age, within these bounds: a fast answer is
# seen soon, a slow one does not make the held callers poll the state for it)
HOLD_MIN, HOLD_MAX = 0.02, 1.0
# a probe not answered within this (or half the window) lets the next caller probe: a window
# budget's 429 is answered at once, a success may take as long as the model's answer
PROBE_LEASE = 5.0
# a new plan never hands out again the time of slots granted for the next this many seconds:
# a waiter of another process may not hear of the change before its slot (``plan_watch``)
PLAN_GUARD = 0.1
HOLD = -1.0  # the plan of a held grant: it never matches a plan, so its holder asks again
WINDOWS_APART = 20.0  # resets further apart (in windows) than this are not counted in windows
# how well a window's length is known (``State.b_meas``)
GUESSED, ESTIMATED, MEASURED = 0.0, 0.5, 1.0

# what a 429 did, for the caller's log (``on_rate_limited``'s return value)
UNCHANGED, CHANGED, QUOTA = 0.0, 1.0, 2.0


@dataclass(frozen=True, slots=True)
class Tuning:
    """The settings of one limiter, requests per second (0 means "none" where noted)."""

    floor: float  # the lowest rate a decrease goes to
    ceiling: float  # the highest rate an increase goes to (0: no ceiling)
    decrease: float  # multiplicative decrease, 0 < d < 1
    step: float  # additive increase, a share of the failed rate
    needed: float  # completed successes per additive increase
    burst: float  # grants back to back after an idle spell, once paced
    max_pause: float  # a wait longer than this (seconds) is a quota of one model
    margin: float  # seconds added to every reset / retry-after instant
    start_rate: float = 0.0  # the pace before any 429 (0: unpaced)
    window_limit: float = 0.0  # a configured window budget (0: none) ...
    window_length: float = 0.0  # ... of this many seconds
    day_limit: float = 0.0  # a configured daily cap (0: none), reset at UTC midnight

    def as_args(self) -> list[float]:
        return [float(getattr(self, f.name)) for f in fields(self)]


@dataclass(slots=True)
class State:
    """Everything the policy remembers; the fields of the Redis hash, in this order."""

    rate: float  # pacing rate, requests/s; 0: unpaced
    tat: float  # GCRA "theoretical arrival time" of the next slot
    cool: float  # nothing is granted before this instant
    epoch: float  # throttling events so far (a grant's 429 of an older epoch is the same event)
    plan: float  # changes that void grants already made (decrease, cooldown, budget): waiters
    # of those grants ask again
    fail: float  # the rate that last failed (0: none yet)
    streak: float  # completed successes since the last increase or 429
    beyond: float  # increases made past the failed rate
    last429: float
    queued: float  # when a caller last had to wait (the limiter, not the callers, set the pace)
    b_lim: float  # window budget: at most b_lim grants in [b_start, b_end) (0: no budget)
    b_id: float  # which budget (the reset instant that made it)
    b_start: float
    b_end: float
    b_used: float  # grants counted in this window and, for a measured one, the next
    b_len: float  # the window's length (0: unknown)
    b_meas: float  # MEASURED (or configured), ESTIMATED (a lower bound): roll on when spent;
    # GUESSED: ends with its window
    b_reset: float  # the last window boundary known (a reset, or a roll)
    b_real: float  # the last reset a 429 reported (rolls only predict boundaries)
    p_start: float  # when the first request that succeeded since b_reset was sent (estimates
    # a window's length)
    d_lim: float  # daily cap (0: none)
    d_used: float
    d_end: float  # the instant the day ends
    s_start: float  # success counts in one-second buckets: the current bucket's start ...
    s_cur: float  # ... its count ...
    s_prev: float  # ... and the previous bucket's
    p_rate: float  # the rate of the last plan (a much higher one re-times the waiters)
    l_slot: float  # the latest slot granted
    b_proof: float  # 1: the window's start is known (a reset, a success in it); 0: predicted
    pr_until: float  # the lease of the probe of a predicted window (NEVER: no probe out)
    pr_sent: float  # the slot of that probe


FIELDS = tuple(f.name for f in fields(State))


@dataclass(frozen=True, slots=True)
class Ticket:
    """A grant, as its holder reports it back (``on_success``, ``on_rate_limited``, ``release``)."""

    slot: float  # granted for this instant
    epoch: float
    plan: float
    rate: float  # the rate it was paced at (0: unpaced)
    b_id: float  # the budget it was counted in (NEVER: none)
    in_day: float  # 1: counted against the daily cap


@dataclass(frozen=True, slots=True)
class Grant:
    ticket: Ticket
    wait: float  # seconds from now until the slot


@dataclass(frozen=True, slots=True)
class Refusal:
    """The wait would be longer than allowed: nothing was taken."""

    wait: float
    cause: str  # "cooldown", "budget", "day" or "pace"


@dataclass(frozen=True, slots=True)
class Signal:
    """A 429's hints, flattened (-1: not given). ``spent``: its window has nothing left."""

    limit: float = -1.0
    reset_in: float = -1.0
    wait: float = -1.0
    spent: float = 0.0


def initial_state(tuning: Tuning, now: float, day_end: float) -> State:
    """A fresh state; ``day_end`` is when the current UTC day ends, on the policy's clock."""
    configured = tuning.window_limit > 0
    return State(
        rate=tuning.start_rate,
        tat=now,
        cool=NEVER,
        epoch=0.0,
        plan=0.0,
        fail=0.0,
        streak=0.0,
        beyond=0.0,
        last429=NEVER,
        queued=NEVER,
        b_lim=tuning.window_limit if configured else 0.0,
        b_id=now if configured else NEVER,
        b_start=now,
        b_end=now + tuning.window_length if configured else NEVER,
        b_used=0.0,
        b_len=tuning.window_length if configured else 0.0,
        b_meas=MEASURED if configured else GUESSED,
        b_reset=now if configured else NEVER,
        b_real=NEVER,
        p_start=NEVER,
        d_lim=tuning.day_limit,
        d_used=0.0,
        d_end=day_end,
        s_start=NEVER,
        s_cur=0.0,
        s_prev=0.0,
        p_rate=tuning.start_rate,
        l_slot=NEVER,
        b_proof=1.0,
        pr_until=NEVER,
        pr_sent=NEVER,
    )


def refresh(s: State, t: Tuning, now: float) -> None:
    """Let time pass: a new day, the end of a window, the end of a quiet minute's pacing."""
    if s.d_lim > 0 and now >= s.d_end:
        s.d_used = 0.0
        s.d_end = s.d_end + DAY * (math.floor((now - s.d_end) / DAY) + 1)
    if s.b_lim > 0 and now >= s.b_end:
        spent = s.b_used >= s.b_lim
        if s.b_meas > GUESSED and spent and now < s.b_end + s.b_len:
            # the next window holds the same budget (and a configured one's grants made for
            # it), but where a server's window starts is only predicted: a probe goes first
            s.b_used = s.b_used - s.b_lim
            s.b_reset = s.b_end - t.margin
            s.b_start = s.b_end
            s.b_end = s.b_end + s.b_len
            s.p_start = NEVER
            s.b_proof = 1.0 if s.b_real == NEVER else 0.0
            s.pr_until = NEVER
        elif t.window_limit > 0:
            # a configured budget never ends: its next window starts with the next grant
            s.b_used = 0.0
            s.b_reset = now
            s.b_start = now
            s.b_end = now + s.b_len
            s.p_start = NEVER
        else:
            s.b_lim = 0.0
            s.b_used = 0.0
            s.p_start = NEVER
            s.b_proof = 1.0
            if not spent:
                s.b_reset = NEVER  # demand fell below the budget: nothing left to measure from
    if s.rate > 0 and s.fail > 0 and now - s.last429 > QUIET and now >= s.cool:
        # a quiet minute: the rate that failed is history
        s.fail = 0.0
        s.streak = 0.0
        s.beyond = 0.0
        if t.start_rate == 0 and now - s.queued > BUSY_WITHIN:
            s.rate = 0.0  # nobody waits for the pace: nothing limits any more
        # else the callers still wait for it: slow start finds the limit again


def acquire(s: State, t: Tuning, now: float, max_wait: float) -> Grant | Refusal:
    """The next slot for one caller; refused (taking nothing) if it is more than ``max_wait``
    seconds away (``max_wait < 0``: no bound)."""
    refresh(s, t, now)
    slot = max(now, s.cool)
    cause = "cooldown"
    if s.rate > 0:
        paced = s.tat - (t.burst - 1) / s.rate
        if paced > slot:
            slot, cause = paced, "pace"
    if s.d_lim > 0 and s.d_used >= s.d_lim and s.d_end > slot:
        slot, cause = s.d_end, "day"
    counted = 0.0
    held = 0.0
    if s.b_lim > 0:
        if slot < s.b_end:
            if s.b_start > slot:
                slot, cause = s.b_start, "budget"
            if s.b_used < s.b_lim:
                counted = 1.0
            else:
                slot, cause = s.b_end, "budget"
        if counted == 0 and s.b_meas > GUESSED and s.b_end <= slot < s.b_end + s.b_len:
            if s.b_real == NEVER:
                # a configured budget (no server reset seen): its windows are ours to place
                if s.b_used < 2 * s.b_lim:
                    counted = 1.0
                else:
                    slot, cause = s.b_end + s.b_len, "budget"
            else:
                held = 1.0  # the next window starts where a roll predicts: ask again then
        elif counted > 0 and s.b_proof == 0 and now < s.pr_until:
            # a predicted window whose probe is out: ask again soon, or when its lease ends
            counted = 0.0
            held = 1.0
            poll = min(HOLD_MAX, max(HOLD_MIN, now - s.pr_sent))
            slot = max(slot, min(now + poll, s.pr_until))
            cause = "budget"
    wait = slot - now
    if max_wait >= 0 and wait > max_wait:
        s.queued = now  # demand exceeds what the limits allow
        return Refusal(wait, cause)
    if held > 0:  # takes nothing: no slot of the pace, no count
        if slot > now:
            s.queued = now
        return Grant(Ticket(slot, s.epoch, HOLD, s.rate, NEVER, 0.0), wait)
    if counted > 0 and s.b_proof == 0:
        # the first grant in a predicted window: the probe
        s.pr_sent = slot
        s.pr_until = slot + min(PROBE_LEASE, s.b_len / 2)
    if s.rate > 0:
        s.tat = max(s.tat, slot) + 1 / s.rate
    s.l_slot = max(s.l_slot, slot)
    if counted > 0:
        s.b_used = s.b_used + 1
    in_day = 0.0
    if s.d_lim > 0 and slot < s.d_end:
        s.d_used = s.d_used + 1
        in_day = 1.0
    if slot > now:
        s.queued = now
    b_id = s.b_id if counted > 0 else NEVER
    return Grant(Ticket(slot, s.epoch, s.plan, s.rate, b_id, in_day), wait)


def confirm(s: State, t: Tuning, now: float, ticket: Ticket, max_wait: float) -> Grant | Refusal:
    """A grant whose slot has come, checked before use: still good if no plan change voided it
    since (another process may have made one), else given back for the next slot."""
    refresh(s, t, now)
    if ticket.plan == s.plan:
        return Grant(ticket, max(0.0, ticket.slot - now))
    release(s, t, now, ticket)
    return acquire(s, t, now, max_wait)


def release(s: State, t: Tuning, now: float, ticket: Ticket) -> None:
    """A grant whose holder stopped waiting: its budget counts are given back (its slot is not)."""
    refresh(s, t, now)
    if s.b_lim > 0 and ticket.b_id == s.b_id and ticket.slot >= s.b_start - SAME_INSTANT:
        s.b_used = max(0.0, s.b_used - 1)
        if s.b_proof == 0:
            s.pr_until = NEVER  # the probe (nothing else is counted there): the next caller's
    if ticket.in_day > 0 and s.d_lim > 0 and ticket.slot < s.d_end:
        s.d_used = max(0.0, s.d_used - 1)


def success_rate(s: State, now: float) -> float:
    """Successes per second over the last second (two one-second buckets, interpolated)."""
    bucket = math.floor(now)
    if bucket == s.s_start:
        return s.s_prev * (1 - (now - bucket)) + s.s_cur
    if bucket == s.s_start + 1:
        return s.s_cur * (1 - (now - bucket))
    return 0.0


def on_success(s: State, t: Tuning, now: float, ticket: Ticket | None) -> None:
    """A granted request completed successfully."""
    refresh(s, t, now)
    bucket = math.floor(now)
    if bucket == s.s_start:
        s.s_cur = s.s_cur + 1
    elif bucket == s.s_start + 1:
        s.s_prev = s.s_cur
        s.s_cur = 1.0
        s.s_start = bucket
    else:
        s.s_prev = 0.0
        s.s_cur = 1.0
        s.s_start = bucket
    # sent in this window (its grant's slot), it was counted in it: the window began before
    sent = ticket.slot if ticket is not None else now
    if sent >= s.b_reset and (s.p_start == NEVER or sent < s.p_start):
        s.p_start = sent
    if ticket is not None and _probed(s, ticket):
        # the server let a request of the predicted window through: it has opened
        s.b_proof = 1.0
        s.pr_until = NEVER
        s.plan = s.plan + 1  # the held callers ask again: the budget is theirs
    if s.rate > 0:
        _maybe_increase(s, t, now, ticket)


def _probed(s: State, ticket: Ticket) -> bool:
    """``ticket`` was granted in the predicted window (a probe)."""
    return (
        s.b_lim > 0
        and s.b_proof == 0
        and ticket.b_id == s.b_id
        and s.b_start - SAME_INSTANT <= ticket.slot < s.b_end
    )


def _maybe_increase(s: State, t: Tuning, now: float, ticket: Ticket | None) -> None:
    slow_start = s.fail == 0
    # a success proves the rate it was paced at: slow start, one doubling ago is enough; later,
    # one re-plan ago (a smaller increase keeps the slots already granted, and a queue of
    # callers drains them for seconds before a slot at the new pace completes: requiring the
    # current pace would hold each small step back for as long)
    proven = s.rate / 2 if slow_start else s.rate / REPLAN_GROWTH
    if ticket is not None and ticket.rate < proven:
        return
    s.streak = s.streak + 1
    if slow_start:
        needed = 1.0
    elif s.rate < RECOVERY_SHARE * s.fail:
        needed = max(1.0, math.floor(t.needed / 2))  # the dip after a decrease
    else:
        needed = t.needed
    if now < s.cool or s.streak < needed:
        return
    s.streak = 0.0
    if now - s.queued > max(1.0, 2 / s.rate):
        return  # the callers, not the limiter, set the pace: a higher rate is unproven
    if slow_start:
        rate = s.rate + SLOW_START_GAIN
    elif s.rate < RECOVERY_SHARE * s.fail:
        rate = RECOVERY_SHARE * s.fail  # the decrease was a precaution: near the limit at once
    else:
        # small steps up to the failed rate; past it the limit has moved, so each step is one
        # step larger than the last (an outdated limit is left behind in reasonable time)
        s.beyond = s.beyond + 1 if s.rate >= s.fail else 0.0
        rate = s.rate + t.step * s.fail * (1 + s.beyond)
    if t.ceiling > 0:
        rate = min(rate, t.ceiling)
    if rate >= s.p_rate * REPLAN_GROWTH:
        # slots granted at a much lower pace would hold the callers back for long (a queue
        # of 32 at 6/s is 5 s): a new plan, the waiters ask again, the first of them one new
        # interval after the last slot already due
        s.tat = max(now, min(s.l_slot, now + PLAN_GUARD) + 1 / rate)
        s.p_rate = rate
        s.plan = s.plan + 1
    s.rate = rate


def on_rate_limited(s: State, t: Tuning, now: float, g: Signal, ticket: Ticket | None) -> float:
    """A granted request was answered 429. Returns ``CHANGED``, ``UNCHANGED`` (another answer
    of an event already acted on) or ``QUOTA`` (a wait longer than ``max_pause``)."""
    refresh(s, t, now)
    s.last429 = now
    if ticket is not None and _probed(s, ticket):
        s.pr_until = NEVER  # the probe failed: another one, once its limits allow
    if g.wait > t.max_pause:
        return QUOTA
    s.streak = 0.0
    before = (s.rate, s.cool, s.b_id, s.d_end, s.d_lim)
    if g.spent > 0 and g.limit > 0 and g.reset_in >= 0:
        reset = now + g.reset_in
        if g.reset_in > DAILY_ABOVE:
            s.d_lim = g.limit
            s.d_used = g.limit
            s.d_end = max(s.d_end, reset + t.margin)
        else:
            _take_budget(s, t, now, g.limit, reset)
    elif ticket is None or ticket.epoch >= s.epoch:
        _decrease(s, t, now, ticket)
    if g.wait >= 0:
        until = now + g.wait + t.margin
        if until > s.cool + SAME_INSTANT:
            s.cool = until
            s.plan = s.plan + 1
    return CHANGED if (s.rate, s.cool, s.b_id, s.d_end, s.d_lim) != before else UNCHANGED


def _decrease(s: State, t: Tuning, now: float, ticket: Ticket | None) -> None:
    if s.rate > 0:
        # the rate that failed is the one the request was paced at (it may lag the current one)
        paced = ticket.rate if ticket is not None and ticket.rate > 0 else s.rate
        failed = min(s.rate, paced)
        # while the callers keep the limiter busy, what the server let through in the last
        # second is a closer bound when the pace overshot it: in slow start by any amount (the
        # server's burst hid the limit), later by little
        delivered = success_rate(s, now)
        if delivered > 0 and now - s.queued <= BUSY_WITHIN:
            least = 0.0 if s.fail == 0 else failed * OVERSHOT_BY_AT_MOST
            failed = min(failed, max(delivered, least))
        failed = max(failed, t.floor)
        s.fail = failed
        s.rate = max(t.floor, failed * t.decrease)
    else:
        # unpaced: start below what the server let through and slow-start from there (the
        # successes counted so far may be a few of a burst whose answers are still arriving)
        s.rate = max(t.floor, DISCOVERY_FLOOR, success_rate(s, now) * t.decrease)
        if t.ceiling > 0:
            s.rate = min(s.rate, t.ceiling)
    s.beyond = 0.0
    s.epoch = s.epoch + 1
    # a new plan: slots granted at the old pace are void (their holders ask again), and the
    # next slot is one interval from now (the server's bucket refills a little first), after
    # any granted within the guard
    s.tat = max(now, min(s.l_slot, now + PLAN_GUARD)) + 1 / s.rate
    s.plan = s.plan + 1
    s.p_rate = s.rate


def _take_budget(s: State, t: Tuning, now: float, limit: float, reset: float) -> None:
    """Limit grants in the window that starts at ``reset``."""
    # reports of one reset differ by how late each 429 was turned into a reset instant; once a
    # window's length is known (or bounded), anything within half of it is the same reset
    same = max(SAME_RESET, s.b_len / 2) if s.b_meas > GUESSED else SAME_RESET
    if s.b_lim > 0 and reset <= max(s.b_reset + SAME_INSTANT, s.b_real + same):
        # a window already planned for: the 429 of a request sent before. The earliest report
        # is the least late: the window opened by it moves to it, later lengths count from it
        if reset < s.b_real:
            if s.b_reset == s.b_real:
                s.b_start = s.b_start - (s.b_real - reset)
                s.b_end = s.b_end - (s.b_real - reset)
                s.b_reset = reset
            s.b_real = reset
        return
    length, meas = _window_length(s, now, reset)
    s.b_lim = limit
    s.b_id = reset
    s.b_start = reset + t.margin
    s.b_end = reset + t.margin + length
    s.b_used = 0.0
    s.b_len = length
    s.b_meas = meas
    s.b_reset = reset
    s.b_real = reset
    s.p_start = NEVER
    s.b_proof = 1.0  # the server said where it starts
    s.pr_until = NEVER
    s.plan = s.plan + 1


def _window_length(s: State, now: float, reset: float) -> tuple[float, float]:
    """The length of the window that ends at ``reset``, and how well it is known."""
    lower = max(SHORTEST_WINDOW, reset - now)  # the window of this 429 is at least this long
    # our first request that succeeded since the last boundary, most likely sent in this
    # window: a lower bound too
    first = reset - s.p_start if s.p_start > NEVER else 0.0
    if s.b_real > NEVER:
        # two resets: a whole number of windows apart; how many, the best estimate says
        gap = reset - s.b_real
        # a boundary a roll predicted, followed closely by this reset, came early: the grants
        # made since went out before the real reset, and their successes (across processes
        # reported before the 429s that carry the reset) prove no length
        early = s.b_reset > s.b_real + SAME_RESET and reset < s.b_reset + s.b_len / 2
        if first > 0 and not early:
            windows = math.floor(gap / max(lower, first) + 0.5)
        elif s.b_meas > GUESSED:
            # none since the boundary we predicted (or only early ones): it came too early, the
            # real one is due
            windows = max(1, math.floor((now - s.b_real) / s.b_len + 0.5))
        else:
            windows = 1  # none since that reset: the window it opened ends at this one
        windows = min(windows, math.floor(gap / lower))
        if 1 <= windows <= WINDOWS_APART and gap / windows <= DEFAULT_WINDOW:
            return gap / windows, MEASURED
    if s.b_meas >= MEASURED:
        return s.b_len, MEASURED
    if first > 0:
        return max(lower, min(first, DEFAULT_WINDOW)), ESTIMATED
    return max(DEFAULT_WINDOW, lower), GUESSED  # none of our requests succeeded in it
