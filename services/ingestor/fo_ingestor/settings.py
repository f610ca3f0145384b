"""IngestorSettings: which feed, how to batch, how much stream to keep."""

from __future__ import annotations

import base64
import binascii
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from fo_feeds.tape import TapeError, check_tape
from fo_runtime.settings import CommonSettings, strong_secret_key


class IngestorSettings(CommonSettings):
    feed: Literal["simulator", "replay", "angel"] = Field(
        "simulator", description="Feed source: simulator (default), replay (a tape) or angel."
    )
    batch_interval_s: float = Field(
        0.2, gt=0, le=5, description="Seconds between batched writes (and simulator steps)."
    )
    stream_maxlen: int = Field(
        100_000, ge=1_000, description="Approximate entries kept per tick stream (MAXLEN ~)."
    )
    sim_seed: int = Field(7, description="Simulator seed: the same seed gives the same market.")
    sim_expiries: int = Field(2, ge=1, le=8, description="Expiries followed per symbol.")
    sim_strikes: int = Field(20, ge=1, le=200, description="Strikes followed each side of ATM.")
    sim_market_hours_only: bool = Field(
        False,
        description="Simulator: tick only 09:15-15:30 IST on trading days (default: always).",
    )
    sim_holidays: str = Field(
        "",
        description="Simulator: comma-separated exchange holidays YYYY-MM-DD; an expiry on one "
        "moves to the previous trading day.",
    )
    tape: Path | None = Field(None, description="Replay: the tape file to play (FEED=replay).")
    replay_speed: float = Field(
        1.0, ge=0, description="Replay: multiple of the original pace; 0 = as fast as possible."
    )
    replay_loop: bool = Field(False, description="Replay: start over at the end of the tape.")

    _strong_secret = field_validator("secret_key")(strong_secret_key)

    @field_validator("sim_holidays")
    @classmethod
    def _dates(cls, value: str) -> str:
        for part in (p.strip() for p in value.split(",")):
            if part:
                try:
                    date.fromisoformat(part)
                except ValueError:
                    raise ValueError(f"{part!r} is not a date YYYY-MM-DD") from None
        return value

    @property
    def holiday_list(self) -> list[date]:
        return [date.fromisoformat(p.strip()) for p in self.sim_holidays.split(",") if p.strip()]

    @model_validator(mode="after")
    def _tape_for_replay(self) -> IngestorSettings:
        if self.feed != "replay":
            return self
        if self.tape is None:
            raise ValueError("TAPE: FEED=replay needs TAPE=<path of a .tape.gz file>")
        try:
            header, _, _ = check_tape(self.tape)  # the whole tape, before anything is written
        except TapeError as exc:
            raise ValueError(f"TAPE: {exc}") from None
        missing = [s for s in self.symbol_list if s not in header.symbols]
        if missing:
            raise ValueError(
                f"SYMBOLS: {', '.join(missing)} not on tape {self.tape} "
                f"(it holds {', '.join(header.symbols)}); set SYMBOLS={','.join(header.symbols)}"
            )
        return self

    # --- Angel One SmartAPI (FEED=angel) ---
    angel_api_key: SecretStr | None = Field(
        None, description="SmartAPI key (X-PrivateKey); required with FEED=angel."
    )
    angel_client_code: str | None = Field(
        None, description="Service account client code; else the feed uses the first user login."
    )
    angel_mpin: SecretStr | None = Field(None, description="Service account 4-digit MPIN.")
    angel_totp_secret: SecretStr | None = Field(
        None, description="Service account TOTP secret (base32, the QR value)."
    )
    secret_key: SecretStr | None = Field(
        None, description="Same SECRET_KEY as the gateway: decrypts user logins sent over the bus."
    )
    angel_rest_url: str = Field(
        "https://apiconnect.angelone.in", description="Angel REST root (login, tokens, quote)."
    )
    angel_ws_url: str = Field(
        "wss://smartapisocket.angelone.in/smart-stream", description="Angel WebSocket V2 URL."
    )
    angel_master_url: str = Field(
        "https://margincalculator.angelbroking.com/OpenAPI_File/files/OpenAPIScripMaster.json",
        description="Scrip master (instrument dump) URL.",
    )
    angel_cache_dir: Path = Field(
        Path(".run/angel"), description="Folder for the dated scrip master cache (the only files)."
    )
    angel_http_timeout_s: float = Field(7.0, gt=0, le=60, description="REST call timeout.")
    angel_master_timeout_s: float = Field(
        60.0, gt=0, le=600, description="Scrip master download timeout."
    )
    angel_expiries: int = Field(2, ge=1, le=8, description="Nearest expiries followed per symbol.")
    angel_strikes_each_side: int = Field(
        20, ge=1, le=200, description="Strikes followed each side of spot (narrowed to fit limits)."
    )
    angel_tokens_per_connection: int = Field(
        1000, ge=1, le=1000, description="Tokens per WebSocket (Angel's limit is 1,000)."
    )
    angel_max_connections: int = Field(
        3, ge=1, le=3, description="WebSocket connections per account (Angel's limit is 3)."
    )
    angel_heartbeat_s: float = Field(10.0, gt=0, le=60, description="Text ping interval.")
    angel_stall_timeout_s: float = Field(
        60.0, gt=0, le=600, description="No data this long while the market is open: reconnect."
    )
    angel_watchdog_hours: Literal["market", "always"] = Field(
        "market", description="When the stall watchdog runs: market hours, or always (tests)."
    )
    angel_session_check_s: float = Field(
        60.0, gt=0, le=3600, description="How often the session checks renewal / daily login."
    )

    @model_validator(mode="after")
    def _angel_complete(self) -> IngestorSettings:
        if self.feed != "angel":
            return self
        if self.angel_api_key is None:
            raise ValueError("FEED=angel needs ANGEL_API_KEY")
        account = {
            "ANGEL_CLIENT_CODE": self.angel_client_code,
            "ANGEL_MPIN": self.angel_mpin,
            "ANGEL_TOTP_SECRET": self.angel_totp_secret,
        }
        given = [k for k, v in account.items() if v]
        if given and len(given) != len(account):
            missing = ", ".join(k for k, v in account.items() if not v)
            raise ValueError(f"the Angel service account is incomplete: set {missing}")
        if not given and self.secret_key is None:
            raise ValueError(
                "FEED=angel needs a service account (ANGEL_CLIENT_CODE, ANGEL_MPIN, "
                "ANGEL_TOTP_SECRET) or SECRET_KEY so users can log in through the gateway"
            )
        if self.angel_totp_secret is not None:
            raw = self.angel_totp_secret.get_secret_value().replace(" ", "").upper()
            try:
                if len(base64.b32decode(raw + "=" * (-len(raw) % 8))) < 14:
                    raise ValueError
            except (ValueError, binascii.Error):
                raise ValueError(
                    "ANGEL_TOTP_SECRET must be the base32 TOTP secret (at least 23 characters)"
                ) from None
        return self
