"""``python -m fo_gateway``: serve REST and WebSocket; ``--check`` validates settings."""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

from fo_gateway.app import create_app
from fo_gateway.settings import GatewaySettings
from fo_runtime.logs import configure_logging
from fo_runtime.settings import load_settings

GRACEFUL_SHUTDOWN_S = 3  # well inside Render's shutdown delay and our 5 s e2e bound


class GatewayServer(uvicorn.Server):
    """uvicorn's server, except that a SIGTERM/SIGINT shutdown is a clean exit (code 0).

    uvicorn re-raises the captured signal after shutting down, so the process would die
    by the signal; a platform asking us to stop is the normal end of a gateway's life.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        handled = (signal.SIGINT, signal.SIGTERM)
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="fo-gateway", description=__doc__)
    parser.add_argument("--check", action="store_true", help="validate settings and exit")
    args = parser.parse_args(argv)
    settings = load_settings(GatewaySettings)
    if args.check:
        mode = "demo" if settings.demo_mode else "live"
        print(f"fo-gateway settings ok (mode={mode}, port={settings.port})")
        return 0
    configure_logging("gateway", settings.log_level)
    config = uvicorn.Config(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        ws_per_message_deflate=False,
        ws_max_size=64 * 1024,
        proxy_headers=True,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )
    GatewayServer(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
