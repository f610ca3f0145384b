"""The broker sessions this ingestor holds: the service account and users who logged in.

The feed runs on the service account from the environment when one is configured, else on
the first user session. Credentials and tokens stay in this process's memory; Redis only
ever sees a session's public info (``session_key``), never a token or a credential.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from fo_bus.names import BusNames
from fo_ingestor.angel.session import AngelRest, AngelSession, Credentials, SessionInfo

log = logging.getLogger(__name__)

SESSION_INFO_TTL_S = 24 * 3600


class SessionRegistry:
    def __init__(self, rest: AngelRest, client: aioredis.Redis | None, names: BusNames) -> None:
        self.rest = rest
        self.client = client
        self.names = names
        self.sessions: dict[str, AngelSession] = {}
        self.feed_session: AngelSession | None = None
        self.feed_ready = asyncio.Event()
        self.pacer: dict[str, float] = {}
        self.user_logins = 0
        self.user_login_failures = 0

    def new_session(self, credentials: Credentials) -> AngelSession:
        return AngelSession(self.rest, credentials, pacer=self.pacer)

    def set_feed_session(self, session: AngelSession) -> None:
        self.sessions[session.client_code] = session
        self.feed_session = session
        self.feed_ready.set()

    async def login_user(self, credentials: Credentials) -> SessionInfo:
        """Log a user in to Angel. An existing session of the same client code takes over the
        new credentials and tokens only when the new login succeeds."""
        candidate = self.new_session(credentials)
        try:
            await candidate.login(retry_totp=False)
        except Exception:
            self.user_login_failures += 1
            raise
        self.user_logins += 1
        existing = self.sessions.get(credentials.client_code)
        if existing is None:
            session = candidate
            self.sessions[credentials.client_code] = session
        else:
            session = existing
            session.credentials = credentials
            session.info = candidate.info
            session._install(candidate.tokens)  # type: ignore[arg-type]
        if self.feed_session is None:
            log.info(
                "feed will run on the first user session",
                extra={"client_code": credentials.client_code},
            )
            self.set_feed_session(session)
        await self.publish_info(session)
        return session.info

    def public_info(self, session: AngelSession) -> dict[str, Any]:
        return session.info.to_dict() | {"feed": session is self.feed_session}

    async def publish_info(self, session: AngelSession) -> None:
        if self.client is None:
            return
        ttl = SESSION_INFO_TTL_S
        if session.info.expires_at:
            ttl = max(60, min(ttl, int(session.info.expires_at - time.time()) + 3600))
        try:
            await self.client.set(
                self.names.session_key(session.client_code),
                orjson.dumps(self.public_info(session)),
                ex=ttl,
            )
        except (RedisError, OSError) as exc:
            log.warning("session info not written", extra={"error": type(exc).__name__})
