"""Rate limits and connection slots shared by every node, each decided by one Lua script on one clock."""

from __future__ import annotations

import itertools
import logging
import math
import secrets

from redis.asyncio import Redis

from domain.rate_limit import Decision, RateRule

log = logging.getLogger("vedfolnir.redis")

# A sorted set of accepted hits per key: score = acceptance time in integer microseconds (exact in a
# double up to 2**53, unlike float seconds), member = that time + a tag unique per call + an index.
# Numbers go back to Redis through string.format('%.0f'): Lua's tostring keeps only 14 digits.
_HIT = """
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local now
if ARGV[5] ~= '' then
  now = tonumber(ARGV[5])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local newest = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if newest[2] and tonumber(newest[2]) > now then
  now = tonumber(newest[2])
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', string.format('%.0f', now - window))
local count = redis.call('ZCARD', key)
if cost < 1 or count + cost > limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  local reset = now
  if oldest[2] then reset = tonumber(oldest[2]) + window end
  return {0, math.max(limit - count, 0), string.format('%.0f', reset)}
end
local score = string.format('%.0f', now)
for i = 1, cost do
  redis.call('ZADD', key, score, score .. ':' .. ARGV[4] .. ':' .. i)
end
redis.call('PEXPIRE', key, ARGV[6])
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {1, limit - count - cost, string.format('%.0f', tonumber(oldest[2]) + window)}
"""

# With a caller clock the key's real-time TTL cannot follow the log's clock; keep logs at least this long.
CALLER_CLOCK_MIN_TTL_MS = 600_000


class RedisRateLimitStore:
    """The RateLimitStore port: one sliding log per key, one round trip per hit, the Redis server's clock.

    The `now` each node passes is ignored by default: nodes' clocks drift apart, and a log fed by
    several clocks no longer bounds hits per window; `redis.call('TIME')` is the one clock all share.
    `trust_caller_clock=True` uses `now` instead (a single node, or tests on a fake clock).
    """

    def __init__(self, redis: Redis, prefix: str = "vrt:rl:", *, trust_caller_clock: bool = False) -> None:
        self._redis = redis
        self._prefix = prefix
        self._trust_caller_clock = trust_caller_clock
        self._script = redis.register_script(_HIT)
        self._tag = secrets.token_hex(6)
        self._calls = itertools.count()

    async def hit(self, key: str, rule: RateRule, now: float, cost: int = 1) -> Decision:
        window_us = round(rule.window * 1_000_000)
        if self._trust_caller_clock:
            caller_now, ttl_ms = (
                str(round(now * 1_000_000)),
                max(math.ceil(rule.window * 1000), CALLER_CLOCK_MIN_TTL_MS),
            )
        else:
            caller_now, ttl_ms = "", math.ceil(rule.window * 1000)
        tag = f"{self._tag}{next(self._calls):x}"
        allowed, remaining, reset_us = await self._script(
            keys=[self._prefix + key], args=[rule.limit, window_us, cost, tag, caller_now, ttl_ms]
        )
        return Decision(bool(allowed), rule.limit, int(remaining), int(reset_us) / 1_000_000)


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
