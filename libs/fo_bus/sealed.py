"""Sealed control messages: AES-256-GCM with a key derived (HKDF-SHA256) from SECRET_KEY.

The gateway seals a user's broker credentials before they touch Redis; only a process that
knows SECRET_KEY can open them. The additional data binds each ciphertext to its request id
and direction, so a sealed reply cannot be replayed as a request or to another request.
The gateway seals requests and opens replies; the ingestor does the reverse.
"""

from __future__ import annotations

import os
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

CONTROL_VERSION: Final = b"1"  # the ``v`` field of a control-stream entry
SALT: Final = b"fo-chain/control/v1"
INFO: Final = b"broker-login"
NONCE_BYTES: Final = 12


class SealError(ValueError):
    """A sealed message that does not open with our key (tampered, foreign or truncated)."""


def derive_key(secret_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=SALT, info=INFO).derive(
        secret_key.encode()
    )


def seal(key: bytes, plaintext: bytes, context: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, context)


def unseal(key: bytes, blob: bytes, context: bytes) -> bytes:
    if len(blob) <= NONCE_BYTES + 16:
        raise SealError("sealed message too short")
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], context)
    except (InvalidTag, ValueError):
        raise SealError("sealed message does not open with this key") from None


def request_context(request_id: str) -> bytes:
    return b"login-request:" + request_id.encode()


def reply_context(request_id: str) -> bytes:
    return b"login-reply:" + request_id.encode()
