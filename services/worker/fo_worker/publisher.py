"""Fenced publish: snapshot keys, pub/sub updates, summary and history in one atomic script."""

from __future__ import annotations

from datetime import date

import redis.asyncio as aioredis

from fo_bus.names import BusNames

# KEYS: lease, summary, history, snapshot keys…  ARGV: lease value, summary bytes,
# history maxlen, snapshot bytes…, channels…  Writes nothing unless the lease is still ours.
_PUBLISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local n = #KEYS - 3
for i = 1, n do
  redis.call('SET', KEYS[3 + i], ARGV[3 + i])
  redis.call('PUBLISH', ARGV[3 + n + i], ARGV[3 + i])
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[3], '*', 'd', ARGV[2])
return 1
"""


class SnapshotPublisher:
    def __init__(self, client: aioredis.Redis, names: BusNames, history_maxlen: int) -> None:
        self.names = names
        self.history_maxlen = history_maxlen
        self._script = client.register_script(_PUBLISH)

    async def publish(
        self, symbol: str, lease_value: str, summary: bytes, snapshots: dict[date, bytes]
    ) -> bool:
        """True when written; False when the lease was lost (nothing was written)."""
        expiries = list(snapshots)
        keys = [
            self.names.lease_key(symbol),
            self.names.summary_key(symbol),
            self.names.history_stream(symbol),
            *(self.names.snapshot_key(symbol, e) for e in expiries),
        ]
        args = [
            lease_value,
            summary,
            self.history_maxlen,
            *(snapshots[e] for e in expiries),
            *(self.names.updates_channel(symbol, e) for e in expiries),
        ]
        return bool(await self._script(keys=keys, args=args))
