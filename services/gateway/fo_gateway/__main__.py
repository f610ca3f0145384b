"""``python -m fo_gateway``: serve REST and WebSocket; ``--check`` validates settings."""

from __future__ import annotations

import contextlib
import signal
import socket
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from fo_gateway.access import CLOSE_GOING_AWAY
from fo_gateway.app import create_app
from fo_gateway.observability import install_request_id_logging
from fo_gateway.settings import GatewaySettings
from fo_runtime.cli import prepare

GRACEFUL_SHUTDOWN_S = 3  # well inside Render's shutdown delay and our 5 s e2e bound
CLOSE_CLIENTS_S = 1.0  # WebSocket clients get this long to take their 1001 close frame
WS_MAX_MESSAGE_BYTES = 16 * 1024  # clients send small JSON requests; larger ones get 1009
WS_PING_INTERVAL_S = 20.0  # protocol pings keep proxies (Cloudflare ~100 s) from idling us out


class GatewayServer(uvicorn.Server):
    """uvicorn's server, except that:

    - a SIGTERM/SIGINT shutdown is a clean exit (code 0): uvicorn re-raises the captured
      signal after shutting down, so the process would die by the signal, while a platform
      asking us to stop is the normal end of a gateway's life;
    - on shutdown it first stops accepting, then closes every WebSocket with 1001 (going
      away: reconnect) before uvicorn's own 1012, and aborts sockets that cannot take it.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.gateway_app = app

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # stop accepting first
        hub = getattr(self.gateway_app.state, "hub", None)
        if hub is not None:
            await hub.close_all(
                CLOSE_GOING_AWAY, "server shutting down; reconnect", CLOSE_CLIENTS_S
            )
        await super().shutdown(sockets)


def server_config(app: FastAPI, settings: GatewaySettings) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,  # the gateway middleware logs each request as JSON with its id
        ws="websockets-sansio",
        ws_per_message_deflate=False,  # per-client compression costs 10x CPU at fan-out
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        ws_ping_interval=WS_PING_INTERVAL_S,
        ws_ping_timeout=WS_PING_INTERVAL_S,
        proxy_headers=True,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        backlog=4096,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def main(argv: list[str] | None = None) -> int:
    settings = prepare(
        "gateway",
        __doc__,
        GatewaySettings,
        lambda s: f"mode={s.mode}, port={s.port}",
        argv,
    )
    if settings is None:
        return 0
    install_request_id_logging()
    app = create_app(settings)
    GatewayServer(server_config(app, settings), app).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
