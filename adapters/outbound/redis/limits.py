"""Rate limits and connection slots shared by every node, each decided by one Lua script on one clock."""

from __future__ import annotations

import asyncio
import logging
import math

from redis.asyncio import Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

from domain.rate_limit import Decision, RateRule

log = logging.getLogger("vedfolnir.redis")

# A list of accepted hits per key, the domain's SlidingLog on Redis: each entry an acceptance time in
# integer microseconds (exact in a double up to 2**53), pushed at the tail in time order, expired entries
# trimmed from the head, so the length is the count. A list entry costs a few bytes and an O(1) push; a
# sorted set (the earlier log) needed a unique member, a skiplist node and a score read per hit.
# Numbers go back to Redis through string.format('%.0f'): Lua's tostring keeps only 14 digits.
#
# The log stays sorted because a key's time never goes back: on the server clock, KEYS[1] holds the
# newest time any call used and the batch's time is max(TIME, that); on caller clocks, the key's newest
# entry (as SlidingLog does). Both are exact only if every writer of a key runs this script.
#
# One call decides a whole batch of hits, in order, exactly as the same hits sent one by one would be
# decided: the hits of one key at one instant (a run) are decided together. Each run reads the head of
# its log, pushes every hit that could be accepted (RPUSH answers the length, so no LLEN), decides the
# hits in order, then one LTRIM drops both the expired head and the refused tail (all entries of a run
# carry the same time, so which of them were refused does not matter). ARGV[1]: one line per hit,
# "key-index limit window(us) cost now(us, '-' = the server's time) ttl(ms)", key-index counting from 2.
# Answers one string, "allowed remaining reset(us)" per hit: one argument and one reply instead of six
# and three per hit keep the client's encoding and parsing cost per batch small.
_HITS = """
local function push(key, stamp, n)
  local adds = {}
  for i = 1, math.min(n, 2000) do adds[i] = stamp end
  local len
  for first = 1, n, 2000 do
    len = redis.call('RPUSH', key, unpack(adds, 1, math.min(2000, n - first + 1)))
  end
  return len
end
local server_now
local runs, current, costs, limits = {}, {}, {}, {}
local n = 0
for ki, limit, window, cost, given, ttl in string.gmatch(ARGV[1], '(%d+) (%d+) (%d+) (%-?%d+) (%S+) (%d+)') do
  n = n + 1
  ki = tonumber(ki)
  limit = tonumber(limit)
  window = tonumber(window)
  cost = tonumber(cost)
  local now
  if given ~= '-' then
    now = tonumber(given)
  else
    if not server_now then
      local t = redis.call('TIME')
      server_now = tonumber(t[1]) * 1000000 + tonumber(t[2])
      local newest = tonumber(redis.call('GET', KEYS[1]))
      if newest and newest > server_now then
        server_now = newest
      else
        redis.call('SET', KEYS[1], string.format('%.0f', server_now))
      end
    end
    now = server_now
  end
  local run = current[ki]
  if not run or run.now ~= now or run.window ~= window then
    run = {ki = ki, now = now, caller = given ~= '-', window = window, pushed = 0, hits = {}}
    runs[#runs + 1] = run
    current[ki] = run
  end
  run.ttl = ttl
  if cost >= 1 and cost <= limit then run.pushed = run.pushed + cost end
  run.hits[#run.hits + 1] = n
  costs[n] = cost
  limits[n] = limit
end
local out = {}
for _, run in ipairs(runs) do
  local key, now, window = KEYS[run.ki], run.now, run.window
  if run.caller then
    local newest = tonumber(redis.call('LINDEX', key, -1))
    if newest and newest > now then now = newest end
  end
  local cutoff = now - window
  local expired, oldest, want = 0, nil, 2
  while true do
    local head = redis.call('LRANGE', key, expired, expired + want - 1)
    for i = 1, #head do
      local t = tonumber(head[i])
      if t > cutoff then
        oldest = t
        break
      end
      expired = expired + 1
    end
    if oldest or #head < want then break end
    want = want * 8
  end
  local count
  if run.pushed > 0 then
    count = push(key, string.format('%.0f', now), run.pushed) - run.pushed - expired
  else
    count = redis.call('LLEN', key) - expired
  end
  local accepted = 0
  for _, h in ipairs(run.hits) do
    local cost, limit = costs[h], limits[h]
    if cost < 1 or count + cost > limit then
      local reset = now
      if oldest then reset = oldest + window end
      out[h] = string.format('0 %d %.0f', math.max(limit - count, 0), reset)
    else
      count = count + cost
      accepted = accepted + cost
      if not oldest then oldest = now end
      out[h] = string.format('1 %d %.0f', limit - count, oldest + window)
    end
  end
  if expired > 0 or accepted < run.pushed then
    redis.call('LTRIM', key, expired, accepted - run.pushed - 1)
  end
  if accepted > 0 then
    redis.call('PEXPIRE', key, run.ttl)
  end
end
return table.concat(out, ' ')
"""

