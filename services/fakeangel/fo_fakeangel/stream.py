"""The fake's WebSocket V2 endpoint ``/smart-stream`` (``websockets`` server).

Handshake checks as Angel: ``x-api-key``, ``x-client-code`` and ``x-feed-token`` must match a
live session (``Authorization`` with or without ``Bearer``); failures get HTTP 401, a 4th
connection per client code 429. Text ``ping`` → ``pong``; protocol pings are answered by the
library. Subscribe JSON as spec §4.2, no ack, a snapshot packet per new token, then every
simulated tick in the subscribed mode. Faults: stall, abrupt close, handshake 401/429,
ping loss, out-of-order sequence numbers, malformed frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode
from websockets.http11 import Request, Response

from fo_fakeangel.packets import encode
from fo_fakeangel.state import FakeAngel, Session

log = logging.getLogger(__name__)
MAX_TOKENS = 1000


@dataclass(eq=False)
class Conn:
    ws: ServerConnection
    session: Session
    subs: dict[str, int] = field(default_factory=dict)  # token → mode
    stalled: bool = False
    last_frames: dict[str, bytes] = field(default_factory=dict)


class StreamServer:
    def __init__(self, fake: FakeAngel) -> None:
        self.fake = fake
        self.conns: set[Conn] = set()
        self._pending: dict[int, Session] = {}

    # --- handshake -----------------------------------------------------------------------

    def _refuse(self, connection: ServerConnection, status: HTTPStatus, text: str) -> Response:
        self.fake.counters["handshakes_refused"] += 1
        return connection.respond(status, text + "\n")

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        fake = self.fake
        fake.counters["handshakes"] += 1
        if request.path.split("?")[0] != "/smart-stream":
            return self._refuse(connection, HTTPStatus.NOT_FOUND, "Not Found")
        if fake.faults.reject_handshakes:
            status = fake.faults.reject_handshakes.popleft()
            return self._refuse(connection, HTTPStatus(status), HTTPStatus(status).phrase)
        headers = request.headers
        client_code = (headers.get("x-client-code") or "").upper()
        feed = headers.get("x-feed-token") or ""
        auth = headers.get("Authorization") or ""
        session = None
        for candidate in fake.sessions.values():
            if candidate.feed == feed and candidate.alive and candidate.expires_at > time.time():
                session = candidate
        if (
            headers.get("x-api-key") != fake.config.api_key
            or session is None
            or session.client_code != client_code
            or (auth and auth.removeprefix("Bearer ").strip() != session.jwt)
        ):
            return self._refuse(connection, HTTPStatus.UNAUTHORIZED, "Unauthorized")
        log.debug(
            "authorization header %s Bearer prefix",
            "with" if auth.startswith("Bearer ") else "without",
        )
        open_now = sum(1 for c in self.conns if c.session.client_code == client_code)
        if open_now >= fake.config.max_connections and fake.config.over_limit == "reject":
            return self._refuse(connection, HTTPStatus.TOO_MANY_REQUESTS, "Too Many Requests")
        self._pending[id(connection)] = session
        return None

    async def handler(self, ws: ServerConnection) -> None:
        session = self._pending.pop(id(ws))
        conn = Conn(ws, session)
        same = sum(1 for c in self.conns if c.session.client_code == session.client_code)
        if same >= self.fake.config.max_connections:  # over_limit == "close"
            await ws.close(1008, "connection limit")
            return
        original = ws.protocol.send_frame

        def send_frame(frame: Any) -> None:  # ping loss: swallow our PONG replies
            if self.fake.faults.ping_loss and frame.opcode is Opcode.PONG:
                return
            original(frame)

        ws.protocol.send_frame = send_frame  # type: ignore[method-assign]
        self.conns.add(conn)
        self.fake.connections.add(conn)
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    continue
                await self._text(conn, message)
        except ConnectionClosed:
            pass
        finally:
            self.conns.discard(conn)
            self.fake.connections.discard(conn)

    async def _text(self, conn: Conn, text: str) -> None:
        if text == "ping":
            if not self.fake.faults.ping_loss:
                await conn.ws.send("pong")
            return
        try:
            request = json.loads(text)
            action = int(request["action"])
            mode = int(request["params"]["mode"])
            groups = request["params"]["tokenList"]
            correlation = str(request.get("correlationID", ""))[:10]
        except (ValueError, KeyError, TypeError):
            await conn.ws.send(
                json.dumps(
                    {
                        "correlationID": "",
                        "errorCode": "E1001",
                        "errorMessage": "Invalid Request Payload",
                    }
                )
            )
            return
        tokens = [
            (int(g.get("exchangeType", 0)), str(t)) for g in groups for t in g.get("tokens", [])
        ]
        if action == 0:
            for _exch, token in tokens:
                conn.subs.pop(token, None)
            return
        fresh = {t for _e, t in tokens} - set(conn.subs)
        if len(conn.subs) + len(fresh) > MAX_TOKENS:
            await conn.ws.send(
                json.dumps(
                    {
                        "correlationID": correlation,
                        "errorCode": "E1002",
                        "errorMessage": "Invalid Request. Subscription Limit Exceeded",
                    }
                )
            )
            return
        for exch, token in tokens:
            # an unknown token or a wrong exchange type gets silence, as on Angel
            if token in self.fake.instruments and self.fake.exchange_type(token) == exch:
                conn.subs[token] = mode
        for _exch, token in tokens:
            if token in conn.subs and token in fresh:
                await self._send(conn, token)

    # --- streaming ---------------------------------------------------------------------

    async def _send(self, conn: Conn, token: str) -> None:
        quote = self.fake.quotes.get(token)
        if quote is None:
            return
        faults = self.fake.faults
        frame = encode(conn.subs[token], quote)
        if faults.malformed > 0:
            faults.malformed -= 1
            frame = frame[: len(frame) // 2]  # a garbled frame length
        elif faults.out_of_order > 0 and token in conn.last_frames:
            faults.out_of_order -= 1
            frame = conn.last_frames[token]  # the previous packet again: an old sequence number
        else:
            conn.last_frames[token] = frame
        await conn.ws.send(frame)
        self.fake.counters["packets_sent"] += 1

    def _live(self, conn: Conn) -> bool:
        s = conn.session
        return not conn.stalled and s.alive and s.expires_at > time.time()  # expired → mute

    async def pump(self, stop: asyncio.Event) -> None:
        interval = self.fake.config.tick_interval_s
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            now = time.time_ns()
            updated = self.fake.apply(self.fake.sim.step(now), now)
            for conn in list(self.conns):
                if not self._live(conn):
                    continue
                try:
                    for token in updated:
                        if token in conn.subs:
                            await self._send(conn, token)
                except ConnectionClosed:
                    self.conns.discard(conn)

    # --- faults ------------------------------------------------------------------------

    def stall_all(self) -> None:
        """Stop sending data on every open connection; new connections stream normally."""
        for conn in self.conns:
            conn.stalled = True
        self.fake.counters["stalled_connections"] += len(self.conns)

    def resume_all(self) -> None:
        for conn in self.conns:
            conn.stalled = False

    async def close_all(self, code: int = 1006) -> None:
        for conn in list(self.conns):
            if code == 1006:
                conn.ws.transport.abort()  # abrupt: no close frame, the client sees 1006
            else:
                await conn.ws.close(code)

    def serve(self, host: str, port: int) -> Any:
        return serve(
            self.handler,
            host,
            port,
            process_request=self.process_request,
            ping_interval=None,
            compression=None,
            max_size=2**20,
        )
