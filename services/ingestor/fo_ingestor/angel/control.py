"""The ingestor's side of user login over the bus: read sealed requests, log in, reply.

Requests arrive on ``control_stream`` (a consumer group, so one ingestor handles each);
each is opened with the key derived from SECRET_KEY, the user is logged in to Angel and a
sealed reply is pushed to the request's reply list (short TTL). The request entry is
acknowledged and deleted once handled, so no sealed credential lingers in Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.exceptions import RedisError, ResponseError

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
from fo_ingestor.angel.accounts import SessionRegistry
from fo_ingestor.angel.errors import AngelError, AngelRateLimited
from fo_ingestor.angel.session import Credentials
from fo_runtime.backoff import delays
from fo_runtime.lifecycle import wait_or_stop

log = logging.getLogger(__name__)

GROUP = b"ingestors"
REPLY_TTL_S = 30
BLOCK_MS = 1000
MAX_IN_FLIGHT = 8


def error_reply(exc: AngelError) -> dict[str, Any]:
    reply: dict[str, Any] = {"ok": False, "reason": exc.reason, "message": exc.message}
    if exc.code:
        reply["code"] = exc.code
    if isinstance(exc, AngelRateLimited):
        reply["retry_after_s"] = 2
    return reply


class ControlHandler:
    def __init__(
        self,
        client: aioredis.Redis,
        names: BusNames,
        secret_key: SecretStr,
        registry: SessionRegistry,
        consumer: str,
    ) -> None:
        self.client = client
        self.names = names
        self.key = derive_key(secret_key.get_secret_value())
        self.registry = registry
        self.consumer = consumer
        self.handled = 0
        self.rejected = 0
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._tasks: set[asyncio.Task[None]] = set()

    async def _ensure_group(self) -> None:
        try:
            await self.client.xgroup_create(
                self.names.control_stream(), GROUP, id="0", mkstream=True
            )
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def run(self, stop: asyncio.Event) -> None:
        stream = self.names.control_stream()
        backoff = delays(base=0.2, cap=5.0)
        while not stop.is_set():
            try:
                await self._ensure_group()
                while not stop.is_set():
                    found = await self.client.xreadgroup(
                        GROUP, self.consumer, {stream: ">"}, count=MAX_IN_FLIGHT, block=BLOCK_MS
                    )
                    for _stream, entries in found or []:
                        for entry_id, fields in entries:
                            await self._slots.acquire()
                            task = asyncio.create_task(self._handle(entry_id, fields))
                            self._tasks.add(task)
                            task.add_done_callback(self._tasks.discard)
                    backoff = delays(base=0.2, cap=5.0)
            except (RedisError, OSError) as exc:
                log.warning("control stream unavailable", extra={"error": type(exc).__name__})
                if await wait_or_stop(stop, next(backoff)):
                    break
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _handle(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        stream = self.names.control_stream()
        try:
            await self._answer(fields)
        except Exception as exc:  # never let one request kill the handler
            log.warning("control request failed", extra={"error": type(exc).__name__})
        finally:
            self._slots.release()
            with contextlib.suppress(RedisError, OSError):
                await self.client.xack(stream, GROUP, entry_id)
                await self.client.xdel(stream, entry_id)

    async def _answer(self, fields: dict[bytes, bytes]) -> None:
        request_id = fields.get(b"id", b"").decode()
        kind = fields.get(b"type", b"").decode()
        deadline_ms = int(fields.get(b"deadline", b"0") or 0)
        if not request_id or fields.get(b"v") != CONTROL_VERSION:
            self.rejected += 1
            return
        if deadline_ms and time.time() * 1000 > deadline_ms:
            self.rejected += 1
            log.info("control request expired before it was read", extra={"request": request_id})
            return
        if kind != "login":
            reply: dict[str, Any] = {"ok": False, "reason": "unsupported", "message": kind}
        else:
            try:
                body = orjson.loads(
                    unseal(self.key, fields[b"sealed"], request_context(request_id))
                )
                credentials = Credentials(
                    api_key=SecretStr(str(body["api_key"])),
                    client_code=str(body["client_code"]).strip().upper(),
                    mpin=SecretStr(str(body["password"])),
                    totp_secret=SecretStr(str(body["totp_token"]).replace(" ", "")),
                )
            except (SealError, KeyError, ValueError, orjson.JSONDecodeError):
                self.rejected += 1
                log.warning(
                    "control request does not open with our SECRET_KEY",
                    extra={"request": request_id},
                )
                reply = {
                    "ok": False,
                    "reason": "bad_request",
                    "message": "request could not be opened",
                }
            else:
                reply = await self._login(credentials)
        await self._reply(request_id, reply)

    async def _login(self, credentials: Credentials) -> dict[str, Any]:
        try:
            info = await self.registry.login_user(credentials)
        except AngelError as exc:
            log.info(
                "user login refused by Angel",
                extra={"client_code": credentials.client_code, "reason": exc.reason},
            )
            return error_reply(exc)
        except ValueError:
            return {"ok": False, "reason": "invalid_totp", "message": "TOTP secret is not base32"}
        self.handled += 1
        session = self.registry.sessions[credentials.client_code]
        return {"ok": True, "session": self.registry.public_info(session) | info.to_dict()}

    async def _reply(self, request_id: str, reply: dict[str, Any]) -> None:
        key = self.names.control_reply_key(request_id)
        blob = seal(self.key, orjson.dumps(reply), reply_context(request_id))
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(key, blob)
            pipe.expire(key, REPLY_TTL_S)
            await pipe.execute()