# With a caller clock the key's real-time TTL cannot follow the log's clock; keep logs at least this long.
CALLER_CLOCK_MIN_TTL_MS = 600_000
# Hits per script call: bounds how long one call holds Redis (it runs nothing else meanwhile).
MAX_BATCH = 256
# Calls in flight at once: while one round trip is out, the events that arrived meanwhile go in the next.
# One, not two: at saturation the node's CPU is the limit, and each call costs the client about as much
# as 15 hits do, so fewer and larger batches answer more events (bench acked_events, ours_redis).
MAX_IN_FLIGHT = 1
# Longest a script call may take before its hits fail (and the failover store decides them locally).
CALL_TIMEOUT = 2.0


class _Hit:
    __slots__ = ("future", "key", "limit", "spec")

    def __init__(self, key: str, limit: int, spec: str, future: asyncio.Future[Decision]) -> None:
        self.key = key
        self.limit = limit
        self.spec = spec  # "limit window(us) cost now(us or '-') ttl(ms)"
        self.future = future


class RedisRateLimitStore:
    """The RateLimitStore port: one sliding log per key on the Redis server's clock, hits decided in batches.

    Hits that arrive in one loop turn, or while calls are in flight, are decided together by one
    script call: under load a round trip is shared by every event that came in meanwhile; idle, a hit
    costs one call as before. Up to `max_in_flight` calls (by default one) run at once, and a key is
    never in two calls at once: the hits of one key are decided in the order they arrived, each
    exactly as if sent alone (see `_HITS`). Exactness does not rest on the order anyway: every call is
    atomic on Redis and counts what the ones before it added.

    The `now` each node passes is ignored by default: nodes' clocks drift apart, and a log fed by
    several clocks no longer bounds hits per window; `redis.call('TIME')` is the one clock all share.
    `trust_caller_clock=True` uses `now` instead (a single node, or tests on a fake clock).
    """

    def __init__(
        self,
        redis: Redis,
        prefix: str = "vrt:rl:",
        *,
        trust_caller_clock: bool = False,
        max_batch: int = MAX_BATCH,
        max_in_flight: int = MAX_IN_FLIGHT,
        call_timeout: float = CALL_TIMEOUT,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._trust_caller_clock = trust_caller_clock
        self._script = redis.register_script(_HITS)
        self._clock = prefix + "clock"  # never a log's name: those are prefix + "log:" + key
        self._max_batch = max_batch
        self._max_in_flight = max_in_flight
        self._call_timeout = call_timeout
        self._pending: list[_Hit] = []  # bounded by the events and connects being handled right now
        self._busy_keys: set[str] = set()  # keys of the calls in flight
        self._in_flight = 0
        self._scheduled = False
        self._calls_running: set[asyncio.Task[None]] = set()
        self.round_trips = 0  # script calls made (for tests and the curious)

    def log_key(self, key: str) -> str:
        """The Redis list of `key`'s accepted hits ("log:" is new with lists: an older node's sorted sets never meet them)."""
        return f"{self._prefix}log:{key}"

    async def hit(self, key: str, rule: RateRule, now: float, cost: int = 1) -> Decision:
        window_us = round(rule.window * 1_000_000)
        if self._trust_caller_clock:
            caller_now = str(round(now * 1_000_000))
            ttl_ms = max(math.ceil(rule.window * 1000), CALLER_CLOCK_MIN_TTL_MS)
        else:
            caller_now, ttl_ms = "-", math.ceil(rule.window * 1000)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Decision] = loop.create_future()
        spec = f"{rule.limit} {window_us} {int(cost)} {caller_now} {ttl_ms}"
        self._pending.append(_Hit(self.log_key(key), rule.limit, spec, future))
        if not self._scheduled:  # at the end of this loop turn: every hit of the turn in one call
            self._scheduled = True
            loop.call_soon(self._start_calls)
        return await future

    def _start_calls(self) -> None:
        self._scheduled = False
        loop = asyncio.get_running_loop()
        while self._in_flight < self._max_in_flight and self._pending:
            batch: list[_Hit] = []
            rest: list[_Hit] = []
            held: set[str] = set()  # keys with an earlier hit left waiting: their later hits wait too
            for h in self._pending:
                if len(batch) < self._max_batch and h.key not in self._busy_keys and h.key not in held:
                    batch.append(h)
                else:
                    rest.append(h)
                    held.add(h.key)
            if not batch:
                return
            self._pending = rest
            keys = {h.key for h in batch}
            self._busy_keys |= keys
            self._in_flight += 1
            task = loop.create_task(self._call(batch, keys))  # one task per call, not per hit
            self._calls_running.add(task)  # a strong reference until it is done
            task.add_done_callback(self._calls_running.discard)

    async def _call(self, batch: list[_Hit], keys: set[str]) -> None:
        try:
            decisions = await self._decide(batch)
        except Exception as exc:  # every hit of the call fails alike (the failover store catches)
            for h in batch:
                if not h.future.done():
                    h.future.set_exception(exc)
        else:
            for h, decision in zip(batch, decisions, strict=True):
                if not h.future.done():
                    h.future.set_result(decision)
        finally:
            self._in_flight -= 1
            self._busy_keys -= keys
            self._start_calls()

    async def _decide(self, batch: list[_Hit]) -> list[Decision]:
        index: dict[str, int] = {}
        lines = [f"{index.setdefault(h.key, len(index) + 2)} {h.spec}" for h in batch]
        self.round_trips += 1
        try:
            async with asyncio.timeout(self._call_timeout):  # the client may have no socket timeout of its own
                reply = await self._script(keys=[self._clock, *index], args=["\n".join(lines)])
        except TimeoutError:
            raise RedisTimeoutError(f"rate limit call took over {self._call_timeout} s") from None
        fields = reply.split()
        return [
            Decision(fields[i] == b"1" or fields[i] == "1", h.limit, int(fields[i + 1]), int(fields[i + 2]) / 1_000_000)
            for i, h in zip(range(0, len(fields), 3), batch, strict=True)
        ]


