"""WebSocket ``/ws/{symbol}/{client_code}``: the latest snapshot at once, then every update.

Protocol (text frames by default; ``?format=binary`` sends snapshots as binary frames of the
exact stored bytes). Every server message is a JSON object with ``type`` and ``ts``:

- ``chain``: a snapshot, byte for byte as the worker published it (and as REST serves it):
  ``{"v", "type": "chain", "symbol", "expiry", "seq", "ts", ...payload}``. ``seq`` rises by
  one per worker cycle of the symbol; a jump means cycles were conflated or lost (each message
  is a full snapshot, so nothing needs replaying); a lower ``seq`` with a later ``ts`` means
  the pipeline restarted from nothing.
- ``pong`` (reply to ``ping``, echoing ``id``), ``subscribed`` (after a ``subscribe``),
  ``heartbeat`` (after ``KEEPALIVE_S`` without any message), ``error`` (``code``, ``reason``).

Client messages: ``{"action": "ping", "id": …}``, ``{"action": "subscribe", "symbol": …,
"expiry": "YYYY-MM-DD"}`` (switch symbol and/or expiry without reconnecting; both optional:
same symbol, nearest expiry), ``{"action": "resync"}`` (send the latest snapshot again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import date
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from fo_gateway import access
from fo_gateway.access import Admission, Refusal
from fo_gateway.fanout import Client, Hub, Topic, control
from fo_gateway.snapshots import GatewayError, NotReady, SnapshotReader, UnknownSymbol

log = logging.getLogger(__name__)
router = APIRouter()

WAIT_FOR_PIPELINE_S = 0.5
MAX_BAD_MESSAGES = 10  # malformed or unknown messages tolerated (each answered with an error)
BURST = 20  # client messages allowed at once …
REFILL_PER_S = 5.0  # … and per second after that
LEGACY_PINGS = frozenset({"ping", '"ping"'})


class TokenBucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self) -> None:
        self.tokens = float(BURST)
        self.stamp = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.stamp) * REFILL_PER_S)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@router.websocket("/ws/{symbol}/{client_code}")
async def stream(websocket: WebSocket, symbol: str, client_code: str) -> None:
    app = websocket.app
    settings = app.state.settings
    hub: Hub = app.state.hub
    reader: SnapshotReader = app.state.reader
    subprotocols = list(websocket.scope.get("subprotocols") or [])
    decision = access.admit(
        client_code=client_code,
        origin=websocket.headers.get("origin"),
        host=websocket.headers.get("host"),
        query=websocket.query_params,
        subprotocols=subprotocols,
        allowed_origins=settings.origin_list,
        secret=settings.secret_key,
        demo_mode=settings.demo_mode,
    )
    bearer = access.BEARER if access.BEARER in subprotocols else None
    await websocket.accept(subprotocol=bearer)
    peer = websocket.client.host if websocket.client else "unknown"
    per_ip: dict[str, int] = app.state.ws_per_ip
    refusal = decision if isinstance(decision, Refusal) else None
    if refusal is None and not hub.accepting:
        refusal = Refusal(access.CLOSE_GOING_AWAY, "server shutting down; reconnect")
    if refusal is None and len(hub.clients) >= settings.ws_max_connections:
        refusal = Refusal(access.CLOSE_TRY_AGAIN, "server at its connection limit; retry later")
    cap = settings.ws_max_connections_per_ip
    if refusal is None and cap and per_ip.get(peer, 0) >= cap:
        refusal = Refusal(access.CLOSE_RATE, f"at most {cap} sockets per address")
    expiry: date | None = None
    if refusal is None:
        try:
            symbol = reader.check_symbol(symbol)
            raw_expiry = websocket.query_params.get("expiry")
            expiry = date.fromisoformat(raw_expiry) if raw_expiry else None
        except UnknownSymbol as exc:
            known = ", ".join(reader.symbols)
            refusal = Refusal(access.CLOSE_NOT_FOUND, f"{exc.reason}; known: {known}")
        except ValueError:
            refusal = Refusal(access.CLOSE_BAD_REQUEST, "expiry must be YYYY-MM-DD")
    if refusal is not None:
        log.info("websocket refused", extra={"peer": peer, "code": refusal.code})
        app.state.ws_refused[refusal.code] = app.state.ws_refused.get(refusal.code, 0) + 1
        with contextlib.suppress(Exception):
            await websocket.close(refusal.code, refusal.reason[:120])
        return
    assert isinstance(decision, Admission)

    transport = websocket.scope.get("extensions", {}).get("fo.transport")
    tasks: dict[str, asyncio.Task[Any]] = {}

    def abort() -> None:
        if transport is not None:
            transport.abort()
        if "writer" in tasks:
            tasks["writer"].cancel()

    async def send_plain_text(text: str) -> None:
        await websocket.send_text(str(text))

    client = Client(
        hub,
        # On a real socket the snapshot's str hands its published bytes to the protocol; an
        # in-process server (TestClient) would pass the str subclass on, so give it a plain one.
        websocket.send_text if transport is not None else send_plain_text,
        websocket.send_bytes,
        abort,
        binary=websocket.query_params.get("format") == "binary",
        peer=peer,
    )
    hub.register(client)
    per_ip[peer] = per_ip.get(peer, 0) + 1
    session = Session(websocket, client, hub, reader, symbol)
    log.info(
        "websocket open",
        extra={
            "client_code": client_code,
            "peer": peer,
            "symbol": symbol,
            "auth": decision.authenticated,
        },
    )
    try:
        tasks["writer"] = asyncio.create_task(_write(client, websocket))
        tasks["reader"] = asyncio.create_task(session.read_loop())
        session.initial = asyncio.create_task(session.start(expiry))
        await asyncio.wait([tasks["writer"], tasks["reader"]], return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (*tasks.values(), session.initial):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        hub.unregister(client)
        per_ip[peer] -= 1
        if per_ip[peer] <= 0:
            del per_ip[peer]
        log.info(
            "websocket closed",
            extra={
                "client_code": client_code,
                "peer": peer,
                "sent": client.sent,
                "dropped": client.dropped,
            },
        )


async def _write(client: Client, websocket: WebSocket) -> None:
    async def close(code: int, reason: str) -> None:
        await websocket.close(code, reason[:120])

    with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
        await client.run(close)


class Session:
    """One socket's reading side: the client's requests, answered through its outbox."""

    def __init__(
        self, websocket: WebSocket, client: Client, hub: Hub, reader: SnapshotReader, symbol: str
    ) -> None:
        self.websocket = websocket
        self.client = client
        self.hub = hub
        self.reader = reader
        self.symbol = symbol
        self.bad = 0
        self.bucket = TokenBucket()
        self.initial: asyncio.Task[None] | None = None

    async def start(self, expiry: date | None) -> None:
        """Subscribe to the URL's topic, waiting while the pipeline has published nothing."""
        while True:
            try:
                chosen = await self.reader.resolve_expiry(self.symbol, expiry)
                break
            except (NotReady, RedisError, OSError, TimeoutError):
                await asyncio.sleep(WAIT_FOR_PIPELINE_S)
            except GatewayError as exc:
                self.client.request_close(access.CLOSE_NOT_FOUND, exc.reason)
                return
        await self._switch((self.symbol, chosen), announce=False)

    async def _switch(self, topic: Topic, announce: bool) -> None:
        for old in list(self.client.topics):
            if old != topic:
                self.hub.unsubscribe(self.client, old)
        self.hub.subscribe(self.client, topic)
        self.symbol = topic[0]
        if announce:
            self.client.say(control("subscribed", symbol=topic[0], expiry=topic[1].isoformat()))
        with contextlib.suppress(RedisError, OSError):
            await self.hub.resync([topic], only=self.client)  # else the pump resyncs on reconnect

    async def read_loop(self) -> None:
        while True:
            try:
                message = await self.websocket.receive()
            except (WebSocketDisconnect, RuntimeError, OSError):
                return
            if message["type"] == "websocket.disconnect":
                return
            if self.client.close_request is not None:
                continue  # closing: drain until the peer answers
            if not self.bucket.take():
                self.client.request_close(access.CLOSE_RATE, "too many messages; slow down")
                continue
            text = message.get("text")
            if text is None:
                try:
                    text = (message.get("bytes") or b"").decode()
                except UnicodeDecodeError:
                    self._reject("bad_message", "messages are UTF-8 JSON text")
                    continue
            await self.handle(text)

    async def handle(self, text: str) -> None:
        if text.strip() in LEGACY_PINGS:
            self._say(control("pong"))
            return
        try:
            request = orjson.loads(text)
        except orjson.JSONDecodeError:
            self._reject("bad_json", "message is not valid JSON")
            return
        if not isinstance(request, dict) or not isinstance(request.get("action"), str):
            self._reject("bad_message", 'expected an object like {"action": "ping"}')
            return
        action = request["action"]
        if action == "ping":
            ident = request.get("id")
            extra = {"id": ident} if isinstance(ident, (int, str)) and len(str(ident)) <= 64 else {}
            self._say(control("pong", **extra))
        elif action == "subscribe":
            await self.subscribe(request.get("symbol"), request.get("expiry"))
        elif action == "resync":
            topics = list(self.client.topics)
            for topic in topics:
                self.client.last.pop(topic, None)
            try:
                await self.hub.resync(topics, only=self.client)
            except (RedisError, OSError):
                self._say(control("error", code="unavailable", reason="snapshot store unavailable"))
        else:
            self._reject(
                "unknown_action",
                f"unknown action {str(action)[:40]!r}; known: ping, subscribe, resync",
            )

    async def subscribe(self, symbol: object, expiry: object) -> None:
        if symbol is not None and not isinstance(symbol, str):
            self._reject("bad_message", "symbol must be a string")
            return
        if expiry is not None and not isinstance(expiry, str):
            self._reject("bad_expiry", "expiry must be YYYY-MM-DD")
            return
        try:
            sym = self.reader.check_symbol(symbol or self.symbol)
            wanted = date.fromisoformat(expiry) if expiry else None
            chosen = await self.reader.resolve_expiry(sym, wanted)
        except UnknownSymbol as exc:
            self._reject("unknown_symbol", exc.reason, known_symbols=self.reader.symbols)
            return
        except ValueError:
            self._reject("bad_expiry", "expiry must be YYYY-MM-DD")
            return
        except NotReady as exc:
            self._say(control("error", code="not_ready", reason=exc.reason))
            return
        except GatewayError as exc:
            self._reject("unknown_expiry", exc.reason, **exc.extra)
            return
        except (RedisError, OSError, TimeoutError):
            self._say(control("error", code="unavailable", reason="snapshot store unavailable"))
            return
        if self.initial is not None and not self.initial.done():
            self.initial.cancel()
        await self._switch((sym, chosen), announce=True)

    def _say(self, message: str) -> None:
        if not self.client.say(message):
            self.client.request_close(access.CLOSE_RATE, "replies not read; slow down")

    def _reject(self, code: str, reason: str, **extra: Any) -> None:
        self.bad += 1
        if self.bad > MAX_BAD_MESSAGES:
            self.client.request_close(access.CLOSE_POLICY, "too many malformed messages")
            return
        self._say(control("error", code=code, reason=reason, **extra))
