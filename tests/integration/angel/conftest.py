"""An in-process fake Angel (REST + WebSocket V2 on free ports) for integration tests."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import pyotp
import pytest

from fo_fakeangel.server import FakeServer
from fo_fakeangel.state import FakeConfig


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    config = FakeConfig(
        api_key=f"ak-{secrets.token_hex(12)}",
        client_code="IT0001",
        mpin="2468",
        totp_secret=pyotp.random_base32(),
        symbols=("NIFTY",),
        expiries=2,
        strikes_each_side=4,
        tick_interval_s=0.05,
    )
    server = await FakeServer(config).start()
    yield server
    await server.close()
