"""The worker's side of the fan-out bench: SET the snapshot key and PUBLISH the same bytes."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import date

import redis.asyncio as aioredis
from payload import EXPIRY, Documents

from fo_bus.codec import encode_document
from fo_bus.names import BusNames


async def run(url: str, namespace: str, hz: float) -> None:
    client = aioredis.Redis.from_url(url)
    names = BusNames(namespace)
    expiry = date.fromisoformat(EXPIRY)
    docs = Documents()
    start = time.monotonic()
    while True:
        doc = docs.next()
        summary = encode_document(
            "summary",
            {"symbol": "NIFTY", "seq": docs.seq, "ts": time.time_ns(), "spot": 25_012.4,
             "spot_ts": 1, "source": "bench", "expiries": [EXPIRY]},
        )  # fmt: skip
        pipe = client.pipeline(transaction=False)
        pipe.set(names.summary_key("NIFTY"), summary)
        pipe.set(names.snapshot_key("NIFTY", expiry), doc)
        pipe.publish(names.updates_channel("NIFTY", expiry), doc)
        await pipe.execute()
        await asyncio.sleep(max(0.0, start + docs.seq / hz - time.monotonic()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", required=True)
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--hz", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(run(args.redis, args.namespace, args.hz))


if __name__ == "__main__":
    main()
