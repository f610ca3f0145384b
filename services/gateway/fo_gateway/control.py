"""The gateway's side of user login over the bus: seal, send, wait for the sealed reply.

The request (the user's API key, client code, MPIN and TOTP secret) is sealed with
AES-256-GCM under a key derived from SECRET_KEY (HKDF-SHA256) before it is written to the
control stream; the ingestor, which shares SECRET_KEY, opens it, logs in to Angel and pushes
a sealed reply to a short-lived list that we pop with a deadline. Same format as
``fo_ingestor.angel.sealed`` (a test checks the two against each other).
"""

from __future__ import annotations

import os
import time
import uuid
from typing import Any, Final

import orjson
import redis.asyncio as aioredis
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from fo_bus.names import BusNames

SALT: Final = b"fo-chain/control/v1"
INFO: Final = b"broker-login"
NONCE_BYTES: Final = 12
POLL_S: Final = 1  # BLPOP slice; stays below the client's socket timeout
CONTROL_MAXLEN: Final = 1_000


class LoginTimeout(Exception):
    """No reply from an ingestor within the deadline."""


class BadReply(Exception):
    """A reply that does not open with our key."""


def derive_key(secret_key: SecretStr) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(
        secret_key.get_secret_value().encode()
    )


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, blob: bytes, context: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
    except (InvalidTag, ValueError):
        raise BadReply("reply does not open with this key") from None


async def request_login(
    client: aioredis.Redis,
    names: BusNames,
    secret_key: SecretStr,
    credentials: dict[str, str],
    timeout_s: float,
) -> dict[str, Any]:
    """Send a sealed login request and wait for the ingestor's reply (a dict with ``ok``)."""
    key = derive_key(secret_key)
    request_id = uuid.uuid4().hex
    deadline = time.time() + timeout_s
    sealed = seal(key, orjson.dumps(credentials), b"login-request:" + request_id.encode())
    await client.xadd(
        names.control_stream(),
        {
            b"v": b"1",
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
            return orjson.loads(unseal(key, blob, b"login-reply:" + request_id.encode()))
