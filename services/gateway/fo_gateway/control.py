"""The gateway's side of user login over the bus: seal, send, wait for the sealed reply.

The request (the user's API key, client code, MPIN and TOTP secret) is sealed with
AES-256-GCM under a key derived from SECRET_KEY (HKDF-SHA256) before it is written to the
control stream; the ingestor, which shares SECRET_KEY, opens it, logs in to Angel and pushes
a sealed reply to a short-lived list that we pop with a deadline (format: ``fo_bus.sealed``).
"""

from __future__ import annotations

import time
import uuid
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from pydantic import SecretStr

from fo_bus.names import BusNames
from fo_bus.sealed import (
    CONTROL_VERSION,
    SealError,
    derive_key,
    reply_context,
    request_context,
    seal,
    unseal,
)

POLL_S: Final = 1  # BLPOP slice; stays below the client's socket timeout
CONTROL_MAXLEN: Final = 1_000


class LoginTimeout(Exception):
    """No reply from an ingestor within the deadline."""


class BadReply(Exception):
    """A reply that does not open with our key."""


async def request_login(
    client: aioredis.Redis,
    names: BusNames,
    secret_key: SecretStr,
    credentials: dict[str, str],
    timeout_s: float,
) -> dict[str, Any]:
    """Send a sealed login request and wait for the ingestor's reply (a dict with ``ok``)."""
    key = derive_key(secret_key.get_secret_value())
    request_id = uuid.uuid4().hex
    deadline = time.time() + timeout_s
    sealed = seal(key, orjson.dumps(credentials), request_context(request_id))
    await client.xadd(
        names.control_stream(),
        {
            b"v": CONTROL_VERSION,
            b"type": b"login",
            b"id": request_id.encode(),
            b"deadline": str(int(deadline * 1000)).encode(),
            b"sealed": sealed,
        },
        maxlen=CONTROL_MAXLEN,
        approximate=True,
    )
    reply_key = names.control_reply_key(request_id)
    while True:
        left = deadline - time.time()
        if left <= 0:
            raise LoginTimeout(f"no ingestor answered within {timeout_s:g} s")
        found = await client.blpop([reply_key], timeout=max(1, min(POLL_S, int(left) or 1)))
        if found:
            blob = found[1]
            try:
                return orjson.loads(unseal(key, blob, reply_context(request_id)))
            except SealError:
                raise BadReply("reply does not open with this key") from None
