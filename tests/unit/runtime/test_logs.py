"""Log set-up: no library logs credentials even when a service runs at DEBUG."""

from __future__ import annotations

import logging

from fo_runtime.logs import configure_logging


def test_websockets_handshake_headers_stay_out_of_debug_logs() -> None:
    """websockets logs each handshake header (Authorization, x-feed-token, bearer
    subprotocols) at DEBUG; the services' DEBUG level must not switch that on."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("websockets").level
    try:
        configure_logging("test", "DEBUG")
        assert logging.getLogger("fo_ingestor.angel.ws").isEnabledFor(logging.DEBUG)
        for name in ("websockets.client", "websockets.server"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
            assert logging.getLogger(name).isEnabledFor(logging.INFO), name
        configure_logging("test", "WARNING")
        assert not logging.getLogger("websockets.client").isEnabledFor(logging.INFO)
    finally:
        root.handlers[:], level, ws_level = saved
        root.setLevel(level)
        logging.getLogger("websockets").setLevel(ws_level)
