"""``policy``'s decisions as one Lua script, for limiter state kept in a Redis hash.

Every decision is one ``EVALSHA``: the script reads the hash (one per account and scope), makes
the decision with Redis server time (``TIME``: no client clock is compared with another), writes
every field back and renews the key's TTL. The script is ``policy.py`` line for line; the tests
run both on the same traces and compare every answer and every field.

Arguments: ``KEYS[1]`` the hash; ``ARGV``: the operation, "now" ('' = server time; the trace
tests give one), the TTL in ms, the ``Tuning`` fields in order, then the operation's own:

- ``acquire max_wait`` -> ``granted (1/0), wait, cause, ticket (6 fields)``
- ``reacquire max_wait ticket``: the ticket given back, then ``acquire`` (one round trip)
- ``confirm max_wait ticket``: ``policy.confirm``, answered as ``acquire``
- ``release ticket`` / ``success has_ticket ticket`` -> ``0``
- ``limited limit reset_in wait spent has_ticket ticket`` -> ``outcome``
- ``peek`` -> ``0``

A decision that changes the plan (or makes the hash afresh) publishes the new plan on the channel
``<key>:plans`` (``plan_watch``), so processes waiting for slots of the old plan ask again
without a round trip of their own to find out.

Every answer starts with "now" and whether the hash was missing (1: made afresh, after a
restart, a ``FLUSHALL`` or the TTL), and ends with the state's fields (``policy.FIELDS``), so
the caller knows the plan it is in without asking again. Numbers travel as ``%.17g`` strings:
exact doubles both ways.
"""

from __future__ import annotations

__all__ = ["SCRIPT"]

