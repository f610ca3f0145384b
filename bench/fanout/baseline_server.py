"""Baseline: a bare uvicorn broadcast of the same bytes, no Redis and no per-client logic.

One FastAPI WebSocket endpoint; a ticker builds one document per tick and resolves a shared
future; every connection's handler awaits it and sends the same object (the method of
perf-limits.md §4). Run by bench/fanout.py with the gateway's uvicorn settings.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from payload import Documents


def make_app(hz: float, text: bool) -> FastAPI:
    state: dict[str, asyncio.Future[bytes | str]] = {}

    async def ticker() -> None:
        docs = Documents()
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1 / hz)
            data = docs.next()
            future, state["tick"] = state["tick"], loop.create_future()
            future.set_result(data.decode() if text else data)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["tick"] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(ticker())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.get("/")
    async def root() -> dict[str, str]:
        return {"service": "baseline"}

    @app.websocket("/ws/{symbol}/{client}")
    async def ws(websocket: WebSocket, symbol: str, client: str) -> None:
        await websocket.accept()
        send = websocket.send_text if text else websocket.send_bytes
        try:
            while True:
                await send(await state["tick"])  # type: ignore[arg-type]
        except (WebSocketDisconnect, RuntimeError, OSError):
            return

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--hz", type=float, default=1.0)
    parser.add_argument("--text", action="store_true", help="text frames instead of binary")
    args = parser.parse_args()
    uvicorn.run(
        make_app(args.hz, args.text),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
        ws="websockets-sansio",
        ws_per_message_deflate=False,
        backlog=4096,
    )


if __name__ == "__main__":
    main()
