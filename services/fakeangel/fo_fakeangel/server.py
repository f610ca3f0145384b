"""Run the fake: REST (uvicorn) and the WebSocket V2 endpoint in one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import signal

import uvicorn

from fo_fakeangel.rest import create_rest_app
from fo_fakeangel.state import FakeAngel, FakeConfig
from fo_fakeangel.stream import StreamServer


class FakeServer:
    def __init__(
        self, config: FakeConfig, host: str = "127.0.0.1", http_port: int = 0, ws_port: int = 0
    ) -> None:
        self.fake = FakeAngel(config)
        self.host = host
        self.http_port = http_port
        self.ws_port = ws_port
        self.stream = StreamServer(self.fake)
        self.app = create_rest_app(self.fake)
        self.app.state.stream = self.stream
        self.stop = asyncio.Event()
        self._uvicorn: uvicorn.Server | None = None
        self._tasks: list[asyncio.Task[object]] = []
        self._ws: object = None

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.http_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.ws_port}/smart-stream"

    @property
    def master_url(self) -> str:
        return f"{self.rest_url}/OpenAPI_File/files/OpenAPIScripMaster.json"

    async def start(self) -> FakeServer:
        self._ws = await self.stream.serve(self.host, self.ws_port)
        self.ws_port = self._ws.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self._uvicorn = uvicorn.Server(config)
        self._uvicorn.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._tasks.append(asyncio.create_task(self._uvicorn.serve()))
        for _ in range(500):  # uvicorn exposes no event for "listening"
            if self._uvicorn.started:
                break
            await asyncio.sleep(0.02)
        sockets = [s for srv in self._uvicorn.servers for s in srv.sockets]
        self.http_port = sockets[0].getsockname()[1]
        self._tasks.append(asyncio.create_task(self.stream.pump(self.stop)))
        return self

    async def close(self) -> None:
        self.stop.set()
        if self._uvicorn is not None:
            self._uvicorn.should_exit = True
        await self.stream.close_all(1001)
        self._ws.close()  # type: ignore[attr-defined]
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, timeout=3)

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        await done.wait()
        await self.close()
