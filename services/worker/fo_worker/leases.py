"""Symbol leases with fencing epochs: at most one worker publishes a symbol at a time."""

from __future__ import annotations

import redis.asyncio as aioredis

from fo_bus.names import BusNames

# KEYS: lease, epoch counter. ARGV: owner id, ttl ms. Returns the epoch held, 0 if not ours.
_ACQUIRE_OR_RENEW = """
local v = redis.call('GET', KEYS[1])
if not v then
  local e = redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[1], ARGV[1] .. ':' .. e, 'PX', ARGV[2])
  return e
end
local prefix = ARGV[1] .. ':'
if string.sub(v, 1, #prefix) == prefix then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(v, #prefix + 1))
end
return 0
"""

# KEYS: lease. ARGV: owner value. Deletes the lease only when we hold it.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Leases:
    def __init__(self, client: aioredis.Redis, names: BusNames, owner: str, ttl_s: float) -> None:
        self.client = client
        self.names = names
        self.owner = owner
        self.ttl_ms = int(ttl_s * 1000)
        self._acquire = client.register_script(_ACQUIRE_OR_RENEW)
        self._release = client.register_script(_RELEASE)

    def value(self, epoch: int) -> str:
        """The lease value while we hold ``epoch``: what fenced writes compare against."""
        return f"{self.owner}:{epoch}"

    async def acquire_or_renew(self, symbol: str) -> int:
        keys = [self.names.lease_key(symbol), self.names.epoch_key(symbol)]
        return int(await self._acquire(keys=keys, args=[self.owner, self.ttl_ms]))

    async def release(self, symbol: str, epoch: int) -> None:
        await self._release(keys=[self.names.lease_key(symbol)], args=[self.value(epoch)])
