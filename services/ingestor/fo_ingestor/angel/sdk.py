"""The official ``smartapi-python`` SDK, loaded on demand and contained.

We use the SDK's REST request layer (headers, JSON bodies, TLS verification, timeouts) and
nothing else. Its side effects are neutralised here (spec §6):

* importing ``SmartApi`` performs an HTTPS GET to api.ipify.org with no timeout: the GET is
  refused during the import (the SDK then uses its hardcoded IPs, as it does anyway);
* ``SmartConnect.__init__`` writes ``./logs/<date>/app.log`` and re-points logzero's global
  logger: we never call it (``ContainedSmartConnect`` sets the few attributes it needs);
* on errors the SDK logs full request headers (Bearer JWT, API key) and request bodies
  (MPIN, TOTP): its logger is replaced by one that withholds every message body.

Nothing imports this module unless FEED=angel (``fo_ingestor.feeds`` imports the Angel feed
lazily), so the simulator and replay feeds never load the SDK.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Any

log = logging.getLogger(__name__)
_lock = threading.Lock()
_loaded: type | None = None


class _Withhold(logging.Filter):
    """Keep only that the SDK logged, never what: its messages embed headers and bodies."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = "smartapi logged a message (content withheld: may hold credentials)"
        record.args = ()
        record.exc_info = None
        record.exc_text = None
        return record.levelno >= logging.ERROR


def _sdk_logger() -> logging.Logger:
    logger = logging.getLogger("fo_ingestor.angel.smartapi")
    if not any(isinstance(f, _Withhold) for f in logger.filters):
        logger.addFilter(_Withhold())
    return logger


def _import_contained() -> Any:
    """Import SmartApi.smartConnect with its import-time network call refused."""
    import logzero
    import requests

    # logzero's default logger prints to stderr; the SDK logs through it at import time.
    logzero.logger.handlers.clear()
    logzero.logger.addHandler(logging.NullHandler())
    logzero.logger.propagate = False

    def refused(*args: object, **kwargs: object) -> object:
        raise OSError("network access during the smartapi import is disabled")

    original = requests.get
    requests.get = refused  # the SDK's class body does `get('https://api.ipify.org')`
    try:
        module = importlib.import_module("SmartApi.smartConnect")
    finally:
        requests.get = original
    module.logger = _sdk_logger()  # type: ignore[attr-defined]
    module.get = original  # type: ignore[attr-defined]
    return module


def smartconnect_class() -> type:
    """``ContainedSmartConnect``: SmartConnect whose constructor writes nothing anywhere."""
    global _loaded
    with _lock:
        if _loaded is not None:
            return _loaded
        module = _import_contained()
        base = module.SmartConnect

        class ContainedSmartConnect(base):  # type: ignore[misc, valid-type]
            """SmartConnect's request layer without its constructor's files and global logging."""

            def __init__(self, api_key: str, root: str, timeout: float) -> None:
                self.debug = False
                self.api_key = api_key
                self.privateKey = api_key
                self.session_expiry_hook = None
                self.disable_ssl = False
                self.access_token: str | None = None
                self.refresh_token = None
                self.feed_token = None
                self.userId = None
                self.proxies: dict[str, str] = {}
                self.root = root
                self.timeout = timeout

            def __repr__(self) -> str:  # never show keys or tokens
                return f"ContainedSmartConnect(root={self.root!r})"

        _loaded = ContainedSmartConnect
        log.debug("smartapi loaded", extra={"sdk": base.__module__})
        return _loaded
