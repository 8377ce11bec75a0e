"""Fleet-wide views on Redis: every node's connection counts, and the claims that give each job one runner."""

from __future__ import annotations

import json

from redis.asyncio import Redis

from application.ports import FleetTotals

_RENEW = """
local owner = ARGV[1]
local ms = tonumber(ARGV[2])
local kept = {}
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == owner then
    redis.call('PEXPIRE', key, ms)
    kept[#kept + 1] = i
  end
end
return kept
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisFleetView:
    """A hash of node -> counts stamped with the Redis clock; nodes silent for `stale_after` drop out."""

    def __init__(self, redis: Redis, key: str = "vrt:fleet", stale_after: float = 30.0) -> None:
        self._redis = redis
        self._key = key
        self._stale_after = stale_after

    async def report(self, node_id: str, active_connections: int, total_connections: int) -> None:
        seconds, micros = await self._redis.time()
        entry = {"active": active_connections, "total": total_connections, "at": seconds + micros / 1e6}
        await self._redis.hset(self._key, node_id, json.dumps(entry))

    async def totals(self) -> FleetTotals:
        seconds, micros = await self._redis.time()
        now = seconds + micros / 1e6
        entries = await self._redis.hgetall(self._key)
        active = total = nodes = 0
        stale = []
        for node, raw in entries.items():
            entry = json.loads(raw)
            if now - entry["at"] > self._stale_after:
                stale.append(node)
                continue
            active += entry["active"]
            total += entry["total"]
            nodes += 1
        if stale:
            await self._redis.hdel(self._key, *stale)
        return FleetTotals(active, total, nodes)


class RedisJobLeases:
    """SET NX PX claims: one owner per job; an owner that stops renewing loses the claim after `lease_seconds`."""

    def __init__(self, redis: Redis, prefix: str = "vrt:job-claim:", lease_seconds: float = 15.0) -> None:
        self._redis = redis
        self._prefix = prefix
        self._ms = max(1, round(lease_seconds * 1000))
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def claim(self, job_id: str, owner: str) -> bool:
        return bool(await self._redis.set(self._prefix + job_id, owner, nx=True, px=self._ms))

    async def renew(self, job_ids: set[str], owner: str) -> set[str]:
        ordered = sorted(job_ids)
        if not ordered:
            return set()
        kept = await self._renew(keys=[self._prefix + j for j in ordered], args=[owner, self._ms])
        return {ordered[int(i) - 1] for i in kept}

    async def release(self, job_id: str, owner: str) -> None:
        await self._release(keys=[self._prefix + job_id], args=[owner])