SCRIPT = r"""
local NEVER = -1e18
local DAY = 86400.0
local QUIET = 60.0
local RECOVERY_SHARE = 0.9
local SLOW_START_GAIN = 1.0
local DISCOVERY_FLOOR = 1.0
local OVERSHOT_BY_AT_MOST = 0.5
local REPLAN_GROWTH = 1.25
local BUSY_WITHIN = 1.0
local SHORTEST_WINDOW = 1.0
local DEFAULT_WINDOW = 60.0
local DAILY_ABOVE = 3600.0
local SAME_INSTANT = 1e-3
local SAME_RESET = SHORTEST_WINDOW / 2
local WINDOWS_APART = 20.0
local HOLD_MIN, HOLD_MAX = 0.02, 1.0
local PROBE_LEASE = 5.0
local PLAN_GUARD = 0.1
local HOLD = -1.0
local GUESSED, ESTIMATED, MEASURED = 0.0, 0.5, 1.0
local FIELDS = {'rate', 'tat', 'cool', 'epoch', 'plan', 'fail', 'streak', 'beyond', 'last429',
  'queued', 'b_lim', 'b_id', 'b_start', 'b_end', 'b_used', 'b_len', 'b_meas', 'b_reset',
  'b_real', 'p_start', 'd_lim', 'd_used', 'd_end', 's_start', 's_cur', 's_prev', 'p_rate', 'l_slot',
  'b_proof', 'pr_until', 'pr_sent'}
local TUNING = {'floor', 'ceiling', 'decrease', 'step', 'needed', 'burst', 'max_pause',
  'margin', 'start_rate', 'window_limit', 'window_length', 'day_limit'}
local CAUSES = {cooldown = 0, pace = 1, day = 2, budget = 3}

local function num(x) return string.format('%.17g', x) end

local key = KEYS[1]
local op = ARGV[1]
local now
if ARGV[2] ~= '' then
  now = tonumber(ARGV[2])
else
  local time = redis.call('TIME')
  now = tonumber(time[1]) + tonumber(time[2]) / 1000000
end
local ttl = tonumber(ARGV[3])
local t = {}
for i, name in ipairs(TUNING) do t[name] = tonumber(ARGV[3 + i]) end
local arg0 = 3 + #TUNING

local s = {}
local stored = redis.call('HGETALL', key)
for i = 1, #stored, 2 do s[stored[i]] = tonumber(stored[i + 1]) end
local fresh = 0
for _, name in ipairs(FIELDS) do
  if s[name] == nil then fresh = 1 end
end
if fresh == 1 then
  -- missing (or written by another version): made afresh
  s = {}
  local configured = t.window_limit > 0
  s.rate = t.start_rate; s.tat = now; s.cool = NEVER; s.epoch = 0; s.plan = 0; s.fail = 0
  s.streak = 0; s.beyond = 0; s.last429 = NEVER; s.queued = NEVER
  if configured then
    s.b_lim = t.window_limit; s.b_id = now; s.b_end = now + t.window_length
    s.b_len = t.window_length; s.b_meas = MEASURED; s.b_reset = now
  else
    s.b_lim = 0; s.b_id = NEVER; s.b_end = NEVER; s.b_len = 0; s.b_meas = GUESSED
    s.b_reset = NEVER
  end
  s.b_start = now; s.b_used = 0; s.b_real = NEVER; s.p_start = NEVER
  s.d_lim = t.day_limit; s.d_used = 0; s.d_end = (math.floor(now / DAY) + 1) * DAY
  s.s_start = NEVER; s.s_cur = 0; s.s_prev = 0; s.p_rate = t.start_rate; s.l_slot = NEVER
  s.b_proof = 1; s.pr_until = NEVER; s.pr_sent = NEVER
end

local plan0 = s.plan

local function ticket_at(i)
  return {slot = tonumber(ARGV[i]), epoch = tonumber(ARGV[i + 1]), plan = tonumber(ARGV[i + 2]),
    rate = tonumber(ARGV[i + 3]), b_id = tonumber(ARGV[i + 4]), in_day = tonumber(ARGV[i + 5])}
end

local function refresh()
  if s.d_lim > 0 and now >= s.d_end then
    s.d_used = 0
    s.d_end = s.d_end + DAY * (math.floor((now - s.d_end) / DAY) + 1)
  end
  if s.b_lim > 0 and now >= s.b_end then
    local spent = s.b_used >= s.b_lim
    if s.b_meas > GUESSED and spent and now < s.b_end + s.b_len then
      s.b_used = s.b_used - s.b_lim
      s.b_reset = s.b_end - t.margin
      s.b_start = s.b_end
      s.b_end = s.b_end + s.b_len
      s.p_start = NEVER
      if s.b_real == NEVER then s.b_proof = 1 else s.b_proof = 0 end
      s.pr_until = NEVER
    elseif t.window_limit > 0 then
      s.b_used = 0
      s.b_reset = now
      s.b_start = now
      s.b_end = now + s.b_len
      s.p_start = NEVER
    else
      s.b_lim = 0
      s.b_used = 0
      s.p_start = NEVER
      s.b_proof = 1
      if not spent then s.b_reset = NEVER end
    end
  end
  if s.rate > 0 and s.fail > 0 and now - s.last429 > QUIET and now >= s.cool then
    s.fail = 0; s.streak = 0; s.beyond = 0
    if t.start_rate == 0 and now - s.queued > BUSY_WITHIN then s.rate = 0 end
  end
end

local function success_rate()
  local bucket = math.floor(now)
  if bucket == s.s_start then return s.s_prev * (1 - (now - bucket)) + s.s_cur end
  if bucket == s.s_start + 1 then return s.s_cur * (1 - (now - bucket)) end
  return 0
end

local function acquire(max_wait)
  refresh()
  local slot = math.max(now, s.cool)
  local cause = 'cooldown'
  if s.rate > 0 then
    local paced = s.tat - (t.burst - 1) / s.rate
    if paced > slot then slot = paced; cause = 'pace' end
  end
  if s.d_lim > 0 and s.d_used >= s.d_lim and s.d_end > slot then
    slot = s.d_end; cause = 'day'
  end
  local counted = 0
  local held = 0
  if s.b_lim > 0 then
    if slot < s.b_end then
      if s.b_start > slot then slot = s.b_start; cause = 'budget' end
      if s.b_used < s.b_lim then counted = 1 else slot = s.b_end; cause = 'budget' end
    end
    if counted == 0 and s.b_meas > GUESSED and s.b_end <= slot and slot < s.b_end + s.b_len then
      if s.b_real == NEVER then
        if s.b_used < 2 * s.b_lim then counted = 1
        else slot = s.b_end + s.b_len; cause = 'budget' end
      else
        held = 1
      end
    elseif counted > 0 and s.b_proof == 0 and now < s.pr_until then
      counted = 0
      held = 1
      local poll = math.min(HOLD_MAX, math.max(HOLD_MIN, now - s.pr_sent))
      slot = math.max(slot, math.min(now + poll, s.pr_until))
      cause = 'budget'
    end
  end
  local wait = slot - now
  if max_wait >= 0 and wait > max_wait then
    s.queued = now
    return {0, wait, CAUSES[cause], 0, 0, 0, 0, 0, 0}
  end
  if held > 0 then
    if slot > now then s.queued = now end
    return {1, wait, CAUSES[cause], slot, s.epoch, HOLD, s.rate, NEVER, 0}
  end
  if counted > 0 and s.b_proof == 0 then
    s.pr_sent = slot
    s.pr_until = slot + math.min(PROBE_LEASE, s.b_len / 2)
  end
  if s.rate > 0 then s.tat = math.max(s.tat, slot) + 1 / s.rate end
  s.l_slot = math.max(s.l_slot, slot)
  if counted > 0 then s.b_used = s.b_used + 1 end
  local in_day = 0
  if s.d_lim > 0 and slot < s.d_end then s.d_used = s.d_used + 1; in_day = 1 end
  if slot > now then s.queued = now end
  local b_id = NEVER
  if counted > 0 then b_id = s.b_id end
  return {1, wait, CAUSES[cause], slot, s.epoch, s.plan, s.rate, b_id, in_day}
end

local function release(tk)
  refresh()
  if s.b_lim > 0 and tk.b_id == s.b_id and tk.slot >= s.b_start - SAME_INSTANT then
    s.b_used = math.max(0, s.b_used - 1)
    if s.b_proof == 0 then s.pr_until = NEVER end
  end
  if tk.in_day > 0 and s.d_lim > 0 and tk.slot < s.d_end then
    s.d_used = math.max(0, s.d_used - 1)
  end
end

local function confirm(tk, max_wait)
  refresh()
  if tk.plan == s.plan then
    return {1, math.max(0, tk.slot - now), CAUSES['cooldown'], tk.slot, tk.epoch, tk.plan,
      tk.rate, tk.b_id, tk.in_day}
  end
  release(tk)
  return acquire(max_wait)
end

local function probed(tk)
  return s.b_lim > 0 and s.b_proof == 0 and tk.b_id == s.b_id
    and s.b_start - SAME_INSTANT <= tk.slot and tk.slot < s.b_end
end

local function maybe_increase(tk)
  local slow_start = s.fail == 0
  local proven = s.rate / REPLAN_GROWTH
  if slow_start then proven = s.rate / 2 end
  if tk ~= nil and tk.rate < proven then return end
  s.streak = s.streak + 1
  local needed = t.needed
  if slow_start then needed = 1
  elseif s.rate < RECOVERY_SHARE * s.fail then needed = math.max(1, math.floor(t.needed / 2)) end
  if now < s.cool or s.streak < needed then return end
  s.streak = 0
  if now - s.queued > math.max(1, 2 / s.rate) then return end
  local rate
  if slow_start then
    rate = s.rate + SLOW_START_GAIN
  elseif s.rate < RECOVERY_SHARE * s.fail then
    rate = RECOVERY_SHARE * s.fail
  else
    if s.rate >= s.fail then s.beyond = s.beyond + 1 else s.beyond = 0 end
    rate = s.rate + t.step * s.fail * (1 + s.beyond)
  end
  if t.ceiling > 0 then rate = math.min(rate, t.ceiling) end
  if rate >= s.p_rate * REPLAN_GROWTH then
    s.tat = math.max(now, math.min(s.l_slot, now + PLAN_GUARD) + 1 / rate)
    s.p_rate = rate
    s.plan = s.plan + 1
  end
  s.rate = rate
end

local function success(tk)
  refresh()
  local bucket = math.floor(now)
  if bucket == s.s_start then
    s.s_cur = s.s_cur + 1
  elseif bucket == s.s_start + 1 then
    s.s_prev = s.s_cur; s.s_cur = 1; s.s_start = bucket
  else
    s.s_prev = 0; s.s_cur = 1; s.s_start = bucket
  end
  local sent = now
  if tk ~= nil then sent = tk.slot end
  if sent >= s.b_reset and (s.p_start == NEVER or sent < s.p_start) then s.p_start = sent end
  if tk ~= nil and probed(tk) then
    s.b_proof = 1
    s.pr_until = NEVER
    s.plan = s.plan + 1
  end
  if s.rate > 0 then maybe_increase(tk) end
end

local function decrease(tk)
  if s.rate > 0 then
    local paced = s.rate
    if tk ~= nil and tk.rate > 0 then paced = tk.rate end
    local failed = math.min(s.rate, paced)
    local delivered = success_rate()
    if delivered > 0 and now - s.queued <= BUSY_WITHIN then
      local least = failed * OVERSHOT_BY_AT_MOST
      if s.fail == 0 then least = 0 end
      failed = math.min(failed, math.max(delivered, least))
    end
    failed = math.max(failed, t.floor)
    s.fail = failed
    s.rate = math.max(t.floor, failed * t.decrease)
  else
    s.rate = math.max(t.floor, DISCOVERY_FLOOR, success_rate() * t.decrease)
    if t.ceiling > 0 then s.rate = math.min(s.rate, t.ceiling) end
  end
  s.beyond = 0
  s.epoch = s.epoch + 1
  s.tat = math.max(now, math.min(s.l_slot, now + PLAN_GUARD)) + 1 / s.rate
  s.plan = s.plan + 1
  s.p_rate = s.rate
end

local function window_length(reset)
  local lower = math.max(SHORTEST_WINDOW, reset - now)
  local first = 0
  if s.p_start > NEVER then first = reset - s.p_start end
  if s.b_real > NEVER then
    local gap = reset - s.b_real
    local windows
    local early = s.b_reset > s.b_real + SAME_RESET and reset < s.b_reset + s.b_len / 2
    if first > 0 and not early then
      windows = math.floor(gap / math.max(lower, first) + 0.5)
    elseif s.b_meas > GUESSED then
      windows = math.max(1, math.floor((now - s.b_real) / s.b_len + 0.5))
    else
      windows = 1
    end
    windows = math.min(windows, math.floor(gap / lower))
    if windows >= 1 and windows <= WINDOWS_APART and gap / windows <= DEFAULT_WINDOW then
      return gap / windows, MEASURED
    end
  end
  if s.b_meas >= MEASURED then return s.b_len, MEASURED end
  if first > 0 then return math.max(lower, math.min(first, DEFAULT_WINDOW)), ESTIMATED end
  return math.max(DEFAULT_WINDOW, lower), GUESSED
end

local function take_budget(limit, reset)
  local same = SAME_RESET
  if s.b_meas > GUESSED then same = math.max(SAME_RESET, s.b_len / 2) end
  if s.b_lim > 0 and reset <= math.max(s.b_reset + SAME_INSTANT, s.b_real + same) then
    if reset < s.b_real then
      if s.b_reset == s.b_real then
        s.b_start = s.b_start - (s.b_real - reset)
        s.b_end = s.b_end - (s.b_real - reset)
        s.b_reset = reset
      end
      s.b_real = reset
    end
    return
  end
  local length, meas = window_length(reset)
  s.b_lim = limit
  s.b_id = reset
  s.b_start = reset + t.margin
  s.b_end = reset + t.margin + length
  s.b_used = 0
  s.b_len = length
  s.b_meas = meas
  s.b_reset = reset
  s.b_real = reset
  s.p_start = NEVER
  s.b_proof = 1
  s.pr_until = NEVER
  s.plan = s.plan + 1
end

local function limited(g, tk)
  refresh()
  s.last429 = now
  if tk ~= nil and probed(tk) then s.pr_until = NEVER end
  if g.wait > t.max_pause then return 2 end
  s.streak = 0
  local before = {s.rate, s.cool, s.b_id, s.d_end, s.d_lim}
  if g.spent > 0 and g.limit > 0 and g.reset_in >= 0 then
    local reset = now + g.reset_in
    if g.reset_in > DAILY_ABOVE then
      s.d_lim = g.limit
      s.d_used = g.limit
      s.d_end = math.max(s.d_end, reset + t.margin)
    else
      take_budget(g.limit, reset)
    end
  elseif tk == nil or tk.epoch >= s.epoch then
    decrease(tk)
  end
  if g.wait >= 0 then
    local untill = now + g.wait + t.margin
    if untill > s.cool + SAME_INSTANT then
      s.cool = untill
      s.plan = s.plan + 1
    end
  end
  local after = {s.rate, s.cool, s.b_id, s.d_end, s.d_lim}
  for i = 1, 5 do
    if after[i] ~= before[i] then return 1 end
  end
  return 0
end

local result
if op == 'acquire' then
  result = acquire(tonumber(ARGV[arg0 + 1]))
elseif op == 'reacquire' then
  release(ticket_at(arg0 + 2)); result = acquire(tonumber(ARGV[arg0 + 1]))
elseif op == 'confirm' then
  result = confirm(ticket_at(arg0 + 2), tonumber(ARGV[arg0 + 1]))
elseif op == 'release' then
  release(ticket_at(arg0 + 1)); result = {0}
elseif op == 'success' then
  local tk = nil
  if ARGV[arg0 + 1] == '1' then tk = ticket_at(arg0 + 2) end
  success(tk); result = {0}
elseif op == 'limited' then
  local g = {limit = tonumber(ARGV[arg0 + 1]), reset_in = tonumber(ARGV[arg0 + 2]),
    wait = tonumber(ARGV[arg0 + 3]), spent = tonumber(ARGV[arg0 + 4])}
  local tk = nil
  if ARGV[arg0 + 5] == '1' then tk = ticket_at(arg0 + 6) end
  result = {limited(g, tk)}
elseif op == 'peek' then
  refresh(); result = {0}
else
  return redis.error_reply('unknown operation ' .. tostring(op))
end

local flat = {}
for _, name in ipairs(FIELDS) do
  flat[#flat + 1] = name
  flat[#flat + 1] = num(s[name])
end
redis.call('HSET', key, unpack(flat))
redis.call('PEXPIRE', key, ttl)
if fresh == 1 or s.plan ~= plan0 then
  -- the processes waiting on this state learn of the new plan without asking (plan_watch)
  redis.call('PUBLISH', key .. ':plans', num(s.plan))
end

local out = {num(now), fresh}
for _, v in ipairs(result) do out[#out + 1] = num(v) end
for _, name in ipairs(FIELDS) do out[#out + 1] = num(s[name]) end
return out
"""
