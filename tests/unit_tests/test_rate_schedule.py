"""``Schedule``, the limiter's pure state machine, driven with plain numbers (no clock)."""

from __future__ import annotations

import logging

import pytest

from langchain_openrouter_fenic.rate_limits.policy import Schedule, Tuning
from langchain_openrouter_fenic.rate_limits.signals import RateLimitSignal

TUNING = Tuning(
    floor=0.1,
    ceiling=1000.0,
    decrease_factor=0.75,
    increase_step=0.01,
    successes_before_increase=10,
    max_burst=1,
    max_pause=60.0,
    reset_margin=0.0,
)


def test_slots_are_one_over_the_rate_apart() -> None:
    schedule = Schedule(TUNING, rate=10.0, now=0.0)
    slots = [schedule.reserve(0.0).at for _ in range(3)]
    assert slots == pytest.approx([0.0, 0.1, 0.2])


def test_a_window_budget_holds_admissions_until_the_reset_then_spreads_them() -> None:
    schedule = Schedule(TUNING, rate=10.0, now=0.0)
    schedule.on_rate_limited(1.0, RateLimitSignal(limit=4, remaining=0, reset_in=2.0), None)
    # no success seen yet: the window is assumed to last a minute
    assert schedule.budget is not None and schedule.budget.start == pytest.approx(3.0)
    first = schedule.reserve(1.0)
    assert first.at == pytest.approx(3.0) and schedule.admit(first, 2.9) is False
    assert schedule.admit(first, 3.0) is True
    assert schedule.rate == pytest.approx(4 / 60)


def test_a_bare_429_decreases_once_per_event() -> None:
    schedule = Schedule(TUNING, rate=8.0, now=0.0)
    sent = [schedule.reserve(0.0) for _ in range(3)]
    for ticket in sent:
        assert schedule.admit(ticket, 1.0) is True
    for ticket in sent:  # three 429s of requests admitted before the decrease: one event
        schedule.on_rate_limited(1.0, RateLimitSignal(), ticket)
    assert schedule.rate == pytest.approx(6.0)


def test_a_new_plan_voids_outstanding_reservations() -> None:
    schedule = Schedule(TUNING, rate=1.0, now=0.0)
    schedule.reserve(0.0)
    later = schedule.reserve(0.0)
    schedule.replan(0.0)
    assert schedule.admit(later, 5.0) is None


def test_every_additive_step_re_times_the_waiting_callers() -> None:
    schedule = Schedule(TUNING, rate=100.0, now=0.0)
    failed = schedule.reserve(0.0)
    schedule.admit(failed, 0.0)
    schedule.on_rate_limited(0.0, RateLimitSignal(), failed)  # 100/s failed: down to 75/s
    now = 0.0
    while schedule.rate < 90.0:  # a few successes bring it back to 90 % of the failed rate
        ticket = schedule.reserve(now)
        now = ticket.at
        schedule.admit(ticket, now)
        schedule.on_success(now, ticket)
    assert schedule.rate == pytest.approx(90.0)
    step_before = schedule.rate
    queued = [schedule.reserve(now) for _ in range(11)]  # callers waiting for their slots
    for ticket in queued[:10]:
        schedule.admit(ticket, ticket.at)
        schedule.on_success(ticket.at, ticket)
    assert schedule.rate == pytest.approx(step_before + 0.01 * 100.0)  # one additive step
    assert schedule.admit(queued[10], queued[10].at) is None  # its old slot is void: reserve again


def test_a_quiet_minute_ends_an_episode_whose_old_rate_was_above_the_limit() -> None:
    schedule = Schedule(TUNING, rate=100.0, now=0.0)  # slow start overshot a limit of ~50/s
    sent = schedule.reserve(0.0)
    schedule.admit(sent, 0.0)
    notes = schedule.on_rate_limited(0.0, RateLimitSignal(), sent)
    assert [level for level, _ in notes] == [logging.WARNING]
    assert schedule.on_success(30.0, None) is None  # still within the episode
    note = schedule.on_success(61.0, None)
    assert note is not None and "eased; no 429 for 60 s" in note
    assert schedule.throttled_from is None
    assert schedule.on_success(62.0, None) is None  # one INFO per episode


def test_a_429_that_leaves_budget_installs_no_budget_and_decreases_instead() -> None:
    schedule = Schedule(TUNING, rate=8.0, now=0.0)
    sent = schedule.reserve(0.0)
    schedule.admit(sent, 0.0)
    signal = RateLimitSignal(limit=50, remaining=3, reset_in=3600.0)
    assert not signal.window_spent and signal.wait_seconds() is None
    schedule.on_rate_limited(0.0, signal, sent)
    assert schedule.budget is None and schedule.cooldown_until == 0.0
    assert schedule.rate == pytest.approx(6.0)
    assert schedule.next_slot(0.2) == pytest.approx(0.2)
