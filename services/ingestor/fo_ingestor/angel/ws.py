"""Our asyncio client for Angel's WebSocket V2 ("SmartStream"), built on ``websockets``.

The official SDK's client is not used (spec §4.6: broken reconnect, shared class-level
subscriptions, empty pings, no watchdog, TLS verification off). This one:

* connects with the four handshake headers, TLS verification on;
* subscribes from its own desired-state table, batched by (mode, exchange type), ≤ 500
  tokens per message, ≤ 1,000 per connection; resubscribes after every reconnect;
* sends a text ``ping`` every ``heartbeat_s`` and protocol pings; a missing ``pong`` or a
  protocol ping timeout ends the connection;
* runs a data-stall watchdog while the market is open: no binary frame for
  ``stall_timeout_s`` → close and reconnect;
* reconnects with jittered exponential backoff, reset after a stable connection; on a
  handshake 401 it asks the session to log in again first, on 429 it backs off ≥ 30 s;
* reconnects on its own when the session's tokens change (a renewal or a re-login).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from fo_ingestor.angel.master import Subscription
from fo_runtime.backoff import delays
from fo_runtime.lifecycle import wait_or_stop

log = logging.getLogger(__name__)

SUBSCRIBE = 1
MAX_TOKENS_PER_MESSAGE = 500


@dataclass(frozen=True)
class FeedAuth:
    """What the handshake needs, and which token generation it came from."""

    api_key: str
    client_code: str
    jwt: str
    feed_token: str
    generation: int

    def __repr__(self) -> str:
        return f"FeedAuth(client_code={self.client_code!r}, generation={self.generation})"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.jwt}",
            "x-api-key": self.api_key,
            "x-client-code": self.client_code,
            "x-feed-token": self.feed_token,
        }


@dataclass
class WsConfig:
    url: str
    heartbeat_s: float = 10.0
    ping_interval_s: float = 15.0
    ping_timeout_s: float = 15.0
    stall_timeout_s: float = 60.0
    open_timeout_s: float = 10.0
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    rate_limit_backoff_s: float = 30.0
    stable_after_s: float = 30.0
    market_open: Callable[[datetime], bool] = lambda now: True


@dataclass
class WsStats:
    connects: int = 0
    reconnects: int = 0
    packets: int = 0
    malformed: int = 0
    out_of_order: int = 0
    stalls: int = 0
    heartbeat_timeouts: int = 0
    auth_failures: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    last_packet_ns: int = 0
    connected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if k != "extra"} | self.extra


def subscribe_messages(subs: list[Subscription], correlation: str = "fo") -> list[str]:
    """JSON subscribe frames, one mode per message, ≤ MAX_TOKENS_PER_MESSAGE tokens each."""
    by_mode: dict[int, dict[int, list[str]]] = {}
    for mode, exch, token in subs:
        by_mode.setdefault(mode, {}).setdefault(exch, []).append(token)
    messages = []
    for mode, groups in sorted(by_mode.items()):
        flat = [(exch, token) for exch, tokens in sorted(groups.items()) for token in tokens]
        for i in range(0, len(flat), MAX_TOKENS_PER_MESSAGE):
            chunk: dict[int, list[str]] = {}
            for exch, token in flat[i : i + MAX_TOKENS_PER_MESSAGE]:
                chunk.setdefault(exch, []).append(token)
            messages.append(
                json.dumps(
                    {
                        "correlationID": f"{correlation}{mode}{i // MAX_TOKENS_PER_MESSAGE}"[:10],
                        "action": SUBSCRIBE,
                        "params": {
                            "mode": mode,
                            "tokenList": [
                                {"exchangeType": exch, "tokens": tokens}
                                for exch, tokens in chunk.items()
                            ],
                        },
                    }
                )
            )
    return messages


class _Reconnect(Exception):
    """End this connection and open a new one (stall, missed pong, new tokens)."""


class AngelWsClient:
    """One WebSocket connection's worth of subscriptions, kept alive until ``stop``."""

    def __init__(
        self,
        config: WsConfig,
        subscriptions: list[Subscription],
        auth: Callable[[], Awaitable[FeedAuth]],
        relogin: Callable[[int], Awaitable[None]],
        generation: Callable[[], int],
        on_frame: Callable[[bytes, int], None],
        stats: WsStats,
        name: str = "ws0",
    ) -> None:
        if len(subscriptions) > 1000:
            raise ValueError("Angel allows at most 1,000 tokens per connection")
        self.config = config
        self.subscriptions = list(subscriptions)
        self.auth = auth
        self.relogin = relogin
        self.generation = generation
        self.on_frame = on_frame
        self.stats = stats
        self.name = name

    async def run(self, stop: asyncio.Event) -> None:
        cfg = self.config
        backoff = delays(base=cfg.backoff_base_s, cap=cfg.backoff_cap_s)
        first = True
        while not stop.is_set():
            delay: float | None = None
            started = time.monotonic()
            try:
                auth = await self.auth()
                await self._connect_once(auth, stop, first)
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status == 401:
                    self.stats.auth_failures += 1
                    log.warning(
                        "feed handshake refused (401); logging in again", extra={"conn": self.name}
                    )
                    try:
                        await self.relogin(auth.generation)
                    except Exception as err:  # keep the loop alive; backoff below
                        log.warning(
                            "re-login failed",
                            extra={
                                "error": type(err).__name__,
                                "reason": getattr(err, "reason", ""),
                            },
                        )
                elif status == 429:
                    self.stats.rate_limited += 1
                    delay = cfg.rate_limit_backoff_s
                    log.warning(
                        "feed handshake rate limited (429): too many connections?",
                        extra={"conn": self.name, "backoff_s": delay},
                    )
                else:
                    self.stats.server_errors += 1
                    log.warning(
                        "feed handshake failed", extra={"conn": self.name, "status": status}
                    )
            except _Reconnect:
                pass
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as exc:
                log.info(
                    "feed connection lost", extra={"conn": self.name, "error": type(exc).__name__}
                )
            except Exception as exc:
                # auth unavailable (not logged in, broker down): wait and try again
                log.warning(
                    "feed connection attempt failed",
                    extra={
                        "conn": self.name,
                        "error": type(exc).__name__,
                        "reason": getattr(exc, "reason", ""),
                    },
                )
            first = False
            if stop.is_set():
                break
            if time.monotonic() - started > cfg.stable_after_s:
                backoff = delays(base=cfg.backoff_base_s, cap=cfg.backoff_cap_s)
            wait = delay if delay is not None else next(backoff)
            self.stats.reconnects += 1
            if await wait_or_stop(stop, wait):
                break

    async def _connect_once(self, auth: FeedAuth, stop: asyncio.Event, first: bool) -> None:
        cfg = self.config
        async with connect(
            cfg.url,
            additional_headers=auth.headers(),
            open_timeout=cfg.open_timeout_s,
            ping_interval=cfg.ping_interval_s,
            ping_timeout=cfg.ping_timeout_s,
            close_timeout=2,
            max_size=64 * 1024,
            compression=None,
            proxy=None,
        ) as ws:
            self.stats.connects += 1
            self.stats.connected += 1
            try:
                log.info(
                    "feed connected",
                    extra={
                        "conn": self.name,
                        "tokens": len(self.subscriptions),
                        "resubscribe": not first,
                    },
                )
                for message in subscribe_messages(self.subscriptions):
                    await ws.send(message)
                await self._pump(ws, auth.generation, stop)
            finally:
                self.stats.connected -= 1

    async def _pump(self, ws: ClientConnection, generation: int, stop: asyncio.Event) -> None:
        cfg = self.config
        last_data = time.monotonic()
        last_pong = time.monotonic()
        last_ping = 0.0
        tick = min(1.0, cfg.heartbeat_s / 2, cfg.stall_timeout_s / 4)
        while not stop.is_set():
            now = time.monotonic()
            if now - last_ping >= cfg.heartbeat_s:
                await ws.send("ping")
                last_ping = now
            if now - last_pong > 3 * cfg.heartbeat_s + 1:
                self.stats.heartbeat_timeouts += 1
                log.warning("no pong from the feed; reconnecting", extra={"conn": self.name})
                await self._close(ws)
                raise _Reconnect
            if now - last_data > cfg.stall_timeout_s and cfg.market_open(datetime.now(UTC)):
                self.stats.stalls += 1
                log.warning(
                    "feed stalled (no data while the market is open); reconnecting",
                    extra={"conn": self.name, "silent_s": round(now - last_data, 1)},
                )
                await self._close(ws)
                raise _Reconnect
            if self.generation() != generation:
                log.info("new broker tokens; reconnecting the feed", extra={"conn": self.name})
                await self._close(ws)
                raise _Reconnect
            try:
                frame = await asyncio.wait_for(ws.recv(), timeout=tick)
            except TimeoutError:
                continue
            recv_ns = time.time_ns()
            if isinstance(frame, bytes):
                last_data = time.monotonic()
                self.on_frame(frame, recv_ns)
            else:
                last_pong = time.monotonic()  # any text frame proves the server is answering
                self._text(frame)
        await self._close(ws)

    def _text(self, text: str) -> None:
        if text.strip() == "pong":
            return
        try:
            message: Any = json.loads(text)
        except ValueError:
            log.info(
                "unexpected text frame from the feed", extra={"conn": self.name, "len": len(text)}
            )
            return
        if isinstance(message, dict) and message.get("errorCode"):
            self.stats.server_errors += 1
            log.warning(
                "feed error",
                extra={
                    "conn": self.name,
                    "code": message.get("errorCode"),
                    "error": str(message.get("errorMessage", ""))[:120],
                    "correlation": message.get("correlationID"),
                },
            )

    @staticmethod
    async def _close(ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(ws.close(), timeout=2)