# Holders by lease expiry in integer milliseconds on the server's clock; expired leases are dropped first.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%.0f', now + tonumber(ARGV[3])), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# Extends only leases still held: a lapsed holder may have been replaced, and re-adding it could pass the cap.
_REFRESH = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now))
local expiry = string.format('%.0f', now + tonumber(ARGV[1]))
local lost = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], expiry, ARGV[i])
  else
    lost = lost + 1
  end
end
if lost < #ARGV - 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return lost
"""

_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZCOUNT', KEYS[1], '(' .. string.format('%.0f', now), '+inf')
"""


class RedisConnectionSlotStore:
    """The ConnectionSlotStore port with leases, so a node that dies without releasing frees its slots.

    Each node calls `refresh` with its live holders every `lease_seconds / 3`; holders of a node that
    stops (even by SIGKILL) lapse within `lease_seconds`. Leases run on the Redis server's clock.
    """

    def __init__(self, redis: Redis, prefix: str = "vrt:conn:", lease_seconds: float = 30.0) -> None:
        if lease_seconds <= 0:
            raise ValueError("lease_seconds must be positive")
        self._redis = redis
        self._prefix = prefix
        self._lease_ms = max(math.ceil(lease_seconds * 1000), 1)
        self._acquire = redis.register_script(_ACQUIRE)
        self._refresh = redis.register_script(_REFRESH)
        self._count = redis.register_script(_COUNT)

    @property
    def lease_seconds(self) -> float:
        return self._lease_ms / 1000

    async def acquire(self, key: str, holder: str, cap: int, now: float) -> bool:
        """`now` is ignored: leases run on the server's clock, shared by every node."""
        return bool(await self._acquire(keys=[self._prefix + key], args=[holder, cap, self._lease_ms]))

    async def release(self, key: str, holder: str) -> None:
        await self._redis.zrem(self._prefix + key, holder)

    async def refresh(self, holders_by_key: dict[str, set[str]]) -> None:
        """Extends the leases of these live holders, in one pipelined round trip."""
        keys = [key for key, holders in holders_by_key.items() if holders]
        if not keys:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                await self._refresh(
                    keys=[self._prefix + key],
                    args=[self._lease_ms, *sorted(holders_by_key[key])],
                    client=pipe,
                )
            lost = await pipe.execute()
        for key, count in zip(keys, lost, strict=True):
            if count:
                log.warning("%d connection lease(s) had lapsed before refresh", count, extra={"slot_key": key})

    async def count(self, key: str) -> int:
        """Holders whose lease has not lapsed."""
        return int(await self._count(keys=[self._prefix + key]))
