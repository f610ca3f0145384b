"""Every Redis name the services use, built in one place.

All per-symbol names carry the symbol as a Redis Cluster hash tag (``fo:{NIFTY}:ticks``)
so one symbol's keys share a slot, under a configurable namespace prefix (default ``fo``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

DEFAULT_NAMESPACE: Final = "fo"


@dataclass(frozen=True, slots=True)
class BusNames:
    """Name builder for one namespace."""

    namespace: str = DEFAULT_NAMESPACE

    def _sym(self, symbol: str, suffix: str) -> str:
        return f"{self.namespace}:{{{symbol}}}:{suffix}"

    def ticks_stream(self, symbol: str) -> str:
        """Stream of tick batches (writer: ingestor; reader: worker)."""
        return self._sym(symbol, "ticks")

    def instruments_key(self, symbol: str) -> str:
        """String: the followed contracts (writer: ingestor)."""
        return self._sym(symbol, "instruments")

    def summary_key(self, symbol: str) -> str:
        """String: spot, expiries, sequence and checkpoint of the latest cycle (writer: worker)."""
        return self._sym(symbol, "summary")

    def snapshot_key(self, symbol: str, expiry: date) -> str:
        """String: the latest chain snapshot of one expiry, JSON bytes served as they are."""
        return self._sym(symbol, f"snapshot:{expiry.isoformat()}")

    def updates_channel(self, symbol: str, expiry: date) -> str:
        """Pub/sub channel carrying the same bytes as ``snapshot_key`` on every update."""
        return self._sym(symbol, f"updates:{expiry.isoformat()}")

    def history_stream(self, symbol: str) -> str:
        """Stream of per-cycle summaries (intraday charts, replay), trimmed."""
        return self._sym(symbol, "history")

    def lease_key(self, symbol: str) -> str:
        """String with TTL: ``<worker id>:<epoch>`` of the worker that owns the symbol."""
        return self._sym(symbol, "lease")

    def epoch_key(self, symbol: str) -> str:
        """Counter: fencing epoch, incremented on every lease acquisition."""
        return self._sym(symbol, "epoch")

    def health_key(self, service: str, instance: str) -> str:
        """String with TTL: heartbeat and status of one service instance."""
        return f"{self.namespace}:health:{service}:{instance}"

    def health_pattern(self) -> str:
        """SCAN pattern matching every heartbeat key."""
        return f"{self.namespace}:health:*"

    # --- control plane: user broker logins (gateway → ingestor), replies, sessions ---

    def control_stream(self) -> str:
        """Stream of control requests such as a user's broker login (writer: gateway)."""
        return f"{self.namespace}:control"

    def control_reply_key(self, request_id: str) -> str:
        """List with a short TTL holding the one reply to a control request (writer: ingestor)."""
        return f"{self.namespace}:control:reply:{request_id}"

    def session_key(self, client_code: str) -> str:
        """String with TTL: a broker session's public info, never a token (writer: ingestor)."""
        return f"{self.namespace}:session:{client_code}"

    def login_attempts_key(self, client_code: str) -> str:
        """Counter with TTL: login attempts for one client code in the window that its first
        attempt opened (per address, the gateway's rate limiter applies)."""
        return f"{self.namespace}:login-attempts:client:{client_code}"

    def ratelimit_key(self, bucket: str, who: str, window: int) -> str:
        """Counter with TTL: requests of one client address to one route bucket in one window."""
        return f"{self.namespace}:ratelimit:{bucket}:{who}:{window}"
