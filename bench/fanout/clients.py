"""Load generator: N WebSocket clients; publish-to-receipt latency of every snapshot.

Prints ``connected``, ``window-start``, ``window-end`` as it goes (the orchestrator samples
the server's CPU at those instants), then one JSON line with the results. Latency is the
receipt time minus the document's ``ts`` (stamped when it was built, before publishing);
both ends read the same clock on this host.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import time

import uvloop
from websockets.asyncio.client import connect

SEQ_TS = re.compile(rb'"seq":(\d+),"ts":(\d+)')


class Client:
    __slots__ = ("conn", "seen")

    def __init__(self, conn) -> None:  # type: ignore[no-untyped-def]
        self.conn = conn
        self.seen: list[tuple[int, int, int]] = []  # (seq, ts, received)

    async def run(self) -> None:
        try:
            while True:
                # Raw bytes for text and binary frames alike: no UTF-8 decoding on this side,
                # so the load generator costs the same whatever the server sends.
                message = await self.conn.recv(decode=False)
                now = time.time_ns()
                found = SEQ_TS.search(message, 0, 200)
                if found:
                    self.seen.append((int(found.group(1)), int(found.group(2)), now))
        except Exception:
            return


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def main(url: str, query: str, n: int, warmup: float, window: float, ramp: int) -> None:
    clients: list[Client] = []
    tasks = []
    for first in range(0, n, ramp):
        conns = await asyncio.gather(
            *(
                connect(
                    f"{url}{first + i}{query}",
                    compression=None,
                    max_size=None,
                    ping_interval=None,
                    open_timeout=60,
                )
                for i in range(min(ramp, n - first))
            )
        )
        for conn in conns:
            client = Client(conn)
            clients.append(client)
            tasks.append(asyncio.create_task(client.run()))
    say("connected")
    await asyncio.sleep(warmup)
    t0 = time.time_ns()
    say(f"window-start {t0}")
    await asyncio.sleep(window)
    t1 = time.time_ns()
    say(f"window-end {t1}")
    await asyncio.sleep(1.5)  # the last ticks of the window are still being delivered
    published = sorted({seq for c in clients for seq, ts, _ in c.seen if t0 <= ts < t1})
    latencies, missing, delivered = [], 0, 0
    for c in clients:
        got = {seq for seq, ts, _ in c.seen if t0 <= ts < t1}
        missing += len(set(published) - got)
        delivered += len(got)
        latencies += [(rx - ts) / 1e6 for seq, ts, rx in c.seen if t0 <= ts < t1]
    latencies.sort()

    def pct(q: float) -> float | None:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] if latencies else None

    say(json.dumps({
        "clients": n,
        "open_at_end": sum(1 for t in tasks if not t.done()),
        "ticks_in_window": len(published),
        "delivered": delivered,
        "expected": len(published) * n,
        "missing": missing,
        "delivered_per_s": delivered / ((t1 - t0) / 1e9),
        "p50_ms": statistics.median(latencies) if latencies else None,
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] if latencies else None,
    }))  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="prefix; the client number is appended")
    parser.add_argument("--n", type=int, required=True)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--ramp", type=int, default=100)
    parser.add_argument("--query", default="", help="appended after the client number")
    args = parser.parse_args()
    uvloop.run(main(args.url, args.query, args.n, args.warmup, args.window, args.ramp))
