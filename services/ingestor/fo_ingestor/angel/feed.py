"""AngelFeed: the ingestor's feed on Angel One (FEED=angel).

``start`` logs in (service account, else waits for the first user login through the
gateway), loads the day's scrip master, reads spot, picks the contracts and publishes them;
``batches`` runs one WebSocket client per ≤1,000 tokens (≤3), parses every binary frame into
canonical ticks and yields them in batches. A maintenance task renews tokens, logs in afresh
each trading morning and reloads the master (and the selection) when a new one is out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis

from fo_ingestor.angel.accounts import SessionRegistry
from fo_ingestor.angel.control import ControlHandler
from fo_ingestor.angel.errors import AngelError
from fo_ingestor.angel.master import (
    MasterRow,
    find_spot,
    fit_budget,
    load_master,
    master_day,
    parse_master,
    plan_connections,
    select_contracts,
)
from fo_ingestor.angel.parser import (
    EXCHANGE_TYPES,
    QUOTE,
    SNAP_QUOTE,
    AngelPacket,
    MalformedPacket,
    packet_to_tick,
    parse_packet,
)
from fo_ingestor.angel.session import AngelRest, AngelSession, Credentials
from fo_ingestor.angel.ws import AngelWsClient, FeedAuth, WsConfig, WsStats
from fo_ingestor.settings import IngestorSettings
from fo_instruments.calendar import IST, is_market_open
from fo_models import InstrumentKind, InstrumentSet, Tick
from fo_runtime.backoff import delays
from fo_runtime.lifecycle import wait_or_stop

log = logging.getLogger(__name__)

FATAL_RETRY_S = 300.0
MALFORMED_LOG_LIMIT = 20

PublishInstruments = Callable[[list[InstrumentSet]], Awaitable[None]]


class SequenceFilter:
    """Drops a packet whose sequence number is not above the last one seen for its
    (exchange, token): duplicates and stale replays after a reconnect. A new login (session
    generation) may restart the sequences, so it starts afresh. Number 0 means "none"."""

    def __init__(self) -> None:
        self.last: dict[tuple[int, str], int] = {}
        self.generation = -1

    def fresh(self, packet: AngelPacket, generation: int) -> bool:
        if generation != self.generation:
            self.last.clear()
            self.generation = generation
        if not packet.sequence_number:
            return True
        key = (packet.exchange_type, packet.token)
        last = self.last.get(key)
        if last is not None and packet.sequence_number <= last:
            return False
        self.last[key] = packet.sequence_number
        return True


class AngelFeed:
    name = "angel"

    def __init__(self, settings: IngestorSettings) -> None:
        self.settings = settings
        self.rest = AngelRest(settings.angel_rest_url, settings.angel_http_timeout_s)
        self.registry = SessionRegistry(self.rest, None, settings.names)
        self.sets: list[InstrumentSet] = []
        self.master_date: Any = None
        self.stats = WsStats()
        self.pending: list[Tick] = []
        self.sequences = SequenceFilter()
        self.control: ControlHandler | None = None
        self.publish: PublishInstruments | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._clients: list[asyncio.Task[None]] = []
        self._resubscribe = asyncio.Event()

    # --- the seam -----------------------------------------------------------------------

    def instrument_sets(self) -> list[InstrumentSet]:
        return list(self.sets)

    def status(self) -> dict[str, Any]:
        session = self.registry.feed_session
        return {
            "angel": self.stats.as_dict()
            | {
                "session": None if session is None else session.client_code,
                "session_generation": 0 if session is None else session.generation,
                "logins": 0 if session is None else session.logins,
                "session_error": None if session is None else session.last_error,
                "user_logins": self.registry.user_logins,
                "tokens": sum(len(s.instruments) for s in self.sets),
                "master_date": str(self.master_date) if self.master_date else None,
            }
        }

    async def start(
        self, client: aioredis.Redis, stop: asyncio.Event, publish: PublishInstruments
    ) -> None:
        """Serve user logins, get a session, choose the contracts and publish them."""
        s = self.settings
        self.registry.client = client
        self.publish = publish
        if s.secret_key is not None:
            self.control = ControlHandler(
                client, s.names, s.secret_key, self.registry, s.instance_id
            )
            self._tasks.append(asyncio.create_task(self.control.run(stop)))
        if s.angel_client_code and s.angel_mpin and s.angel_totp_secret and s.angel_api_key:
            creds = Credentials(
                s.angel_api_key,
                s.angel_client_code.strip().upper(),
                s.angel_mpin,
                s.angel_totp_secret,
            )
            self.registry.set_feed_session(self.registry.new_session(creds))
        else:
            log.info("no Angel service account: waiting for a user login through the gateway")
            waiter = asyncio.create_task(self.registry.feed_ready.wait())
            stopper = asyncio.create_task(stop.wait())
            await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            for task in (waiter, stopper):
                task.cancel()
            if stop.is_set():
                return
        session = self.registry.feed_session
        assert session is not None
        if not await self._until_ok(stop, lambda: self._ensure_login(session)):
            return
        await self._until_ok(stop, lambda: self._select(session))

    async def batches(self, stop: asyncio.Event) -> AsyncIterator[list[Tick]]:
        try:
            if stop.is_set() or not self.sets:
                return
            self._start_clients(stop)
            self._tasks.append(asyncio.create_task(self._maintain(stop)))
            while not await wait_or_stop(stop, self.settings.batch_interval_s):
                if self._resubscribe.is_set():
                    self._resubscribe.clear()
                    await self._stop_clients()
                    self._start_clients(stop)
                if self.pending:
                    batch, self.pending = self.pending, []
                    yield batch
        finally:
            await self._stop_clients()
            for task in self._tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    # --- session and selection ---------------------------------------------------------

    async def _until_ok(self, stop: asyncio.Event, step: Callable[[], Awaitable[None]]) -> bool:
        """Run ``step`` until it succeeds: retryable errors back off, fatal ones wait long."""
        backoff = delays(base=1.0, cap=60.0)
        while not stop.is_set():
            try:
                await step()
                return True
            except AngelError as exc:
                wait = next(backoff) if exc.retryable else FATAL_RETRY_S
                log.error(
                    "Angel: %s",
                    exc.message,
                    extra={
                        "reason": exc.reason,
                        "retryable": exc.retryable,
                        "retry_in_s": round(wait, 1),
                    },
                )
            except Exception as exc:
                wait = next(backoff)
                log.error(
                    "Angel start-up step failed",
                    extra={
                        "error": type(exc).__name__,
                        "detail": str(exc)[:200],
                        "retry_in_s": round(wait, 1),
                    },
                )
            if await wait_or_stop(stop, wait):
                return False
        return False

    async def _ensure_login(self, session: AngelSession) -> None:
        if session.tokens is None:
            await session.login(retry_totp=True)
            await self.registry.publish_info(session)

    async def _load_rows(self) -> list[MasterRow]:
        s = self.settings
        now = datetime.now(UTC)
        raw, day = await asyncio.to_thread(
            load_master, s.angel_master_url, s.angel_cache_dir, now, s.angel_master_timeout_s
        )
        rows = parse_master(raw, set(s.symbol_list))
        self.master_date = day
        log.info("scrip master loaded", extra={"master_date": str(day), "rows": len(rows)})
        return rows

    async def _spots(self, session: AngelSession, rows: list[MasterRow]) -> dict[str, float]:
        spot_rows = {sym: find_spot(rows, sym) for sym in self.settings.symbol_list}
        wanted: dict[str, list[str]] = {}
        for row in spot_rows.values():
            wanted.setdefault(row.exch_seg, []).append(row.token)
        data = await session.call(self.rest.quote, "LTP", wanted)
        ltp = {
            str(item.get("symbolToken")): float(item.get("ltp") or 0)
            for item in (data or {}).get("fetched", [])
        }
        spots = {sym: ltp.get(row.token, 0.0) for sym, row in spot_rows.items()}
        missing = [sym for sym, v in spots.items() if v <= 0]
        if missing:
            raise RuntimeError(f"no spot price for {', '.join(missing)}")
        return spots

    async def _select(self, session: AngelSession) -> None:
        s = self.settings
        rows = await self._load_rows()
        spots = await self._spots(session, rows)
        today = datetime.now(IST).date()
        budget = s.angel_tokens_per_connection * s.angel_max_connections

        def pick(each_side: int) -> list[InstrumentSet]:
            return [
                select_contracts(rows, sym, spots[sym], today, s.angel_expiries, each_side)
                for sym in s.symbol_list
            ]

        self.sets = fit_budget(pick, s.angel_strikes_each_side, budget)
        if self.publish is not None:
            await self.publish(self.sets)
        log.info(
            "contracts selected",
            extra={"tokens": sum(len(x.instruments) for x in self.sets), "spots": spots},
        )

    def subscriptions(self) -> list[tuple[int, int, str]]:
        subs = []
        for inst_set in self.sets:
            for inst in inst_set.instruments:
                mode = QUOTE if inst.kind is InstrumentKind.INDEX else SNAP_QUOTE
                subs.append((mode, EXCHANGE_TYPES[inst.exchange], inst.token))
        return subs

    async def _maintain(self, stop: asyncio.Event) -> None:
        """Renew tokens, log in afresh each morning, reload the master when a new one is out."""
        while not await wait_or_stop(stop, self.settings.angel_session_check_s):
            session = self.registry.feed_session
            if session is None:
                continue
            try:
                await session.maintain()
                if master_day(datetime.now(UTC)) != self.master_date:
                    await self._select(session)
                    self._resubscribe.set()
            except Exception as exc:
                log.warning(
                    "Angel maintenance failed; will retry",
                    extra={"error": type(exc).__name__, "reason": getattr(exc, "reason", "")},
                )

    # --- WebSocket clients -------------------------------------------------------------

    def _start_clients(self, stop: asyncio.Event) -> None:
        s = self.settings
        hours = s.angel_watchdog_hours
        config = WsConfig(
            url=s.angel_ws_url,
            heartbeat_s=s.angel_heartbeat_s,
            stall_timeout_s=s.angel_stall_timeout_s,
            market_open=(lambda now: True) if hours == "always" else is_market_open,
        )
        plan = plan_connections(
            self.subscriptions(), s.angel_tokens_per_connection, s.angel_max_connections
        )
        for i, subs in enumerate(plan):
            client = AngelWsClient(
                config,
                subs,
                self._auth,
                self._relogin,
                self._generation,
                self._on_frame,
                self.stats,
                name=f"ws{i}",
            )
            self._clients.append(asyncio.create_task(client.run(stop)))

    async def _stop_clients(self) -> None:
        for task in self._clients:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._clients.clear()

    def _session(self) -> AngelSession:
        session = self.registry.feed_session
        if session is None:
            raise RuntimeError("no broker session")
        return session

    async def _auth(self) -> FeedAuth:
        session = self._session()
        if session.tokens is None:
            await session.login(retry_totp=True)
        tokens = session.tokens
        assert tokens is not None
        return FeedAuth(
            session.credentials.api_key.get_secret_value(),
            session.client_code,
            tokens.jwt.get_secret_value(),
            tokens.feed.get_secret_value(),
            session.generation,
        )

    async def _relogin(self, seen_generation: int) -> None:
        session = self._session()
        await session.relogin(seen_generation)
        await self.registry.publish_info(session)

    def _generation(self) -> int:
        session = self.registry.feed_session
        return 0 if session is None else session.generation

    def _on_frame(self, frame: bytes, recv_ns: int) -> None:
        try:
            packet = parse_packet(frame)
        except MalformedPacket as exc:
            self.stats.malformed += 1
            if self.stats.malformed <= MALFORMED_LOG_LIMIT:
                log.warning(
                    "malformed feed packet skipped",
                    extra={"problem": str(exc), "bytes": len(frame)},
                )
            return
        if not self.sequences.fresh(packet, self._generation()):
            self.stats.out_of_order += 1
            return
        self.stats.packets += 1
        self.stats.last_packet_ns = recv_ns
        self.pending.append(packet_to_tick(packet, recv_ns))
