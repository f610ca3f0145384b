"""WebSocket ``/ws/{symbol}/{client_code}``: the latest snapshot at once, then every update."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import date

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from redis.exceptions import RedisError

from fo_gateway.deps import hub_of
from fo_gateway.snapshots import GatewayError, NotReady, SnapshotReader, UnknownSymbol

log = logging.getLogger(__name__)
router = APIRouter()

CLOSE_UNKNOWN_SYMBOL = 4404
CLOSE_BAD_REQUEST = 4400
CLOSE_SLOW_CLIENT = 4408
WAIT_FOR_PIPELINE_S = 0.5


async def _choose_expiry(reader: SnapshotReader, symbol: str, expiry: str | None) -> date:
    """Resolve the expiry, waiting while the pipeline has published nothing yet."""
    wanted = date.fromisoformat(expiry) if expiry else None
    while True:
        try:
            return await reader.resolve_expiry(symbol, wanted)
        except NotReady:
            await asyncio.sleep(WAIT_FOR_PIPELINE_S)


@router.websocket("/ws/{symbol}/{client_code}")
async def stream(websocket: WebSocket, symbol: str, client_code: str) -> None:
    app = websocket.app
    reader: SnapshotReader = app.state.reader
    await websocket.accept()
    try:
        sym = reader.check_symbol(symbol)
        topic = (sym, await _choose_expiry(reader, sym, websocket.query_params.get("expiry")))
    except UnknownSymbol as exc:
        known = ", ".join(reader.symbols)
        await websocket.close(CLOSE_UNKNOWN_SYMBOL, f"{exc.reason}; known: {known}"[:120])
        return
    except (ValueError, GatewayError) as exc:
        await websocket.close(CLOSE_BAD_REQUEST, str(exc)[:120])
        return
    hub = hub_of(app)
    sub = hub.subscribe(topic)
    try:
        await hub.resync([topic])
        sender = asyncio.create_task(
            _send_loop(websocket, sub, app.state.settings.ws_send_timeout_s)
        )
        receiver = asyncio.create_task(_receive_loop(websocket))
        _done, pending = await asyncio.wait({sender, receiver}, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    except (RedisError, OSError):
        with contextlib.suppress(Exception):
            await websocket.close(1011, "snapshot store unavailable")
    finally:
        hub.unsubscribe(sub)


async def _send_loop(websocket: WebSocket, sub, timeout_s: float) -> None:  # type: ignore[no-untyped-def]
    while True:
        message = await sub.next()
        try:
            await asyncio.wait_for(websocket.send_text(message), timeout=timeout_s)
        except TimeoutError:
            log.info("slow client disconnected", extra={"topic": str(sub.topic)})
            with contextlib.suppress(Exception):
                await websocket.close(CLOSE_SLOW_CLIENT, "client too slow")
            return
        except (WebSocketDisconnect, RuntimeError, OSError):
            return


async def _receive_loop(websocket: WebSocket) -> None:
    """Read client frames (pings) until the client goes away."""
    while True:
        try:
            text = await websocket.receive_text()
        except (WebSocketDisconnect, RuntimeError, KeyError):
            return
        if text.strip() in ('"ping"', "ping", '{"type":"ping"}', '{"type": "ping"}'):
            with contextlib.suppress(Exception):
                await websocket.send_text('{"type":"pong"}')
